// Package fuzz holds satchel's native go test -fuzz targets: one per parser
// that sees untrusted input, and round trips through Seal and Open. Each
// target checks a property (canonical round trips, agreement with an
// independent implementation, fail-closed errors), not only the absence of
// panics. The package has no API; its code is in the _test.go files.
//
// # Targets
//
//   - FuzzOpen: arbitrary strings through token.Open; an accepted token is
//     canonical, names the key that sealed it and opens under nothing else.
//   - FuzzFooter: the footer parser that runs before authentication;
//     where Open stops (before the key lookup, at it, at the MAC).
//   - FuzzClaims: arbitrary plaintexts sealed under a ring key; Open
//     accepts exactly the strict claims documents, agreeing with
//     encoding/json on every value.
//   - FuzzSealOpen and FuzzSealOpenTyped: sessions built from the input
//     (generic values; structs, typed slices and maps, pointers, times)
//     sealed and opened; Seal fails exactly when it must, Open accepts
//     exactly what Seal produced and every value decodes back equal, and
//     any changed byte or implicit assertion makes Open fail.
//   - FuzzOracleToken and FuzzOracleClaims: satchel against go-paseto, the
//     reference implementation, on the same tokens.
//   - FuzzParseKey and FuzzParseKeyring: PASERK keys and keyring files.
//   - FuzzCookieHeader: Cookie header lines through the middleware.
//
// Tokens that Seal would never write (duplicate names, invalid UTF-8, no
// exp) are built with internal/v4ref, the plain reference v4.local.
//
// # Running
//
// One target at a time:
//
//	go test -run='^$' -fuzz='^FuzzOpen$' -fuzztime=30s ./fuzz
//
// Without -fuzz, go test runs every target once on its seeds and on the
// committed corpus in testdata/fuzz, which is how regressions stay fixed:
// commit a failing input the fuzzer writes there together with its fix.
// .ci/parts/40-fuzz.sh fuzzes every target briefly.
package fuzz
