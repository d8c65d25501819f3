package admin

import "embed"

// assets are the templates, the style sheet and the few lines of
// JavaScript that make the pages live.
//
//go:embed assets
var assets embed.FS
