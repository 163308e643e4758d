package bench

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/eventual-go/eventual/store/postgres"
)

// openPostgres connects to PostgreSQL, creates a fresh schema
// eventual_bench_<unix nanoseconds> for the run and opens the event store in it.
// Cleanup closes the store and drops the schema with everything in it.
func openPostgres(ctx context.Context, cfg Config) (*backend, error) {
	dsn := cfg.postgresDSN()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL at %s: %w", redactDSN(dsn), err)
	}
	var version string
	if err := conn.QueryRow(ctx, "SHOW server_version").Scan(&version); err != nil {
		return nil, errors.Join(fmt.Errorf("PostgreSQL version: %w", err), conn.Close(context.WithoutCancel(ctx)))
	}
	schema := fmt.Sprintf("eventual_bench_%d", time.Now().UnixNano())
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		return nil, errors.Join(fmt.Errorf("create schema %s: %w", schema, err), conn.Close(context.WithoutCancel(ctx)))
	}
	dropSchema := func(ctx context.Context) error {
		c := conn
		if c.IsClosed() { // pgx closes a connection whose query was cancelled
			var err error
			if c, err = pgx.Connect(ctx, dsn); err != nil {
				return fmt.Errorf("drop schema %s: %w", schema, err)
			}
		}
		_, err := c.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
		if err != nil {
			err = fmt.Errorf("drop schema %s: %w", schema, err)
		}
		return errors.Join(err, c.Close(ctx), conn.Close(ctx))
	}

	st, err := openPostgresStore(ctx, dsn, schema)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("open PostgreSQL store: %w", err), dropSchema(context.WithoutCancel(ctx)))
	}
	return &backend{
		info:  BackendInfo{Name: BackendPostgres, Version: "PostgreSQL " + version, Location: "schema " + schema},
		store: st,
		raw: func(ctx context.Context, cfg Config) (rawOutcome, error) {
			return rawPostgres(ctx, cfg, conn, schema)
		},
		cleanup: func(ctx context.Context) error { return errors.Join(st.Close(), dropSchema(ctx)) },
	}, nil
}

// rawPostgres measures plain batched inserts into a copy of the events
// table in the run's schema: one connection, CopyFrom of cfg.RawBatch rows
// per transaction. Positions come from a counter, not from the store's
// sequence.
func rawPostgres(ctx context.Context, cfg Config, conn *pgx.Conn, schema string) (out rawOutcome, err error) {
	out.method = "COPY, 1 connection"
	ddl, err := rawDDL(postgres.Migrations())
	if err != nil {
		return out, err
	}
	setup := append([]string{
		"SET search_path TO " + pgx.Identifier{schema}.Sanitize(),
		"DROP TABLE IF EXISTS " + rawTable,
	}, ddl...)
	for _, q := range setup {
		if _, err := conn.Exec(ctx, q); err != nil {
			return out, fmt.Errorf("create %s: %w", rawTable, err)
		}
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if _, derr := conn.Exec(dctx, "DROP TABLE "+rawTable); derr != nil {
			err = errors.Join(err, fmt.Errorf("drop %s: %w", rawTable, derr))
		}
	}()

	src := rowSource{streamLength: int64(cfg.StreamLength)}
	payload := makePayload(cfg.PayloadBytes, 0)
	table := pgx.Identifier{schema, rawTable}
	start := time.Now()
	deadline := start.Add(cfg.Duration)
	for time.Now().Before(deadline) {
		n, err := copyPostgresBatch(ctx, conn, table, &src, cfg.RawBatch, payload)
		if err != nil {
			return out, err
		}
		out.rows += n
		out.elapsed = time.Since(start)
	}
	// One row a statement, committed on its own: one round trip, as the
	// store's append_batch.
	insert := "INSERT INTO " + table.Sanitize() + " (" + strings.Join(postgresRawColumns, ", ") + ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
	out.commitP50, err = medianOf(commitProbes, func() error {
		r := src.next()
		_, err := conn.Exec(ctx, insert, r.position, r.streamID, r.version, [16]byte(r.eventID), EventType, int32(0), payload,
			r.correlationID, r.causationID, nil, nil, nil, nil, nil, r.recordedAt)
		if err != nil {
			return fmt.Errorf("raw one-row commit: %w", err)
		}
		return nil
	})
	return out, err
}

// copyPostgresBatch copies n rows in one transaction.
func copyPostgresBatch(ctx context.Context, conn *pgx.Conn, table pgx.Identifier, src *rowSource, n int, payload []byte) (int64, error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("raw COPY: begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) // a no-op after Commit
	left := n
	copied, err := tx.CopyFrom(ctx, table, postgresRawColumns, pgx.CopyFromFunc(func() ([]any, error) {
		if left == 0 {
			return nil, nil
		}
		left--
		r := src.next()
		return []any{r.position, r.streamID, r.version, [16]byte(r.eventID), EventType, int32(0), payload,
			r.correlationID, r.causationID, nil, nil, nil, nil, nil, r.recordedAt}, nil
	}))
	if err != nil {
		return 0, fmt.Errorf("raw COPY: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("raw COPY: commit: %w", err)
	}
	return copied, nil
}
