package starlette_test

import (
	"fmt"
	"log"
	"net/http/httptest"
	"time"

	"satchel.dev/importer/starlette"
)

// The importer reads the cookie a Starlette app wrote for
// request.session = {"user_id": 42, "username": "ada"}. In an application,
// pass it to the middleware as Config.Import instead of calling Import.
func ExampleImporter() {
	im, err := starlette.New(starlette.Options{
		SecretKey: "change-me: the app's secret_key", // SessionMiddleware's secret_key
		Now:       func() time.Time { return time.Unix(1_800_000_060, 0) },
	})
	if err != nil {
		log.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Cookie", "session=eyJ1c2VyX2lkIjogNDIsICJ1c2VybmFtZSI6ICJhZGEifQ==.a0nSAA.HyWlA1051s_Ex_1wnwRsAksLs8Q")
	vals, found, err := im.Import(r)
	fmt.Println(found, err)
	fmt.Printf("user_id=%s username=%s\n", vals["user_id"], vals["username"])
	fmt.Println(im.Expire())
	// Output:
	// true <nil>
	// user_id=42 username="ada"
	// session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax
}
