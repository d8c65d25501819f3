//go:build !unix

package packs

import (
	"os"
	"path/filepath"
)

// readFile reads the file name of folder dir.
func readFile(dir, name string) ([]byte, error) { return os.ReadFile(filepath.Join(dir, name)) }
