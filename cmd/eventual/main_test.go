package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// execute runs the eventual command with args and returns its stdout,
// stderr and error.
func execute(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := newRootCmd()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	err = cmd.ExecuteContext(t.Context())
	return out.String(), errOut.String(), err
}

func TestBench(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bench.json")
	profile := filepath.Join(t.TempDir(), "cpu.prof")
	stdout, stderr, err := execute(t, "bench", "--backend", "memory", "--duration", "50ms",
		"--writers", "1,2", "--events-per-append", "1", "--read-stream-events", "100", "--aggregate-histories", "10", "--json", path,
		"--cpuprofile", profile)
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, stderr)
	}
	if !strings.Contains(stdout, "APPENDS") || !strings.Contains(stdout, "READS") {
		t.Errorf("stdout lacks the result tables:\n%s", stdout)
	}
	if !strings.Contains(stderr, "memory append, 2 writers") {
		t.Errorf("stderr lacks progress lines:\n%s", stderr)
	}
	if fi, err := os.Stat(profile); err != nil || fi.Size() == 0 {
		t.Errorf("--cpuprofile: %v, %v", fi, err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var report struct {
		Config struct {
			Backends []string `json:"backends"`
		} `json:"config"`
		Results []struct {
			Kind            string  `json:"kind"`
			EventsPerSecond float64 `json:"events_per_second"`
		} `json:"results"`
	}
	if err := json.Unmarshal(b, &report); err != nil {
		t.Fatalf("--json file: %v\n%s", err, b)
	}
	// 2 append cases, 2 reads, loads of one aggregate from its events, a
	// snapshot and the cache, the replay.
	if len(report.Config.Backends) != 1 || len(report.Results) != 8 {
		t.Errorf("--json file: %s", b)
	}
	for _, r := range report.Results {
		if r.EventsPerSecond <= 0 {
			t.Errorf("%s: %v events/s", r.Kind, r.EventsPerSecond)
		}
	}
}

func TestBenchRejectsBadFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown backend", []string{"--backend", "mysql"}, `unknown backend "mysql"`},
		{"zero writers", []string{"--writers", "8,0"}, "writers 0"},
		{"writers not a number", []string{"--writers", "many"}, `invalid argument "many" for "--writers"`},
		{"negative duration", []string{"--duration", "-5s"}, "duration -5s is not positive"},
		{"duration without unit", []string{"--duration", "5"}, `invalid argument "5" for "--duration"`},
		{"bad sync", []string{"--sync", "off"}, `sync "off"`},
		{"tiny payload", []string{"--payload", "1"}, "payload 1 bytes"},
		{"zero raw batch", []string{"--raw-batch", "0"}, "raw batch 0"},
		{"argument", []string{"now"}, `unknown command "now"`},
		{"unwritable profile", []string{"--backend", "memory", "--cpuprofile", filepath.Join(t.TempDir(), "no", "such", "cpu.prof")}, "--cpuprofile"},
		{"unwritable JSON", []string{"--backend", "memory", "--json", filepath.Join(t.TempDir(), "no", "such", "dir.json")}, "--json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := execute(t, append([]string{"bench"}, tt.args...)...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("bench %v: error %v, want one containing %q", tt.args, err, tt.want)
			}
		})
	}
}

func TestBenchCaseInsensitiveValues(t *testing.T) {
	_, stderr, err := execute(t, "bench", "--backend", " Memory ", "--sync", "NORMAL", "--duration", "10ms",
		"--writers", "1", "--events-per-append", "1", "--read-stream-events", "0")
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, stderr)
	}
}
