// Package migrations embeds this folder for golang-migrate's iofs source.
package migrations

import "embed"

//go:embed *.sql
var FS embed.FS
