package token_test

import (
	"testing"

	"satchel.dev/internal/benchfix"
	"satchel.dev/token"
)

// typedForms returns, for base "typical" or "large", the session values in
// three forms: every value as json.RawMessage (as after Open), the cart as
// a struct slice, and the cart as a slice of maps.
func typedForms(tb testing.TB, base string) map[string]map[string]any {
	forms := map[string]map[string]any{}
	for _, p := range benchfix.Payloads {
		if p.Name == base {
			forms["raw"] = p.Raw()
		}
	}
	for _, p := range benchfix.Typed {
		switch p.Name {
		case base + "-struct":
			forms["struct"] = p.Values()
		case base + "-maps":
			forms["maps"] = p.Values()
		}
	}
	if len(forms) != 3 {
		tb.Fatalf("benchfix has no typed forms of %q", base)
	}
	return forms
}

// BenchmarkSealTyped seals the typical and large payloads with the cart
// held as raw JSON, as a struct slice and as a slice of maps. The target
// is struct and maps within 1.3x of raw.
func BenchmarkSealTyped(b *testing.B) {
	k, _ := newRing(b)
	implicit := []byte(benchImplicit)
	for _, base := range []string{"typical", "large"} {
		forms := typedForms(b, base)
		for _, form := range []string{"raw", "struct", "maps"} {
			b.Run("p="+base+"/v="+form, func(b *testing.B) {
				c := benchClaims(benchfix.Payloads[0])
				c.Data = forms[form]
				b.ReportAllocs()
				for b.Loop() {
					if _, err := token.Seal(k, c, implicit, nil); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
