package token_test

import (
	"testing"

	paseto "aidanwoods.dev/go-paseto"
	"github.com/google/go-cmp/cmp"
)

var _ = paseto.NewV4SymmetricKey
var _ = cmp.Diff
var _ testing.T
