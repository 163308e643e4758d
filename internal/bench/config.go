package bench

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/eventual-go/eventual"
)

// Backend names accepted in [Config.Backends].
const (
	BackendSQLite   = "sqlite"
	BackendPostgres = "postgres"
	BackendMemory   = "memory"
)

// Case names accepted in [Config.Cases].
const (
	CaseAppend     = "append"     // the append cases
	CaseRaw        = "raw"        // the raw-insert baseline and the store/raw ratio
	CaseRead       = "read"       // ReadStream and ReadAll
	CaseAggregate  = "aggregate"  // aggregate loads and the in-memory replay
	CaseProjection = "projection" // projection rebuild and append → visible latency
	CaseRelay      = "relay"      // outbox and event relays to JetStream, append → remote consumer
	CaseSaga       = "saga"       // 5-step sagas completed per second over the in-process transport
)

// AllCases lists every case, in the order they run.
var AllCases = []string{CaseAppend, CaseRaw, CaseRead, CaseAggregate, CaseProjection, CaseRelay, CaseSaga}

// Sync values accepted in [Config.Sync]: the SQLite durability setting of
// both the store and the raw-insert baseline.
const (
	SyncFull   = "full"
	SyncNormal = "normal"
)

// DefaultPostgresDSN is the PostgreSQL DSN used when neither
// [Config.PostgresDSN] nor $EVENTUAL_TEST_POSTGRES is set.
const DefaultPostgresDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// PostgresDSNEnv is the environment variable read for the PostgreSQL DSN
// when [Config.PostgresDSN] is empty.
const PostgresDSNEnv = "EVENTUAL_TEST_POSTGRES"

// Limits checked by [Config.Validate].
const (
	// MinPayloadBytes is the smallest payload: room for a JSON object
	// with a writer number and some padding.
	MinPayloadBytes = 32
	// MaxPayloadBytes keeps an event with its type and metadata under
	// [eventual.DefaultMaxEventSize].
	MaxPayloadBytes = eventual.DefaultMaxEventSize - 1024
	// MaxWriters is the most concurrent writers of one case.
	MaxWriters = 10_000
	// MaxEventsPerAppend is the most events in one append.
	MaxEventsPerAppend = 10_000
	// MaxRawBatch is the most rows in one raw-insert transaction.
	MaxRawBatch = 1_000_000
	// ReadStreamBatch is the number of events per append when the stream
	// for the read benchmark is written.
	ReadStreamBatch = 500
)

// Config is what one benchmark run measures. Start from [DefaultConfig];
// [Run] validates it.
type Config struct {
	// Backends to measure, in order: "sqlite", "postgres", "memory".
	Backends []string
	// Cases lists what to measure (see AllCases); empty means all.
	Cases []string
	// Writers lists the numbers of concurrent writers to run, one append
	// case per number and per EventsPerAppend value.
	Writers []int
	// EventsPerAppend lists the numbers of events in each append.
	EventsPerAppend []int
	// Duration is how long each append case and the raw-insert baseline
	// run.
	Duration time.Duration
	// StreamLength is the number of events after which a writer moves to a
	// fresh stream (it moves once its stream holds at least that many); 0
	// keeps one endless stream per writer.
	StreamLength int
	// PayloadBytes is the size of each event's JSON payload.
	PayloadBytes int
	// Sync is SQLite's durability: "full" (the store's default) or
	// "normal".
	Sync string
	// RawBatch is the number of rows per transaction of the raw-insert
	// baseline.
	RawBatch int
	// ReadStreamEvents is the length of the stream read back by the
	// stream-read benchmark; 0 skips it.
	ReadStreamEvents int
	// AggregateHistories lists the numbers of events of the aggregates
	// whose loads are timed, with and without a snapshot; empty skips the
	// aggregate cases (and the in-memory replay).
	AggregateHistories []int
	// ProjectionEvents is the number of events the projection case
	// rebuilds into a SQL table.
	ProjectionEvents int
	// MessagingRate is the appends per second (one event each) of the
	// latency cases: append → projection visible, append → remote
	// consumer.
	MessagingRate int
	// RelayMessages is the number of messages the outbox relay and events
	// the event relay publish to JetStream in the relay case.
	RelayMessages int
	// NATSURL is the NATS server (with JetStream) of the relay case; empty
	// starts an embedded one with its store in a temporary directory.
	NATSURL string
	// SQLiteDir is the directory in which a fresh temporary directory
	// holds the SQLite database; empty means the system's temp directory.
	// The database is removed at the end.
	SQLiteDir string
	// PostgresDSN is the PostgreSQL connection string; empty means
	// $EVENTUAL_TEST_POSTGRES, else [DefaultPostgresDSN]. The run works
	// in a fresh schema that it drops at the end.
	PostgresDSN string
	// Progress receives a line when each case starts and ends and the
	// first error of each case; nil discards them.
	Progress io.Writer
}

// DefaultConfig returns the configuration of `eventual bench` without
// flags.
func DefaultConfig() Config {
	return Config{
		Backends:           []string{BackendSQLite},
		Writers:            []int{1, 8, 64, 256},
		EventsPerAppend:    []int{1, 10},
		Duration:           5 * time.Second,
		StreamLength:       100,
		PayloadBytes:       200,
		Sync:               SyncFull,
		RawBatch:           1000,
		ReadStreamEvents:   10_000,
		AggregateHistories: []int{10, 1000, 100_000},
		ProjectionEvents:   100_000,
		MessagingRate:      1000,
		RelayMessages:      100_000,
	}
}

// ErrInvalidConfig is matched by the errors of [Config.Validate].
var ErrInvalidConfig = errors.New("bench: invalid configuration")

func invalidConfig(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
}

// Validate reports the first thing wrong with c, as an error matching
// [ErrInvalidConfig].
func (c Config) Validate() error {
	if len(c.Backends) == 0 {
		return invalidConfig("no backend given")
	}
	for i, b := range c.Backends {
		switch b {
		case BackendSQLite, BackendPostgres, BackendMemory:
		default:
			return invalidConfig("unknown backend %q (want %s, %s or %s)", b, BackendSQLite, BackendPostgres, BackendMemory)
		}
		if slices.Contains(c.Backends[:i], b) {
			return invalidConfig("backend %q given twice", b)
		}
	}
	if err := checkList("writers", c.Writers, MaxWriters); err != nil {
		return err
	}
	if err := checkList("events per append", c.EventsPerAppend, MaxEventsPerAppend); err != nil {
		return err
	}
	switch {
	case c.Duration <= 0:
		return invalidConfig("duration %v is not positive", c.Duration)
	case c.StreamLength < 0:
		return invalidConfig("stream length %d is negative (0 means one endless stream per writer)", c.StreamLength)
	case c.PayloadBytes < MinPayloadBytes || c.PayloadBytes > MaxPayloadBytes:
		return invalidConfig("payload %d bytes is outside %d…%d", c.PayloadBytes, MinPayloadBytes, MaxPayloadBytes)
	case c.Sync != SyncFull && c.Sync != SyncNormal:
		return invalidConfig("sync %q is neither %q nor %q", c.Sync, SyncFull, SyncNormal)
	case c.RawBatch < 1 || c.RawBatch > MaxRawBatch:
		return invalidConfig("raw batch %d is outside 1…%d", c.RawBatch, MaxRawBatch)
	case c.ReadStreamEvents < 0:
		return invalidConfig("read stream events %d is negative (0 skips the stream read)", c.ReadStreamEvents)
	}
	for i, k := range c.Cases {
		if !slices.Contains(AllCases, k) {
			return invalidConfig("unknown case %q (want %s)", k, strings.Join(AllCases, ", "))
		}
		if slices.Contains(c.Cases[:i], k) {
			return invalidConfig("case %q given twice", k)
		}
	}
	switch {
	case c.ProjectionEvents < 1 || c.ProjectionEvents > MaxAggregateHistory:
		return invalidConfig("projection events %d is outside 1…%d", c.ProjectionEvents, MaxAggregateHistory)
	case c.MessagingRate < 1 || c.MessagingRate > 100_000:
		return invalidConfig("messaging rate %d is outside 1…100000 per second", c.MessagingRate)
	case c.RelayMessages < 1 || c.RelayMessages > MaxAggregateHistory:
		return invalidConfig("relay messages %d is outside 1…%d", c.RelayMessages, MaxAggregateHistory)
	}
	if len(c.AggregateHistories) > 0 {
		if err := checkList("aggregate history", c.AggregateHistories, MaxAggregateHistory); err != nil {
			return err
		}
	}
	return nil
}

// MaxAggregateHistory is the longest aggregate history the bench builds.
const MaxAggregateHistory = 10_000_000

// checkList checks a list flag: not empty, every value in 1…limit, no
// value twice.
func checkList(what string, values []int, limit int) error {
	if len(values) == 0 {
		return invalidConfig("no %s given", what)
	}
	for i, v := range values {
		if v < 1 || v > limit {
			return invalidConfig("%s %d is outside 1…%d", what, v, limit)
		}
		if slices.Contains(values[:i], v) {
			return invalidConfig("%s %d given twice", what, v)
		}
	}
	return nil
}

// Runs reports whether the case named k is to run.
func (c Config) Runs(k string) bool { return len(c.Cases) == 0 || slices.Contains(c.Cases, k) }

// postgresDSN returns the DSN to use: c.PostgresDSN, else the environment,
// else the default.
func (c Config) postgresDSN() string {
	if c.PostgresDSN != "" {
		return c.PostgresDSN
	}
	if dsn := os.Getenv(PostgresDSNEnv); dsn != "" {
		return dsn
	}
	return DefaultPostgresDSN
}

// MarshalJSON writes the configuration with the duration as text ("5s") and
// the PostgreSQL DSN without its password.
func (c Config) MarshalJSON() ([]byte, error) {
	type configJSON struct {
		Backends         []string `json:"backends"`
		Cases            []string `json:"cases,omitempty"`
		ProjectionEvents int      `json:"projection_events"`
		RelayMessages    int      `json:"relay_messages"`
		NATSURL          string   `json:"nats_url,omitempty"`
		MessagingRate    int      `json:"messaging_rate"`
		Writers          []int    `json:"writers"`
		EventsPerAppend  []int    `json:"events_per_append"`
		Duration         string   `json:"duration"`
		DurationSeconds  float64  `json:"duration_seconds"`
		StreamLength     int      `json:"stream_length"`
		PayloadBytes     int      `json:"payload_bytes"`
		Sync             string   `json:"sync"`
		RawBatch         int      `json:"raw_batch"`
		ReadStreamEvents int      `json:"read_stream_events"`
		SQLiteDir        string   `json:"sqlite_dir,omitempty"`
		PostgresDSN      string   `json:"postgres_dsn,omitempty"`
	}
	v := configJSON{
		Backends: c.Backends, Cases: c.Cases, ProjectionEvents: c.ProjectionEvents, MessagingRate: c.MessagingRate,
		RelayMessages: c.RelayMessages, NATSURL: c.NATSURL,
		Writers: c.Writers, EventsPerAppend: c.EventsPerAppend,
		Duration: c.Duration.String(), DurationSeconds: c.Duration.Seconds(),
		StreamLength: c.StreamLength, PayloadBytes: c.PayloadBytes, Sync: c.Sync,
		RawBatch: c.RawBatch, ReadStreamEvents: c.ReadStreamEvents, SQLiteDir: c.SQLiteDir,
	}
	if slices.Contains(c.Backends, BackendPostgres) {
		v.PostgresDSN = redactDSN(c.postgresDSN())
	}
	return json.Marshal(v)
}

var keywordPassword = regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S*)`)

// redactDSN hides the password of a URL or keyword/value DSN.
func redactDSN(dsn string) string {
	if strings.Contains(dsn, "://") {
		if u, err := url.Parse(dsn); err == nil {
			if q := u.Query(); q.Has("password") {
				q.Set("password", "xxxxx")
				u.RawQuery = q.Encode()
			}
			return u.Redacted()
		}
		return "(unparsable DSN)"
	}
	return keywordPassword.ReplaceAllString(dsn, "${1}xxxxx")
}
