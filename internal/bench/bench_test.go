package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/eventual-go/eventual/store/postgres"
	"github.com/eventual-go/eventual/store/sqlite"
)

func TestMain(m *testing.M) {
	if IsConsumerChild() { // the remote consumer of the relay case
		os.Exit(RunConsumerChild())
	}
	os.Exit(m.Run())
}

// tinyConfig is a configuration that runs in well under a second per
// backend.
func tinyConfig(t *testing.T, backends ...string) Config {
	cfg := DefaultConfig()
	cfg.Backends = backends
	cfg.Writers = []int{1, 4}
	cfg.EventsPerAppend = []int{1, 2}
	cfg.Duration = 100 * time.Millisecond
	cfg.StreamLength = 10
	cfg.RawBatch = 100
	cfg.ReadStreamEvents = 1200 // three appends of ReadStreamBatch
	cfg.AggregateHistories = []int{10, 1500}
	cfg.ProjectionEvents = 700
	cfg.MessagingRate = 200
	cfg.RelayMessages = 1500
	cfg.SQLiteDir = t.TempDir()
	cfg.Progress = t.Output()
	return cfg
}

func TestRunMemoryAndSQLite(t *testing.T) {
	cfg := tinyConfig(t, BackendMemory, BackendSQLite)
	var out bytes.Buffer
	rep, err := Run(t.Context(), cfg, &out)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	checkReport(t, rep, cfg)
	if entries, err := os.ReadDir(cfg.SQLiteDir); err != nil || len(entries) != 0 {
		t.Errorf("SQLite directory after the run: %d entries, %v; want it emptied", len(entries), err)
	}
	for _, want := range []string{"machine:", "APPENDS", "RAW LIMIT", "READS", "ReadAll from position 0",
		"PROJECTIONS AND MESSAGING", "append → projection visible", "HandleBatch",
		"outbox relay", "event relay", "consumer in another process", "5-step sagas"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	t.Logf("output:\n%s", out.String())
}

func TestRunPostgres(t *testing.T) {
	dsn := os.Getenv(PostgresDSNEnv)
	if dsn == "" {
		t.Skip("set " + PostgresDSNEnv + " to run the benchmark against PostgreSQL")
	}
	cfg := tinyConfig(t, BackendPostgres)
	cfg.PostgresDSN = dsn
	rep, err := Run(t.Context(), cfg, nil)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	checkReport(t, rep, cfg)

	schema := strings.TrimPrefix(rep.Backends[0].Location, "schema ")
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	var n int
	if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM pg_namespace WHERE nspname = $1", schema).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("schema %s still exists after the run", schema)
	}
}

// checkReport checks that every backend of cfg has sensible numbers and
// that the report encodes as valid JSON.
func checkReport(t *testing.T, rep Report, cfg Config) {
	t.Helper()
	if rep.Interrupted || len(rep.Problems) > 0 {
		t.Errorf("Interrupted %v, Problems %q", rep.Interrupted, rep.Problems)
	}
	if len(rep.Backends) != len(cfg.Backends) {
		t.Errorf("%d backends in the report, want %d", len(rep.Backends), len(cfg.Backends))
	}
	if rep.Machine.NumCPU < 1 || rep.Machine.GoVersion == "" || rep.Seconds <= 0 {
		t.Errorf("machine %+v, seconds %v", rep.Machine, rep.Seconds)
	}
	replays := 0
	for _, r := range rep.Results {
		if r.Kind == KindReplay {
			replays++
			if r.Events != replayEvents || r.EventsPerSecond <= 0 {
				t.Errorf("replay: %+v", r)
			}
		}
	}
	if wantReplays := min(len(cfg.AggregateHistories), 1); replays != wantReplays {
		t.Errorf("%d replay results, want %d", replays, wantReplays)
	}
	for _, backend := range cfg.Backends {
		loads := map[string]int{}
		for _, r := range rep.Results {
			if r.Backend == backend && r.Kind == KindAggregateLoad {
				switch {
				case r.Snapshot:
					loads["snapshot"]++
				case r.Cached:
					loads["cache"]++
				default:
					loads["events"]++
				}
				if r.Loads < 3 || r.LatencyP50Ms <= 0 || r.LatencyP99Ms < r.LatencyP50Ms || r.Events != int64(r.History)*int64(r.Loads) {
					t.Errorf("%s aggregate load: %+v", backend, r)
				}
			}
		}
		if n := len(cfg.AggregateHistories); loads["events"] != n || loads["snapshot"] != n || loads["cache"] != n {
			t.Errorf("%s: loads from events, snapshot and cache: %v, want %d each", backend, loads, n)
		}
	}
	for _, backend := range cfg.Backends {
		var rebuilds, latencies, relays, remotes, sagas, cachedSagas int
		for _, r := range rep.Results {
			switch {
			case r.Backend != backend:
			case r.Kind == KindSaga:
				sagas++
				if r.Cached {
					cachedSagas++
				}
				if r.Events < 1 || r.EventsPerSecond <= 0 || r.Errors != 0 || r.LatencyP99Ms < r.LatencyP50Ms {
					t.Errorf("%s saga: %+v", backend, r)
				}
			case r.Kind == KindRelay:
				relays++
				if r.Events != int64(cfg.RelayMessages) || r.EventsPerSecond <= 0 || r.Method == "" {
					t.Errorf("%s relay: %+v", backend, r)
				}
			case r.Kind == KindRemoteLatency:
				remotes++
				if r.Events < 1 || r.Errors != 0 || r.LatencyP50Ms <= 0 || r.LatencyP99Ms < r.LatencyP50Ms {
					t.Errorf("%s remote latency: %+v", backend, r)
				}
			case r.Kind == KindProjectionRebuild:
				rebuilds++
				if r.Events != int64(cfg.ProjectionEvents) || r.EventsPerSecond <= 0 || r.Method == "" {
					t.Errorf("%s projection rebuild: %+v", backend, r)
				}
			case r.Kind == KindProjectionLatency:
				latencies++
				if r.Events < 1 || r.Errors != 0 || r.LatencyP50Ms <= 0 || r.LatencyP99Ms < r.LatencyP50Ms {
					t.Errorf("%s projection latency: %+v", backend, r)
				}
			}
		}
		want := 2
		if backend == BackendMemory {
			want = 0
		}
		if sagas != want || cachedSagas != want/2 {
			t.Errorf("%s: %d saga results (%d with a state cache), want %d (%d)", backend, sagas, cachedSagas, want, want/2)
		}
		if rebuilds != want || latencies != want/2 || relays != want || remotes != want/2 {
			t.Errorf("%s: %d rebuild, %d latency, %d relay and %d remote results, want %d, %d, %d and %d",
				backend, rebuilds, latencies, relays, remotes, want, want/2, want, want/2)
		}
	}
	for _, backend := range cfg.Backends {
		var appends, raws, ratios, streams, alls int
		var appended int64
		for _, r := range rep.Results {
			if r.Backend != backend {
				continue
			}
			switch r.Kind {
			case KindAppend:
				appends++
				appended += r.Events
				if r.Appends == 0 || r.Events != r.Appends*int64(r.EventsPerAppend) || r.EventsPerSecond <= 0 || r.AppendsPerSecond <= 0 {
					t.Errorf("%s append case: %+v", backend, r)
				}
				if r.LatencyP50Ms <= 0 || r.LatencyP99Ms < r.LatencyP50Ms || r.LatencyP999Ms < r.LatencyP99Ms {
					t.Errorf("%s append latencies p50 %v p99 %v p99.9 %v", backend, r.LatencyP50Ms, r.LatencyP99Ms, r.LatencyP999Ms)
				}
				if r.Errors != 0 || r.FirstError != "" {
					t.Errorf("%s append case: %d errors, the first: %s", backend, r.Errors, r.FirstError)
				}
				if r.Seconds < cfg.Duration.Seconds() {
					t.Errorf("%s append case ran %vs, less than %v", backend, r.Seconds, cfg.Duration)
				}
				// The SQL backends report their group commit; a batch
				// holds at least one append and at most one per writer.
				if backend != BackendMemory && (r.Batches < 1 || r.Batches > r.Appends || r.Appends > r.Batches*int64(r.Writers) || r.BatchMs <= 0) {
					t.Errorf("%s append case: %d batches for %d appends of %d writers, %v ms per batch", backend, r.Batches, r.Appends, r.Writers, r.BatchMs)
				}
			case KindRawInsert:
				// --raw-batch rows a transaction, then as many as a batch
				// of the compared case holds (4 writers × 1 event).
				if want := []int{cfg.RawBatch, 4}[min(raws, 1)]; r.BatchRows != want {
					t.Errorf("%s raw baseline %d: %d rows a transaction, want %d", backend, raws+1, r.BatchRows, want)
				}
				raws++
				if r.Rows == 0 || r.Rows%int64(r.BatchRows) != 0 || r.RowsPerSecond <= 0 || r.CommitP50Ms <= 0 {
					t.Errorf("%s raw: %+v", backend, r)
				}
			case KindRatio:
				ratios++
				if r.Ratio <= 0 || r.Writers != 4 || r.EventsPerAppend != 1 || r.BatchRows == 0 {
					t.Errorf("%s ratio: %+v; want it of the 4 writers × 1 event case", backend, r)
				}
			case KindReadStream:
				streams++
				if r.Events != int64(cfg.ReadStreamEvents) || r.EventsPerSecond <= 0 {
					t.Errorf("%s read stream: %+v", backend, r)
				}
			case KindReadAll:
				alls++
				if want := appended + int64(cfg.ReadStreamEvents); r.Events != want || r.EventsPerSecond <= 0 {
					t.Errorf("%s read all: %d events, want %d; %+v", backend, r.Events, want, r)
				}
			}
		}
		wantRaw := 2
		if backend == BackendMemory {
			wantRaw = 0
		}
		if appends != len(cfg.Writers)*len(cfg.EventsPerAppend) || raws != wantRaw || ratios != wantRaw || streams != 1 || alls != 1 {
			t.Errorf("%s: %d append, %d raw, %d ratio, %d read stream, %d read all results", backend, appends, raws, ratios, streams, alls)
		}
	}

	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Machine struct {
			NumCPU int    `json:"num_cpu"`
			GOOS   string `json:"goos"`
		} `json:"machine"`
		Config struct {
			Duration string `json:"duration"`
			Writers  []int  `json:"writers"`
		} `json:"config"`
		Results []map[string]any `json:"results"`
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("JSON report: %v\n%s", err, buf.String())
	}
	if got.Machine.NumCPU < 1 || got.Machine.GOOS == "" || got.Config.Duration != cfg.Duration.String() ||
		len(got.Config.Writers) != len(cfg.Writers) || len(got.Results) != len(rep.Results) {
		t.Errorf("JSON report: %+v", got)
	}
	for _, r := range got.Results {
		if r["backend"] == nil || r["kind"] == nil {
			t.Errorf("JSON result without backend or kind: %v", r)
		}
	}
}

func TestRunStopsWhenCancelled(t *testing.T) {
	cfg := tinyConfig(t, BackendSQLite, BackendMemory)
	cfg.Duration = time.Minute
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	rep, err := Run(ctx, cfg, nil)
	if !errors.Is(err, context.DeadlineExceeded) || !rep.Interrupted {
		t.Errorf("Run = %v, Interrupted %v; want the context's error", err, rep.Interrupted)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("Run took %v after cancellation", took)
	}
	if len(rep.Backends) != 1 {
		t.Errorf("Run went on to %d backends after cancellation", len(rep.Backends))
	}
	if entries, err := os.ReadDir(cfg.SQLiteDir); err != nil || len(entries) != 0 {
		t.Errorf("SQLite directory after cancellation: %d entries, %v; want it emptied", len(entries), err)
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Writers = []int{0}
	if _, err := Run(t.Context(), cfg, nil); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("Run = %v, want ErrInvalidConfig", err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		want   string // in the error; "" for none
	}{
		{"default", func(*Config) {}, ""},
		{"all backends", func(c *Config) { c.Backends = []string{"sqlite", "postgres", "memory"} }, ""},
		{"endless streams", func(c *Config) { c.StreamLength = 0 }, ""},
		{"no stream read", func(c *Config) { c.ReadStreamEvents = 0 }, ""},
		{"no backend", func(c *Config) { c.Backends = nil }, "no backend"},
		{"unknown backend", func(c *Config) { c.Backends = []string{"mysql"} }, `unknown backend "mysql"`},
		{"backend twice", func(c *Config) { c.Backends = []string{"sqlite", "sqlite"} }, "given twice"},
		{"no writers", func(c *Config) { c.Writers = []int{} }, "no writers"},
		{"zero writers", func(c *Config) { c.Writers = []int{1, 0} }, "writers 0"},
		{"too many writers", func(c *Config) { c.Writers = []int{MaxWriters + 1} }, "writers 10001"},
		{"negative events per append", func(c *Config) { c.EventsPerAppend = []int{-1} }, "events per append -1"},
		{"events per append twice", func(c *Config) { c.EventsPerAppend = []int{10, 10} }, "given twice"},
		{"zero duration", func(c *Config) { c.Duration = 0 }, "duration"},
		{"negative stream length", func(c *Config) { c.StreamLength = -1 }, "stream length"},
		{"small payload", func(c *Config) { c.PayloadBytes = 3 }, "payload 3"},
		{"huge payload", func(c *Config) { c.PayloadBytes = 2 << 20 }, "payload"},
		{"bad sync", func(c *Config) { c.Sync = "off" }, `sync "off"`},
		{"zero raw batch", func(c *Config) { c.RawBatch = 0 }, "raw batch 0"},
		{"negative read stream", func(c *Config) { c.ReadStreamEvents = -5 }, "read stream events -5"},
		{"some cases", func(c *Config) { c.Cases = []string{CaseProjection, CaseAppend} }, ""},
		{"unknown case", func(c *Config) { c.Cases = []string{"relays"} }, `unknown case "relays"`},
		{"case twice", func(c *Config) { c.Cases = []string{CaseRead, CaseRead} }, "given twice"},
		{"no projection events", func(c *Config) { c.ProjectionEvents = 0 }, "projection events 0"},
		{"zero rate", func(c *Config) { c.MessagingRate = 0 }, "messaging rate 0"},
		{"no relay messages", func(c *Config) { c.RelayMessages = 0 }, "relay messages 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.change(&cfg)
			err := cfg.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate = %v, want nil", err)
			case tt.want != "" && (!errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Validate = %v, want ErrInvalidConfig with %q", err, tt.want)
			}
		})
	}
}

// TestRawDDLMatchesMigrations checks that the raw baseline's tables are the
// backends' events tables, renamed.
func TestRawDDLFollowsMigrations(t *testing.T) {
	for name, migrations := range map[string]fs.FS{"sqlite": sqlite.Migrations(), "postgres": postgres.Migrations()} {
		t.Run(name, func(t *testing.T) {
			ddl, err := rawDDL(migrations)
			if err != nil {
				t.Fatal(err)
			}
			if len(ddl) != 3 {
				t.Fatalf("%d statements, want the table and its two indexes: %q", len(ddl), ddl)
			}
			for _, stmt := range ddl {
				if strings.Contains(stmt, " events") || !strings.Contains(stmt, rawTable) {
					t.Errorf("statement not renamed: %s", stmt)
				}
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	d := make([]time.Duration, 1000)
	for i := range d {
		d[len(d)-1-i] = time.Duration(i+1) * time.Millisecond // 1000ms … 1ms
	}
	got := summarize(d)
	want := latencies{500 * time.Millisecond, 990 * time.Millisecond, 999 * time.Millisecond}
	if got != want {
		t.Errorf("summarize = %v, want %v", got, want)
	}
	if got := summarize(nil); got != (latencies{}) {
		t.Errorf("summarize(nil) = %v, want zeros", got)
	}
	if got := percentile([]time.Duration{7}, 0.999); got != 7 {
		t.Errorf("percentile of one = %v, want 7", got)
	}
}

func TestMakePayload(t *testing.T) {
	for _, size := range []int{MinPayloadBytes, 200, 4096} {
		p := makePayload(size, 12)
		if len(p) != size || !json.Valid(p) {
			t.Errorf("makePayload(%d) = %d bytes, valid JSON %v: %s", size, len(p), json.Valid(p), p)
		}
	}
}

func TestRedactDSN(t *testing.T) {
	tests := []struct{ dsn, want string }{
		{"postgres://u:secret@h:5432/db?sslmode=disable", "postgres://u:xxxxx@h:5432/db?sslmode=disable"},
		{"postgres://u@h/db?password=secret", "postgres://u@h/db?password=xxxxx"},
		{"host=h user=u password=secret dbname=db", "host=h user=u password=xxxxx dbname=db"},
		{"host=h password='se cret' dbname=db", "host=h password=xxxxx dbname=db"},
	}
	for _, tt := range tests {
		if got := redactDSN(tt.dsn); got != tt.want {
			t.Errorf("redactDSN(%q) = %q, want %q", tt.dsn, got, tt.want)
		}
	}
}

func TestRate(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 999.4: "999", 1000: "1,000", 1234567.8: "1,234,568"} {
		if got := rate(v); got != want {
			t.Errorf("rate(%v) = %q, want %q", v, got, want)
		}
	}
}
