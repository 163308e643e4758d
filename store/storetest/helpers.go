package storetest

import (
	"context"
	"fmt"
	"iter"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/eventual-go/eventual"
)

// ev returns an event of type typ with a small JSON payload.
func ev(typ string, n int) eventual.EventData {
	return eventual.EventData{Type: typ, Data: fmt.Appendf(nil, `{"n":%d}`, n)}
}

// evs returns n events of type typ, numbered from 1.
func evs(typ string, n int) []eventual.EventData {
	out := make([]eventual.EventData, n)
	for i := range out {
		out[i] = ev(typ, i+1)
	}
	return out
}

// withID gives an event a fixed new ID.
func withID(e eventual.EventData) eventual.EventData {
	e.ID = uuid.Must(uuid.NewV7())
	return e
}

func mustAppend(t *testing.T, s eventual.Store, stream string, expected eventual.ExpectedVersion, events ...eventual.EventData) eventual.AppendResult {
	t.Helper()
	res, err := s.Append(testContext(t), stream, expected, events...)
	if err != nil {
		t.Fatalf("Append(%q, %s): %v", stream, expected, err)
	}
	return res
}

func mustCollect(t *testing.T, seq iter.Seq2[eventual.RecordedEvent, error]) []eventual.RecordedEvent {
	t.Helper()
	out, err := eventual.Collect(seq)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return out
}

func readStream(t *testing.T, s eventual.Store, stream string, opts eventual.ReadStreamOptions) []eventual.RecordedEvent {
	t.Helper()
	return mustCollect(t, s.ReadStream(testContext(t), stream, opts))
}

func readAll(t *testing.T, s eventual.Store, opts eventual.ReadAllOptions) []eventual.RecordedEvent {
	t.Helper()
	return mustCollect(t, s.ReadAll(testContext(t), opts))
}

func head(t *testing.T, s eventual.Store) uint64 {
	t.Helper()
	p, err := s.HeadPosition(testContext(t))
	if err != nil {
		t.Fatalf("HeadPosition: %v", err)
	}
	return p
}

func versions(evs []eventual.RecordedEvent) []uint64 {
	out := make([]uint64, len(evs))
	for i, e := range evs {
		out[i] = e.Version
	}
	return out
}

func positions(evs []eventual.RecordedEvent) []uint64 {
	out := make([]uint64, len(evs))
	for i, e := range evs {
		out[i] = e.Position
	}
	return out
}

func seq(from, to uint64) []uint64 {
	var out []uint64
	for v := from; v <= to; v++ {
		out = append(out, v)
	}
	return out
}

func equalU64(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// quietWait is how long a subscription must stay silent to pass quiet.
const quietWait = 150 * time.Millisecond

// subscriber collects a subscription's events in the background.
type subscriber struct {
	events chan eventual.RecordedEvent
	errs   chan error
	cancel context.CancelFunc
}

func subscribe(t *testing.T, s eventual.Store, opts eventual.SubscribeOptions) *subscriber {
	t.Helper()
	ctx, cancel := context.WithCancel(testContext(t))
	sub := &subscriber{events: make(chan eventual.RecordedEvent, 1<<16), errs: make(chan error, 1), cancel: cancel}
	go func() {
		for e, err := range s.Subscribe(ctx, opts) {
			if err != nil {
				sub.errs <- err
				return
			}
			sub.events <- e
		}
		sub.errs <- nil
	}()
	t.Cleanup(cancel)
	return sub
}

// take waits for n events from the subscription, failing the test if they
// do not come within the test context's time.
func (sub *subscriber) take(t *testing.T, n int) []eventual.RecordedEvent {
	t.Helper()
	ctx := testContext(t)
	out := make([]eventual.RecordedEvent, 0, n)
	for len(out) < n {
		select {
		case e := <-sub.events:
			out = append(out, e)
		case err := <-sub.errs:
			t.Fatalf("subscription ended after %d of %d events: %v", len(out), n, err)
		case <-ctx.Done():
			t.Fatalf("subscription delivered %d of %d events before the deadline", len(out), n)
		}
	}
	return out
}

// quiet checks that the subscription delivers nothing more for a moment.
func (sub *subscriber) quiet(t *testing.T) {
	t.Helper()
	select {
	case e := <-sub.events:
		t.Fatalf("subscription delivered an unexpected event: stream %q version %d position %d", e.StreamID, e.Version, e.Position)
	case <-time.After(quietWait):
	}
}
