// Package integrations holds the tests that run satchel's session
// middleware in the routers people use with it: net/http's ServeMux, chi,
// echo and gin. Each test file *_app_test.go is one small application
// (login, a counter, a flash message, a struct in the session, logout)
// written in its router's own style, served over TLS on loopback and
// driven by a real HTTP client with a cookie jar; satchelgin is the gin
// adapter they need.
//
// It is a module of its own, so that importing satchel never pulls in a
// router.
package integrations
