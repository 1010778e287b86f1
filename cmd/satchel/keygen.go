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
	rest, code, done := c.parse(fs, args)
	if done {
		return code
	}
	if len(rest) > 0 {
		return c.usageErr(fs, "unexpected argument")
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
