package bench

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/eventual-go/eventual"
)

// appendCase is one combination of writers and events per append.
type appendCase struct {
	backend         string
	writers         int
	eventsPerAppend int
}

func (c appendCase) String() string {
	return fmt.Sprintf("%s append, %d writers × %d events/append", c.backend, c.writers, c.eventsPerAppend)
}

// tag is the part of stream IDs that keeps cases apart in one store.
func (c appendCase) tag() string {
	return fmt.Sprintf("%dx%d", c.writers, c.eventsPerAppend)
}

// writerStats is what one writer did.
type writerStats struct {
	appends, events, errors int64
	latencies               []time.Duration // of the successful appends
}

// runAppendCase runs c.writers goroutines that append in a loop for
// cfg.Duration, each waiting for its append before the next.
func runAppendCase(ctx context.Context, cfg Config, st eventual.Store, c appendCase, p *progress) (Result, error) {
	p.printf("%v: running for %v", c, cfg.Duration)
	var (
		errOnce  sync.Once
		firstErr error
	)
	onErr := func(err error) {
		errOnce.Do(func() {
			firstErr = err
			p.printf("%v: error (counted, not printed again): %v", c, err)
		})
	}

	stats := make([]writerStats, c.writers)
	start := make(chan struct{})
	var deadline time.Time // written before start is closed
	var wg sync.WaitGroup
	for i := range c.writers {
		wg.Go(func() {
			payload := makePayload(cfg.PayloadBytes, i)
			<-start
			stats[i] = appendLoop(ctx, st, deadline, c, i, cfg.StreamLength, payload, onErr)
		})
	}
	gc, reports := st.(eventual.GroupCommitReporter)
	var before eventual.GroupCommitStats
	if reports {
		before = gc.GroupCommitStats()
	}
	cpu := measureCPU()
	begin := time.Now()
	deadline = begin.Add(cfg.Duration)
	close(start)
	wg.Wait()
	elapsed := time.Since(begin)

	res := Result{Backend: c.backend, Kind: KindAppend, Writers: c.writers, EventsPerAppend: c.eventsPerAppend, Seconds: elapsed.Seconds()}
	cpu(&res)
	var all []time.Duration
	for _, s := range stats {
		res.Appends += s.appends
		res.Events += s.events
		res.Errors += s.errors
		all = append(all, s.latencies...)
	}
	lat := summarize(all)
	res.EventsPerSecond = float64(res.Events) / elapsed.Seconds()
	res.AppendsPerSecond = float64(res.Appends) / elapsed.Seconds()
	res.LatencyP50Ms, res.LatencyP99Ms, res.LatencyP999Ms = ms(lat.p50), ms(lat.p99), ms(lat.p999)
	batches := ""
	if reports {
		after := gc.GroupCommitStats()
		if n := after.Batches - before.Batches; n > 0 {
			res.Batches = n
			res.BatchMs = ms((after.Busy - before.Busy) / time.Duration(n))
			batches = fmt.Sprintf("; %.1f appends per batch, %s ms per batch",
				float64(after.Appends-before.Appends)/float64(n), msText(res.BatchMs))
		}
	}
	if firstErr != nil {
		res.FirstError = firstErr.Error()
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	p.printf("%v: %s events/s, %s appends/s, p50 %s ms, p99 %s ms, p99.9 %s ms, %d errors (%.2fs)%s; cpu busy/steal %s %%",
		c, rate(res.EventsPerSecond), rate(res.AppendsPerSecond),
		msText(res.LatencyP50Ms), msText(res.LatencyP99Ms), msText(res.LatencyP999Ms), res.Errors, elapsed.Seconds(), batches, cpuText(res))
	return res, nil
}

// appendLoop is one writer: it appends c.eventsPerAppend events to its own
// stream with the stream's exact version as the expected version until the
// deadline, moving to a fresh stream once its stream holds streamLength
// events (never when 0) and after an error.
func appendLoop(ctx context.Context, st eventual.Store, deadline time.Time, c appendCase, writer, streamLength int,
	payload []byte, onErr func(error)) writerStats {
	var s writerStats
	events := make([]eventual.EventData, c.eventsPerAppend)
	n := 0
	streamID, version := streamName(c.tag(), writer, n), uint64(0)
	next := func() {
		n++
		streamID, version = streamName(c.tag(), writer, n), 0
	}
	for time.Now().Before(deadline) {
		if streamLength > 0 && version >= uint64(streamLength) {
			next()
		}
		md := newMetadata()
		for j := range events {
			events[j] = eventual.EventData{Type: EventType, Data: payload, Metadata: md}
		}
		t0 := time.Now()
		res, err := st.Append(ctx, streamID, eventual.Exact(version), events...)
		took := time.Since(t0)
		if err != nil {
			if ctx.Err() != nil {
				return s // interrupted: not the store's failure
			}
			s.errors++
			onErr(err)
			next() // the stream's version is unknown now
			continue
		}
		version = res.LastVersion
		s.appends++
		s.events += int64(len(events))
		s.latencies = append(s.latencies, took)
	}
	return s
}
