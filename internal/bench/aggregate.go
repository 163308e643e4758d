package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/aggregate"
	"github.com/eventual-go/eventual/codec"
)

// counter is the aggregate the benchmark loads: a sum of counted events.
type counter struct {
	aggregate.Root
	N int64 `json:"n"`
}

// counted is the counter's one event.
type counted struct {
	By int64 `json:"by"`
}

func newCounter(id string) *counter {
	c := &counter{}
	c.SetID(id)
	return c
}

func (c *counter) Apply(event any) error {
	e, ok := event.(counted)
	if !ok {
		return fmt.Errorf("bench counter: unknown event %T", event)
	}
	c.N += e.By
	return nil
}

func (c *counter) Clone() *counter                     { cp := *c; return &cp }
func (c *counter) SnapshotVersion() int                { return 1 }
func (c *counter) MarshalSnapshot() ([]byte, error)    { return json.Marshal(c) }
func (c *counter) UnmarshalSnapshot(data []byte) error { return json.Unmarshal(data, c) }

// snapshotLag is how many events behind the head the benchmark's snapshot
// lies (at most half the history).
const snapshotLag = 50

// countedType is the stored name of counted.
const countedType = "bench.counted"

func counterRegistry() (*codec.Registry, error) {
	b := codec.New()
	codec.Register[counted](b, countedType)
	return b.Build()
}

// runAggregates measures loading aggregates of each history length, from
// their events only and from a snapshot snapshotLag events behind the
// head, and reports replay throughput from the database.
func runAggregates(ctx context.Context, cfg Config, backend string, st eventual.Store, p *progress) ([]Result, error) {
	reg, err := counterRegistry()
	if err != nil {
		return nil, err
	}
	plain, err := aggregate.NewRepository(st, reg, "benchcounter", newCounter)
	if err != nil {
		return nil, err
	}
	snaps, hasSnaps := st.(eventual.SnapshotStore)
	var withSnap *aggregate.Repository[*counter]
	if hasSnaps {
		// The policy never fires: the snapshot is written below, once.
		never := func(aggregate.SnapshotInfo) bool { return false }
		if withSnap, err = aggregate.NewRepository(st, reg, "benchcounter", newCounter, aggregate.WithSnapshots(snaps, never)); err != nil {
			return nil, err
		}
	}
	cached, err := aggregate.NewRepository(st, reg, "benchcounter", newCounter, aggregate.WithCache(16))
	if err != nil {
		return nil, err
	}
	var out []Result
	for _, history := range cfg.AggregateHistories {
		id := fmt.Sprintf("h%d-%d", history, time.Now().UnixNano())
		p.printf("%s aggregate of %d events: writing", backend, history)
		if err := writeHistory(ctx, st, plain.StreamID(id), history); err != nil {
			return out, err
		}
		res, err := timeLoads(ctx, cfg, plain, id, history)
		if err != nil {
			return out, err
		}
		res.Backend = backend
		out = append(out, res)
		p.printf("%s aggregate of %d events, no snapshot: load p50 %s ms, p99 %s ms (%d loads)", backend, history, msText(res.LatencyP50Ms), msText(res.LatencyP99Ms), res.Loads)
		// Cached (aggregate.WithCache): after the first load, each load
		// reads only the events after the cached version — none here.
		if _, err := cached.Load(ctx, id); err != nil {
			return out, err
		}
		if res, err = timeLoads(ctx, cfg, cached, id, history); err != nil {
			return out, err
		}
		res.Backend, res.Cached = backend, true
		out = append(out, res)
		p.printf("%s aggregate of %d events, cached: load p50 %s ms, p99 %s ms (%d loads)", backend, history, msText(res.LatencyP50Ms), msText(res.LatencyP99Ms), res.Loads)
		if withSnap == nil {
			continue
		}
		// The snapshot lies behind the head, as with a snapshot every 100
		// events on average: the load replays the events after it.
		at := history - min(snapshotLag, history/2)
		data, _ := json.Marshal(counter{N: int64(at)})
		snap := eventual.Snapshot{StreamID: plain.StreamID(id), Version: uint64(at), SchemaVersion: 1, Data: data, TakenAt: time.Now()}
		if err := snaps.SaveSnapshot(ctx, snap); err != nil {
			return out, fmt.Errorf("save snapshot: %w", err)
		}
		res, err = timeLoads(ctx, cfg, withSnap, id, history)
		if err != nil {
			return out, err
		}
		res.Backend, res.Snapshot = backend, true
		out = append(out, res)
		p.printf("%s aggregate of %d events, snapshot: load p50 %s ms, p99 %s ms (%d loads)", backend, history, msText(res.LatencyP50Ms), msText(res.LatencyP99Ms), res.Loads)
	}
	return out, nil
}

// writeHistory appends n counted events to stream, 1,000 an append.
func writeHistory(ctx context.Context, st eventual.Store, stream string, n int) error {
	var version uint64
	for version < uint64(n) {
		batch := make([]eventual.EventData, min(1000, uint64(n)-version))
		for i := range batch {
			batch[i] = eventual.EventData{Type: countedType, SchemaVersion: 1, Data: []byte(`{"by":1}`)}
		}
		res, err := st.Append(ctx, stream, eventual.Exact(version), batch...)
		if err != nil {
			return fmt.Errorf("write the aggregate's events: %w", err)
		}
		version = res.LastVersion
	}
	return nil
}

// timeLoads loads the aggregate again and again, for a number of loads
// that keeps the total near cfg.Duration but between 3 and 2,000.
func timeLoads(ctx context.Context, cfg Config, repo *aggregate.Repository[*counter], id string, history int) (Result, error) {
	var lat []time.Duration
	start := time.Now()
	for len(lat) < 2000 && (len(lat) < 3 || time.Since(start) < cfg.Duration) {
		t0 := time.Now()
		c, err := repo.Load(ctx, id)
		if err != nil {
			return Result{}, fmt.Errorf("load an aggregate of %d events: %w", history, err)
		}
		lat = append(lat, time.Since(t0))
		if c.N != int64(history) || c.Version() != uint64(history) {
			return Result{}, fmt.Errorf("loaded an aggregate of %d events as %d at version %d", history, c.N, c.Version())
		}
	}
	var total time.Duration
	for _, d := range lat {
		total += d
	}
	l := summarize(lat)
	return Result{
		Kind: KindAggregateLoad, History: history, Loads: len(lat), Seconds: time.Since(start).Seconds(),
		LatencyP50Ms: ms(l.p50), LatencyP99Ms: ms(l.p99), LatencyP999Ms: ms(l.p999),
		Events:          int64(history) * int64(len(lat)),
		EventsPerSecond: float64(history) * float64(len(lat)) / total.Seconds(),
	}, nil
}

// replayEvents is how many events the in-memory replay decodes and applies.
const replayEvents = 1_000_000

// runReplay measures decoding and applying events in memory, without a
// database: the ceiling of loading aggregates.
func runReplay(ctx context.Context, p *progress) (Result, error) {
	reg, err := counterRegistry()
	if err != nil {
		return Result{}, err
	}
	ev := eventual.RecordedEvent{Type: countedType, SchemaVersion: 1, Data: []byte(`{"by":1}`)}
	c := newCounter("replay")
	p.printf("replay in memory: decoding and applying %d events", replayEvents)
	start := time.Now()
	for i := range replayEvents {
		if i%65536 == 0 && ctx.Err() != nil {
			return Result{}, ctx.Err()
		}
		e, err := reg.Decode(ev)
		if err != nil {
			return Result{}, err
		}
		if err := c.Apply(e); err != nil {
			return Result{}, err
		}
	}
	took := time.Since(start)
	res := Result{Backend: "in memory", Kind: KindReplay, Events: replayEvents, Seconds: took.Seconds(), EventsPerSecond: replayEvents / took.Seconds()}
	p.printf("replay in memory: %s events/s", rate(res.EventsPerSecond))
	return res, nil
}
