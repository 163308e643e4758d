// Package cpuprofile writes a CPU profile of the running process, for the
// commands' --cpuprofile flags (eventual bench, shop load).
package cpuprofile

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// Start profiles this process's CPU into the file path until stop is
// called; errors name the --cpuprofile flag.
func Start(path string) (stop func() error, err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	return func() error {
		pprof.StopCPUProfile()
		return f.Close()
	}, nil
}
