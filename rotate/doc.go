// Package rotate rotates the keys of a keyring file with no downtime
// across any number of servers, and with no coordination between them
// beyond the file itself.
//
// It has three parts: a pure [Policy] that computes the next
// [keyring.Ring] from the current one and the time, a [Store] that applies
// it to a keyring file safely (an exclusive lock, an atomic replace), and
// a [Rotator] that does so on a schedule inside a long-running process.
// The command satchel keyring rotate does one run, for a cron job.
//
// # The life of a key
//
// A key is staged (added to every server's ring, decrypt-only),
// Propagation before its promotion is due. When the primary has served
// Interval, the staged key is promoted: it becomes primary and seals new
// tokens, and the old primary is retired. A retired key keeps opening the
// tokens it sealed until they have all expired, then it is deleted:
//
//	staged ──Propagation──▶ primary ──Interval──▶ retired ──Propagation+MaxAge+Leeway──▶ deleted
//
// The primary is never deleted, and a staged key never seals before it has
// been in the ring for Propagation, even when a rotation is overdue.
// Leeway follows the convention of the token and middleware packages:
// zero means [DefaultLeeway] (one minute), a negative value none.
//
// # The timing rule
//
// Servers learn of a change only when they reload the file (see
// [keyring.Watcher]), and they do not all reload at once. The rotation is
// safe when Propagation exceeds the slowest reload of any server: the
// watcher's polling interval plus the time the file takes to reach the
// server (a shared volume: none; a Kubernetes Secret volume: up to the
// kubelet's sync period plus its cache TTL, about a minute by default; a
// configuration push: its schedule). Then, when a key is promoted, every
// server already holds it and opens the tokens sealed with it, whichever
// server sealed them. The same bound covers the other direction: a server
// that has not yet seen the promotion keeps sealing with the old primary,
// which is why a retired key is kept for Propagation more than the
// lifetime of the tokens (see [Policy.DeleteAt]).
//
// # Files and crashes
//
// A [Store] takes an exclusive flock(2) on a lock file beside the keyring
// (path + ".lock", opened without following a symbolic link) for every
// change, so two rotators never race: started together, they make one
// rotation, not two. Every file it writes has mode 0600. It writes the new file to a
// temporary file in the same directory, syncs it, renames it over the
// keyring and syncs the directory, so that readers see the old file or the
// new one, never a torn one, whenever the writer is killed. The times a
// run records are read after its file is in place (see [Store.Rotate]), so
// a slow write never shortens Propagation. A keyring file
// that cannot be parsed is never replaced by a rotator: it reports the
// error and waits for an operator.
//
// # Revoking a leaked key
//
// The schedule is for keys nobody else holds. When a key leaks, [Revoke]
// (or [Store.Revoke], or the command satchel keyring revoke) removes it
// at once: if it was the primary, a freshly generated key becomes primary
// in the same change, with no staging, since waiting Propagation would
// leave the leaked key sealing sessions that long. Every session sealed
// with the revoked key ends on each server as soon as that server loads
// the file; until then the server still accepts the key and, if it was the
// primary, still seals with it, and it refuses sessions sealed by servers
// that already use the new primary. The policy then carries on from the
// new ring.
package rotate
