package bench

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/outbox"
	"github.com/eventual-go/eventual/saga"
	"github.com/eventual-go/eventual/transport"
	"github.com/eventual-go/eventual/transport/inproc"
)

// sagaSteps is the number of steps of the benchmark's saga.
const sagaSteps = 5

// benchSagaData is the benchmark saga's data.
type benchSagaData struct {
	Order string `json:"order"`
	Done  int    `json:"done"`
}

// Clone implements eventual.Cloner, for the run with a state cache.
func (d benchSagaData) Clone() benchSagaData { return d }

// benchSaga is a saga of sagaSteps steps, each a command answered by a
// service, each with a compensation.
func benchSaga() (*saga.Definition[benchSagaData], error) {
	b := saga.Define[benchSagaData]("bench")
	for i := range sagaSteps {
		subject := fmt.Sprintf("benchsvc.step%d", i)
		b.Step(fmt.Sprintf("step-%d", i)).
			Command(func(_ context.Context, d *benchSagaData) (transport.Message, error) {
				return transport.NewMessage(subject, "bench.do", []byte(d.Order)), nil
			}).
			OnReply("bench.done", func(_ context.Context, d *benchSagaData, _ transport.Delivery) error { d.Done++; return nil }).
			OnFailure("bench.failed", nil).
			Compensate(func(_ context.Context, d *benchSagaData) (transport.Message, error) {
				return transport.NewMessage(subject, "bench.undo", []byte(d.Order)), nil
			}).
			OnCompensationReply("bench.undone", nil)
	}
	return b.Build()
}

// runSaga measures sagas of sagaSteps steps completed per second in one
// process on a fresh database, over the in-process transport, with
// services that answer at once: for cfg.Duration, starters keep up to
// sagaBacklog sagas in flight; then every saga started is let finish, and
// the rate is of all of them over the time from the first start to the
// last completion. cached runs the orchestrator with a state cache
// (saga.WithStateCache).
func runSaga(ctx context.Context, cfg Config, name string, cached bool, p *progress) (Result, error) {
	st, closeStore, err := openSQL(ctx, cfg, name)
	if err != nil {
		return Result{}, err
	}
	defer closeStore()
	quiet := slog.New(slog.DiscardHandler)
	tr, err := inproc.New(inproc.WithLogger(quiet))
	if err != nil {
		return Result{}, err
	}
	defer tr.Close()
	ob, err := outbox.New(ctx, st, outbox.WithLogger(quiet), outbox.WithBatchSize(1000))
	if err != nil {
		return Result{}, err
	}
	def, err := benchSaga()
	if err != nil {
		return Result{}, err
	}
	opts := []saga.Option{saga.WithLogger(quiet)}
	label := ""
	if cached {
		opts, label = append(opts, saga.WithStateCache(2*sagaBacklog)), ", state cache"
	}
	orch, err := saga.NewOrchestrator(ctx, st, def, ob, opts...)
	if err != nil {
		return Result{}, err
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	err = tr.Subscribe(rctx, transport.Subscription{Subject: "benchsvc.>", Group: "bench-services", Concurrency: 64},
		func(ctx context.Context, d transport.Delivery) error {
			answer := "bench.done"
			if d.Type == "bench.undo" {
				answer = "bench.undone"
			}
			return transport.Reply(ctx, tr, d, transport.NewMessage("", answer, nil))
		})
	if err != nil {
		return Result{}, err
	}
	if err := orch.Subscribe(rctx, tr, 512); err != nil {
		return Result{}, err
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() { _ = ob.Relay(rctx, tr) })
	wg.Go(func() { _ = orch.Run(rctx) })
	for !orch.Running() {
		if err := sleepCtx(ctx, time.Millisecond); err != nil {
			return Result{}, err
		}
	}

	p.printf("%s saga%s: %d-step sagas for %v, up to %d in flight", name, label, sagaSteps, cfg.Duration, sagaBacklog)
	var started, errCount atomic.Int64
	var firstErr atomic.Value
	done := func() int64 {
		c, err := orch.Counts(ctx)
		if err != nil {
			return 0
		}
		return int64(c[saga.StatusDone])
	}
	begin := time.Now()
	deadline := begin.Add(cfg.Duration)
	var finished atomic.Int64
	stop := make(chan struct{})
	var poller sync.WaitGroup
	poller.Go(func() {
		for {
			finished.Store(done())
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	})
	var starters sync.WaitGroup
	for w := range 32 {
		starters.Go(func() {
			for i := 0; time.Now().Before(deadline) && ctx.Err() == nil; i++ {
				if started.Load()-finished.Load() >= sagaBacklog {
					time.Sleep(time.Millisecond)
					continue
				}
				id := fmt.Sprintf("s%d-%d", w, i)
				if _, err := orch.Start(rctx, id, benchSagaData{Order: id}); err != nil {
					errCount.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				started.Add(1)
			}
		})
	}
	starters.Wait()
	// Then let every saga started finish: the rate is of whole sagas, from
	// the first start to the last completion.
	err = waitUntil(ctx, 2*time.Millisecond, nil, func() (bool, error) {
		if time.Since(deadline) > time.Minute {
			return false, fmt.Errorf("%d of %d sagas still unfinished a minute after the last start", started.Load()-done(), started.Load())
		}
		return done() >= started.Load(), nil
	})
	completed := done()
	elapsed := time.Since(begin)
	close(stop)
	poller.Wait()
	if err != nil {
		return Result{}, err
	}
	lats, err := sagaLatencies(ctx, st)
	if err != nil {
		return Result{}, err
	}
	res := Result{Backend: name, Kind: KindSaga, Seconds: elapsed.Seconds(), Events: completed,
		EventsPerSecond: float64(completed) / elapsed.Seconds(), Errors: errCount.Load(), Cached: cached}
	if len(lats) > 0 {
		l := summarize(lats)
		res.LatencyP50Ms, res.LatencyP99Ms, res.LatencyP999Ms = ms(l.p50), ms(l.p99), ms(l.p999)
	}
	if v, ok := firstErr.Load().(string); ok {
		res.FirstError = v
	}
	p.printf("%s saga%s: %s sagas/s completed (%d in %.1fs), start → done p50 %s ms, p99 %s ms",
		name, label, rate(res.EventsPerSecond), completed, elapsed.Seconds(), msText(res.LatencyP50Ms), msText(res.LatencyP99Ms))
	return res, nil
}

// sagaBacklog is the most sagas the benchmark keeps in flight.
const sagaBacklog = 4000

// sagaLatencies reads how long each completed saga took, start to done.
func sagaLatencies(ctx context.Context, st eventual.TxStore) ([]time.Duration, error) {
	q, ok := st.(eventual.Querier)
	if !ok {
		return nil, nil
	}
	rows, err := q.Query(ctx, "SELECT updated_at - started_at FROM eventual_sagas WHERE name = 'bench' AND status = 'done'")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []time.Duration
	for rows.Next() {
		var us int64
		if err := rows.Scan(&us); err != nil {
			return nil, err
		}
		out = append(out, time.Duration(us)*time.Microsecond)
	}
	return out, rows.Err()
}
