package bench

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/store/memory"
	"github.com/eventual-go/eventual/store/sqlite"
)

// backend is one opened database under test.
type backend struct {
	info BackendInfo
	// store is the event store; nil when only the raw baseline can run.
	store eventual.Store
	// raw measures the raw-insert baseline; nil when the backend has no
	// database (memory).
	raw func(ctx context.Context, cfg Config) (rawOutcome, error)
	// cleanup closes the store and removes what the run created.
	cleanup func(ctx context.Context) error
}

// rawOutcome is what a raw-insert baseline measured.
type rawOutcome struct {
	rows    int64
	elapsed time.Duration
	method  string
	// commitP50 is the median time of a durable commit of one row (zero
	// when it was not measured).
	commitP50 time.Duration
}

// commitProbes is how many one-row commits the baseline times.
const commitProbes = 100

// medianOf times fn n times and returns the median, or fn's first error.
func medianOf(n int, fn func() error) (time.Duration, error) {
	times := make([]time.Duration, n)
	for i := range times {
		start := time.Now()
		if err := fn(); err != nil {
			return 0, err
		}
		times[i] = time.Since(start)
	}
	return summarize(times).p50, nil
}

// openBackend opens the named backend, fresh and empty.
func openBackend(ctx context.Context, cfg Config, name string) (*backend, error) {
	switch name {
	case BackendSQLite:
		return openSQLite(ctx, cfg)
	case BackendPostgres:
		return openPostgres(ctx, cfg)
	case BackendMemory:
		st, err := memory.New()
		if err != nil {
			return nil, fmt.Errorf("open memory store: %w", err)
		}
		return &backend{
			info:    BackendInfo{Name: name, Location: "process memory", Note: "no database: no raw baseline"},
			store:   st,
			cleanup: func(context.Context) error { return st.Close() },
		}, nil
	}
	return nil, invalidConfig("unknown backend %q", name)
}

// sqliteCheckpointPages is the store's default wal_autocheckpoint, which
// the raw baseline uses too.
const sqliteCheckpointPages = 4000

// sqliteBusyTimeout is the store's default busy timeout.
const sqliteBusyTimeout = 10 * time.Second

// openSQLite opens the SQLite store in a fresh file of a fresh temporary
// directory, removed at cleanup.
func openSQLite(ctx context.Context, cfg Config) (*backend, error) {
	if cfg.SQLiteDir != "" {
		if err := os.MkdirAll(cfg.SQLiteDir, 0o755); err != nil {
			return nil, fmt.Errorf("create SQLite directory: %w", err)
		}
	}
	dir, err := os.MkdirTemp(cfg.SQLiteDir, "eventual-bench-*")
	if err != nil {
		return nil, fmt.Errorf("create SQLite directory: %w", err)
	}
	path := filepath.Join(dir, "events.db")
	var opts []sqlite.Option
	if cfg.Sync == SyncNormal {
		opts = append(opts, sqlite.WithSynchronous(sqlite.SyncNormal))
	}
	st, err := sqlite.Open(ctx, path, opts...)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("open SQLite store: %w", err), os.RemoveAll(dir))
	}
	version, _, _ := sqlite3.Version()
	return &backend{
		info:  BackendInfo{Name: BackendSQLite, Version: "SQLite " + version, Location: path},
		store: st,
		raw: func(ctx context.Context, cfg Config) (rawOutcome, error) {
			return rawSQLite(ctx, cfg, path)
		},
		cleanup: func(context.Context) error {
			return errors.Join(st.Close(), os.RemoveAll(dir))
		},
	}, nil
}

// rawSQLite measures plain batched inserts into a copy of the events table
// in the store's database file: one connection with the store's pragmas,
// transactions of cfg.RawBatch rows inserted by a prepared single-row
// INSERT.
func rawSQLite(ctx context.Context, cfg Config, path string) (out rawOutcome, err error) {
	out.method = "prepared INSERT, 1 connection"
	sync := "FULL"
	if cfg.Sync == SyncNormal {
		sync = "NORMAL"
	}
	// The store's connection settings (store/sqlite.Open).
	params := url.Values{
		"_journal_mode":    {"WAL"},
		"_synchronous":     {sync},
		"_busy_timeout":    {fmt.Sprint(sqliteBusyTimeout.Milliseconds())},
		"_txlock":          {"immediate"},
		"_stmt_cache_size": {"64"},
	}
	escaped := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	db, err := sql.Open("sqlite3", "file:"+escaped+"?"+params.Encode())
	if err != nil {
		return out, fmt.Errorf("open raw SQLite connection: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		return out, fmt.Errorf("open raw SQLite connection: %w", err)
	}
	defer conn.Close()

	ddl, err := rawDDL(sqlite.Migrations())
	if err != nil {
		return out, err
	}
	setup := append([]string{
		fmt.Sprintf("PRAGMA wal_autocheckpoint = %d", sqliteCheckpointPages),
		"DROP TABLE IF EXISTS " + rawTable,
	}, ddl...)
	for _, q := range setup {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return out, fmt.Errorf("create %s: %w", rawTable, err)
		}
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if _, derr := conn.ExecContext(dctx, "DROP TABLE "+rawTable); derr != nil {
			err = errors.Join(err, fmt.Errorf("drop %s: %w", rawTable, derr))
		}
	}()

	src := rowSource{streamLength: int64(cfg.StreamLength)}
	payload := makePayload(cfg.PayloadBytes, 0)
	start := time.Now()
	deadline := start.Add(cfg.Duration)
	for time.Now().Before(deadline) {
		if err := insertSQLiteBatch(ctx, conn, &src, cfg.RawBatch, payload); err != nil {
			return out, err
		}
		out.rows += int64(cfg.RawBatch)
		out.elapsed = time.Since(start)
	}
	out.commitP50, err = medianOf(commitProbes, func() error { return insertSQLiteBatch(ctx, conn, &src, 1, payload) })
	return out, err
}

// insertSQLiteBatch inserts n rows in one transaction.
func insertSQLiteBatch(ctx context.Context, conn *sql.Conn, src *rowSource, n int, payload []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	// As the store does: with a context that can be cancelled the driver
	// runs every statement on a goroutine of its own, which would make the
	// baseline slower than plain inserts are.
	ctx = context.WithoutCancel(ctx)
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("raw insert: begin: %w", err)
	}
	defer tx.Rollback() // a no-op after Commit
	stmt, err := tx.PrepareContext(ctx, sqliteRawInsert)
	if err != nil {
		return fmt.Errorf("raw insert: prepare: %w", err)
	}
	defer stmt.Close()
	for range n {
		r := src.next()
		_, err := stmt.ExecContext(ctx, r.streamNo, r.version, r.streamID, r.eventID[:], EventType, 0, payload,
			r.correlationID, r.causationID, nil, nil, nil, nil, nil, r.recordedAt.UnixMicro())
		if err != nil {
			return fmt.Errorf("raw insert: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("raw insert: commit: %w", err)
	}
	return nil
}
