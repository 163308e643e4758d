package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadProfilesItsCPU(t *testing.T) {
	path := filepath.Join(t.TempDir(), "load.prof")
	stop, err := startCPUProfile(path)
	if err != nil {
		t.Fatal(err)
	}
	stop()
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		t.Errorf("profile %s: %v, %v", path, fi, err)
	}
}

func TestLoadRefusesAProfileItCannotWrite(t *testing.T) {
	cmd := newLoadCmd()
	cmd.SetArgs([]string{"--cpuprofile", filepath.Join(t.TempDir(), "no", "such", "cpu.prof"), "--url", "http://127.0.0.1:1"})
	cmd.SetOut(new(strings.Builder))
	cmd.SetErr(new(strings.Builder))
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "--cpuprofile") {
		t.Errorf("load with an unwritable profile: %v, want an error naming --cpuprofile", err)
	}
}
