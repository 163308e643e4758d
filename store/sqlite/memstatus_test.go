package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/eventual-go/eventual"
)

// SQLite's memory statistics, and the process-wide mutex they take on
// every allocation, are off: with them on, SQLite would count the memory
// an open database holds.
func TestMemoryStatisticsAreOff(t *testing.T) {
	if memStatusErr != 0 {
		t.Fatalf("turning SQLite's memory statistics off returned %d", memStatusErr)
	}
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Append(context.Background(), "s", eventual.NoStream, eventual.EventData{Type: "t", Data: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if n := memoryUsed(); n != 0 {
		t.Errorf("SQLite counts %d bytes in use: its memory statistics are on", n)
	}
}
