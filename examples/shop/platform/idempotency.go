package platform

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/eventual-go/eventual"
)

// IdempotencyHeader is the header that makes a POST safe to retry.
const IdempotencyHeader = "Idempotency-Key"

// Idempotency remembers the responses to POST requests by their
// Idempotency-Key: the same key with the same body gets the same
// response (without running the request again); the same key with
// another body gets 422. A request still running under a key makes the
// others wait for its response. Server errors (5xx) are not remembered,
// so that a retry runs again. Keys are forgotten after Retention.
//
// Which request runs under a key is decided by a claim. Where several
// processes may serve the same table (PostgreSQL, or SQLite files shared
// by services over NATS), the claim is a row written before the request
// runs (a second durable write per request; a claim left by a process
// that died is taken over after a minute). When the table is one
// process's alone (NewIdempotency's oneProcess: the monolith on SQLite),
// claims are kept in memory and only the response is written: one
// durable write per request, and a request cut off by a crash runs again
// at once on a retry.
type Idempotency struct {
	store     Store
	commits   *Committer // claims and responses of concurrent requests share commits
	log       *slog.Logger
	Retention time.Duration

	claimRows bool // claims are rows (PostgreSQL), not entries of running
	mu        sync.Mutex
	running   map[idempotencyKey]chan struct{} // in-memory claims, closed when released
}

// idempotencyKey is what a response is remembered under.
type idempotencyKey struct{ key, method, path string }

// idempotencySchema is the table of remembered responses.
const idempotencySchema = `CREATE TABLE IF NOT EXISTS shop_idempotency (
	key        TEXT   NOT NULL,
	method     TEXT   NOT NULL,
	path       TEXT   NOT NULL,
	body_hash  TEXT   NOT NULL,
	status     INTEGER NOT NULL,
	type       TEXT   NOT NULL DEFAULT '',
	response   BYTEA,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (key, method, path)
)`

// NewIdempotency creates the table in store if needed. oneProcess says
// that no other process serves requests from store's table; it only takes
// effect on SQLite.
func NewIdempotency(ctx context.Context, store Store, oneProcess bool, log *slog.Logger) (*Idempotency, error) {
	ddl := idempotencySchema
	if store.Dialect() == eventual.DialectSQLite {
		ddl = strings.ReplaceAll(ddl, "BYTEA", "BLOB")
	}
	err := store.InTx(ctx, func(tx eventual.Tx) error { _, err := tx.Exec(ctx, ddl); return err })
	if err != nil {
		return nil, fmt.Errorf("idempotency table: %w", err)
	}
	return &Idempotency{store: store, commits: NewCommitter(store, 256), log: log, Retention: 24 * time.Hour,
		claimRows: !oneProcess || store.Dialect() != eventual.DialectSQLite, running: map[idempotencyKey]chan struct{}{}}, nil
}

// abandoned is how old a request still marked running may be before a
// retry takes it over (its process died).
const abandoned = time.Minute

// Middleware applies the idempotency rules to POST requests that carry the
// header.
func (i *Idempotency) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get(IdempotencyHeader)
		if r.Method != http.MethodPost || key == "" {
			next.ServeHTTP(w, r)
			return
		}
		if len(key) > 255 {
			WriteError(w, r, i.log, &ValidationError{Fields: []FieldError{{Field: IdempotencyHeader, Message: "must be at most 255 characters"}}})
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
		if err != nil {
			WriteError(w, r, i.log, fmt.Errorf("%w: read body: %v", eventual.ErrInvalidArgument, err))
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		sum := sha256.Sum256(body)
		hash := hex.EncodeToString(sum[:])
		ctx := r.Context()
		deadline := time.Now().Add(30 * time.Second)
		claim := i.claimRow
		if !i.claimRows {
			claim = i.claimInMemory
		}
		for {
			owner, stored, err := claim(ctx, key, r.Method, r.URL.Path, hash)
			switch {
			case err != nil:
				WriteError(w, r, i.log, err)
				return
			case owner:
				i.run(w, r, next, key, hash, i.claimRows || stored.row)
				return
			case stored.hash != hash:
				WriteError(w, r, i.log, fmt.Errorf("%w: the Idempotency-Key %q was used with another request body", ErrUnprocessable, key))
				return
			case stored.status != 0:
				w.Header().Set("Idempotent-Replayed", "true")
				if stored.typ != "" {
					w.Header().Set("Content-Type", stored.typ)
				}
				w.WriteHeader(stored.status)
				_, _ = w.Write(stored.body)
				return
			case time.Now().After(deadline):
				WriteError(w, r, i.log, fmt.Errorf("%w: a request with this Idempotency-Key is still running", ErrConflict))
				return
			}
			// The first request under the key runs: wait for it (for its
			// claim row, poll).
			var poll <-chan time.Time
			var released <-chan struct{}
			if i.claimRows {
				poll = time.After(20 * time.Millisecond)
			} else {
				released = i.released(idempotencyKey{key, r.Method, r.URL.Path})
				poll = time.After(time.Until(deadline))
			}
			select {
			case <-ctx.Done():
				return
			case <-poll:
			case <-released:
			}
		}
	})
}

// remembered is a stored response (status 0: still running).
type remembered struct {
	hash, typ string
	status    int
	body      []byte
	// row: a row holds the key (set by claimInMemory for the owner, when
	// it takes over a claim row of an earlier version).
	row bool
}

// lookup reads what is stored under a key (sql.ErrNoRows: nothing).
func lookup(ctx context.Context, q eventual.Querier, key, method, path string) (stored remembered, err error) {
	err = q.QueryRow(ctx, `SELECT body_hash, status, type, response FROM shop_idempotency
		WHERE key = $1 AND method = $2 AND path = $3`, key, method, path).Scan(&stored.hash, &stored.status, &stored.typ, &stored.body)
	return stored, err
}

// claimRow records the key as running for this request, or returns what
// is stored under it; a running one older than abandoned is taken over.
func (i *Idempotency) claimRow(ctx context.Context, key, method, path, hash string) (owner bool, stored remembered, err error) {
	now := time.Now()
	err = i.commits.Do(ctx, func(ctx context.Context, tx eventual.Tx) error {
		owner, stored = false, remembered{}
		n, err := tx.Exec(ctx, `INSERT INTO shop_idempotency (key, method, path, body_hash, status, created_at)
			VALUES ($1, $2, $3, $4, 0, $5) ON CONFLICT DO NOTHING`, key, method, path, hash, now.UnixMicro())
		if err != nil || n == 1 {
			owner = n == 1
			return err
		}
		n, err = tx.Exec(ctx, `UPDATE shop_idempotency SET body_hash = $4, created_at = $5
			WHERE key = $1 AND method = $2 AND path = $3 AND status = 0 AND created_at < $6`,
			key, method, path, hash, now.UnixMicro(), now.Add(-abandoned).UnixMicro())
		if err != nil || n == 1 {
			owner = n == 1
			return err
		}
		stored, err = lookup(ctx, tx, key, method, path)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // gone meanwhile: try again
		}
		return err
	})
	return owner, stored, err
}

// claimInMemory claims the key in this process's memory, or returns
// what is stored under it: a response, or, while a request of this
// process runs under the key, a running one (status 0) with this
// request's hash, so that the caller waits for it.
func (i *Idempotency) claimInMemory(ctx context.Context, key, method, path, hash string) (owner bool, stored remembered, err error) {
	k := idempotencyKey{key, method, path}
	i.mu.Lock()
	if _, busy := i.running[k]; busy {
		i.mu.Unlock()
		return false, remembered{hash: hash}, nil
	}
	i.running[k] = make(chan struct{})
	i.mu.Unlock()
	stored, err = lookup(ctx, i.store, key, method, path)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return true, remembered{}, nil
	case err == nil && stored.status == 0: // a claim row of an earlier version: take it over
		return true, remembered{row: true}, nil
	case err != nil:
		i.release(k)
		return false, remembered{}, fmt.Errorf("idempotency: look up %q: %w", key, err)
	}
	i.release(k)
	return false, stored, nil
}

// released returns a channel closed once the in-memory claim of k is
// released (at once if there is none).
func (i *Idempotency) released(k idempotencyKey) <-chan struct{} {
	i.mu.Lock()
	defer i.mu.Unlock()
	if ch, ok := i.running[k]; ok {
		return ch
	}
	ch := make(chan struct{})
	close(ch)
	return ch
}

// release ends the in-memory claim of k.
func (i *Idempotency) release(k idempotencyKey) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if ch, ok := i.running[k]; ok {
		close(ch)
		delete(i.running, k)
	}
}

// run serves the request and remembers its response (or forgets the key
// after a server error), then releases the claim. The response is
// upserted: over the claim row, or (in memory) as a new row. row tells
// whether a row holds the key: without one, a server error (the 503s of
// an overloaded shop, most of all) leaves nothing to forget and writes
// nothing.
func (i *Idempotency) run(w http.ResponseWriter, r *http.Request, next http.Handler, key, hash string, row bool) {
	if !i.claimRows {
		defer i.release(idempotencyKey{key, r.Method, r.URL.Path})
	}
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	next.ServeHTTP(rec, r)
	if rec.status >= 500 && !row {
		return
	}
	err := i.commits.Do(r.Context(), func(ctx context.Context, tx eventual.Tx) error {
		if rec.status >= 500 {
			_, err := tx.Exec(ctx, "DELETE FROM shop_idempotency WHERE key = $1 AND method = $2 AND path = $3", key, r.Method, r.URL.Path)
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO shop_idempotency (key, method, path, body_hash, status, type, response, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (key, method, path) DO UPDATE SET body_hash = excluded.body_hash, status = excluded.status,
				type = excluded.type, response = excluded.response, created_at = excluded.created_at`,
			key, r.Method, r.URL.Path, hash, rec.status, rec.Header().Get("Content-Type"), rec.body.Bytes(), time.Now().UnixMicro())
		return err
	})
	if err != nil {
		i.log.Error("idempotency: remember the response", "key", key, "err", err)
	}
}

// Cleanup forgets the keys older than the retention and returns how many.
func (i *Idempotency) Cleanup(ctx context.Context) (int64, error) {
	var n int64
	err := i.store.InTx(ctx, func(tx eventual.Tx) error {
		var err error
		n, err = tx.Exec(ctx, "DELETE FROM shop_idempotency WHERE status <> 0 AND created_at < $1", time.Now().Add(-i.Retention).UnixMicro())
		return err
	})
	return n, err
}

// recorder passes a response through and keeps a copy.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}
