package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// cleanupTimeout bounds closing a backend and removing its data, which
// runs even after the run's context ended.
const cleanupTimeout = 2 * time.Minute

// Run measures every backend of cfg in turn, writes the header to out at
// the start and the result tables at the end, and returns the report.
//
// Errors: one matching [ErrInvalidConfig] for a bad cfg, before anything
// runs; ctx's error when it ends (the report then holds what was measured
// and Interrupted is set); otherwise the failures of the backends that
// could not be opened or measured, joined — the others still run. Failed
// appends are not errors of Run: they are counted in the results.
func Run(ctx context.Context, cfg Config, out io.Writer) (Report, error) {
	if err := cfg.Validate(); err != nil {
		return Report{}, err
	}
	if out == nil {
		out = io.Discard
	}
	begin := time.Now()
	rep := Report{Machine: CurrentMachine(), Config: cfg, StartedAt: begin.UTC().Truncate(time.Second)}
	if err := rep.WriteHeader(out); err != nil {
		return rep, fmt.Errorf("bench: write header: %w", err)
	}
	p := &progress{w: cfg.Progress, start: begin}
	var errs []error
	for _, name := range cfg.Backends {
		err := runBackend(ctx, cfg, name, &rep, p)
		if ctx.Err() != nil {
			rep.Interrupted = true
			p.printf("interrupted")
			errs = append(errs, fmt.Errorf("bench: interrupted: %w", ctx.Err()))
			if err != nil && !errors.Is(err, ctx.Err()) {
				errs = append(errs, fmt.Errorf("bench: %s: %w", name, err))
			}
			break
		}
		if err != nil {
			err = fmt.Errorf("bench: %s: %w", name, err)
			rep.Problems = append(rep.Problems, err.Error())
			p.printf("%v", err)
			errs = append(errs, err)
		}
	}
	if cfg.Runs(CaseAggregate) && len(cfg.AggregateHistories) > 0 && !rep.Interrupted {
		res, err := runReplay(ctx, p)
		switch {
		case ctx.Err() != nil:
			rep.Interrupted = true
			errs = append(errs, fmt.Errorf("bench: interrupted: %w", ctx.Err()))
		case err != nil:
			errs = append(errs, fmt.Errorf("bench: replay: %w", err))
		default:
			rep.Results = append(rep.Results, res)
		}
	}
	rep.Seconds = time.Since(begin).Seconds()
	if err := rep.WriteTable(out); err != nil {
		errs = append(errs, err)
	}
	return rep, errors.Join(errs...)
}

// runBackend opens one backend and runs its append cases, raw baseline and
// reads, adding their results to rep. It stops at the first error of the
// context, of setup or of a read; a failing raw baseline is reported and
// the reads still run.
func runBackend(ctx context.Context, cfg Config, name string, rep *Report, p *progress) (err error) {
	p.printf("%s: opening a fresh database", name)
	b, err := openBackend(ctx, cfg, name)
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		if cerr := b.cleanup(cctx); cerr != nil {
			err = errors.Join(err, fmt.Errorf("clean up: %w", cerr))
		}
	}()
	rep.Backends = append(rep.Backends, b.info)
	p.printf("%v", b.info)
	if b.info.Note != "" {
		p.printf("%s: note: %s", name, b.info.Note)
	}

	if b.store != nil && cfg.Runs(CaseAppend) {
		for _, epa := range cfg.EventsPerAppend {
			for _, w := range cfg.Writers {
				res, err := runAppendCase(ctx, cfg, b.store, appendCase{backend: name, writers: w, eventsPerAppend: epa}, p)
				if err != nil {
					return err
				}
				rep.Results = append(rep.Results, res)
			}
		}
	}

	var errs []error
	if b.raw != nil && cfg.Runs(CaseRaw) {
		// First with --raw-batch rows a transaction (the raw limit), then,
		// when it differs, with as many as a batch of the compared append
		// case can hold (one append per writer): what plain inserts reach
		// at the store's own batch size.
		batches := []int{cfg.RawBatch}
		if c, ok := ratioCase(rep.Results, name); ok && c.Writers*c.EventsPerAppend != cfg.RawBatch {
			batches = append(batches, c.Writers*c.EventsPerAppend)
		}
		for _, batch := range batches {
			rc := cfg
			rc.RawBatch = batch
			p.printf("%s raw insert: running for %v, %d rows per transaction", name, cfg.Duration, batch)
			cpu := measureCPU()
			o, err := b.raw(ctx, rc)
			switch {
			case ctx.Err() != nil:
				return ctx.Err()
			case err != nil:
				errs = append(errs, fmt.Errorf("raw baseline, %d rows a transaction: %w", batch, err))
				continue
			case o.rows == 0:
				errs = append(errs, fmt.Errorf("raw baseline, %d rows a transaction: no batch finished", batch))
				continue
			}
			raw := Result{Backend: name, Kind: KindRawInsert, Seconds: o.elapsed.Seconds(), Rows: o.rows,
				BatchRows: batch, RowsPerSecond: float64(o.rows) / o.elapsed.Seconds(), Method: o.method,
				CommitP50Ms: ms(o.commitP50)}
			cpu(&raw)
			rep.Results = append(rep.Results, raw)
			p.printf("%s raw insert: %s rows/s (%.2fs); a one-row commit: p50 %s ms; cpu busy/steal %s %%", name, rate(raw.RowsPerSecond), raw.Seconds, msText(raw.CommitP50Ms), cpuText(raw))
			if ratio, ok := storeRawRatio(rep.Results, raw); ok {
				rep.Results = append(rep.Results, ratio)
				p.printf("%s store/raw (%d rows a transaction): %.3f", name, batch, ratio.Ratio)
			}
		}
	}

	if b.store != nil && cfg.Runs(CaseRead) && cfg.ReadStreamEvents > 0 {
		res, err := runReadStream(ctx, cfg, name, b.store, p)
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		rep.Results = append(rep.Results, res)
	}
	if b.store != nil && cfg.Runs(CaseRead) {
		res, err := runReadAll(ctx, name, b.store, p)
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		rep.Results = append(rep.Results, res)
	}
	if b.store != nil && cfg.Runs(CaseAggregate) && len(cfg.AggregateHistories) > 0 {
		res, err := runAggregates(ctx, cfg, name, b.store, p)
		rep.Results = append(rep.Results, res...)
		if err != nil {
			return errors.Join(append(errs, fmt.Errorf("aggregates: %w", err))...)
		}
	}
	if cfg.Runs(CaseProjection) && name != BackendMemory {
		res, err := runProjection(ctx, cfg, name, p)
		rep.Results = append(rep.Results, res...)
		if err != nil {
			return errors.Join(append(errs, fmt.Errorf("projections: %w", err))...)
		}
	}
	if cfg.Runs(CaseRelay) && name != BackendMemory {
		res, err := runRelay(ctx, cfg, name, p)
		rep.Results = append(rep.Results, res...)
		if err != nil {
			return errors.Join(append(errs, fmt.Errorf("relay: %w", err))...)
		}
	}
	if cfg.Runs(CaseSaga) && name != BackendMemory {
		for _, cached := range []bool{false, true} {
			res, err := runSaga(ctx, cfg, name, cached, p)
			if err != nil {
				return errors.Join(append(errs, fmt.Errorf("saga: %w", err))...)
			}
			rep.Results = append(rep.Results, res)
		}
	}
	return errors.Join(errs...)
}

// RatioWriters and RatioEventsPerAppend are the append case compared with
// the raw baseline; when it was not run, the closest case that was is:
// the fewest events per append, then the nearest number of writers.
const (
	RatioWriters         = 64
	RatioEventsPerAppend = 1
)

// ratioCase returns the append case of backend closest to RatioWriters
// writers and RatioEventsPerAppend events per append: the fewest events
// per append, then the nearest number of writers.
func ratioCase(results []Result, backend string) (Result, bool) {
	var best *Result
	distance := func(r *Result) (int, int) {
		return abs(r.EventsPerAppend - RatioEventsPerAppend), abs(r.Writers - RatioWriters)
	}
	for i := range results {
		r := &results[i]
		if r.Backend != backend || r.Kind != KindAppend || r.Events == 0 {
			continue
		}
		if best == nil {
			best = r
			continue
		}
		de, dw := distance(r)
		be, bw := distance(best)
		if de < be || de == be && dw < bw {
			best = r
		}
	}
	if best == nil {
		return Result{}, false
	}
	return *best, true
}

// storeRawRatio compares raw with the append case of its backend that
// ratioCase picks.
func storeRawRatio(results []Result, raw Result) (Result, bool) {
	best, ok := ratioCase(results, raw.Backend)
	if !ok || raw.RowsPerSecond == 0 {
		return Result{}, false
	}
	return Result{
		Backend: raw.Backend, Kind: KindRatio, Writers: best.Writers, EventsPerAppend: best.EventsPerAppend,
		StoreEventsPerSecond: best.EventsPerSecond, RawRowsPerSecond: raw.RowsPerSecond, BatchRows: raw.BatchRows,
		Ratio: best.EventsPerSecond / raw.RowsPerSecond,
	}, true
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// progress writes timestamped progress lines; a nil writer discards them.
type progress struct {
	w     io.Writer
	start time.Time
	mu    sync.Mutex
}

func (p *progress) printf(format string, args ...any) {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "[%6.1fs] "+format+"\n", append([]any{time.Since(p.start).Seconds()}, args...)...)
}
