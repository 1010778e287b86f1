package e2e

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's Chromium, which .ci/parts/20-e2e.sh installs.
const chromiumPath = "/usr/bin/chromium"

const sessionCookie = "__Host-session"

// findChromium returns the browser to drive. Outside CI a missing browser
// skips the test; in CI (CI=true) it fails it, so that a broken install
// step cannot pass as green.
func findChromium(t *testing.T) string {
	t.Helper()
	path := chromiumPath
	if p := os.Getenv("SATCHEL_CHROMIUM"); p != "" {
		path = p
	}
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Chromium not found at %s in CI: %v", path, err)
		}
		t.Skipf("Chromium not found at %s (apt-get install -y chromium); skipping the browser test", path)
	}
	return path
}

// shopServer is the demo shop, built from ../examples/shop and run as a
// separate process with its default flags but a free port.
type shopServer struct {
	base   string // http://127.0.0.1:port
	mu     sync.Mutex
	stderr strings.Builder
}

func (s *shopServer) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stderr.String()
}

func startShop(t *testing.T) *shopServer {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "shop")
	build := exec.Command("go", "build", "-o", bin, "./examples/shop")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the shop: %v\n%s", err, out)
	}

	cmd := exec.Command(bin, "-addr", "127.0.0.1:0")
	// No SATCHEL_KEYS: the shop must make a development key and say so.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SATCHEL_KEYS=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})

	s := &shopServer{}
	listening := regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+)`)
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.stderr.WriteString(line + "\n")
			s.mu.Unlock()
			if m := listening.FindStringSubmatch(line); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
		io.Copy(io.Discard, pipe)
	}()
	select {
	case s.base = <-found:
	case <-time.After(30 * time.Second):
		t.Fatalf("the shop did not start:\n%s", s.log())
	}
	return s
}

// newBrowser starts headless Chromium with a fresh profile and the flags
// that keep it off the (closed) network.
func newBrowser(t *testing.T, path string) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1200, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	// Start the browser without a deadline (a deadline on the first run
	// would bound the whole browser's life).
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	return ctx
}

// step runs actions with a deadline, failing the test with what was being
// done.
func step(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// value runs an action that returns a value, with a deadline.
func value[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// submit clicks a button or link that loads a page and returns the status
// of the page the browser lands on (after any redirect).
func submit(t *testing.T, ctx context.Context, button string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(button)))
	if err != nil {
		t.Fatalf("clicking %s: %v", button, err)
	}
	return resp.Status
}

func navigate(t *testing.T, ctx context.Context, u string) int64 {
	t.Helper()
	resp := value(t, ctx, "navigating to "+u, chromedp.NavigateResponse(u))
	return resp.Status
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return strings.TrimSpace(value(t, ctx, "reading "+sel, chromedp.Text(chromedp.CSS(sel))))
}

// cookies returns the browser's cookies for u, as Chromium stores them.
func cookies(t *testing.T, ctx context.Context, u string) map[string]*network.Cookie {
	t.Helper()
	res := value(t, ctx, "reading cookies", func(ctx context.Context, tg *chromedp.Target) (network.GetCookiesResult, error) {
		return cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{URLs: []string{u}})
	})
	out := map[string]*network.Cookie{}
	for _, c := range res.Cookies {
		out[c.Name] = c
	}
	return out
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png := value(t, ctx, "screenshot", chromedp.FullScreenshot(100))
	if err := os.MkdirAll("artifacts", 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("artifacts", name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: e2e/%s", path)
}

func TestShopInChromium(t *testing.T) {
	browserPath := findChromium(t)
	shop := startShop(t)
	if !strings.Contains(shop.log(), "SATCHEL_KEYS is not set: using a random development key") {
		t.Errorf("the shop did not announce its development key:\n%s", shop.log())
	}
	ctx := newBrowser(t, browserPath)
	base := shop.base
	home := base + "/"

	// Log in.
	if st := navigate(t, ctx, home); st != 200 {
		t.Fatalf("GET /: %d", st)
	}
	step(t, ctx, "filling the login form",
		chromedp.WaitVisible(chromedp.CSS("#login-form")),
		chromedp.SetValue(chromedp.CSS("#name"), "Ada"))
	if st := submit(t, ctx, "#login"); st != 200 {
		t.Fatalf("login landed on %d", st)
	}
	if got := text(t, ctx, "#who"); got != "Signed in as Ada" {
		t.Fatalf("after login: %q", got)
	}

	// Fill a cart.
	for _, sku := range []string{"TEA-SEN", "TEA-SEN", "COF-ETH", "ACC-POT"} {
		if st := submit(t, ctx, "#add-"+sku); st != 200 {
			t.Fatalf("adding %s: %d", sku, st)
		}
	}
	if got := text(t, ctx, "#cart-count"); got != "4" {
		t.Fatalf("cart count %q, want 4", got)
	}
	screenshot(t, ctx, "shop-catalog.png")

	// Reload and navigate: the cart is kept.
	step(t, ctx, "reloading", chromedp.Reload())
	if got := text(t, ctx, "#cart-count"); got != "4" {
		t.Errorf("after reload the cart count is %q", got)
	}
	if st := navigate(t, ctx, base+"/cart"); st != 200 {
		t.Fatalf("GET /cart: %d", st)
	}
	if got := text(t, ctx, "#line-TEA-SEN .qty"); got != "2" {
		t.Errorf("Sencha quantity %q, want 2", got)
	}
	if got := text(t, ctx, "#total"); got != "€64.70" {
		t.Errorf("total %q, want €64.70", got)
	}
	if st := submit(t, ctx, "a.brand"); st != 200 {
		t.Fatalf("following the home link: %d", st)
	}
	if got := text(t, ctx, "#p-TEA-SEN .incart"); got != "· 2 in cart" {
		t.Errorf("back on the shelf: %q", got)
	}

	// The cookie as Chromium stores it.
	jar := cookies(t, ctx, home)
	c, ok := jar[sessionCookie]
	if !ok {
		t.Fatalf("no %s cookie; the browser holds %v", sessionCookie, jar)
	}
	if !c.HTTPOnly || !c.Secure || c.SameSite != network.CookieSameSiteLax || c.Path != "/" || c.Session {
		t.Errorf("cookie attributes: HttpOnly=%v Secure=%v SameSite=%q Path=%q session=%v",
			c.HTTPOnly, c.Secure, c.SameSite, c.Path, c.Session)
	}
	if c.Domain != "127.0.0.1" {
		t.Errorf("cookie domain %q, want the host-only 127.0.0.1", c.Domain)
	}
	if !strings.HasPrefix(c.Value, "v4.local.") || c.Size > 4096 {
		t.Errorf("cookie value is not a v4.local token of at most 4096 bytes (size %d)", c.Size)
	}
	if left := time.Until(time.Unix(int64(c.Expires), 0)); left < 23*time.Hour || left > 25*time.Hour {
		t.Errorf("cookie expires in %v, want the shop's 24 h idle window", left)
	}
	if js := value(t, ctx, "reading document.cookie", chromedp.Evaluate[string]("document.cookie")); strings.Contains(js, sessionCookie) {
		t.Errorf("JavaScript can read the session cookie: %q", js)
	}

	// Theme: kept in the session, shown on every page.
	if st := submit(t, ctx, "#theme"); st != 200 {
		t.Fatalf("theme: %d", st)
	}
	navigate(t, ctx, base+"/cart")
	theme := value(t, ctx, "reading the theme", chromedp.Evaluate[string]("document.documentElement.dataset.theme"))
	if theme != "dark" {
		t.Errorf("theme %q after choosing dark", theme)
	}

	// A gift note that fits, then one that cannot: refused with a clear
	// page, and nothing lost.
	step(t, ctx, "writing a note", chromedp.SetValue(chromedp.CSS("#note"), "Happy birthday, Grace!"))
	if st := submit(t, ctx, "#save-note"); st != 200 {
		t.Fatalf("saving a short note: %d", st)
	}
	screenshot(t, ctx, "shop-cart-dark.png")
	before := cookies(t, ctx, home)[sessionCookie].Value
	step(t, ctx, "writing a long note", chromedp.SetValue(chromedp.CSS("#note"), strings.Repeat("Many happy returns! ", 250)))
	if st := submit(t, ctx, "#save-note"); st != 413 {
		t.Errorf("saving a 5000-byte note: status %d, want 413", st)
	}
	if got := text(t, ctx, "#session-full h1"); got != "Your session is full" {
		t.Errorf("error page heading %q", got)
	}
	screenshot(t, ctx, "shop-session-full.png")
	if after := cookies(t, ctx, home)[sessionCookie].Value; after != before {
		t.Error("the refused change altered the cookie")
	}
	navigate(t, ctx, base+"/cart")
	if got := value(t, ctx, "reading the note", chromedp.Value(chromedp.CSS("#note"))); got != "Happy birthday, Grace!" {
		t.Errorf("after the refusal the note is %q", got)
	}
	if got := text(t, ctx, "#cart-count"); got != "4" {
		t.Errorf("after the refusal the cart count is %q", got)
	}

	// A tampered cookie, set through the browser: a logged-out page, not
	// an error.
	tampered := []byte(before)
	i := len(tampered) / 2
	if tampered[i] == 'A' {
		tampered[i] = 'B'
	} else {
		tampered[i] = 'A'
	}
	step(t, ctx, "planting a tampered cookie", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, network.SetCookie, network.SetCookieParams{
			Name: sessionCookie, Value: string(tampered), URL: home, Path: "/",
			Secure: ptr(true), HTTPOnly: ptr(true), SameSite: network.CookieSameSiteLax,
		})
		return err
	}))
	if got := cookies(t, ctx, home)[sessionCookie].Value; got != string(tampered) {
		t.Fatal("the browser did not take the tampered cookie")
	}
	if st := navigate(t, ctx, home); st != 200 {
		t.Errorf("with a tampered cookie: status %d, want 200", st)
	}
	step(t, ctx, "seeing the login page", chromedp.WaitVisible(chromedp.CSS("#login-form")))

	// Log in again, then out: the cookie is gone.
	step(t, ctx, "logging in again", chromedp.SetValue(chromedp.CSS("#name"), "Ada"))
	submit(t, ctx, "#login")
	if got := text(t, ctx, "#who"); got != "Signed in as Ada" {
		t.Fatalf("second login: %q", got)
	}
	if st := submit(t, ctx, "#logout"); st != 200 {
		t.Fatalf("logout: %d", st)
	}
	step(t, ctx, "seeing the goodbye", chromedp.WaitVisible(chromedp.CSS("#bye")))
	if _, ok := cookies(t, ctx, home)[sessionCookie]; ok {
		t.Error("the session cookie survived logout")
	}

	// Nothing secret in the server's log.
	if log := shop.log(); strings.Contains(log, before[len("v4.local."):40]) || strings.Contains(log, "Grace") {
		t.Errorf("the shop's log holds a token or a session value:\n%s", log)
	}
}

func ptr[T any](v T) *T { return &v }
