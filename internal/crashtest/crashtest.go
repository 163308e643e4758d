// Package crashtest runs the crash tests' children: the test binary again,
// as a child process that works until it is killed with SIGKILL.
package crashtest

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// CycleEnv holds the cycle number (0, 1, …) in the child's environment.
const CycleEnv = "EVENTUAL_CRASH_CYCLE"

// Kill runs the top-level test t again, cycles times, as a child process
// with env (KEY=value entries) and CycleEnv set, and kills each child with
// SIGKILL — no clean-up, no deferred calls — after a random time between
// least and most.
func Kill(t *testing.T, cycles int, env []string, least, most time.Duration) {
	t.Helper()
	name := t.Name()
	for i := 0; i < len(name); i++ {
		if name[i] == '/' {
			name = name[:i]
			break
		}
	}
	for cycle := range cycles {
		cmd := exec.Command(os.Args[0], "-test.run=^"+name+"$", "-test.count=1")
		cmd.Env = append(append(os.Environ(), env...), CycleEnv+"="+strconv.Itoa(cycle))
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(least + time.Duration(rand.Int64N(int64(most-least)+1)))
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
}

// Cycle returns the child's cycle number.
func Cycle() int {
	n, _ := strconv.Atoi(os.Getenv(CycleEnv))
	return n
}
