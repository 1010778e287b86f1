package v4ref_test

import (
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"satchel.dev/internal/v4ref"
	"satchel.dev/internal/vectors"
)

func hex32(t *testing.T, s string) *[32]byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		t.Fatalf("vector field %q is not 32 hex bytes", s)
	}
	return (*[32]byte)(b)
}

// TestVectorsEncrypt reproduces every official v4.local success vector
// byte for byte from its key, nonce, payload, footer and implicit
// assertion, and opens it back.
func TestVectorsEncrypt(t *testing.T) {
	t.Parallel()
	ran := 0
	for _, v := range vectors.LoadV4(t) {
		if v.ExpectFail || !strings.HasPrefix(v.Token, v4ref.Header) {
			continue
		}
		ran++
		t.Run(v.Name, func(t *testing.T) {
			key, nonce := hex32(t, v.Key), hex32(t, v.Nonce)
			got := v4ref.Encrypt(key, nonce, []byte(*v.Payload), []byte(v.Footer), []byte(v.Implicit))
			if got != v.Token {
				t.Fatalf("Encrypt differs from the vector:\n got %s\nwant %s", got, v.Token)
			}
			m, f, ok := v4ref.Decrypt(key, v.Token, []byte(v.Implicit))
			if !ok {
				t.Fatal("Decrypt refused the vector's token")
			}
			if string(m) != *v.Payload || string(f) != v.Footer {
				t.Fatalf("Decrypt = payload %q footer %q, want %q %q", m, f, *v.Payload, v.Footer)
			}
		})
	}
	if ran != 9 {
		t.Fatalf("ran %d v4.local success vectors, want 9 (4-E-1..9)", ran)
	}
}

// TestVectorsFail: every must-fail vector that carries a local key is
// refused by Decrypt under that key and its implicit assertion.
func TestVectorsFail(t *testing.T) {
	t.Parallel()
	ran := 0
	for _, v := range vectors.LoadV4(t) {
		if !v.ExpectFail || v.Key == "" {
			continue
		}
		ran++
		t.Run(v.Name, func(t *testing.T) {
			if m, _, ok := v4ref.Decrypt(hex32(t, v.Key), v.Token, []byte(v.Implicit)); ok {
				t.Fatalf("Decrypt accepted a must-fail vector, payload %q", m)
			}
		})
	}
	if ran != 4 {
		t.Fatalf("ran %d must-fail vectors with a key, want 4 (4-F-2..5)", ran)
	}
}

// TestDecryptRefuses changes one input at a time from an authentic token
// and checks each change is refused.
func TestDecryptRefuses(t *testing.T) {
	t.Parallel()
	key, nonce := &[32]byte{1, 2, 3}, &[32]byte{4, 5, 6}
	m, f, i := []byte(`{"data":"x"}`), []byte(`{"kid":"k"}`), []byte("cookie=session")
	good := v4ref.Encrypt(key, nonce, m, f, i)
	if got, gotF, ok := v4ref.Decrypt(key, good, i); !ok || string(got) != string(m) || string(gotF) != string(f) {
		t.Fatalf("round trip = %q %q %v", got, gotF, ok)
	}
	body, footer, _ := strings.Cut(strings.TrimPrefix(good, v4ref.Header), ".")
	raw := mustDecode(t, body)
	other := *key
	other[31] ^= 1

	cases := map[string]struct {
		key *[32]byte
		tok string
		i   []byte
	}{
		"other key":            {&other, good, i},
		"other implicit":       {key, good, []byte("cookie=other")},
		"no implicit":          {key, good, nil},
		"footer dropped":       {key, v4ref.Header + body, i},
		"other footer":         {key, v4ref.Header + body + ".e30", i},
		"empty footer segment": {key, v4ref.Encrypt(key, nonce, m, nil, i) + ".", i},
		"extra segment":        {key, good + ".e30", i},
		"padded body":          {key, v4ref.Header + body + "=." + footer, i},
		"v4.public header":     {key, "v4.public." + body + "." + footer, i},
		"short body":           {key, v4ref.Header + b64.EncodeToString(raw[:63]), i},
		"empty":                {key, "", i},
	}
	for name, c := range cases {
		if _, _, ok := v4ref.Decrypt(c.key, c.tok, c.i); ok {
			t.Errorf("%s: Decrypt accepted it", name)
		}
	}
	// Every single-bit change of the decoded body fails the tag.
	for bit := range len(raw) * 8 {
		flipped := append([]byte(nil), raw...)
		flipped[bit/8] ^= 1 << (bit % 8)
		before := string(flipped)
		if _, ok := v4ref.OpenRaw(key, flipped, f, i); ok {
			t.Fatalf("OpenRaw accepted the body with bit %d flipped", bit)
		}
		if string(flipped) != before {
			t.Fatal("OpenRaw changed raw although it refused it")
		}
	}
	if _, ok := v4ref.OpenRaw(key, raw[:63], f, i); ok {
		t.Fatal("OpenRaw accepted a body shorter than nonce and tag")
	}
}

// TestEmptyMessage: an empty message seals to nonce and tag only and
// opens to an empty, non-nil message.
func TestEmptyMessage(t *testing.T) {
	t.Parallel()
	key, nonce := &[32]byte{9}, &[32]byte{8}
	tok := v4ref.Encrypt(key, nonce, nil, nil, nil)
	if strings.Count(tok, ".") != 2 {
		t.Fatalf("token without footer has a footer segment: %s", tok)
	}
	if got := len(mustDecode(t, strings.TrimPrefix(tok, v4ref.Header))); got != 64 {
		t.Fatalf("body is %d bytes, want 64", got)
	}
	m, f, ok := v4ref.Decrypt(key, tok, nil)
	if !ok || m == nil || len(m) != 0 || f != nil {
		t.Fatalf("Decrypt = %q, %q, %v; want empty message, nil footer, true", m, f, ok)
	}
}

func mustDecode(t *testing.T, s string) []byte {
	t.Helper()
	// Decrypt itself is under test; decode with the standard library.
	b, err := b64.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var b64 = base64.RawURLEncoding
