package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/internal/natsserver"
	"github.com/eventual-go/eventual/outbox"
	"github.com/eventual-go/eventual/transport"
	"github.com/eventual-go/eventual/transport/natsjs"
)

// relayedType is the event the event relay and the latency case publish.
const relayedType = "bench.relayed"

// broker is the NATS server the relay cases talk to.
type broker struct {
	url     string
	note    string
	cleanup func()
}

// openBroker connects to cfg.NATSURL, or starts an embedded server with
// its store in a temporary directory.
func openBroker(cfg Config) (*broker, error) {
	if cfg.NATSURL != "" {
		return &broker{url: cfg.NATSURL, note: "NATS at " + cfg.NATSURL, cleanup: func() {}}, nil
	}
	dir, err := os.MkdirTemp(cfg.SQLiteDir, "eventual-bench-nats-*")
	if err != nil {
		return nil, fmt.Errorf("NATS store directory: %w", err)
	}
	srv, err := natsserver.Start(dir)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return &broker{url: srv.URL(), note: "embedded nats-server, file storage in " + dir,
		cleanup: func() { srv.Stop(); _ = os.RemoveAll(dir) }}, nil
}

// runRelay measures, on a fresh database of the backend and a NATS
// JetStream broker: the outbox relay publishing cfg.RelayMessages
// messages, the event relay publishing as many events, and the latency
// from the start of an append to a consumer in another process receiving
// the event through the event relay, at cfg.MessagingRate appends/s.
func runRelay(ctx context.Context, cfg Config, name string, p *progress) ([]Result, error) {
	st, closeStore, err := openSQL(ctx, cfg, name)
	if err != nil {
		return nil, err
	}
	defer closeStore()
	br, err := openBroker(cfg)
	if err != nil {
		return nil, err
	}
	defer br.cleanup()
	p.printf("%s relay: %s", name, br.note)
	nc, err := natsjs.Connect(br.url)
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	quiet := slog.New(slog.DiscardHandler)
	tr, err := natsjs.New(nc, natsjs.WithLogger(quiet))
	if err != nil {
		return nil, err
	}
	defer tr.Close()
	// Subjects of this run alone, and their streams deleted at the end.
	run := "bench" + strconv.FormatInt(time.Now().UnixNano(), 36)
	defer deleteStreams(nc, run)

	var results []Result
	res, err := benchOutboxRelay(ctx, cfg, name, st, tr, run+"out", p)
	if err != nil {
		return results, fmt.Errorf("outbox relay: %w", err)
	}
	results = append(results, res)
	res, err = benchEventRelay(ctx, cfg, name, st, tr, run+"ev", p)
	if err != nil {
		return results, fmt.Errorf("event relay: %w", err)
	}
	results = append(results, res)
	res, err = benchRemoteLatency(ctx, cfg, name, st, tr, br.url, run+"lat", p)
	if err != nil {
		return results, fmt.Errorf("remote consumer: %w", err)
	}
	return append(results, res), nil
}

// deleteStreams deletes the streams of the run's subjects.
func deleteStreams(nc *nats.Conn, run string) {
	js, err := jetstream.New(nc)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	names := js.StreamNames(ctx)
	for n := range names.Name() {
		if strings.Contains(strings.ToLower(n), run) {
			_ = js.DeleteStream(ctx, n)
		}
	}
}

// benchOutboxRelay fills the outbox with cfg.RelayMessages messages, then
// times the relay publishing them all to JetStream and marking them sent.
func benchOutboxRelay(ctx context.Context, cfg Config, name string, st eventual.TxStore, tr transport.Publisher, subject string, p *progress) (Result, error) {
	o, err := outbox.New(ctx, st, outbox.WithLogger(slog.New(slog.DiscardHandler)), outbox.WithBatchSize(1000))
	if err != nil {
		return Result{}, err
	}
	n := cfg.RelayMessages
	p.printf("%s outbox relay: adding %d messages", name, n)
	payload := makePayload(cfg.PayloadBytes, -1)
	for added := 0; added < n; {
		batch := make([]transport.Message, min(ReadStreamBatch, n-added))
		for i := range batch {
			batch[i] = transport.NewMessage(subject+".msg", "bench.message", payload)
			batch[i].Key = "k" + strconv.Itoa((added+i)%100)
		}
		if err := st.InTx(ctx, func(tx eventual.Tx) error { return o.Add(ctx, tx, batch...) }); err != nil {
			return Result{}, err
		}
		added += len(batch)
	}
	p.printf("%s outbox relay: relaying %d messages to JetStream", name, n)
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- o.Relay(rctx, tr) }()
	err = waitUntil(ctx, 2*time.Millisecond, done, func() (bool, error) {
		s, err := o.Stats(ctx)
		return s.Backlog == 0, err
	})
	if err != nil {
		return Result{}, err
	}
	elapsed := time.Since(start)
	cancel()
	<-done
	res := Result{Backend: name, Kind: KindRelay, Method: "outbox relay (batches of 1000)", Seconds: elapsed.Seconds(),
		Events: int64(n), EventsPerSecond: float64(n) / elapsed.Seconds()}
	p.printf("%s outbox relay: %s messages/s (%.2fs)", name, rate(res.EventsPerSecond), elapsed.Seconds())
	return res, nil
}

// benchEventRelay appends cfg.RelayMessages events, then times the event
// relay publishing them all to JetStream.
func benchEventRelay(ctx context.Context, cfg Config, name string, st eventual.TxStore, tr transport.Publisher, prefix string, p *progress) (Result, error) {
	n := cfg.RelayMessages
	p.printf("%s event relay: appending %d events", name, n)
	payload := makePayload(cfg.PayloadBytes, -1)
	for written, s := 0, 0; written < n; s++ {
		events := make([]eventual.EventData, min(ReadStreamBatch, n-written))
		for i := range events {
			events[i] = eventual.EventData{Type: relayedType, Data: payload}
		}
		if _, err := st.Append(ctx, fmt.Sprintf("bench-relayed-%d", s), eventual.NoStream, events...); err != nil {
			return Result{}, err
		}
		written += len(events)
	}
	head, err := st.HeadPosition(ctx)
	if err != nil {
		return Result{}, err
	}
	r, err := outbox.NewEventRelay(ctx, st, "bench_event_relay", tr, outbox.WithLogger(slog.New(slog.DiscardHandler)),
		outbox.WithBatchSize(1000), outbox.WithFilter(eventual.Filter{Types: []string{relayedType}}), outbox.WithSubjectPrefix(prefix))
	if err != nil {
		return Result{}, err
	}
	p.printf("%s event relay: relaying %d events to JetStream", name, n)
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- r.Run(rctx) }()
	err = waitUntil(ctx, 2*time.Millisecond, done, func() (bool, error) {
		s, err := r.Status(ctx)
		return s.Checkpoint >= head, err
	})
	if err != nil {
		return Result{}, err
	}
	elapsed := time.Since(start)
	cancel()
	<-done
	res := Result{Backend: name, Kind: KindRelay, Method: "event relay (pages of 1000)", Seconds: elapsed.Seconds(),
		Events: int64(n), EventsPerSecond: float64(n) / elapsed.Seconds()}
	p.printf("%s event relay: %s events/s (%.2fs)", name, rate(res.EventsPerSecond), elapsed.Seconds())
	return res, nil
}

// ConsumerEnv is the environment variable that makes a process started by
// the bench the remote consumer of the latency case; see RunConsumerChild.
const ConsumerEnv = "EVENTUAL_BENCH_CONSUMER"

// consumerParams is what the parent tells the consumer process.
type consumerParams struct {
	URL     string `json:"url"`
	Subject string `json:"subject"`
	Group   string `json:"group"`
}

// consumerReport is what the consumer process answers when its stdin
// closes: the latency of every message, in nanoseconds.
type consumerReport struct {
	Latencies []int64 `json:"latencies_ns"`
	Error     string  `json:"error,omitempty"`
}

// IsConsumerChild reports whether this process was started as the remote
// consumer of the latency case. A main that runs the bench calls it first
// and, if true, exits with RunConsumerChild's code.
func IsConsumerChild() bool { return os.Getenv(ConsumerEnv) != "" }

// RunConsumerChild is the remote consumer: it subscribes over JetStream as
// the parent said, prints "ready", records for each message the time since
// the append started (the message's data holds the start in unix
// nanoseconds), and when its stdin closes prints the latencies as JSON.
// It returns the process's exit code.
func RunConsumerChild() int {
	var params consumerParams
	report := func(r consumerReport) int {
		_ = json.NewEncoder(os.Stdout).Encode(r)
		if r.Error != "" {
			return 1
		}
		return 0
	}
	if err := json.Unmarshal([]byte(os.Getenv(ConsumerEnv)), &params); err != nil {
		return report(consumerReport{Error: "bad " + ConsumerEnv + ": " + err.Error()})
	}
	nc, err := natsjs.Connect(params.URL)
	if err != nil {
		return report(consumerReport{Error: err.Error()})
	}
	defer nc.Close()
	tr, err := natsjs.New(nc, natsjs.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		return report(consumerReport{Error: err.Error()})
	}
	defer tr.Close()
	var mu sync.Mutex
	var lats []int64
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err = tr.Subscribe(ctx, transport.Subscription{Subject: params.Subject, Group: params.Group, Concurrency: 8},
		func(_ context.Context, d transport.Delivery) error {
			now := time.Now().UnixNano()
			t0, err := strconv.ParseInt(string(d.Data), 10, 64)
			if err != nil {
				return transport.Terminate(err)
			}
			mu.Lock()
			lats = append(lats, now-t0)
			mu.Unlock()
			return nil
		})
	if err != nil {
		return report(consumerReport{Error: err.Error()})
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes it
	cancel()
	mu.Lock()
	defer mu.Unlock()
	return report(consumerReport{Latencies: lats})
}

// benchRemoteLatency starts a consumer process, appends one event at a
// time at cfg.MessagingRate per second for cfg.Duration with the start
// time as data, and collects the consumer's latencies: append → event
// relay → JetStream → consumer in another process.
func benchRemoteLatency(ctx context.Context, cfg Config, name string, st eventual.TxStore, tr transport.Publisher, url, prefix string, p *progress) (Result, error) {
	const latencyType = "bench.timed"
	subject := prefix + "." + latencyType
	params, _ := json.Marshal(consumerParams{URL: url, Subject: subject, Group: "bench-consumer"})
	exe, err := os.Executable()
	if err != nil {
		return Result{}, err
	}
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = append(os.Environ(), ConsumerEnv+"="+string(params))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return Result{}, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return Result{}, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return Result{}, fmt.Errorf("start the consumer process: %w", err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	out := bufio.NewReader(stdout)
	line, err := out.ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		return Result{}, fmt.Errorf("the consumer process did not start: %q, %v", line, err)
	}

	r, err := outbox.NewEventRelay(ctx, st, "bench_latency_relay", tr, outbox.WithLogger(slog.New(slog.DiscardHandler)),
		outbox.WithFilter(eventual.Filter{Types: []string{latencyType}}), outbox.WithSubjectPrefix(prefix))
	if err != nil {
		return Result{}, err
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	relayDone := make(chan error, 1)
	go func() { relayDone <- r.Run(rctx) }()

	p.printf("%s remote consumer: %d appends/s for %v, through the event relay and JetStream to another process", name, cfg.MessagingRate, cfg.Duration)
	interval := time.Second / time.Duration(cfg.MessagingRate)
	var wg sync.WaitGroup
	var appendErrs int64
	var firstErr error
	var mu sync.Mutex
	begin := time.Now()
	deadline := begin.Add(cfg.Duration)
	sent := 0
	for i := 0; ; i++ {
		due := begin.Add(time.Duration(i) * interval)
		if due.After(deadline) {
			break
		}
		if d := time.Until(due); d > 0 {
			if err := sleepCtx(ctx, d); err != nil {
				return Result{}, err
			}
		}
		sent++
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now().UnixNano()
			_, err := st.Append(ctx, fmt.Sprintf("bench-timed-%d", i%1000), eventual.Any,
				eventual.EventData{Type: latencyType, Data: []byte(strconv.FormatInt(t0, 10))})
			if err != nil {
				mu.Lock()
				appendErrs++
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(begin)
	head, err := st.HeadPosition(ctx)
	if err != nil {
		return Result{}, err
	}
	err = waitUntil(ctx, 5*time.Millisecond, relayDone, func() (bool, error) {
		s, err := r.Status(ctx)
		return s.Checkpoint >= head, err
	})
	if err != nil {
		return Result{}, err
	}
	// The broker has every event; give the consumer a moment to take them.
	if err := sleepCtx(ctx, time.Second); err != nil {
		return Result{}, err
	}
	_ = stdin.Close()
	var rep consumerReport
	if err := json.NewDecoder(out).Decode(&rep); err != nil {
		return Result{}, fmt.Errorf("read the consumer's report: %w", err)
	}
	if rep.Error != "" {
		return Result{}, fmt.Errorf("consumer: %s", rep.Error)
	}
	cancel()
	<-relayDone
	lats := make([]time.Duration, len(rep.Latencies))
	for i, ns := range rep.Latencies {
		lats[i] = time.Duration(ns)
	}
	if len(lats) == 0 {
		return Result{}, errors.New("the consumer received nothing")
	}
	l := summarize(lats)
	res := Result{Backend: name, Kind: KindRemoteLatency, Seconds: elapsed.Seconds(), Events: int64(len(lats)),
		EventsPerSecond: float64(len(lats)) / elapsed.Seconds(),
		LatencyP50Ms:    ms(l.p50), LatencyP99Ms: ms(l.p99), LatencyP999Ms: ms(l.p999), Errors: appendErrs}
	if firstErr != nil {
		res.FirstError = firstErr.Error()
	}
	if missing := int64(sent) - appendErrs - int64(len(lats)); missing > 0 {
		res.Errors += missing
		res.FirstError = strings.TrimSpace(res.FirstError + fmt.Sprintf(" %d appended events not received", missing))
	}
	p.printf("%s remote consumer: p50 %s ms, p99 %s ms over %d events", name, msText(res.LatencyP50Ms), msText(res.LatencyP99Ms), res.Events)
	return res, nil
}
