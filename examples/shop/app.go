package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"satchel.dev/keyring"
	"satchel.dev/middleware"
	"satchel.dev/revoke"
)

// Session keys the shop uses.
const (
	keyUser  = "user"
	keyCart  = "cart" // map[string]int: SKU to quantity
	keyTheme = "theme"
	keyNote  = "note"
)

const (
	maxNameLen = 40
	maxQty     = 99
)

// options configure the app.
type options struct {
	Insecure bool         // session cookie without Secure; see main's doc
	Logger   *slog.Logger // nil means slog.Default()
	Now      func() time.Time
	// Revocations records sign-outs. Nil means an in-process
	// satchel.dev/revoke Set; main passes a Redis-backed one when
	// $SATCHEL_REDIS is set, so that every shop process shares it.
	Revocations revocations
}

// revocations is what the shop needs of a revocation set: the middleware's
// hook (sign-out of one session, done by Destroy) and sign-out everywhere.
// Both satchel.dev/revoke.Set and satchel.dev/revoke/redis.Store have it.
type revocations interface {
	middleware.Revocations
	RevokeSubject(ctx context.Context, subject string, at time.Time, keep ...string) error
}

// app is the shop's HTTP side.
type app struct {
	sessions *middleware.Manager
	revoked  revocations
	cookie   string // the session cookie's name
	log      *slog.Logger
	now      func() time.Time
}

// newApp returns the shop's handler: routes, the session middleware, and
// cross-origin protection for its forms.
func newApp(src keyring.Source, opts options) (http.Handler, error) {
	a := &app{log: opts.Logger, now: opts.Now}
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.now == nil {
		a.now = time.Now
	}
	a.revoked = opts.Revocations
	if a.revoked == nil {
		set, err := revoke.New(revoke.Config{MaxAge: middleware.DefaultMaxAge, Now: opts.Now})
		if err != nil {
			return nil, err
		}
		a.revoked = set
	}
	sessions, err := middleware.New(src, middleware.Config{
		Insecure:     opts.Insecure,
		Audience:     "satchel-shop",
		IdleTimeout:  24 * time.Hour,
		Now:          opts.Now,
		Logger:       a.log,
		ErrorHandler: a.sessionError,
		Revocations:  a.revoked,
	})
	if err != nil {
		return nil, err
	}
	a.sessions = sessions
	a.cookie = middleware.DefaultName
	if opts.Insecure {
		a.cookie = middleware.DefaultInsecureName
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.home)
	mux.HandleFunc("GET /cart", a.cart)
	mux.HandleFunc("POST /login", a.login)
	mux.HandleFunc("POST /logout", a.logout)
	mux.HandleFunc("POST /logout/everywhere", a.logoutEverywhere)
	mux.HandleFunc("POST /cart/add", a.addToCart)
	mux.HandleFunc("POST /cart/remove", a.removeFromCart)
	mux.HandleFunc("POST /cart/note", a.saveNote)
	mux.HandleFunc("POST /theme", a.setTheme)
	mux.HandleFunc("/", a.notFound)

	// Forms are protected from cross-site posts by the SameSite=Lax
	// cookie and, for browsers that send Sec-Fetch-Site or Origin, by
	// net/http's cross-origin check.
	csrf := http.NewCrossOriginProtection()
	return securityHeaders(csrf.Handler(sessions.Handler(mux))), nil
}

// securityHeaders adds the headers every page gets.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// view starts the template data for a page from the session. It takes
// the flash messages (a change to the session) unless readOnly is set.
func (a *app) view(r *http.Request, name, title string, readOnly bool) *pageData {
	s := middleware.Get(r)
	d := &pageData{View: name, Title: title, Theme: "light", CookieLimit: middleware.CookieLimit}
	if t, _ := s.GetString(keyTheme); t == "dark" {
		d.Theme = "dark"
	}
	d.User, _ = s.GetString(keyUser)
	if !readOnly {
		for _, f := range s.Flashes() {
			d.Flashes = append(d.Flashes, f.Message)
		}
	}
	d.Cart = cartOf(s)
	for _, q := range d.Cart {
		d.CartCount += q
	}
	d.Note, _ = s.GetString(keyNote)
	if c, err := r.Cookie(a.cookie); err == nil {
		d.CookieBytes = len(a.cookie) + 1 + len(c.Value)
	}
	d.CookiePercent = min(100, d.CookieBytes*100/middleware.CookieLimit)
	if exp := s.Expires(); !exp.IsZero() {
		d.Expires = until(exp.Sub(a.now()))
	}
	return d
}

// cartOf reads the cart; a missing or unreadable cart is empty.
func cartOf(s *middleware.Session) map[string]int {
	cart, err := middleware.Decode[map[string]int](s, keyCart)
	if err != nil || cart == nil {
		return map[string]int{}
	}
	return cart
}

func (a *app) home(w http.ResponseWriter, r *http.Request) {
	d := a.view(r, "catalog", "Shop", false)
	if d.User == "" {
		d.View, d.Title = "login", "Sign in"
		d.LoggedOut = r.URL.Query().Get("bye") == "1"
	}
	for _, p := range catalog {
		d.Products = append(d.Products, shelfItem{product: p, InCart: d.Cart[p.SKU]})
	}
	a.render(w, http.StatusOK, d)
}

func (a *app) cart(w http.ResponseWriter, r *http.Request) {
	d := a.view(r, "cart", "Your cart", false)
	if d.User == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	total := 0
	for _, p := range catalog {
		if q := d.Cart[p.SKU]; q > 0 {
			d.Lines = append(d.Lines, cartLine{product: p, Qty: q, Subtotal: euros(q * p.Cents)})
			total += q * p.Cents
		}
	}
	d.Total = euros(total)
	a.render(w, http.StatusOK, d)
}

func (a *app) login(w http.ResponseWriter, r *http.Request) {
	s := middleware.Get(r)
	name := strings.Join(strings.Fields(r.PostFormValue("name")), " ")
	if name == "" || utf8.RuneCountInString(name) > maxNameLen || !utf8.ValidString(name) {
		s.Flash(fmt.Sprintf("Please enter a name of 1 to %d characters.", maxNameLen))
		back(w, r)
		return
	}
	// A new session id and a fresh lifetime at login: a session id planted
	// before it never becomes a logged-in one. The subject is whom "sign
	// out everywhere" signs out.
	s.Restart()
	s.SetSubject(name)
	s.Set(keyUser, name)
	s.Flash("Welcome, " + name + ".")
	back(w, r)
}

// logout ends this session. With Revocations configured, Destroy also
// records the session id as signed out, so a copy of the cookie taken
// before (another tab, another device, a thief) stops working on every
// server too.
func (a *app) logout(w http.ResponseWriter, r *http.Request) {
	middleware.Get(r).Destroy()
	http.Redirect(w, r, "/?bye=1", http.StatusSeeOther)
}

// logoutEverywhere ends every session of the signed-in user, on every
// device and every server: after a password change, or a lost phone.
func (a *app) logoutEverywhere(w http.ResponseWriter, r *http.Request) {
	s := middleware.Get(r)
	if sub := s.Subject(); sub != "" {
		if err := a.revoked.RevokeSubject(r.Context(), sub, a.now()); err != nil {
			// The sign-out did not stick everywhere: say so rather than
			// pretend. The session stays, so the user can try again.
			a.log.ErrorContext(r.Context(), "shop: sign out everywhere failed", "error", err)
			http.Error(w, "Signing out everywhere failed; please try again.", http.StatusServiceUnavailable)
			return
		}
	}
	s.Destroy()
	http.Redirect(w, r, "/?bye=1", http.StatusSeeOther)
}

// loggedIn returns the session of a logged-in user, or sends the visitor
// to the login page.
func loggedIn(w http.ResponseWriter, r *http.Request) (*middleware.Session, bool) {
	s := middleware.Get(r)
	if _, ok := s.GetString(keyUser); !ok {
		s.Flash("Please sign in first.")
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return nil, false
	}
	return s, true
}

// cartRequest reads a cart change: the logged-in session and the product
// named by the form's sku. When it returns false it has already answered.
func cartRequest(w http.ResponseWriter, r *http.Request) (*middleware.Session, product, bool) {
	s, ok := loggedIn(w, r)
	if !ok {
		return nil, product{}, false
	}
	p, ok := productBySKU(r.PostFormValue("sku"))
	if !ok {
		http.Error(w, "no such product", http.StatusBadRequest)
		return nil, product{}, false
	}
	return s, p, true
}

func (a *app) addToCart(w http.ResponseWriter, r *http.Request) {
	s, p, ok := cartRequest(w, r)
	if !ok {
		return
	}
	cart := cartOf(s)
	if cart[p.SKU] >= maxQty {
		s.Flash(fmt.Sprintf("You already have %d of %s.", maxQty, p.Name))
	} else {
		cart[p.SKU]++
		s.Set(keyCart, cart)
		s.Flash("Added " + p.Name + " to your cart.")
	}
	back(w, r)
}

func (a *app) removeFromCart(w http.ResponseWriter, r *http.Request) {
	s, p, ok := cartRequest(w, r)
	if !ok {
		return
	}
	cart := cartOf(s)
	if _, in := cart[p.SKU]; in {
		delete(cart, p.SKU)
		if len(cart) == 0 {
			s.Delete(keyCart)
		} else {
			s.Set(keyCart, cart)
		}
		s.Flash("Removed " + p.Name + ".")
	}
	back(w, r)
}

// saveNote stores a gift note. Its length is deliberately not limited, so
// that a long note shows what happens when a session outgrows its cookie.
func (a *app) saveNote(w http.ResponseWriter, r *http.Request) {
	s, ok := loggedIn(w, r)
	if !ok {
		return
	}
	note := strings.TrimSpace(r.PostFormValue("note"))
	if note == "" {
		s.Delete(keyNote)
		s.Flash("Gift note removed.")
	} else {
		s.Set(keyNote, note)
		s.Flash("Gift note saved.")
	}
	back(w, r)
}

func (a *app) setTheme(w http.ResponseWriter, r *http.Request) {
	theme := r.PostFormValue("theme")
	if theme != "light" && theme != "dark" {
		http.Error(w, "unknown theme", http.StatusBadRequest)
		return
	}
	middleware.Get(r).Set(keyTheme, theme)
	back(w, r)
}

func (a *app) notFound(w http.ResponseWriter, r *http.Request) {
	d := a.view(r, "error", "Not found", false)
	d.Error = "There is no page at this address."
	a.render(w, http.StatusNotFound, d)
}

// back redirects to the page named by the form's "next" field: only the
// shop's own pages, never another site.
func back(w http.ResponseWriter, r *http.Request) {
	next := "/"
	if r.PostFormValue("next") == "/cart" {
		next = "/cart"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// sessionError is the middleware's ErrorHandler: a page that says what
// happened, instead of a session silently lost.
func (a *app) sessionError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, middleware.ErrLateChange) {
		a.log.Error("session change after the response started", "err", err, "path", r.URL.Path)
		return
	}
	a.log.Warn("session not saved", "err", err, "path", r.URL.Path)
	// The handler may have set headers for its own response (a redirect's
	// Location, say); this page replaces that response.
	clear(w.Header())
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")

	// Read-only: the session can no longer change in this response.
	d := a.view(r, "error", "Not saved", true)
	status := http.StatusInternalServerError
	d.Error = "Your session could not be saved. Nothing you just did was kept."
	if errors.Is(err, middleware.ErrTooLarge) {
		status = http.StatusRequestEntityTooLarge
		d.View, d.Title = "full", "Session full"
	}
	a.render(w, status, d)
}

// until says roughly how long d is.
func until(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("in %d days", int(d.Hours()/24))
	case d >= 2*time.Hour:
		return fmt.Sprintf("in %d hours", int(d.Hours()))
	case d >= 2*time.Minute:
		return fmt.Sprintf("in %d minutes", int(d.Minutes()))
	}
	return "in a moment"
}
