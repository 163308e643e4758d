package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/eventual-go/eventual"
)

// The watcher slows down while nobody commits (an idle process spends no
// CPU asking), and still sees another handle's commit after the quiet
// spell.
func TestWatcherSlowsDownWhileTheDatabaseIsQuiet(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, WithPollInterval(5*time.Millisecond))
	s.Appended() // starts the watcher
	time.Sleep(100 * time.Millisecond)
	before := s.polls.Load()
	time.Sleep(time.Second)
	// At a steady 5 ms that would be about 200 checks; slowing down to
	// 200 ms, about 5.
	if n := s.polls.Load() - before; n > 40 {
		t.Errorf("%d checks in a quiet second, want the watcher to slow down", n)
	}

	other, err := Open(ctx, s.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	r, err := other.Append(ctx, "s", eventual.NoStream, eventual.EventData{Type: "t"})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if h, ok := s.KnownHead(); ok && h == r.LastPosition {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the other handle's commit was not seen after the quiet spell")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
