package keyring_test

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"satchel.dev/internal/vectors"
	"satchel.dev/keyring"
)

func TestVectorsK4Local(t *testing.T) {
	for _, v := range vectors.LoadPASERK(t, "k4.local.json") {
		t.Run(v.Name, func(t *testing.T) {
			got, err := keyring.DecodePASERK(*v.Paserk)
			if v.ExpectFail {
				if !errors.Is(err, keyring.ErrMalformedKey) {
					t.Fatalf("decode = %v, want ErrMalformedKey", err)
				}
				if _, err := keyring.ParseKey(*v.Paserk); err == nil {
					t.Fatal("ParseKey accepted a must-fail vector")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(got[:]) != *v.Key {
				t.Fatalf("decoded %x, want %s", got, *v.Key)
			}
			if enc := keyring.EncodePASERK(&got); enc != *v.Paserk {
				t.Fatalf("encoded %s, want %s", enc, *v.Paserk)
			}
			// Every official vector key is public (zero or the example
			// key), so ParseKey must refuse it as weak.
			if _, err := keyring.ParseKey(*v.Paserk); !errors.Is(err, keyring.ErrWeakKey) {
				t.Fatalf("ParseKey(vector key) = %v, want ErrWeakKey", err)
			}
		})
	}
}

func TestVectorsK4LID(t *testing.T) {
	for _, v := range vectors.LoadPASERK(t, "k4.lid.json") {
		t.Run(v.Name, func(t *testing.T) {
			raw, err := hex.DecodeString(*v.Key)
			if err != nil {
				t.Fatal(err)
			}
			if v.ExpectFail {
				if _, err := keyring.NewKey(raw); !errors.Is(err, keyring.ErrMalformedKey) {
					t.Fatalf("NewKey(%d bytes) = %v, want ErrMalformedKey", len(raw), err)
				}
				return
			}
			if got := keyring.LID((*[32]byte)(raw)); got != *v.Paserk {
				t.Fatalf("lid = %s, want %s", got, *v.Paserk)
			}
		})
	}
}

func TestGenerateKeyIDShape(t *testing.T) {
	k, err := keyring.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	id := k.ID()
	if !strings.HasPrefix(id, "k4.lid.") || len(id) != len("k4.lid.")+44 {
		t.Fatalf("id %q has the wrong shape", id)
	}
	back, err := keyring.ParseKey(k.ExportPASERK())
	if err != nil {
		t.Fatal(err)
	}
	if !back.Equal(k) || back.ID() != id {
		t.Fatal("ExportPASERK does not round-trip through ParseKey")
	}
}

func TestGenerateKeyRandomFailure(t *testing.T) {
	_, err := keyring.GenerateKeyFrom(strings.NewReader("short"))
	if err == nil {
		t.Fatal("GenerateKey with a failing random source returned a key")
	}
}

// TestThreat14_WeakKeysRefused: wrong lengths, the all-zero key and the
// published example keys are refused.
func TestThreat14_WeakKeysRefused(t *testing.T) {
	zero := make([]byte, 32)
	example, _ := hex.DecodeString("707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f")
	example3, _ := hex.DecodeString("707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e90")
	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"len=0", nil, keyring.ErrMalformedKey},
		{"len=31", make([]byte, 31), keyring.ErrMalformedKey},
		{"len=33", make([]byte, 33), keyring.ErrMalformedKey},
		{"all-zero", zero, keyring.ErrWeakKey},
		{"example-8f", example, keyring.ErrWeakKey},
		{"example-90", example3, keyring.ErrWeakKey},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := keyring.NewKey(c.in); !errors.Is(err, c.want) {
				t.Fatalf("NewKey = %v, want %v", err, c.want)
			}
		})
	}
}

func TestParseKeyRejects(t *testing.T) {
	k, _ := keyring.GenerateKey()
	good := k.ExportPASERK()
	body := strings.TrimPrefix(good, "k4.local.")
	cases := map[string]string{
		"empty":          "",
		"no-prefix":      body,
		"k3":             "k3.local." + body,
		"k4.public":      "k4.public." + body,
		"k4.secret":      "k4.secret." + body,
		"uppercase":      "K4.LOCAL." + body,
		"padding":        good + "=",
		"short":          good[:len(good)-1],
		"long":           good + "A",
		"space":          " " + good,
		"newline":        good[:20] + "\n" + good[21:],
		"std-alphabet":   "k4.local." + strings.NewReplacer("-", "+", "_", "/").Replace(body) + strings.Repeat("+", 0),
		"noncanonical":   "k4.local." + body[:42] + flipLowBits(body[42]),
		"trailing-dot":   good + ".",
		"lid-not-secret": k.ID(),
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			if name == "std-alphabet" && !strings.ContainsAny(body, "-_") {
				t.Skip("random key has no - or _ to swap")
			}
			_, err := keyring.ParseKey(in)
			if !errors.Is(err, keyring.ErrMalformedKey) {
				t.Fatalf("ParseKey = %v, want ErrMalformedKey", err)
			}
			if in != "" && len(in) > 12 && strings.Contains(err.Error(), in[9:]) {
				t.Fatalf("error %q echoes the input", err)
			}
		})
	}
}

// flipLowBits returns a base64url character that differs from c only in
// the two low bits, which a 32-byte key's last character must leave zero.
func flipLowBits(c byte) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, c)
	return string(alphabet[i^1])
}

// TestThreat14_PrintingShowsOnlyID formats a key and a ring every way a
// program might log them and checks no form of the secret appears.
func TestThreat14_PrintingShowsOnlyID(t *testing.T) {
	k, _ := keyring.GenerateKey()
	k2, _ := keyring.GenerateKey()
	ring, err := keyring.FromKeys(k, k2)
	if err != nil {
		t.Fatal(err)
	}
	secret := k.ExportSecret()
	forbidden := []string{
		k.ExportPASERK(),
		strings.TrimPrefix(k.ExportPASERK(), "k4.local."),
		hex.EncodeToString(secret[:]),
		fmt.Sprint(secret[:]),
		strings.Trim(fmt.Sprint(secret[:]), "[]"),
		fmt.Sprintf("%#v", secret[:])[len("[]byte{"):40],
		fmt.Sprintf("%x", secret[:8]),
	}
	var logged strings.Builder
	logger := slog.New(slog.NewJSONHandler(&logged, nil))
	logger.Info("k", "key", k, "ring", ring)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("k", "key", k, "ring", ring)
	jsonKey, _ := json.Marshal(map[string]any{"k": k, "entries": ring.Entries()})
	outputs := []string{
		fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %s %q %x %X %d", k, k, k, k, k, k, k, k),
		fmt.Sprint(ring), fmt.Sprintf("%v %+v %#v %s", ring, ring, ring, ring),
		fmt.Sprintf("%+v %#v", ring.Entries(), ring.Entries()),
		fmt.Sprintf("%+v", struct{ K keyring.Key }{k}),
		string(jsonKey), logged.String(),
	}
	// fmt cannot call Format on a field it cannot reach (unexported, or
	// nested in one), nor on a Ring held by value without this care.
	type app struct {
		key   keyring.Key
		entry keyring.Entry
		ring  keyring.Ring
	}
	type holder struct{ R keyring.Ring }
	outputs = append(outputs,
		fmt.Sprintf("%v %+v %#v", app{k, ring.Entries()[0], *ring}, app{k, ring.Entries()[0], *ring}, app{key: k}),
		fmt.Sprintf("%v %+v", *ring, holder{*ring}))
	for i, out := range outputs {
		if !strings.Contains(out, k.ID()) && i < 2 {
			t.Errorf("output %d does not name the key id: %s", i, out)
		}
		for _, f := range forbidden {
			if strings.Contains(out, f) {
				t.Fatalf("output %d leaks the secret: %s", i, out)
			}
		}
	}
}

func TestRingRules(t *testing.T) {
	k1, _ := keyring.GenerateKey()
	k2, _ := keyring.GenerateKey()
	cases := []struct {
		name    string
		entries []keyring.Entry
		ok      bool
	}{
		{"one-primary", []keyring.Entry{{Key: k1, State: keyring.Primary}}, true},
		{"primary-and-staged", []keyring.Entry{{Key: k1, State: keyring.Primary}, {Key: k2, State: keyring.Staged}}, true},
		{"empty", nil, false},
		{"no-primary", []keyring.Entry{{Key: k1, State: keyring.Retired}, {Key: k2, State: keyring.Staged}}, false},
		{"two-primaries", []keyring.Entry{{Key: k1, State: keyring.Primary}, {Key: k2, State: keyring.Primary}}, false},
		{"duplicate-id", []keyring.Entry{{Key: k1, State: keyring.Primary}, {Key: k1, State: keyring.Retired}}, false},
		{"zero-key", []keyring.Entry{{Key: k1, State: keyring.Primary}, {State: keyring.Retired}}, false},
		{"bad-state", []keyring.Entry{{Key: k1, State: keyring.Primary}, {Key: k2, State: 9}}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := keyring.New(c.entries)
			if c.ok != (err == nil) {
				t.Fatalf("New = %v, %v; want ok=%v", r, err, c.ok)
			}
			if err != nil && !errors.Is(err, keyring.ErrInvalidRing) {
				t.Fatalf("error %v does not wrap ErrInvalidRing", err)
			}
		})
	}
}

func TestRingLookup(t *testing.T) {
	k1, _ := keyring.GenerateKey()
	k2, _ := keyring.GenerateKey()
	k3, _ := keyring.GenerateKey()
	entries := []keyring.Entry{{Key: k2, State: keyring.Staged}, {Key: k1, State: keyring.Primary}}
	r, err := keyring.New(entries)
	if err != nil {
		t.Fatal(err)
	}
	entries[0].State = keyring.Retired // New must have copied
	if !r.Primary().Equal(k1) || r.Current() != r || r.Len() != 2 {
		t.Fatal("primary, Current or Len wrong")
	}
	if got, ok := r.Lookup(k2.ID()); !ok || !got.Equal(k2) {
		t.Fatal("staged key not found")
	}
	if e, _ := r.Entry(k2.ID()); e.State != keyring.Staged {
		t.Fatalf("entry state %v changed after New", e.State)
	}
	if _, ok := r.Lookup(k3.ID()); ok {
		t.Fatal("found a key the ring does not hold")
	}
	es := r.Entries()
	es[0].State = keyring.Primary
	if e, _ := r.Entry(k2.ID()); e.State != keyring.Staged {
		t.Fatal("Entries returned the ring's own slice")
	}
}

func TestParseKeys(t *testing.T) {
	k1, _ := keyring.GenerateKey()
	k2, _ := keyring.GenerateKey()
	k3, _ := keyring.GenerateKey()
	for _, sep := range []string{",", " ", "\n", ", ", "\t,\n"} {
		r, err := keyring.ParseKeys(" " + k1.ExportPASERK() + sep + k2.ExportPASERK() + sep + k3.ExportPASERK() + "\n")
		if err != nil {
			t.Fatalf("sep %q: %v", sep, err)
		}
		if !r.Primary().Equal(k1) || r.Len() != 3 {
			t.Fatalf("sep %q: wrong ring %v", sep, r)
		}
		if e, _ := r.Entry(k3.ID()); e.State != keyring.Retired {
			t.Fatalf("sep %q: non-first key is %v, want retired", sep, e.State)
		}
	}
	bad := k1.ExportPASERK() + "," + k2.ExportPASERK()[:30]
	_, err := keyring.ParseKeys(bad)
	if err == nil || !strings.Contains(err.Error(), "key 2") {
		t.Fatalf("ParseKeys(bad second key) = %v, want an error naming key 2", err)
	}
	if strings.Contains(err.Error(), k2.ExportPASERK()[9:30]) || strings.Contains(err.Error(), k1.ExportPASERK()[9:]) {
		t.Fatal("error echoes key material")
	}
	if _, err := keyring.ParseKeys(k1.ExportPASERK() + "," + k1.ExportPASERK()); !errors.Is(err, keyring.ErrInvalidRing) {
		t.Fatalf("duplicate keys: %v, want ErrInvalidRing", err)
	}
	if _, err := keyring.ParseKeys(" , \n"); !errors.Is(err, keyring.ErrNoKeys) {
		t.Fatalf("no keys: %v, want ErrNoKeys", err)
	}
}

func TestFromEnv(t *testing.T) {
	k1, _ := keyring.GenerateKey()
	t.Setenv("SATCHEL_TEST_KEYS", k1.ExportPASERK())
	r, err := keyring.FromEnv("SATCHEL_TEST_KEYS")
	if err != nil || !r.Primary().Equal(k1) {
		t.Fatalf("FromEnv = %v, %v", r, err)
	}
	t.Setenv("SATCHEL_TEST_KEYS", "  ")
	if _, err := keyring.FromEnv("SATCHEL_TEST_KEYS"); !errors.Is(err, keyring.ErrNoKeys) {
		t.Fatalf("blank: %v, want ErrNoKeys", err)
	}
	t.Setenv("SATCHEL_TEST_KEYS", "k4.local.nope")
	if _, err := keyring.FromEnv("SATCHEL_TEST_KEYS"); err == nil || !strings.Contains(err.Error(), "$SATCHEL_TEST_KEYS") {
		t.Fatalf("bad: %v, want an error naming the variable", err)
	}
}

// TestThreat14_NoVerbPrintsTheSecret formats a key with every fmt verb and
// flag, reached every way fmt can reach it: directly, through pointers,
// interfaces, slices, arrays and maps, and as an exported or unexported
// struct field, where fmt cannot call the key's Format method and walks
// its fields by reflection instead (a verb that does not fit a pointer,
// such as %s, makes fmt print the pointer's target). None may print the
// secret in any form; slog's handlers and encoding/json neither.
func TestThreat14_NoVerbPrintsTheSecret(t *testing.T) {
	t.Parallel()
	k, err := keyring.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	secret := k.ExportSecret()
	var forbidden []string
	for _, verb := range []string{"v", "d", "x", "X", "o", "O", "b", "c", "q", "U", "s", "e", "f", "#v"} {
		all := strings.Trim(fmt.Sprintf("%"+verb, secret[:]), "[]")
		// A window from the middle of the rendering: any printing of the
		// bytes with that verb contains it.
		if w := len(all) / 3; w > 0 {
			forbidden = append(forbidden, all[w:2*w])
		}
	}
	forbidden = append(forbidden, hex.EncodeToString(secret[8:24]), strings.TrimPrefix(k.ExportPASERK(), "k4.local.")[10:30])

	type inner struct {
		key keyring.Key
		Pub keyring.Key
	}
	type outer struct {
		k     keyring.Key
		p     *keyring.Key
		s     []keyring.Key
		a     [2]keyring.Key
		m     map[string]keyring.Key
		mk    map[keyring.Key]int
		i     any
		in    inner
		pin   *inner
		ins   []inner
		E     keyring.Key
		Inner inner
	}
	kp := k
	o := outer{
		k: k, p: &kp, s: []keyring.Key{k}, a: [2]keyring.Key{k, k}, m: map[string]keyring.Key{"x": k},
		mk: map[keyring.Key]int{k: 1}, i: k, in: inner{k, k}, pin: &inner{k, k}, ins: []inner{{k, k}}, E: k, Inner: inner{k, k},
	}
	values := []any{k, &kp, []keyring.Key{k}, map[string]keyring.Key{"x": k}, o, &o, []outer{o}, map[string]any{"o": o}, inner{k, k}}

	var outputs []string
	for c := 'A'; c <= 'z'; c++ {
		if c > 'Z' && c < 'a' {
			continue
		}
		for _, flags := range []string{"", "+", "#", "-", " ", "0", "+#", "10.3"} {
			format := "%" + flags + string(c)
			for _, v := range values {
				outputs = append(outputs, fmt.Sprintf(format, v))
			}
		}
	}
	var logged strings.Builder
	for _, h := range []slog.Handler{slog.NewJSONHandler(&logged, nil), slog.NewTextHandler(&logged, nil)} {
		slog.New(h).Info("msg", "key", k, "ptr", &kp, "outer", o, "outerp", &o, slog.Any("list", []outer{o}), slog.Group("g", "k", k))
	}
	outputs = append(outputs, logged.String())
	for _, v := range values {
		b, err := json.Marshal(v)
		if err == nil {
			outputs = append(outputs, string(b))
		}
	}
	for i, out := range outputs {
		for _, f := range forbidden {
			if strings.Contains(out, f) {
				t.Fatalf("output %d leaks the secret (%q):\n%s", i, f, out)
			}
		}
	}
	if got := fmt.Sprintf("%s %v %d %q", k, &kp, k, k); !strings.Contains(got, k.ID()) || strings.Count(got, k.ID()) != 4 {
		t.Errorf("a key does not print as its id: %s", got)
	}
}
