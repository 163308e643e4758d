package storetest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eventual-go/eventual"
)

// Bench runs the store's hot-path benchmarks as sub-benchmarks of b:
// appends from 1, 8 and 64 concurrent writers with 1 and 10 events per
// append, a catch-up ReadAll and a ReadStream. newStore returns an empty
// store; Bench closes it. Each reports events/s.
//
// The cmd/eventual bench command measures the same paths at length, next to
// the raw limit of the database; these are for `go test -bench`.
func Bench(b *testing.B, newStore func(b *testing.B) eventual.Store) {
	for _, writers := range []int{1, 8, 64} {
		for _, per := range []int{1, 10} {
			b.Run(fmt.Sprintf("Append/writers=%d/events=%d", writers, per), func(b *testing.B) {
				s := newStore(b)
				defer s.Close()
				benchAppend(b, s, writers, per)
			})
		}
	}
	b.Run("ReadAll", func(b *testing.B) {
		s := newStore(b)
		defer s.Close()
		fill(b, s, 20_000)
		b.ResetTimer()
		n := 0
		for b.Loop() {
			for _, err := range s.ReadAll(context.Background(), eventual.ReadAllOptions{}) {
				if err != nil {
					b.Fatal(err)
				}
				n++
			}
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("ReadStream", func(b *testing.B) {
		s := newStore(b)
		defer s.Close()
		for range 10 {
			if _, err := s.Append(context.Background(), "long", eventual.Any, evs("e", 1000)...); err != nil {
				b.Fatal(err)
			}
		}
		b.ResetTimer()
		n := 0
		for b.Loop() {
			for _, err := range s.ReadStream(context.Background(), "long", eventual.ReadStreamOptions{}) {
				if err != nil {
					b.Fatal(err)
				}
				n++
			}
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
	})
}

// benchAppend shares b.N appends among writers, each appending to its own
// streams of 100 events (aggregate-sized) and waiting for each append.
func benchAppend(b *testing.B, s eventual.Store, writers, per int) {
	payload := make([]byte, 200)
	for i := range payload {
		payload[i] = 'a' + byte(i%26)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for w := range writers {
		wg.Go(func() {
			ctx := context.Background()
			var version uint64
			stream := 0
			batch := make([]eventual.EventData, per)
			for next.Add(1) <= int64(b.N) {
				if version >= 100 {
					version, stream = 0, stream+1
				}
				for i := range batch {
					batch[i] = eventual.EventData{Type: "bench.event", Data: payload, Metadata: eventual.Metadata{CorrelationID: "c"}}
				}
				res, err := s.Append(ctx, fmt.Sprintf("bench-%d-%d", w, stream), eventual.Exact(version), batch...)
				if err != nil {
					b.Error(err)
					return
				}
				version = res.LastVersion
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N*per)/time.Since(start).Seconds(), "events/s")
}

// fill appends n events in batches of 500 to a few streams.
func fill(b *testing.B, s eventual.Store, n int) {
	b.Helper()
	for i := 0; i < n; i += 500 {
		if _, err := s.Append(context.Background(), fmt.Sprintf("fill-%d", i/5000), eventual.Any, evs("fill", min(500, n-i))...); err != nil {
			b.Fatal(err)
		}
	}
}
