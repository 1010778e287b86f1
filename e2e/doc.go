// Package e2e drives the demo shop (examples/shop) in a real browser,
// headless Debian Chromium through chromedp, and checks what only a
// browser can show: that the session cookie is stored with its __Host-
// prefix, HttpOnly, Secure and SameSite=Lax, that it keeps a cart across
// reloads and navigation, that a tampered cookie means a logged-out page,
// that logout removes it, and that a session too large for a cookie is
// refused with a clear page instead of being dropped.
//
// Run it with
//
//	cd e2e && go test ./...
//
// The browser is /usr/bin/chromium, or $SATCHEL_CHROMIUM when set. Outside
// CI the test skips when the browser is missing; with CI=true it fails.
// Screenshots land in e2e/artifacts/ (not committed).
package e2e
