//go:build !unix

package main

// openFileLimit is the process's limit on open files, if it has one it can tell.
func openFileLimit() (uint64, bool) { return 0, false }
