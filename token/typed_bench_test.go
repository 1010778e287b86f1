package token_test

import (
	"encoding/json"
	"testing"

	"satchel.dev/internal/benchfix"
	"satchel.dev/internal/jsonx"
	"satchel.dev/token"
)

// typedForms returns, for base "typical" or "large", the session values in
// three forms: every value as json.RawMessage (as after Open), the cart as
// a struct slice, and the cart as a slice of maps.
func typedForms(tb testing.TB, base string) map[string]map[string]any {
	forms := map[string]map[string]any{}
	for _, p := range benchfix.Payloads {
		if p.Name != base {
			continue
		}
		// The raw form is what Open hands back for what Seal wrote:
		// jsonx's encoding (benchfix's Raw uses encoding/json, whose
		// HTML escaping takes the large payload past 4096 bytes).
		raw := map[string]any{}
		for k, v := range p.Values() {
			b, err := jsonx.Marshal(v)
			if err != nil {
				tb.Fatal(err)
			}
			raw[k] = json.RawMessage(b)
		}
		forms["raw"] = raw
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
				report := benchfix.MeasureCPU(b)
				for b.Loop() {
					if _, err := token.Seal(k, c, implicit, nil); err != nil {
						b.Fatal(err)
					}
				}
				report()
			})
		}
	}
}
