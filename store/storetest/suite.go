// Package storetest is the conformance suite of eventual.Store: every
// backend runs it, so all of them keep the same guarantees.
//
// A backend's test calls Run with a Backend that makes fresh stores:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, storetest.Backend{
//			New: func(t *testing.T, o storetest.Options) eventual.Store {
//				s, err := memory.New(memory.WithMaxEventSize(o.MaxEventSize))
//				if err != nil { t.Fatal(err) }
//				return s
//			},
//		})
//	}
//
// The suite checks, among others: optimistic concurrency with 50 racing
// writers on one stream; a subscription running while 64 writers append
// (through two handles when the backend can share its data) sees every event
// once, in strictly increasing positions, in the order ReadAll shows
// afterwards; catch-up to live hand-over; idempotent and multi-stream
// appends; bad input rejected with nothing written; transactions.
package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/eventual-go/eventual"
)

// Options are the settings the suite asks a new store to have.
type Options struct {
	// MaxEventSize is the event size limit to configure; never 0.
	MaxEventSize int
}

// Backend tells the suite how to make stores of one implementation.
type Backend struct {
	// New returns a new, empty store configured with o. The suite closes
	// it; New should register any other clean-up with t.Cleanup.
	New func(t *testing.T, o Options) eventual.Store
	// Share, when set, returns another handle on s's data, as a second
	// process would open it: its own connections, its own writer. The
	// ordering and wake-up tests then write and read through both. The
	// suite closes the handle.
	Share func(t *testing.T, s eventual.Store) eventual.Store
	// Short makes the concurrency tests smaller (fewer events per writer),
	// for slow backends or -race runs; the number of writers stays.
	Short bool
}

// DefaultMaxEventSize is the event size limit the suite configures.
const DefaultMaxEventSize = 64 << 10

// Run runs the whole suite as subtests of t.
func Run(t *testing.T, b Backend) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, b Backend)
	}{
		{"AppendAndReadBack", testAppendAndReadBack},
		{"ExpectedVersions", testExpectedVersions},
		{"ConcurrentExactAppends", testConcurrentExactAppends},
		{"TwoHandlesOneStream", testTwoHandlesOneStream},
		{"IdempotentAppend", testIdempotentAppend},
		{"AppendMulti", testAppendMulti},
		{"BadInput", testBadInput},
		{"LargeEvents", testLargeEvents},
		{"StreamIDs", testStreamIDs},
		{"ReadStream", testReadStream},
		{"ReadAll", testReadAll},
		{"ReadAllTimeRange", testReadAllTimeRange},
		{"Subscribe", testSubscribe},
		{"GlobalOrderUnderConcurrentWriters", testGlobalOrder},
		{"CatchUpToLiveHandOver", testCatchUpToLive},
		{"Notifier", testNotifier},
		{"DeleteStream", testDeleteStream},
		{"TruncateStream", testTruncateStream},
		{"Transactions", testTransactions},
		{"Snapshots", testSnapshots},
		{"ComponentMigrations", testComponentMigrations},
		{"Close", testClose},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, b) })
	}
}

// open makes a store with the suite's default options and closes it at the
// end of the test.
func (b Backend) open(t *testing.T) eventual.Store {
	t.Helper()
	return b.openWith(t, Options{MaxEventSize: DefaultMaxEventSize})
}

func (b Backend) openWith(t *testing.T, o Options) eventual.Store {
	t.Helper()
	s := b.New(t, o)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// share returns a second handle on s's data, or s itself when the backend
// cannot share.
func (b Backend) share(t *testing.T, s eventual.Store) eventual.Store {
	t.Helper()
	if b.Share == nil {
		return s
	}
	s2 := b.Share(t, s)
	t.Cleanup(func() { _ = s2.Close() })
	return s2
}

// testContext returns a context that ends with the test or after a minute.
func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}
