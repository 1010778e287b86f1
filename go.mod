module satchel.dev

go 1.26.0

require (
	aidanwoods.dev/go-paseto v1.6.0
	github.com/go-json-experiment/json v1.27.2
	github.com/google/go-cmp v0.7.0
	golang.org/x/crypto v0.59.0
)

require (
	aidanwoods.dev/go-result v0.3.1 // indirect
	golang.org/x/sys v0.50.0 // indirect
)
