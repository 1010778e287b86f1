// Command satchel manages the keys of satchel's sealed session cookies:
// it generates keys, creates, shows and rotates keyring files, and opens
// a session cookie to show what it holds.
//
// # Usage
//
//	satchel keygen                      print a new k4.local key (a secret)
//	satchel keyring init   -file PATH   create a keyring file with one primary key
//	satchel keyring show   [-file PATH] list key ids, states and times (never secrets)
//	satchel keyring rotate -file PATH   apply the rotation policy once (for cron)
//	satchel keyring revoke -file PATH -id ID
//	                                    remove a leaked key at once (a new key
//	                                    replaces a leaked primary)
//	satchel inspect [-file PATH] TOKEN  open a token or cookie and print its claims
//
// Every command takes -h (or --help). Without -file, show and inspect read
// the short form of a keyring from $SATCHEL_KEYS: k4.local keys separated
// by commas, the first one primary.
//
// # Rotation from cron
//
// Run satchel keyring rotate often (every few minutes, or every
// Propagation/4), with the same policy everywhere:
//
//	*/5 * * * *  satchel keyring rotate -file /etc/app/keyring.txt \
//	             -interval 30d -propagation 1h -max-age 14d -leeway 1m
//
// It locks the file, loads it, applies the policy and writes the file
// atomically only when something is due. Several rotators may run at
// once: they make one rotation. Servers follow the file with
// keyring.NewWatcher.
//
// # A leaked key
//
// satchel keyring revoke removes a key from the file at once, without
// waiting for the schedule; a leaked primary is replaced by a new key in
// the same change:
//
//	satchel keyring revoke -file /etc/app/keyring.txt -id k4.lid.…
//
// Every session sealed with the revoked key ends as each server reloads
// the file.
//
// # Exit codes
//
// 0 on success, 1 when the command failed (a bad keyring, a refused
// token, a file that could not be written), 2 for a usage error.
//
// # Secrets and messages
//
// Keyring files are written with mode 0600; show, inspect and the dry runs
// warn about a keyring file that group or others may read, and every
// command refuses one that any user may write. Messages on standard error
// never repeat a secret key or a session token, even one pasted into the
// wrong flag: what looks like one is printed as "k4.local.[redacted]".
package main
