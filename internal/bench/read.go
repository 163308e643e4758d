package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/eventual-go/eventual"
)

// readStreamID is the stream written and read back by runReadStream.
const readStreamID = "bench-read-stream"

// runReadStream appends cfg.ReadStreamEvents events to one stream in
// appends of ReadStreamBatch, then times reading it forward with
// ReadStream.
func runReadStream(ctx context.Context, cfg Config, backend string, st eventual.Store, p *progress) (Result, error) {
	n := uint64(cfg.ReadStreamEvents)
	p.printf("%s read stream: writing %d events in appends of %d", backend, n, ReadStreamBatch)
	payload := makePayload(cfg.PayloadBytes, -1)
	var version uint64
	for version < n {
		events := make([]eventual.EventData, min(ReadStreamBatch, n-version))
		md := newMetadata()
		for i := range events {
			events[i] = eventual.EventData{Type: EventType, Data: payload, Metadata: md}
		}
		res, err := st.Append(ctx, readStreamID, eventual.Exact(version), events...)
		if err != nil {
			return Result{}, fmt.Errorf("write the stream to read: %w", err)
		}
		version = res.LastVersion
	}

	p.printf("%s read stream: reading %d events", backend, n)
	start := time.Now()
	var count int64
	for _, err := range st.ReadStream(ctx, readStreamID, eventual.ReadStreamOptions{}) {
		if err != nil {
			return Result{}, fmt.Errorf("read stream: %w", err)
		}
		count++
	}
	elapsed := time.Since(start)
	if count != int64(n) {
		return Result{}, fmt.Errorf("read stream: read %d events of %d", count, n)
	}
	res := Result{Backend: backend, Kind: KindReadStream, Seconds: elapsed.Seconds(), Events: count,
		EventsPerSecond: float64(count) / elapsed.Seconds()}
	p.printf("%s read stream: %s events/s (%.3fs)", backend, rate(res.EventsPerSecond), elapsed.Seconds())
	return res, nil
}

// runReadAll times reading the whole global log forward with ReadAll.
func runReadAll(ctx context.Context, backend string, st eventual.Store, p *progress) (Result, error) {
	head, err := st.HeadPosition(ctx)
	if err != nil {
		return Result{}, fmt.Errorf("read all: head position: %w", err)
	}
	p.printf("%s read all: reading the log up to position %d", backend, head)
	start := time.Now()
	var count int64
	for _, err := range st.ReadAll(ctx, eventual.ReadAllOptions{}) {
		if err != nil {
			return Result{}, fmt.Errorf("read all: %w", err)
		}
		count++
	}
	elapsed := time.Since(start)
	res := Result{Backend: backend, Kind: KindReadAll, Seconds: elapsed.Seconds(), Events: count,
		EventsPerSecond: float64(count) / elapsed.Seconds()}
	p.printf("%s read all: %d events, %s events/s (%.3fs)", backend, count, rate(res.EventsPerSecond), elapsed.Seconds())
	return res, nil
}
