package main

import "fmt"

const keygenUsage = `Usage: satchel keygen [-id]

Prints a new random k4.local key (a PASERK) on standard output. The key is
a secret: put it in $SATCHEL_KEYS or a keyring file, never in a log or a
repository. With -id, its public k4.lid id follows on a second line.
`

func (c *cli) keygen(args []string) int {
	fs := c.flagSet("keygen", keygenUsage)
	withID := fs.Bool("id", false, "also print the key's k4.lid id on a second line")
	if code, done := c.parseNoArgs(fs, args); done {
		return code
	}
	k, err := c.newKey()
	if err != nil {
		return c.fail("keygen", err)
	}
	fmt.Fprintln(c.stdout, k.ExportPASERK())
	if *withID {
		fmt.Fprintln(c.stdout, k.ID())
	}
	return exitOK
}
