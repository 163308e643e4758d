package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/projection"
)

// depositedType is the event the projection benchmark projects.
const depositedType = "bench.deposited"

// projectionName and batchedProjectionName are the benchmark's
// projections and their tables.
const (
	projectionName        = "bench_balances"
	batchedProjectionName = "bench_balances_batched"
)

// balancesProjection sums deposits per stream, one upsert per event: the
// common shape of a read model.
func balancesProjection(name string) projection.Projection {
	return projection.Projection{
		Name:   name,
		Filter: eventual.Filter{Types: []string{depositedType}},
		Tables: []string{name},
		Setup: func(ctx context.Context, tx eventual.Tx, t projection.Tables) error {
			_, err := tx.Exec(ctx, "CREATE TABLE "+t.Name(name)+
				" (stream TEXT PRIMARY KEY, n BIGINT NOT NULL, total BIGINT NOT NULL, last_position BIGINT NOT NULL)")
			return err
		},
		Handle: func(ctx context.Context, tx eventual.Tx, t projection.Tables, e eventual.RecordedEvent) error {
			table := t.Name(name)
			_, err := tx.Exec(ctx, "INSERT INTO "+table+" (stream, n, total, last_position) VALUES ($1, 1, $2, $3) "+
				"ON CONFLICT (stream) DO UPDATE SET n = "+table+".n + 1, total = "+table+".total + excluded.total, "+
				"last_position = excluded.last_position", e.StreamID, len(e.Data), int64(e.Position))
			return err
		},
	}
}

// batchedBalancesProjection is balancesProjection with a batch handler:
// the batch is summed per stream in memory and written with one multi-row
// upsert, the fast way to rebuild.
func batchedBalancesProjection() projection.Projection {
	p := balancesProjection(batchedProjectionName)
	p.Handle = nil
	p.HandleBatch = func(ctx context.Context, tx eventual.Tx, t projection.Tables, events []eventual.RecordedEvent) error {
		type sum struct{ n, total, last int64 }
		sums := map[string]*sum{}
		var order []string
		for _, e := range events {
			s := sums[e.StreamID]
			if s == nil {
				s = &sum{}
				sums[e.StreamID] = s
				order = append(order, e.StreamID)
			}
			s.n++
			s.total += int64(len(e.Data))
			s.last = int64(e.Position)
		}
		table := t.Name(p.Tables[0])
		var q strings.Builder
		q.WriteString("INSERT INTO " + table + " (stream, n, total, last_position) VALUES ")
		args := make([]any, 0, 4*len(order))
		for i, id := range order {
			if i > 0 {
				q.WriteString(", ")
			}
			fmt.Fprintf(&q, "($%d, $%d, $%d, $%d)", 4*i+1, 4*i+2, 4*i+3, 4*i+4)
			s := sums[id]
			args = append(args, id, s.n, s.total, s.last)
		}
		q.WriteString(" ON CONFLICT (stream) DO UPDATE SET n = " + table + ".n + excluded.n, total = " + table +
			".total + excluded.total, last_position = excluded.last_position")
		_, err := tx.Exec(ctx, q.String(), args...)
		return err
	}
	return p
}

// runProjection measures, on a fresh database of the backend, a rebuild of
// cfg.ProjectionEvents events into a SQL table, then the latency from the
// start of an append to its event being visible in the table, at
// cfg.MessagingRate appends of one event per second for cfg.Duration.
func runProjection(ctx context.Context, cfg Config, name string, p *progress) ([]Result, error) {
	st, closeStore, err := openSQL(ctx, cfg, name)
	if err != nil {
		return nil, err
	}
	defer closeStore()

	n := cfg.ProjectionEvents
	p.printf("%s projection: writing %d events to project", name, n)
	payload := makePayload(cfg.PayloadBytes, -1)
	for written, s := 0, 0; written < n; s++ {
		events := make([]eventual.EventData, min(ReadStreamBatch, n-written))
		for i := range events {
			events[i] = eventual.EventData{Type: depositedType, Data: payload}
		}
		if _, err := st.Append(ctx, fmt.Sprintf("bench-account-%d", s), eventual.NoStream, events...); err != nil {
			return nil, fmt.Errorf("projections: write events: %w", err)
		}
		written += len(events)
	}
	head, err := st.HeadPosition(ctx)
	if err != nil {
		return nil, err
	}

	runner, err := projection.NewRunner(st, projection.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		return nil, err
	}
	if err := runner.Add(balancesProjection(projectionName), batchedBalancesProjection()); err != nil {
		return nil, err
	}
	start := time.Now()
	if err := runner.Start(ctx); err != nil {
		return nil, err
	}
	defer runner.Close()
	if err := runner.WaitForAll(ctx, head); err != nil {
		return nil, fmt.Errorf("projections: first build: %w", err)
	}
	p.printf("%s projection: first build of both projections of %d events in %.2fs", name, n, time.Since(start).Seconds())

	var results []Result
	for _, c := range []struct{ projection, method string }{
		{projectionName, "Handle: one upsert per event"},
		{batchedProjectionName, "HandleBatch: one multi-row upsert per batch"},
	} {
		p.printf("%s projection: rebuilding %d events with %s", name, n, c.method)
		start = time.Now()
		if err := runner.Rebuild(ctx, c.projection); err != nil {
			return results, err
		}
		err := waitUntil(ctx, time.Millisecond, nil, func() (bool, error) {
			s, err := runner.StatusOf(ctx, c.projection)
			if err == nil && s.State == projection.StateFailed {
				err = fmt.Errorf("projections: rebuild failed: %s", s.LastError)
			}
			return s.Generation == 2 && s.Rebuild == nil, err
		})
		if err != nil {
			return results, err
		}
		elapsed := time.Since(start)
		res := Result{Backend: name, Kind: KindProjectionRebuild, Method: c.method, Seconds: elapsed.Seconds(),
			Events: int64(n), EventsPerSecond: float64(n) / elapsed.Seconds()}
		p.printf("%s projection rebuild (%s): %s events/s (%.2fs)", name, c.method, rate(res.EventsPerSecond), elapsed.Seconds())
		results = append(results, res)
	}

	lat, err := runVisibleLatency(ctx, cfg, name, st, p, payload, func(ctx context.Context, pos uint64) error {
		return runner.WaitFor(ctx, projectionName, pos)
	})
	if err != nil {
		return results, err
	}
	lat.Kind = KindProjectionLatency
	return append(results, lat), nil
}

// runVisibleLatency appends one event at a time at cfg.MessagingRate per
// second for cfg.Duration, each append in its own goroutine so that a
// slow one does not hold up the rate, and times from the start of each
// append until visible(position) returns.
func runVisibleLatency(ctx context.Context, cfg Config, name string, st eventual.Store, p *progress, payload []byte,
	visible func(ctx context.Context, pos uint64) error) (Result, error) {
	p.printf("%s latency: %d appends/s for %v", name, cfg.MessagingRate, cfg.Duration)
	interval := time.Second / time.Duration(cfg.MessagingRate)
	var (
		mu       sync.Mutex
		lats     []time.Duration
		errCount int64
		firstErr error
		wg       sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		errCount++
		if firstErr == nil {
			firstErr = err
		}
	}
	begin := time.Now()
	deadline := begin.Add(cfg.Duration)
	for i := 0; ; i++ {
		// Pace by the schedule, not by sleeps, so the rate holds even when
		// a sleep overshoots.
		due := begin.Add(time.Duration(i) * interval)
		if due.After(deadline) {
			break
		}
		if d := time.Until(due); d > 0 {
			if err := sleepCtx(ctx, d); err != nil {
				return Result{}, err
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			res, err := st.Append(ctx, fmt.Sprintf("bench-latency-%d", i%1000), eventual.Any,
				eventual.EventData{Type: depositedType, Data: payload})
			if err != nil {
				fail(err)
				return
			}
			wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			if err := visible(wctx, res.LastPosition); err != nil {
				fail(err)
				return
			}
			d := time.Since(t0)
			mu.Lock()
			lats = append(lats, d)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	elapsed := time.Since(begin)
	if len(lats) == 0 {
		return Result{}, errors.Join(errors.New("latency: nothing became visible"), firstErr)
	}
	l := summarize(lats)
	res := Result{Backend: name, Seconds: elapsed.Seconds(), Events: int64(len(lats)),
		EventsPerSecond: float64(len(lats)) / elapsed.Seconds(),
		LatencyP50Ms:    ms(l.p50), LatencyP99Ms: ms(l.p99), LatencyP999Ms: ms(l.p999), Errors: errCount}
	if firstErr != nil {
		res.FirstError = firstErr.Error()
	}
	p.printf("%s latency: p50 %s ms, p99 %s ms over %d events (%s/s)", name, msText(res.LatencyP50Ms),
		msText(res.LatencyP99Ms), res.Events, rate(res.EventsPerSecond))
	return res, nil
}

// openSQL opens a fresh database of a SQL backend, and returns its store
// and the function that closes and removes it.
func openSQL(ctx context.Context, cfg Config, name string) (eventual.TxStore, func(), error) {
	b, err := openBackend(ctx, cfg, name)
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		_ = b.cleanup(cctx)
	}
	st, ok := b.store.(eventual.TxStore)
	if !ok {
		cleanup()
		return nil, nil, fmt.Errorf("the %s store is not a SQL store", name)
	}
	return st, cleanup, nil
}

// waitUntil polls done every interval until it reports true, failing if
// it errs, if stopped reports that the work stopped, or if ctx ends.
func waitUntil(ctx context.Context, interval time.Duration, stopped <-chan error, done func() (bool, error)) error {
	for {
		ok, err := done()
		if err != nil || ok {
			return err
		}
		select {
		case err := <-stopped:
			return errors.Join(errors.New("stopped before the end"), err)
		case <-time.After(interval):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// sleepCtx sleeps d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
