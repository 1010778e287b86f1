// Package bench measures satchel side by side with its peers on the shared
// session payloads of internal/benchfix: the three base fixtures (small,
// typical, large) and typical and large with the cart as typed Go values
// (typical-struct, typical-maps, large-struct, large-maps). It is a nested
// module so that the peers never enter satchel's own dependencies.
//
// # Token codecs
//
// Each [Codec] seals a session (the payload's values plus an expiry) into
// a cookie-safe string and opens it back into a map:
//
//   - satchel: token.Seal and token.Open (PASETO v4.local, kid footer);
//     Open leaves each value as raw JSON until a handler reads it, which
//     is satchel's design, so "satchel+decode" also decodes every value,
//     as every peer's Open does; BenchmarkSeal's "satchel-raw" seals the
//     same session with every value already encoded (json.RawMessage, as
//     the middleware holds values it has not decoded), the baseline for
//     what encoding typed values costs;
//   - go-paseto v1.6.0: V4Encrypt with the same footer; ParseV4Local with
//     the default expiry rule, then Claims() into a map;
//   - gorilla/securecookie v1.1.2 with its gob encoder (the default) and
//     with its JSON encoder (AES-256-CTR + HMAC-SHA256);
//   - go-jose v4 JWE, alg "dir", enc A256GCM, claims as JSON;
//   - the floor: the v4.local primitives alone on satchel's plaintext
//     (internal/benchfix), the cost no v4.local implementation avoids.
//
// Middleware and loopback-load benchmarks live in the test files; run.sh
// runs everything and writes BENCHMARKS.md.
package bench

import (
	"bytes"
	"crypto/rand"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	paseto "aidanwoods.dev/go-paseto"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/gorilla/securecookie"

	"satchel.dev/internal/benchfix"
	"satchel.dev/internal/jsonx"
	"satchel.dev/keyring"
	"satchel.dev/token"
)

// MaxSize is the size limit every codec gets: the large payload seals to
// about 4 KB in satchel and to more in the peers, and the benchmarks
// compare work, not who refuses first. (satchel's default is 4096.)
const MaxSize = 16 << 10

// Implicit is the implicit assertion satchel and go-paseto authenticate,
// as the middleware binds the cookie name there.
var Implicit = []byte(`{"satchel":"session","cookie":"__Host-session","aud":""}`)

// Codec is one way to turn a session into a cookie value and back.
type Codec struct {
	Name string
	// Seal encodes the values with an expiry one hour ahead.
	Seal func(values map[string]any) (string, error)
	// Open authenticates, decrypts and decodes a value Seal produced and
	// returns the session values.
	Open func(s string) (map[string]any, error)
}

// Keys are the fixed secrets the codecs use; each peer gets its keys from
// the same 64 random bytes.
type Keys struct {
	Satchel  keyring.Key
	Ring     *keyring.Ring
	Paseto   paseto.V4SymmetricKey
	HashKey  []byte // securecookie HMAC-SHA256 key
	BlockKey []byte // securecookie AES-256 key
	JOSE     []byte // A256GCM key
}

// NewKeys draws fresh keys from crypto/rand.
func NewKeys() (*Keys, error) {
	k, err := keyring.GenerateKey()
	if err != nil {
		return nil, err
	}
	ring, err := keyring.FromKeys(k)
	if err != nil {
		return nil, err
	}
	s := k.ExportSecret()
	pk, err := paseto.V4SymmetricKeyFromBytes(s[:])
	if err != nil {
		return nil, err
	}
	extra := make([]byte, 96)
	if _, err := rand.Read(extra); err != nil {
		return nil, err
	}
	return &Keys{Satchel: k, Ring: ring, Paseto: pk, HashKey: extra[:32], BlockKey: extra[32:64], JOSE: extra[64:]}, nil
}

var gobOnce sync.Once

// registerGob registers the concrete types the payloads hold, as every
// gorilla user must before gob can encode them inside interface values.
func registerGob() {
	gobOnce.Do(func() {
		gob.Register(map[string]any{})
		gob.Register([]any{})
		gob.Register([]string{})
		gob.Register(map[any]any{})
		gob.Register([]benchfix.Item{})
		gob.Register([]map[string]any{})
	})
}

// Payloads is every fixture the token benchmarks run: the base ones, then
// the typed ones.
var Payloads = append(append([]benchfix.Payload(nil), benchfix.Payloads...), benchfix.Typed...)

// Codecs returns every codec, satchel first.
func Codecs(k *Keys) []Codec {
	registerGob()
	footer := []byte(`{"kid":"` + k.Satchel.ID() + `"}`)
	opts := &token.Options{MaxSize: MaxSize}

	satchelSeal := func(v map[string]any) (string, error) {
		return token.Seal(k.Satchel, &token.Claims{Expiry: time.Now().Add(time.Hour), Data: v}, Implicit, opts)
	}
	scGob := securecookie.New(k.HashKey, k.BlockKey).MaxLength(MaxSize)
	scJSON := securecookie.New(k.HashKey, k.BlockKey).MaxLength(MaxSize).SetSerializer(securecookie.JSONEncoder{})
	enc, err := jose.NewEncrypter(jose.A256GCM, jose.Recipient{Algorithm: jose.DIRECT, Key: k.JOSE}, nil)
	if err != nil {
		panic("bench: go-jose refused a 32-byte A256GCM key: " + err.Error())
	}

	return []Codec{
		{
			Name: "satchel",
			Seal: satchelSeal,
			Open: func(s string) (map[string]any, error) {
				c, err := token.Open(k.Ring, s, Implicit, opts)
				if err != nil {
					return nil, err
				}
				return c.Data, nil
			},
		},
		{
			Name: "satchel+decode",
			Seal: satchelSeal,
			Open: func(s string) (map[string]any, error) {
				c, err := token.Open(k.Ring, s, Implicit, opts)
				if err != nil {
					return nil, err
				}
				for key, v := range c.Data {
					if c.Data[key], err = jsonx.Decode(string(v.(json.RawMessage)), jsonx.DefaultLimits); err != nil {
						return nil, err
					}
				}
				return c.Data, nil
			},
		},
		{
			Name: "paseto",
			Seal: func(v map[string]any) (string, error) {
				t := paseto.NewToken()
				t.SetExpiration(time.Now().Add(time.Hour))
				if err := t.Set("data", v); err != nil {
					return "", err
				}
				t.SetFooter(footer)
				return t.V4Encrypt(k.Paseto, Implicit), nil
			},
			Open: func(s string) (map[string]any, error) {
				t, err := paseto.NewParser().ParseV4Local(k.Paseto, s, Implicit)
				if err != nil {
					return nil, err
				}
				data, ok := t.Claims()["data"].(map[string]any)
				if !ok {
					return nil, errors.New("bench: go-paseto token without data")
				}
				return data, nil
			},
		},
		{
			Name: "securecookie-gob",
			Seal: func(v map[string]any) (string, error) { return scGob.Encode("session", v) },
			Open: func(s string) (map[string]any, error) {
				var v map[string]any
				err := scGob.Decode("session", s, &v)
				return v, err
			},
		},
		{
			Name: "securecookie-json",
			Seal: func(v map[string]any) (string, error) { return scJSON.Encode("session", v) },
			Open: func(s string) (map[string]any, error) {
				var v map[string]any
				err := scJSON.Decode("session", s, &v)
				return v, err
			},
		},
		{
			Name: "jwe",
			Seal: func(v map[string]any) (string, error) {
				pt, err := json.Marshal(jweClaims{Exp: time.Now().Add(time.Hour).Unix(), Data: v})
				if err != nil {
					return "", err
				}
				obj, err := enc.Encrypt(pt)
				if err != nil {
					return "", err
				}
				return obj.CompactSerialize()
			},
			Open: func(s string) (map[string]any, error) {
				obj, err := jose.ParseEncryptedCompact(s, []jose.KeyAlgorithm{jose.DIRECT}, []jose.ContentEncryption{jose.A256GCM})
				if err != nil {
					return nil, err
				}
				pt, err := obj.Decrypt(k.JOSE)
				if err != nil {
					return nil, err
				}
				var c jweClaims
				if err := json.Unmarshal(pt, &c); err != nil {
					return nil, err
				}
				if time.Now().Unix() >= c.Exp {
					return nil, errors.New("bench: JWE expired")
				}
				return c.Data, nil
			},
		},
	}
}

// jweClaims is the JWE plaintext: a JWT-style exp and the session.
type jweClaims struct {
	Exp  int64          `json:"exp"`
	Data map[string]any `json:"data"`
}

// Floor is the v4.local primitives alone on the plaintext satchel seals
// for one payload: FloorSeal and FloorOpen from internal/benchfix with a
// fixed nonce and satchel's footer.
type Floor struct {
	key, nonce [32]byte
	Plaintext  []byte // satchel's claims JSON for the payload
	Footer     []byte
	Body       string // the payload segment of a FloorSeal token
}

// NewFloor prepares the floor for p: it seals p with satchel to learn the
// exact plaintext, so that the floor and satchel encrypt the same bytes.
func NewFloor(k *Keys, p benchfix.Payload) (*Floor, error) {
	f := &Floor{key: k.Satchel.ExportSecret(), Footer: []byte(`{"kid":"` + k.Satchel.ID() + `"}`)}
	if _, err := rand.Read(f.nonce[:]); err != nil {
		return nil, err
	}
	// Seal writes exp as whole seconds.
	exp := time.Now().Add(time.Hour).Truncate(time.Second)
	pt, err := jsonx.AppendValue(nil, p.Values())
	if err != nil {
		return nil, err
	}
	f.Plaintext = append(append([]byte(`{"exp":"`+exp.UTC().Format(time.RFC3339)+`","data":`), pt...), '}')
	tok := f.Seal()
	body, _, ok := bytes.Cut([]byte(tok[len("v4.local."):]), []byte("."))
	if !ok {
		return nil, fmt.Errorf("bench: floor token without footer")
	}
	f.Body = string(body)
	return f, nil
}

// Seal runs benchfix.FloorSeal once.
func (f *Floor) Seal() string { return benchfix.FloorSeal(&f.key, &f.nonce, f.Plaintext, f.Footer) }

// Open runs benchfix.FloorOpen once and returns the plaintext.
func (f *Floor) Open() []byte { return benchfix.FloorOpen(&f.key, f.Body, f.Footer) }
