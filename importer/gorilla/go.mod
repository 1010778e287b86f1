module satchel.dev/importer/gorilla

go 1.26.0

require (
	github.com/google/go-cmp v0.7.0
	github.com/gorilla/securecookie v1.1.2
	github.com/gorilla/sessions v1.4.0
	satchel.dev v0.0.0
)

replace satchel.dev => ../..
