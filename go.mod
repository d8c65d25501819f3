module github.com/upkeep/upkeep

go 1.26

require (
	aead.dev/minisign v0.3.0 // indirect
	github.com/hashicorp/go-version v1.9.0 // indirect
	golang.org/x/crypto v0.13.0 // indirect
	golang.org/x/sys v0.12.0 // indirect
)
