// Package fleet holds the fleet test of key rotation: three server
// processes built from the real middleware share one keyring file through
// keyring.Watcher while a rotate.Rotator rotates it every two seconds,
// and a load client of many users with their own cookie jars hops between
// the servers at random, each incrementing a counter in its session.
//
// # Running it
//
//	go test -race -run TestFleet -v ./rotate/internal/fleet
//
// The test prints the number of requests, rotations, rejections and lost
// updates and fails unless the last two are zero. FLEET_DURATION (a Go
// duration, default 20s; 5s with -short) sets how long the load runs.
//
// TestFleetTimingRuleViolated is the control: one server polls slower
// than Propagation, and the same checks see unknown-key rejections.
// FLEET_DEBUG=1 traces reloads, rotations and rejections with times.
//
// The package has no code of its own: the servers are this test binary
// run again with FLEET_SERVER set.
package fleet
