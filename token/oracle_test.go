package token_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	paseto "aidanwoods.dev/go-paseto"
	"github.com/google/go-cmp/cmp"

	"satchel.dev/keyring"
	"satchel.dev/token"
)

// The differential tests use aidanwoods.dev/go-paseto v1.6.0 as the
// reference implementation: what one seals the other opens, with the
// footer and the implicit assertion, and a wrong assertion fails in both.

func oracleKey(t *testing.T, k keyring.Key) paseto.V4SymmetricKey {
	t.Helper()
	secret := k.ExportSecret()
	pk, err := paseto.V4SymmetricKeyFromBytes(secret[:])
	if err != nil {
		t.Fatal(err)
	}
	return pk
}

func TestOracleOpensOurTokens(t *testing.T) {
	t.Parallel()
	k, _ := newRing(t)
	pk := oracleKey(t, k)
	parser := paseto.NewParserWithoutExpiryCheck()
	for name, implicit := range map[string]string{"no-implicit": "", "implicit": "cookie=__Host-session;aud=shop"} {
		t.Run(name, func(t *testing.T) {
			c := validClaims()
			c.Data["cart"] = []any{map[string]any{"sku": "SKU-1", "qty": 2}}
			tok := mustSeal(t, k, c, implicit)
			got, err := parser.ParseV4Local(pk, tok, []byte(implicit))
			if err != nil {
				t.Fatalf("go-paseto refused our token: %v", err)
			}
			if want := `{"kid":"` + k.ID() + `"}`; string(got.Footer()) != want {
				t.Fatalf("footer %s, want %s", got.Footer(), want)
			}
			exp, err := got.GetExpiration()
			if err != nil || !exp.Equal(c.Expiry) {
				t.Fatalf("exp %v, %v", exp, err)
			}
			var data map[string]any
			if err := got.Get("data", &data); err != nil {
				t.Fatal(err)
			}
			want := map[string]any{"uid": 7.0, "name": "alice", "cart": []any{map[string]any{"sku": "SKU-1", "qty": 2.0}}}
			if diff := cmp.Diff(want, data); diff != "" {
				t.Fatalf("data (-want +got):\n%s", diff)
			}
			if _, err := parser.ParseV4Local(pk, tok, []byte(implicit+"!")); err == nil {
				t.Fatal("go-paseto opened our token under a wrong implicit assertion")
			}
		})
	}
}

func TestWeOpenOracleTokens(t *testing.T) {
	t.Parallel()
	k, ring := newRing(t)
	pk := oracleKey(t, k)
	for name, implicit := range map[string]string{"no-implicit": "", "implicit": "cookie=__Host-session;aud=shop"} {
		t.Run(name, func(t *testing.T) {
			pt := paseto.NewToken()
			pt.SetExpiration(t0.Add(time.Hour))
			pt.SetIssuedAt(t0)
			pt.SetJti("j-1")
			if err := pt.Set("data", map[string]any{"uid": 9007199254740993, "name": "bob"}); err != nil {
				t.Fatal(err)
			}
			pt.SetFooter([]byte(`{"kid":"` + k.ID() + `"}`))
			tok := pt.V4Encrypt(pk, []byte(implicit))
			c, err := token.Open(ring, tok, []byte(implicit), at(t0))
			if err != nil {
				t.Fatalf("we refused go-paseto's token: %v", err)
			}
			if c.ID != "j-1" || !c.Expiry.Equal(t0.Add(time.Hour)) || !c.IssuedAt.Equal(t0) {
				t.Fatalf("claims %+v", c)
			}
			if diff := cmp.Diff(map[string]any{"uid": int64(9007199254740993), "name": "bob"}, decodeData(t, c.Data)); diff != "" {
				t.Fatalf("data (-want +got):\n%s", diff)
			}
			if _, err := token.Open(ring, tok, []byte(implicit+"!"), at(t0)); !errors.Is(err, token.ErrInvalid) {
				t.Fatalf("opened go-paseto's token under a wrong implicit assertion: %v", err)
			}
		})
	}
}

// TestOracleAgreesOnTampering: for every single-byte change of a token,
// go-paseto and satchel agree that it no longer opens.
func TestOracleAgreesOnTampering(t *testing.T) {
	t.Parallel()
	k, ring := newRing(t)
	pk := oracleKey(t, k)
	parser := paseto.NewParserWithoutExpiryCheck()
	tok := mustSeal(t, k, validClaims(), "aud")
	for i := 0; i < len(tok); i++ {
		b := []byte(tok)
		b[i] ^= 0x01
		_, ours := token.Open(ring, string(b), []byte("aud"), at(t0))
		_, theirs := parser.ParseV4Local(pk, string(b), []byte("aud"))
		if ours == nil || theirs == nil {
			t.Fatalf("byte %d: ours=%v theirs=%v, want both to refuse", i, ours, theirs)
		}
	}
}

// TestOracleClaimsJSON: our claims parse as go-paseto claims, registered
// claims in the spec's RFC 3339 format.
func TestOracleClaimsJSON(t *testing.T) {
	t.Parallel()
	k, _ := newRing(t)
	pk := oracleKey(t, k)
	c := validClaims()
	c.NotBefore = t0.Add(-time.Minute)
	got, err := paseto.NewParserWithoutExpiryCheck().ParseV4Local(pk, mustSeal(t, k, c, ""), nil)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(got.ClaimsJSON(), &m); err != nil {
		t.Fatal(err)
	}
	for claim, want := range map[string]string{"exp": "2026-11-27T13:00:00Z", "iat": "2026-11-27T12:00:00Z", "nbf": "2026-11-27T11:59:00Z", "jti": "sess-1"} {
		if m[claim] != want {
			t.Errorf("%s = %v, want %s", claim, m[claim], want)
		}
	}
}
