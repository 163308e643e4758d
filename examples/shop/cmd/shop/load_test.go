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

func TestLoadRefusesBadFlagsBeforeCallingTheShop(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--rate", "0"}, "--rate 0"},
		{[]string{"--rate", "-5"}, "--rate -5"},
		{[]string{"--rate", "2000000"}, "--rate 2000000"},
		{[]string{"--duration", "0s"}, "--duration 0s"},
		{[]string{"--drain", "-1s"}, "--drain -1s"},
		{[]string{"--customers", "0"}, "--customers 0"},
		{[]string{"--products", "-1"}, "--products -1"},
		{[]string{"--max-in-flight", "0"}, "--max-in-flight 0"},
		{[]string{"--token", ""}, "--token"},
		{[]string{"--url", "127.0.0.1:8080"}, "--url"},
		{[]string{"--url", "ftp://x"}, "--url"},
		{[]string{"--rate", "0", "--duration", "-1s"}, "--duration -1s"}, // every bad flag is named
	} {
		cmd := newLoadCmd()
		// A URL nothing listens on: a check that let a run start would fail
		// with "not ready" instead.
		args := append([]string{"--url", "http://127.0.0.1:1"}, tc.args...)
		cmd.SetArgs(args)
		cmd.SetOut(new(strings.Builder))
		cmd.SetErr(new(strings.Builder))
		err := cmd.Execute()
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "not ready") {
			t.Errorf("load %v: %v, want an error naming %s", tc.args, err, tc.want)
		}
	}
}
