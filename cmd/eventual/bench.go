package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/eventual-go/eventual/internal/bench"
	"github.com/eventual-go/eventual/internal/cpuprofile"
)

// newBenchCmd builds `eventual bench`, which runs internal/bench.
func newBenchCmd() *cobra.Command {
	cfg := bench.DefaultConfig()
	var jsonPath, cpuProfile string
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure append and read throughput of the event store backends",
		Long: `bench measures each backend on this machine, in a fresh database:

  appends   for every --writers × --events-per-append, goroutines append in a
            loop for --duration, one append in flight each, to their own
            streams of --stream-length events with the exact expected version;
            events/s, appends/s, latency p50/p99/p99.9 and errors.
  raw limit plain batched inserts of rows of the same shape into a copy of the
            events table of the same database (prepared INSERT for SQLite,
            COPY for PostgreSQL), --raw-batch rows a transaction, and the
            store/raw throughput ratio of the append case nearest 64 writers
            × 1 event; then the same with as many rows a transaction as
            that case's batches can hold (writers × events per append).
  reads     ReadStream over one stream of --read-stream-events events, and
            ReadAll from position 0 over everything written.
  aggregate loads of aggregates of --aggregate-histories events, with and
            without a snapshot, and replay in memory.
  projection (SQL backends, in another fresh database) a rebuild of
            --projection-events events into a SQL table with one upsert per
            event, until swapped in; then the latency from the start of an
            append to WaitFor seeing it, at --messaging-rate appends/s.
  relay     (SQL backends, fresh database, NATS JetStream: embedded unless
            --nats-url) the outbox relay publishing --relay-messages
            messages, the event relay publishing as many events; then the
            latency from the start of an append to a consumer in another
            process receiving it through the event relay and JetStream.
  saga      (SQL backends, fresh database) 5-step sagas over the in-process
            transport with services that answer at once, for --duration:
            sagas completed per second, and start → done latency; then the
            same with the orchestrator's state cache (saga.WithStateCache).

Progress goes to stderr, the result tables to stdout, all results to --json.
SQLite runs in a temporary directory (in --sqlite-path if given), PostgreSQL in
a fresh schema eventual_bench_<unix nanoseconds>; both are removed at the end.`,
		Example: `  eventual bench
  eventual bench --backend sqlite,postgres,memory --duration 10s --json bench.json
  eventual bench --writers 64 --events-per-append 1 --sync normal
  eventual bench --backend sqlite,postgres --cases projection,relay`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			for i, b := range cfg.Backends {
				cfg.Backends[i] = strings.ToLower(strings.TrimSpace(b))
			}
			cfg.Sync = strings.ToLower(strings.TrimSpace(cfg.Sync))
			if err := cfg.Validate(); err != nil {
				return err
			}
			var jsonFile *os.File
			if jsonPath != "" {
				f, err := os.Create(jsonPath) // fail now rather than after the run
				if err != nil {
					return fmt.Errorf("--json: %w", err)
				}
				jsonFile = f
				defer f.Close()
			}
			if cpuProfile != "" {
				stop, err := cpuprofile.Start(cpuProfile)
				if err != nil {
					return err
				}
				defer func() { err = errors.Join(err, stop()) }()
			}
			cfg.Progress = cmd.ErrOrStderr()
			var report bench.Report
			report, err = bench.Run(cmd.Context(), cfg, cmd.OutOrStdout())
			if jsonFile != nil {
				werr := report.WriteJSON(jsonFile)
				if werr == nil {
					werr = jsonFile.Close()
				}
				err = errors.Join(err, werr)
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&cfg.Backends, "backend", cfg.Backends, "backends to measure, comma-separated: sqlite, postgres, memory")
	f.StringSliceVar(&cfg.Cases, "cases", nil, "what to measure, comma-separated: "+strings.Join(bench.AllCases, ", ")+" (default: all)")
	f.IntVar(&cfg.ProjectionEvents, "projection-events", cfg.ProjectionEvents, "events rebuilt into a SQL table by the projection case")
	f.IntVar(&cfg.MessagingRate, "messaging-rate", cfg.MessagingRate, "appends per second of the latency cases (append → projection visible, append → remote consumer)")
	f.IntVar(&cfg.RelayMessages, "relay-messages", cfg.RelayMessages, "messages the outbox relay, and events the event relay, publish to JetStream")
	f.StringVar(&cfg.NATSURL, "nats-url", "", "NATS server with JetStream for the relay case (default: an embedded one)")
	f.IntSliceVar(&cfg.Writers, "writers", cfg.Writers, "numbers of concurrent writers, one case each")
	f.IntSliceVar(&cfg.EventsPerAppend, "events-per-append", cfg.EventsPerAppend, "numbers of events per append, one case each")
	f.DurationVar(&cfg.Duration, "duration", cfg.Duration, "how long each append case and the raw baseline run")
	f.IntVar(&cfg.StreamLength, "stream-length", cfg.StreamLength, "events per stream before a writer moves to a fresh one (0: one endless stream per writer)")
	f.IntVar(&cfg.PayloadBytes, "payload", cfg.PayloadBytes, "size of each event's JSON payload in bytes")
	f.StringVar(&cfg.Sync, "sync", cfg.Sync, "SQLite durability: full (the store's default) or normal")
	f.IntVar(&cfg.RawBatch, "raw-batch", cfg.RawBatch, "rows per transaction of the raw-insert baseline")
	f.IntVar(&cfg.ReadStreamEvents, "read-stream-events", cfg.ReadStreamEvents, "events in the stream read back by ReadStream (0: skip)")
	f.IntSliceVar(&cfg.AggregateHistories, "aggregate-histories", cfg.AggregateHistories, "numbers of events of the aggregates whose loads are timed, with and without a snapshot (empty: skip)")
	f.StringVar(&cfg.SQLiteDir, "sqlite-path", "", "directory for the SQLite database (default: the system's temp directory)")
	f.StringVar(&cfg.PostgresDSN, "postgres-dsn", "", "PostgreSQL DSN (default: $"+bench.PostgresDSNEnv+", else "+bench.DefaultPostgresDSN+")")
	f.StringVar(&jsonPath, "json", "", "write all results as JSON to this file")
	f.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to this file (read it with go tool pprof)")
	return cmd
}
