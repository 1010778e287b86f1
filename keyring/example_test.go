package keyring_test

import (
	"fmt"
	"strings"

	"satchel.dev/keyring"
)

func ExampleGenerateKey() {
	key, err := keyring.GenerateKey()
	if err != nil {
		panic(err)
	}
	// Printing a key shows its public id, never the secret.
	fmt.Println(strings.HasPrefix(fmt.Sprint(key), "k4.lid."), len(key.ID()))
	// The secret leaves only through an Export method, as a PASERK.
	fmt.Println(strings.HasPrefix(key.ExportPASERK(), "k4.local."))
	// Output:
	// true 51
	// true
}

func ExampleParseKeys() {
	k1, _ := keyring.GenerateKey()
	k2, _ := keyring.GenerateKey()
	// The short form, as in SATCHEL_KEYS: the first key is primary.
	ring, err := keyring.ParseKeys(k1.ExportPASERK() + "," + k2.ExportPASERK())
	if err != nil {
		panic(err)
	}
	e, _ := ring.Entry(k2.ID())
	fmt.Println(ring.Len(), ring.Primary().Equal(k1), e.State)

	_, err = keyring.ParseKeys("k4.local.not-a-key")
	fmt.Println(err)
	// Output:
	// 2 true retired
	// key 1: keyring: malformed k4.local key: wrong length
}
