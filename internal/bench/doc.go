// Package bench is the benchmark behind `eventual bench`: it measures the
// event store's backends on this machine and compares each SQL backend with
// the raw insert limit of the same database.
//
// For each backend, in a fresh database, it runs:
//
//   - append cases: for every number of writers and of events per append,
//     that many goroutines append in a loop for the configured duration,
//     each to its own aggregate-sized stream with the exact expected
//     version, one append in flight per writer. It reports events/s,
//     appends/s, latency percentiles and errors.
//   - the raw baseline: plain batched inserts of rows of the same shape into
//     a scratch copy of the events table (same columns, same indexes),
//     without event-store logic — a prepared INSERT on one connection for
//     SQLite, COPY for PostgreSQL — and the ratio of the store's append
//     throughput to it.
//   - a stream read (ReadStream over one long stream) and a catch-up read
//     (ReadAll over everything the append cases wrote).
//
// Use:
//
//	cfg := bench.DefaultConfig()
//	cfg.Backends = []string{bench.BackendSQLite, bench.BackendMemory}
//	cfg.Progress = os.Stderr
//	report, err := bench.Run(ctx, cfg, os.Stdout)
//	if err != nil { … }
//	err = report.WriteJSONFile("bench.json")
//
// Run prints a header and, at the end, the result tables; the [Report]
// holds the same numbers for JSON. Cancelling ctx stops the run after the
// operations in flight and still cleans up: temporary SQLite files and the
// PostgreSQL schema eventual_bench_<unix nanoseconds> are removed.
package bench
