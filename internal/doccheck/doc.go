// Package doccheck keeps the user documentation honest. It holds only
// tests, which check that:
//
//   - every test that SECURITY.md or README.md cites as proof exists, in the
//     file the link names;
//   - every command the README shows is run by CI (.ci/run or .ci/parts);
//   - every TestThreatNN in the repository has its row NN in SECURITY.md's
//     threat model, and every row has a test;
//   - every Markdown file a Go source file names exists in the repository,
//     so a reader following a comment never reaches a file we do not ship.
//
// It has no code of its own; run it with go test ./internal/doccheck.
package doccheck
