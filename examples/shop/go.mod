module satchel.dev/examples/shop

go 1.26.0

replace (
	satchel.dev => ../..
	satchel.dev/revoke/redis => ../../revoke/redis
)

require (
	github.com/google/go-cmp v0.7.0
	github.com/redis/go-redis/v9 v9.23.0
	satchel.dev v0.0.0
	satchel.dev/revoke/redis v0.0.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/go-json-experiment/json v1.27.2 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/crypto v0.59.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
)
