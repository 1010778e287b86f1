package keyring

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// EnvVar is the environment variable that [FromEnv] reads by convention.
const EnvVar = "SATCHEL_KEYS"

// ErrNoKeys is returned by [FromEnv] when the variable is unset or empty.
var ErrNoKeys = errors.New("keyring: no keys configured")

// ParseKeys reads the short form of a keyring: k4.local PASERKs separated by
// commas and/or white space. The first key is primary; the others are
// retired and only open tokens. Errors name the position of the bad key
// ("key 2") and never contain key material.
func ParseKeys(s string) (*Ring, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r'
	})
	if len(fields) == 0 {
		return nil, ErrNoKeys
	}
	keys := make([]Key, len(fields))
	for i, f := range fields {
		k, err := ParseKey(f)
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i+1, err)
		}
		keys[i] = k
	}
	return FromKeys(keys[0], keys[1:]...)
}

// FromEnv reads the short form of a keyring (see [ParseKeys]) from the
// environment variable name, usually [EnvVar]. It returns an error wrapping
// [ErrNoKeys] when the variable is unset or blank.
func FromEnv(name string) (*Ring, error) {
	v := os.Getenv(name)
	if strings.TrimSpace(v) == "" {
		return nil, fmt.Errorf("%w: $%s is empty", ErrNoKeys, name)
	}
	r, err := ParseKeys(v)
	if err != nil {
		return nil, fmt.Errorf("$%s: %w", name, err)
	}
	return r, nil
}
