//go:build unix

package main

import "syscall"

// syncAll flushes every file system's dirty pages (sync(2)).
func syncAll() { syscall.Sync() }
