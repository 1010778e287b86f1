// Package interop holds the cross-language test of satchel's session
// format: a Node script (satchel.mjs, with paseto-ts from npm) opens the
// cookies the middleware writes and writes cookies the middleware accepts,
// following FORMAT.md at the repository's root and nothing else.
//
// The test needs Node and the script's packages: run `npm ci` in this
// directory first. Without them it skips, unless CI=true, where it fails.
// The package has no API.
package interop
