// Package sqlite is the embedded event store: one SQLite file in WAL mode,
// durable by default, with group commit on the write path. It is the
// default backend of the toolkit and passes the conformance suite in
// store/storetest.
//
//	store, err := sqlite.Open(ctx, "data/events.db")
//	if err != nil { … }
//	defer store.Close()
//
// Appends from many goroutines are queued and written together, one
// transaction and one flush for many appends; an append that conflicts fails
// alone. Writes are serialized by SQLite's single writer, so positions follow
// commit order. Several processes may open the same file: they take turns
// at the write lock (see WithBusyTimeout) and wake each other's
// subscriptions within the poll interval (see WithPollInterval).
//
// Store implements eventual.TxStore: InTx runs the caller's SQL and appends
// in one transaction.
package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mattn/go-sqlite3"

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

// migrationTable records which of the embedded migrations were applied.
const migrationTable = "eventual_migrations"

// Store is the SQLite event store. Create it with Open.
type Store struct {
	path string
	opts options

	w *sql.DB // the one writer connection
	r *sql.DB // reader connections

	wmu       sync.Mutex  // serializes this process's write transactions
	syncLevel Synchronous // the writer connection's level now (under wmu)
	cache     *streamCache
	committer *groupcommit.Committer
	signal    wake.Signal

	// committed is the highest position this handle knows committed: by
	// its own commits, and by other connections' as its watcher sees
	// them; watching tells that the watcher has read the head once.
	committed atomic.Uint64
	watching  atomic.Bool
	polls     atomic.Int64 // the watcher's checks, for tests

	closed    atomic.Bool
	closeOnce sync.Once
	stop      chan struct{} // closed by Close; ends the watcher
	watchOnce sync.Once
	watchDone chan struct{}
}

var (
	_ eventual.Store               = (*Store)(nil)
	_ eventual.TxStore             = (*Store)(nil)
	_ eventual.GroupCommitReporter = (*Store)(nil)
)

// Open opens (creating if needed) the event store in the SQLite file at
// path, creating its directory too, and applies the schema migrations
// unless WithoutMigrations is given.
//
// Errors: eventual.ErrInvalidArgument for an empty path or a bad option;
// the error of the file system or SQLite otherwise.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	if path == "" {
		return nil, invalidOption("empty database path")
	}
	o := defaultOptions()
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("sqlite: create directory of %s: %w", path, err)
		}
	}
	s := &Store{path: path, opts: o, syncLevel: o.synchronous, cache: newStreamCache(), stop: make(chan struct{}), watchDone: make(chan struct{})}
	params := url.Values{
		"_journal_mode": {"WAL"},
		"_synchronous":  {string(o.synchronous)},
		"_busy_timeout": {fmt.Sprint(o.busyTimeout.Milliseconds())},
		"_txlock":       {"immediate"},
		// Keep prepared statements per connection: preparing costs more
		// than running most of the store's statements.
		"_stmt_cache_size": {"64"},
		"vfs":              {walbufVFS},
	}
	if err := registerWalbuf(); err != nil {
		return nil, err
	}
	checkpoint := fmt.Sprintf("PRAGMA wal_autocheckpoint = %d", o.checkpointPages)
	// Sorts, transient indexes and statement journals stay in memory: on
	// disk each one is a new file under /var/tmp written page by page.
	tempStore := "PRAGMA temp_store = MEMORY"
	s.w = sql.OpenDB(connector{dsn: dsn(path, params), init: []string{checkpoint, tempStore}})
	s.w.SetMaxOpenConns(1)
	s.w.SetMaxIdleConns(1)
	s.w.SetConnMaxLifetime(0)
	s.w.SetConnMaxIdleTime(0)
	params.Set("_query_only", "1")
	s.r = sql.OpenDB(connector{dsn: dsn(path, params), init: []string{tempStore}})
	s.r.SetMaxOpenConns(o.readers)
	s.r.SetMaxIdleConns(o.readers)
	if err := s.w.PingContext(ctx); err != nil {
		s.closeDBs()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if o.migrate {
		if err := s.Migrate(ctx); err != nil {
			s.closeDBs()
			return nil, err
		}
	}
	s.committer = groupcommit.New(s.commitBatch, 1, o.maxBatchEvents)
	return s, nil
}

// Migrate applies the embedded schema migrations that the database lacks.
// Open calls it unless WithoutMigrations was given.
func (s *Store) Migrate(ctx context.Context) error {
	return s.up(ctx, "migrations", migrationTable, Migrations())
}

// Path returns the database file's path.
func (s *Store) Path() string { return s.path }

// DB returns the store's reader pool, for read-only queries of the
// caller's own tables in the same file. Write through InTx.
func (s *Store) DB() *sql.DB { return s.r }

// Close implements eventual.Store: it finishes the appends already taken,
// ends subscriptions with eventual.ErrClosed and closes the database.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		if s.committer != nil {
			s.committer.Close()
		}
		close(s.stop)
		s.watchOnce.Do(func() { close(s.watchDone) }) // no watcher started
		<-s.watchDone
		s.signal.Notify()
		s.wmu.Lock() // a transaction in progress ends first
		defer s.wmu.Unlock()
		err = s.closeDBs()
	})
	return err
}

func (s *Store) closeDBs() error {
	return errors.Join(s.w.Close(), s.r.Close())
}

// checkOpen returns eventual.ErrClosed after Close.
func (s *Store) checkOpen() error {
	if s.closed.Load() {
		return eventual.ErrClosed
	}
	return nil
}

// wrapErr turns the error of a database call into the store's error:
// eventual.ErrClosed once closed, ctx's error when it ended.
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
	return fmt.Errorf("sqlite: %s: %w", what, err)
}

// watch wakes subscriptions when another connection (another process)
// commits: it polls PRAGMA data_version, which changes on every commit made
// through any other connection.
func (s *Store) watch() {
	defer close(s.watchDone)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	conn, err := s.r.Conn(ctx)
	if err != nil {
		return
	}
	defer conn.Close()
	var last int64 = -1
	interval, idle := s.opts.pollInterval, max(s.opts.pollInterval, idlePoll)
	t := time.NewTimer(interval)
	defer t.Stop()
	for {
		s.polls.Add(1)
		var v int64
		changed := false
		if err := conn.QueryRowContext(ctx, "PRAGMA data_version").Scan(&v); err == nil && v != last {
			// The head is read after data_version, so it covers the
			// commits that changed it; and before waking, so that a
			// follower woken finds it.
			var head uint64
			if err := conn.QueryRowContext(ctx, headQuery).Scan(&head); err == nil {
				s.noteCommitted(head)
				if last >= 0 {
					s.signal.Notify()
				}
				last = v
				s.watching.Store(true)
				changed = true
			}
		}
		// Any commit (this process's writer is another connection too)
		// keeps the check quick; a quiet database slows it down, so that
		// an idle process does not spend its CPU asking.
		if changed {
			interval = s.opts.pollInterval
		} else {
			interval = min(2*interval, idle)
		}
		t.Reset(interval)
		select {
		case <-t.C:
		case <-s.stop:
			return
		}
	}
}

// idlePoll is how slowly the watcher checks a database nobody commits
// to (unless WithPollInterval asks for slower).
const idlePoll = 200 * time.Millisecond

// noteCommitted records that the log is committed up to position p.
func (s *Store) noteCommitted(p uint64) {
	for {
		c := s.committed.Load()
		if p <= c || s.committed.CompareAndSwap(c, p) {
			return
		}
	}
}

// KnownHead returns, without a query, a position up to which the log is
// committed, and true, once this handle follows the log (Appended was
// called and its watcher has read the head): the position of its own last
// commit, or of another connection's (another process's) as the watcher
// saw it, which may be up to the poll interval late, as the wake-up is
// (up to 200 ms after a quiet spell, see WithPollInterval).
// The global log's followers (projections, event relays) read up to it
// instead of querying HeadPosition before each page.
func (s *Store) KnownHead() (uint64, bool) {
	if !s.watching.Load() || s.closed.Load() {
		return 0, false
	}
	return s.committed.Load(), true
}

// startWatch starts the watcher once, on the first subscription.
func (s *Store) startWatch() {
	s.watchOnce.Do(func() {
		if s.closed.Load() {
			close(s.watchDone)
			return
		}
		go s.watch()
	})
}

// dsn builds a file: URI for path with the driver's parameters.
func dsn(path string, params url.Values) string {
	escaped := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	return "file:" + escaped + "?" + params.Encode()
}

// connector opens SQLite connections without registering a global driver
// name, running init statements on each new connection.
type connector struct {
	dsn  string
	init []string
}

var sqliteDriver = &sqlite3.SQLiteDriver{}

func (c connector) Connect(context.Context) (driver.Conn, error) {
	conn, err := sqliteDriver.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	for _, q := range c.init {
		if _, err := conn.(*sqlite3.SQLiteConn).Exec(q, nil); err != nil {
			conn.Close()
			return nil, err
		}
	}
	return conn, nil
}

func (c connector) Driver() driver.Driver { return sqliteDriver }

// isUniqueViolation reports whether err is SQLite's unique constraint error.
func isUniqueViolation(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && se.ExtendedCode == sqlite3.ErrConstraintUnique
}
