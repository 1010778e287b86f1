package main

import (
	"bytes"
	"html/template"
	"net/http"
	"strconv"
)

// pageData is what the page template shows.
type pageData struct {
	View  string // login, catalog, cart, full or error
	Title string
	Theme string // light or dark

	User      string
	LoggedOut bool
	Flashes   []string
	Cart      map[string]int
	CartCount int
	Note      string
	Error     string

	Products []shelfItem
	Lines    []cartLine
	Total    string

	CookieBytes   int
	CookieLimit   int
	CookiePercent int
	Expires       string
}

type shelfItem struct {
	product
	InCart int
}

type cartLine struct {
	product
	Qty      int
	Subtotal string
}

// render writes the page, or a plain 500 if the template fails (before
// anything was sent).
func (a *app) render(w http.ResponseWriter, status int, d *pageData) {
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, d); err != nil {
		a.log.Error("rendering page", "view", d.View, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en" data-theme="{{.Theme}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · Satchel Tea & Coffee</title>
<style>
:root {
  --bg: #f6f3ee; --card: #ffffff; --ink: #1f2328; --muted: #6a6f76; --line: #e4ded4;
  --accent: #2f6f4f; --accent-ink: #ffffff; --warn: #9a3412; --warn-bg: #fff1e8;
  --ok-bg: #e9f5ee; --shadow: 0 1px 2px rgba(0,0,0,.06), 0 4px 16px rgba(0,0,0,.05);
}
[data-theme=dark] {
  --bg: #14171a; --card: #1d2125; --ink: #e8e6e3; --muted: #9aa1a9; --line: #2e3439;
  --accent: #6fbf8f; --accent-ink: #0f1a14; --warn: #fdba74; --warn-bg: #3a2216;
  --ok-bg: #183024; --shadow: 0 1px 2px rgba(0,0,0,.4), 0 4px 16px rgba(0,0,0,.3);
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
a { color: var(--accent); }
header { background: var(--card); border-bottom: 1px solid var(--line); }
.bar { max-width: 1040px; margin: 0 auto; padding: 14px 20px; display: flex; align-items: center; gap: 16px; }
.brand { font-weight: 700; font-size: 1.15rem; text-decoration: none; color: var(--ink); letter-spacing: .2px; }
.brand span { color: var(--accent); }
.spacer { flex: 1; }
.who { color: var(--muted); font-size: .95rem; }
.pill { display: inline-flex; align-items: center; gap: 6px; padding: 6px 12px; border-radius: 999px;
  border: 1px solid var(--line); text-decoration: none; color: var(--ink); font-size: .95rem; }
.badge { background: var(--accent); color: var(--accent-ink); border-radius: 999px; padding: 0 8px; font-size: .8rem; font-weight: 700; }
form.inline { display: inline; margin: 0; }
button, .button { font: inherit; cursor: pointer; border-radius: 8px; border: 1px solid transparent;
  padding: 8px 14px; background: var(--accent); color: var(--accent-ink); font-weight: 600; }
.button { display: inline-block; text-decoration: none; }
button.ghost { background: transparent; color: var(--ink); border-color: var(--line); font-weight: 500; }
button.link { background: none; border: 0; padding: 0; color: var(--warn); font-weight: 500; }
main { max-width: 1040px; margin: 0 auto; padding: 24px 20px 48px; }
h1 { font-size: 1.6rem; margin: 4px 0 18px; }
.flash { background: var(--ok-bg); border: 1px solid var(--line); border-radius: 10px; padding: 10px 14px; margin: 0 0 16px; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: 16px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 14px; box-shadow: var(--shadow); padding: 16px; }
.product { display: flex; flex-direction: column; gap: 10px; }
.swatch { height: 96px; border-radius: 10px; display: grid; place-items: center; color: #fff;
  font-weight: 800; font-size: 1.8rem; letter-spacing: 1px; }
.product h3 { margin: 0; font-size: 1.05rem; }
.product p { margin: 0; color: var(--muted); font-size: .92rem; flex: 1; }
.buy { display: flex; align-items: center; justify-content: space-between; }
.price { font-weight: 700; }
.incart { color: var(--muted); font-size: .85rem; }
.login { max-width: 420px; margin: 40px auto; }
label { display: block; font-weight: 600; margin-bottom: 6px; }
input[type=text], textarea { width: 100%; font: inherit; padding: 10px 12px; border-radius: 8px;
  border: 1px solid var(--line); background: var(--bg); color: var(--ink); }
textarea { min-height: 96px; resize: vertical; }
.row { display: flex; gap: 10px; margin-top: 12px; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: 10px 8px; border-bottom: 1px solid var(--line); }
td.num, th.num { text-align: right; }
tfoot td { font-weight: 700; border-bottom: 0; }
.two { display: grid; grid-template-columns: 2fr 1fr; gap: 16px; align-items: start; }
@media (max-width: 760px) { .two { grid-template-columns: 1fr; } }
.meter { height: 8px; border-radius: 999px; background: var(--line); overflow: hidden; margin: 6px 0; }
.meter > div { height: 100%; background: var(--accent); }
.meter.hot > div { background: var(--warn); }
.notice { background: var(--warn-bg); border: 1px solid var(--line); border-left: 4px solid var(--warn); border-radius: 10px; padding: 16px 18px; }
.notice h1 { margin-top: 0; }
footer { color: var(--muted); font-size: .85rem; max-width: 1040px; margin: 0 auto; padding: 0 20px 32px; }
.muted { color: var(--muted); }
</style>
</head>
<body>
<header><div class="bar">
  <a class="brand" href="/">Satchel <span>Tea &amp; Coffee</span></a>
  <div class="spacer"></div>
  <form class="inline" method="post" action="/theme">
    <input type="hidden" name="next" value="{{if eq .View "cart"}}/cart{{else}}/{{end}}">
    {{if eq .Theme "dark"}}<button class="ghost" name="theme" value="light" id="theme">Light theme</button>
    {{else}}<button class="ghost" name="theme" value="dark" id="theme">Dark theme</button>{{end}}
  </form>
  {{if .User}}
    <span class="who" id="who">Signed in as <strong>{{.User}}</strong></span>
    <a class="pill" href="/cart" id="cart-link">Cart <span class="badge" id="cart-count">{{.CartCount}}</span></a>
    <form class="inline" method="post" action="/logout"><button class="ghost" id="logout">Sign out</button></form>
    <form class="inline" method="post" action="/logout/everywhere"><button class="ghost" id="logout-everywhere" title="End this account's sessions on every device">Sign out everywhere</button></form>
  {{end}}
</div></header>
<main>
{{range .Flashes}}<div class="flash" role="status">{{.}}</div>{{end}}

{{if eq .View "login"}}
  <div class="card login">
    <h1>Sign in</h1>
    {{if .LoggedOut}}<p class="flash" id="bye">You are signed out. Your session cookie is gone.</p>{{end}}
    <p class="muted">No password: this demo keeps who you are, your cart and your theme in one
    encrypted cookie. The server stores nothing.</p>
    <form method="post" action="/login" id="login-form">
      <label for="name">Your name</label>
      <input type="text" id="name" name="name" maxlength="40" autocomplete="nickname" required autofocus>
      <div class="row"><button id="login">Sign in</button></div>
    </form>
  </div>

{{else if eq .View "catalog"}}
  <h1>Fresh this week</h1>
  <div class="grid">
  {{range .Products}}
    <div class="card product" id="p-{{.SKU}}">
      <div class="swatch" style="background: {{.Colour}}">{{.Initials}}</div>
      <h3>{{.Name}}</h3>
      <p>{{.Blurb}}</p>
      <div class="buy">
        <span><span class="price">{{.Price}}</span>{{if .InCart}} <span class="incart">· {{.InCart}} in cart</span>{{end}}</span>
        <form class="inline" method="post" action="/cart/add">
          <input type="hidden" name="sku" value="{{.SKU}}">
          <button id="add-{{.SKU}}">Add</button>
        </form>
      </div>
    </div>
  {{end}}
  </div>

{{else if eq .View "cart"}}
  <h1>Your cart</h1>
  <div class="two">
    <div class="card">
    {{if .Lines}}
      <table id="cart">
        <thead><tr><th>Item</th><th class="num">Qty</th><th class="num">Subtotal</th><th></th></tr></thead>
        <tbody>
        {{range .Lines}}
          <tr id="line-{{.SKU}}"><td>{{.Name}}</td><td class="num qty">{{.Qty}}</td><td class="num">{{.Subtotal}}</td>
          <td class="num"><form class="inline" method="post" action="/cart/remove">
            <input type="hidden" name="sku" value="{{.SKU}}"><input type="hidden" name="next" value="/cart">
            <button class="link" id="remove-{{.SKU}}">Remove</button></form></td></tr>
        {{end}}
        </tbody>
        <tfoot><tr><td>Total</td><td></td><td class="num" id="total">{{.Total}}</td><td></td></tr></tfoot>
      </table>
    {{else}}
      <p id="empty">Your cart is empty. <a href="/">Browse the shop</a>.</p>
    {{end}}
    </div>
    <div class="card">
      <form method="post" action="/cart/note">
        <input type="hidden" name="next" value="/cart">
        <label for="note">Gift note</label>
        <textarea id="note" name="note" placeholder="Happy birthday!">{{.Note}}</textarea>
        <div class="row"><button id="save-note">Save note</button></div>
      </form>
      <p class="muted">The note lives in your session cookie too, with no length limit, so a very
      long one shows what happens when a session outgrows the 4 KB a browser keeps per cookie.</p>
    </div>
  </div>

{{else if eq .View "full"}}
  <div class="notice" id="session-full">
    <h1>Your session is full</h1>
    <p>Browsers keep at most {{.CookieLimit}} bytes per cookie, and this change would have made
    the session cookie larger than that. A browser would have dropped it without a word, so the
    shop refused it instead.</p>
    <p><strong>Nothing was changed:</strong> your cart and gift note are as they were.
    Try a shorter note.</p>
    <p><a class="button" href="/cart" id="back-to-cart">Back to your cart</a></p>
  </div>

{{else}}
  <div class="notice" id="error">
    <h1>{{.Title}}</h1>
    <p>{{.Error}}</p>
    <p><a href="/">Back to the shop</a></p>
  </div>
{{end}}
</main>
<footer>
  {{if .CookieBytes}}
  <div>Session cookie: <span id="cookie-bytes">{{.CookieBytes}}</span> of {{.CookieLimit}} bytes{{if .Expires}} · expires {{.Expires}}{{end}}</div>
  <div class="meter{{if ge .CookiePercent 80}} hot{{end}}"><div style="width: {{.CookiePercent}}%"></div></div>
  {{else}}
  <div>No session cookie yet.</div>
  {{end}}
  <div>Sessions sealed with PASETO v4.local by satchel · HttpOnly, Secure, SameSite=Lax</div>
</footer>
</body>
</html>
`))
