package main

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadRefusesAProfileItCannotWrite(t *testing.T) {
	cmd := newLoadCmd()
	cmd.SetArgs([]string{"--cpuprofile", filepath.Join(t.TempDir(), "no", "such", "cpu.prof"), "--url", "http://127.0.0.1:1"})
	cmd.SetOut(new(strings.Builder))
	cmd.SetErr(new(strings.Builder))
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "--cpuprofile") {
		t.Errorf("load with an unwritable profile: %v, want an error naming --cpuprofile", err)
	}
}
