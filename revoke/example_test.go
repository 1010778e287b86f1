package revoke_test

import (
	"context"
	"fmt"
	"time"

	"satchel.dev/revoke"
)

// A Set on its own, as the middleware uses it: a signed-out session id is
// refused, and so is every session of a subject signed out everywhere,
// except the one kept.
func ExampleSet() {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	set, err := revoke.New(revoke.Config{MaxAge: 24 * time.Hour, Now: func() time.Time { return now }})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	created := now.Add(-time.Hour)

	// Sign-out: Session.Destroy makes the middleware call this.
	set.RevokeSession(ctx, "AAAAAAAAAAAAAAAAAAAAAA", now.Add(23*time.Hour))
	fmt.Println("signed-out session:", set.Revoked("AAAAAAAAAAAAAAAAAAAAAA", "ada", created))

	// Sign out everywhere, keeping the session that asked.
	set.RevokeSubject(ctx, "ada", now, "BBBBBBBBBBBBBBBBBBBBBB")
	fmt.Println("ada's phone:", set.Revoked("CCCCCCCCCCCCCCCCCCCCCC", "ada", created))
	fmt.Println("ada's kept session:", set.Revoked("BBBBBBBBBBBBBBBBBBBBBB", "ada", now))
	fmt.Println("ada's next login:", set.Revoked("DDDDDDDDDDDDDDDDDDDDDD", "ada", now.Add(time.Second)))
	fmt.Println("bob:", set.Revoked("EEEEEEEEEEEEEEEEEEEEEE", "bob", created))
	// Output:
	// signed-out session: true
	// ada's phone: true
	// ada's kept session: false
	// ada's next login: false
	// bob: false
}
