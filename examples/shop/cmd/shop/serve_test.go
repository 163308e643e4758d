package main

import (
	"os"
	"runtime/debug"
	"testing"
)

func TestServerGCKeepsWhatTheEnvironmentSets(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))

	t.Setenv("GOGC", "150")
	t.Setenv("GOMEMLIMIT", "2GiB")
	debug.SetGCPercent(150)
	if _, _, set := serverGC(); set {
		t.Fatal("serverGC changed settings the environment gives")
	}
	if got := debug.SetGCPercent(150); got != 150 {
		t.Fatalf("GOGC %d, want the environment's 150", got)
	}
}

func TestServerGCSetsItsDefaults(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	unsetenv(t, "GOGC")
	unsetenv(t, "GOMEMLIMIT")

	percent, limit, set := serverGC()
	if !set || percent != serverGCPercent || limit != serverSoftMemory {
		t.Fatalf("serverGC() = %d, %d, %v", percent, limit, set)
	}
	if got := debug.SetGCPercent(100); got != serverGCPercent {
		t.Fatalf("GOGC %d, want %d", got, serverGCPercent)
	}
	if got := debug.SetMemoryLimit(-1); got != serverSoftMemory {
		t.Fatalf("memory limit %d, want %d", got, serverSoftMemory)
	}
}

// unsetenv removes key for the test, restoring it after.
func unsetenv(t *testing.T, key string) {
	t.Helper()
	t.Setenv(key, "") // registers the restore
	if err := os.Unsetenv(key); err != nil {
		t.Fatal(err)
	}
}
