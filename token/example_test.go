package token_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"satchel.dev/keyring"
	"satchel.dev/token"
)

func Example() {
	key, err := keyring.GenerateKey()
	if err != nil {
		panic(err)
	}
	ring, err := keyring.FromKeys(key)
	if err != nil {
		panic(err)
	}
	// The implicit assertion binds the token to where it is used; it is
	// authenticated but not part of the token.
	implicit := []byte("cookie=__Host-session")

	tok, err := token.Seal(key, &token.Claims{
		Expiry:   time.Now().Add(time.Hour),
		IssuedAt: time.Now(),
		Data:     map[string]any{"user_id": 42, "theme": "dark"},
	}, implicit, nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(strings.HasPrefix(tok, "v4.local."))

	claims, err := token.Open(ring, tok, implicit, nil)
	if err != nil {
		panic(err)
	}
	var theme string
	if err := json.Unmarshal(claims.Data["theme"].(json.RawMessage), &theme); err != nil {
		panic(err)
	}
	fmt.Println(theme, claims.KeyID == key.ID())

	// Anything else is refused with a sentinel error.
	_, err = token.Open(ring, tok, []byte("cookie=other"), nil)
	fmt.Println(errors.Is(err, token.ErrInvalid))
	// Output:
	// true
	// dark true
	// true
}

func ExampleOpen_errors() {
	key, _ := keyring.GenerateKey()
	ring, _ := keyring.FromKeys(key)
	issued := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tok, _ := token.Seal(key, &token.Claims{Expiry: issued.Add(time.Hour)}, nil, nil)

	later := &token.Options{Now: func() time.Time { return issued.Add(2 * time.Hour) }}
	_, err := token.Open(ring, tok, nil, later)
	fmt.Println(errors.Is(err, token.ErrExpired))

	otherKey, _ := keyring.GenerateKey()
	otherRing, _ := keyring.FromKeys(otherKey)
	_, err = token.Open(otherRing, tok, nil, nil)
	fmt.Println(errors.Is(err, token.ErrUnknownKey), errors.Is(err, token.ErrInvalid))

	_, err = token.Open(ring, strings.Repeat("x", 5000), nil, nil)
	fmt.Println(errors.Is(err, token.ErrTooLarge))
	// Output:
	// true
	// true true
	// true
}
