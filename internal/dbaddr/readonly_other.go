//go:build !unix

package dbaddr

// readOnlyFS reports whether dir is on a file system mounted read-only;
// where that cannot be asked, it is taken as writable.
func readOnlyFS(string) bool { return false }
