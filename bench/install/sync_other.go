//go:build !unix

package main

// syncAll does nothing where there is no sync(2) (Windows): the runs then
// share the cost of write-back, and the figures say less.
func syncAll() {}
