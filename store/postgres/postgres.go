// Package postgres is the production event store on PostgreSQL (pgx), with
// group commit and a global log whose positions follow commit order even
// with concurrent writers in several processes. It passes the conformance
// suite in store/storetest.
//
//	store, err := postgres.Open(ctx, "postgres://user@host/db", postgres.WithSchema("orders"))
//	if err != nil { … }
//	defer store.Close()
//
// # Commit order
//
// A PostgreSQL sequence hands out numbers in the order transactions ask,
// not in the order they commit: a reader that has seen position 11 may later
// find position 10 committed, and a subscription reading "after 11" skips
// it forever. This store takes a transaction-scoped advisory lock (one per
// schema) before it takes positions and holds it until commit, so positions
// are taken and committed in the same order, across processes. Group commit
// keeps the lock's cost low: one transaction writes the appends of many
// callers, and with WithWriters(2) the next batch is prepared while the
// current one commits. See docs/adr/0002.
//
// Subscriptions are woken through LISTEN/NOTIFY, so an append in any
// process reaches them at once.
//
// Store implements eventual.TxStore: InTx runs the caller's SQL and appends
// in one transaction; its first append takes the lock, so keep such
// transactions short.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/internal/wake"
	"github.com/eventual-go/eventual/store/internal/groupcommit"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations returns the store's schema migrations: goose SQL files, in
// order. Open applies them; operators who use WithoutMigrations can apply
// them with the goose tool instead.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err) // the embedded directory is part of the build
	}
	return sub
}

// migrationTable records which of the embedded migrations were applied, in
// the store's schema.
const migrationTable = "eventual_migrations"

// Store is the PostgreSQL event store. Create it with Open or New.
type Store struct {
	opts     options
	pool     *pgxpool.Pool // reads and InTx
	ownsPool bool
	writers  *pgxpool.Pool // group-commit transactions
	q        queries
	lockKey  int64  // the advisory lock that orders appends
	channel  string // the NOTIFY channel of appends

	// unordered skips the append lock: a broken store, for the test that
	// shows the conformance suite catches positions out of commit order.
	unordered bool

	committer *groupcommit.Committer
	signal    wake.Signal
	heads     headCache // stream heads for the fast path

	closed     atomic.Bool
	closeOnce  sync.Once
	stop       context.CancelFunc // ends the listener
	stopCtx    context.Context
	listenOnce sync.Once
	listenDone chan struct{}
}

var (
	_ eventual.Store               = (*Store)(nil)
	_ eventual.TxStore             = (*Store)(nil)
	_ eventual.NoSyncTxStore       = (*Store)(nil)
	_ eventual.GroupCommitReporter = (*Store)(nil)
)

// Open connects to the database at dsn (a URL or key=value string; pool
// settings such as pool_max_conns may be part of it), creates the schema
// and applies the migrations unless WithoutMigrations is given.
//
// Errors: eventual.ErrInvalidArgument for a bad DSN or option; the
// connection or migration error otherwise.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, invalidOption("bad DSN: %v", err)
	}
	if o.poolConfig != nil {
		o.poolConfig(cfg)
	}
	// Unqualified names resolve to the store's schema first (see InTx).
	cfg.ConnConfig.RuntimeParams["search_path"] = o.schema + ", public"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	s, err := newStore(ctx, pool, true, o)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// New makes a store on an existing pool, which the store uses but does not
// close. The store opens a few connections of its own with the pool's
// settings: its writers and its listener.
func New(ctx context.Context, pool *pgxpool.Pool, opts ...Option) (*Store, error) {
	if pool == nil {
		return nil, invalidOption("nil pool")
	}
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	return newStore(ctx, pool, false, o)
}

func buildOptions(opts []Option) (options, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return o, err
		}
	}
	return o, nil
}

func newStore(ctx context.Context, pool *pgxpool.Pool, ownsPool bool, o options) (*Store, error) {
	stopCtx, stop := context.WithCancel(context.Background())
	s := &Store{
		opts: o, pool: pool, ownsPool: ownsPool,
		q:       newQueries(o.schema),
		lockKey: lockKey("eventual append " + o.schema),
		channel: "eventual_" + o.schema,
		stop:    stop, stopCtx: stopCtx,
		listenDone: make(chan struct{}),
	}
	if err := pool.Ping(ctx); err != nil {
		stop()
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	if o.migrate {
		if err := s.Migrate(ctx); err != nil {
			stop()
			return nil, err
		}
	}
	wcfg := pool.Config().Copy()
	wcfg.MaxConns = int32(o.writers)
	wcfg.MinConns = 0
	writers, err := pgxpool.NewWithConfig(ctx, wcfg)
	if err != nil {
		stop()
		return nil, fmt.Errorf("postgres: connect writers: %w", err)
	}
	s.writers = writers
	s.committer = groupcommit.New(s.commitBatch, o.writers, o.maxBatchEvents)
	return s, nil
}

// lockKey derives an advisory lock key from a name.
func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return int64(h.Sum64())
}

// Migrate creates the store's schema if needed and applies the embedded
// migrations it lacks, holding an advisory lock so that processes starting
// together do not race. Open calls it unless WithoutMigrations was given.
func (s *Store) Migrate(ctx context.Context) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	defer conn.Release()
	key := lockKey("eventual migrate " + s.opts.schema)
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", key); err != nil {
		return fmt.Errorf("postgres: migrate: lock: %w", err)
	}
	defer func() { _, _ = conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", key) }()
	if _, err := conn.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+s.opts.schema); err != nil {
		return fmt.Errorf("postgres: create schema %s: %w", s.opts.schema, err)
	}
	cc := s.pool.Config().ConnConfig.Copy()
	cc.RuntimeParams["search_path"] = s.opts.schema
	db := stdlib.OpenDB(*cc)
	defer db.Close()
	return migrate(ctx, db, s.opts.schema)
}

func migrate(ctx context.Context, db *sql.DB, schema string) error {
	p, err := goose.NewProvider(goose.DialectPostgres, db, Migrations(),
		goose.WithTableName(migrationTable), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("postgres: migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("postgres: apply migrations to schema %s: %w", schema, err)
	}
	return nil
}

// Schema returns the schema that holds the store's tables.
func (s *Store) Schema() string { return s.opts.schema }

// Pool returns the store's connection pool, for the caller's own reads.
// Write through InTx to commit with events.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Close implements eventual.Store: it finishes the appends already taken,
// ends subscriptions with eventual.ErrClosed and closes the connections it
// opened (the pool too, when Open made it).
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		s.committer.Close()
		s.stop()
		s.listenOnce.Do(func() { close(s.listenDone) })
		<-s.listenDone
		s.signal.Notify()
		s.writers.Close()
		if s.ownsPool {
			s.pool.Close()
		}
	})
	return nil
}

func (s *Store) checkOpen() error {
	if s.closed.Load() {
		return eventual.ErrClosed
	}
	return nil
}

// wrapErr turns the error of a database call into the store's error.
func (s *Store) wrapErr(ctx context.Context, err error, what string) error {
	switch {
	case err == nil:
		return nil
	case s.closed.Load():
		return eventual.ErrClosed
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	return fmt.Errorf("postgres: %s: %w", what, err)
}

// listen wakes subscriptions on every NOTIFY of an append, in this process
// or another; it reconnects with backoff when its connection breaks.
func (s *Store) listen() {
	defer close(s.listenDone)
	ctx := s.stopCtx
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		err := s.listenOnceConn(ctx)
		if ctx.Err() != nil {
			return
		}
		_ = err // the subscriptions' poll covers the gap; retry
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (s *Store) listenOnceConn(ctx context.Context) error {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+s.channel); err != nil {
		return err
	}
	s.signal.Notify() // anything committed while not listening
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		s.signal.Notify()
	}
}

func (s *Store) startListen() {
	s.listenOnce.Do(func() {
		if s.closed.Load() {
			close(s.listenDone)
			return
		}
		go s.listen()
	})
}

// dbtx is what the write path needs of a connection or transaction.
type dbtx interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// queries are the store's SQL statements for its schema.
type queries struct {
	appendBatch, generation                        string
	lock, streams, lookup, lastRecorded, positions string
	insertEvents, insertStreams, notify            string
	stream, head, firstAt                          string
	readForward, readBackward                      string
	deleteStream, truncate, setFirst               string
	eventColumnsFrom                               string
	loadSnapshot, saveSnapshot                     string
}

const eventColumns = `position, stream_id, version, event_id, type, schema_version, data,
	correlation_id, causation_id, tenant_id, user_id, trace_parent, trace_state, extra, recorded_at`

// streamColumns select a stream (alias s): its ID, head, first version and
// whether it is deleted. The head is the last event's version, or the
// version kept in the row when truncation removed every event.
const streamColumns = `s.stream_id,
	greatest(s.version, COALESCE((SELECT max(e.version) FROM {s}.events e WHERE e.stream_id = s.stream_id), 0)),
	s.first_version, s.deleted_at IS NOT NULL`

func newQueries(schema string) queries {
	r := strings.NewReplacer("{cols}", eventColumns, "{stream}", streamColumns)
	rs := strings.NewReplacer("{s}", schema)
	q := func(s string) string { return rs.Replace(r.Replace(s)) }
	return queries{
		appendBatch: q(`SELECT first_position, generation FROM {s}.append_batch($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
			$11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)`),
		generation:   q("SELECT generation FROM {s}.stream_changes"),
		lock:         "SELECT pg_advisory_xact_lock($1)",
		streams:      q("SELECT {stream} FROM {s}.streams s WHERE s.stream_id = ANY($1)"),
		lookup:       q("SELECT event_id, stream_id, version, position FROM {s}.events WHERE event_id = ANY($1)"),
		lastRecorded: q("SELECT recorded_at FROM {s}.events ORDER BY position DESC LIMIT 1"),
		positions:    q("SELECT nextval('{s}.events_position_seq') FROM generate_series(1, $1)"),
		insertEvents: q(`INSERT INTO {s}.events ({cols})
			SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::uuid[], $5::text[], $6::int[], $7::bytea[],
				$8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::jsonb[], $15::timestamptz[])`),
		insertStreams: q(`INSERT INTO {s}.streams (stream_id, version, created_at)
			SELECT id, v, $3 FROM unnest($1::text[], $2::bigint[]) AS u(id, v)`),
		notify:           "SELECT pg_notify($1, $2)",
		stream:           q("SELECT {stream} FROM {s}.streams s WHERE s.stream_id = $1"),
		head:             q("SELECT COALESCE(max(position), 0) FROM {s}.events"),
		readForward:      q("SELECT {cols} FROM {s}.events WHERE stream_id = $1 AND version >= $2 ORDER BY version LIMIT $3"),
		readBackward:     q("SELECT {cols} FROM {s}.events WHERE stream_id = $1 AND version <= $2 ORDER BY version DESC LIMIT $3"),
		deleteStream:     q("UPDATE {s}.streams SET deleted_at = $2 WHERE stream_id = $1"),
		truncate:         q("DELETE FROM {s}.events WHERE stream_id = $1 AND version < $2"),
		setFirst:         q("UPDATE {s}.streams SET first_version = $2, version = $3 WHERE stream_id = $1"),
		eventColumnsFrom: q("SELECT {cols} FROM {s}.events WHERE "),
		firstAt:          q("SELECT position, recorded_at FROM {s}.events WHERE position >= $1 ORDER BY position LIMIT 1"),
		loadSnapshot:     q("SELECT version, schema_version, data, taken_at FROM {s}.snapshots WHERE stream_id = $1"),
		saveSnapshot: q(`INSERT INTO {s}.snapshots (stream_id, version, schema_version, data, taken_at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (stream_id) DO UPDATE SET version = EXCLUDED.version, schema_version = EXCLUDED.schema_version,
				data = EXCLUDED.data, taken_at = EXCLUDED.taken_at
			WHERE EXCLUDED.version >= snapshots.version`),
	}
}
