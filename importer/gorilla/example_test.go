package gorilla_test

import (
	"encoding/gob"
	"log"
	"net/http"
	"os"
	"time"

	"satchel.dev/importer/gorilla"
	"satchel.dev/keyring"
	"satchel.dev/middleware"
)

// user stands for a type the application stored in its gorilla sessions.
type user struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// An application that had
//
//	store := sessions.NewCookieStore(newHash, newBlock, oldHash, oldBlock)
//	store.MaxAge(7 * 86400)
//	session, _ := store.Get(r, "shop-session")
//
// adopts those sessions as below, for one MaxAge, then removes Import.
func ExampleNew() {
	gob.Register(user{}) // as the application already did for gorilla

	newHash, newBlock := []byte(os.Getenv("GORILLA_HASH_KEY")), []byte(os.Getenv("GORILLA_BLOCK_KEY"))
	oldHash, oldBlock := []byte(os.Getenv("GORILLA_OLD_HASH_KEY")), []byte(os.Getenv("GORILLA_OLD_BLOCK_KEY"))
	legacy, err := gorilla.New(gorilla.Options{
		Keys:       []gorilla.KeyPair{{Hash: newHash, Block: newBlock}, {Hash: oldHash, Block: oldBlock}},
		CookieName: "shop-session",
		MaxAge:     7 * 24 * time.Hour,
		Secure:     true, // the store's Options, for the cookie that deletes it
	})
	if err != nil {
		log.Fatal(err)
	}
	ring, err := keyring.FromEnv(keyring.EnvVar)
	if err != nil {
		log.Fatal(err)
	}
	sessions, err := middleware.New(ring, middleware.Config{Import: legacy})
	if err != nil {
		log.Fatal(err)
	}
	http.Handle("/", sessions.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Values stored as user{} arrive as its JSON form.
		u, err := middleware.Decode[user](middleware.Get(r), "user")
		_, _ = u, err
	})))
}
