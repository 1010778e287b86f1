// Package sessionjson reads a legacy session, once its authenticity is
// established, into the values an importer hands to the middleware: one
// json.RawMessage per top-level key, checked by the same strict reader that
// opens satchel's tokens, within limits that leave room for the claims the
// middleware writes around them. A session that passes here is sealed
// without a second encoding and opens again.
package sessionjson

import (
	"encoding/json"

	"satchel.dev/internal/jsonx"
)

// claimsRoom is how many top-level claims (exp, iat, nbf, jti, sub, data
// and the middleware's own) the token may hold beside the session values.
const claimsRoom = 16

// Limits bound a legacy session. The session object sits one level below
// the claims object in a token, so it may nest one level less.
var Limits = jsonx.Limits{
	MaxDepth: jsonx.DefaultLimits.MaxDepth - 1,
	MaxItems: jsonx.DefaultLimits.MaxItems - claimsRoom,
}

// Decode reads src, which must be exactly one JSON object, strictly: valid
// UTF-8, no repeated member name at any depth, no number beyond float64's
// range, within [Limits]. It returns the members as json.RawMessage values
// that own their bytes. On failure it returns one of jsonx's sentinel
// errors, which never contain input bytes.
func Decode(src []byte) (map[string]any, error) {
	text := string(src)
	var d jsonx.Decoder
	d.Reset(text, Limits)
	vals := make(map[string]any)
	err := d.Object(func(key string) error {
		start, end, err := d.Skip()
		if err != nil {
			return err
		}
		vals[key] = json.RawMessage(text[start:end])
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := d.End(); err != nil {
		return nil, err
	}
	return vals, nil
}
