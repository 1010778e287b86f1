// Package redis shares a satchel revocation set across a fleet of servers
// through a Redis stream.
//
// Each server keeps the whole set of live revocations in memory (a
// [satchel.dev/revoke.Set]) and checks sessions against it with no network
// round trip. A [Store] appends each sign-out made on its server to the
// stream (XADD, trimming entries too old to matter) and follows the stream
// (XREAD from the last id it read) to apply every other server's. A server
// that starts late, restarts or comes back after a partition reads from
// where it stopped, or from the start, so it misses no sign-out still in
// force: the stream is the log, and an entry leaves it only once no token
// it covers can open.
//
// The package is named redis like the client it builds on; import one of
// them under another name:
//
//	import (
//		goredis "github.com/redis/go-redis/v9"
//		revokeredis "satchel.dev/revoke/redis"
//	)
//
//	set, err := revoke.New(revoke.Config{MaxAge: maxAge})
//	store, err := revokeredis.New(goredis.NewClient(&goredis.Options{Addr: addr}), set, revokeredis.Config{})
//	defer store.Close()
//	err = store.Wait(ctx) // the whole set before the first request
//	sessions, err := middleware.New(ring, middleware.Config{MaxAge: maxAge, Revocations: store})
//
// # When Redis is away
//
// The servers keep serving with the set they have; [Store.Health] and a log
// line report how stale it is, and the follower catches up when Redis
// returns. A sign-out made meanwhile holds on its own server at once and
// is queued for the others. [Config.FailClosedAfter] chooses the other side
// of the trade-off: refuse every session once the set is older than a
// bound.
//
// # Durability
//
// Run Redis with the append-only file and appendfsync always for this
// stream: with everysec, a crash of Redis can lose the last second of
// sign-outs for the servers that did not read them yet.
package redis
