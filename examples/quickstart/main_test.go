package main

import (
	"path/filepath"
	"testing"
)

// TestRun runs the quickstart twice on one file, as a new user would.
func TestRun(t *testing.T) {
	path := filepath.Join(t.TempDir(), "quickstart.db")
	for range 2 {
		if err := run(t.Context(), path); err != nil {
			t.Fatal(err)
		}
	}
}
