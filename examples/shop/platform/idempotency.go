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
type Idempotency struct {
	store     Store
	commits   *Committer // claims and responses of concurrent requests share commits
	log       *slog.Logger
	Retention time.Duration
}

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

// NewIdempotency creates the table in store if needed.
func NewIdempotency(ctx context.Context, store Store, log *slog.Logger) (*Idempotency, error) {
	ddl := idempotencySchema
	if store.Dialect() == eventual.DialectSQLite {
		ddl = strings.ReplaceAll(ddl, "BYTEA", "BLOB")
	}
	err := store.InTx(ctx, func(tx eventual.Tx) error { _, err := tx.Exec(ctx, ddl); return err })
	if err != nil {
		return nil, fmt.Errorf("idempotency table: %w", err)
	}
	return &Idempotency{store: store, commits: NewCommitter(store, 256), log: log, Retention: 24 * time.Hour}, nil
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
		for {
			owner, stored, err := i.claim(ctx, key, r.Method, r.URL.Path, hash)
			switch {
			case err != nil:
				WriteError(w, r, i.log, err)
				return
			case owner:
				i.run(w, r, next, key, hash)
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
			select { // the first request under the key runs: wait for it
			case <-ctx.Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	})
}

// remembered is a stored response (status 0: still running).
type remembered struct {
	hash, typ string
	status    int
	body      []byte
}

// claim records the key as running for this request, or returns what is
// stored under it; a running one older than abandoned is taken over.
func (i *Idempotency) claim(ctx context.Context, key, method, path, hash string) (owner bool, stored remembered, err error) {
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
		var body []byte
		err = tx.QueryRow(ctx, `SELECT body_hash, status, type, response FROM shop_idempotency
			WHERE key = $1 AND method = $2 AND path = $3`, key, method, path).Scan(&stored.hash, &stored.status, &stored.typ, &body)
		stored.body = body
		if errors.Is(err, sql.ErrNoRows) {
			return nil // gone meanwhile: try again
		}
		return err
	})
	return owner, stored, err
}

// run serves the request and remembers its response (or forgets the key
// after a server error).
func (i *Idempotency) run(w http.ResponseWriter, r *http.Request, next http.Handler, key, hash string) {
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	next.ServeHTTP(rec, r)
	err := i.commits.Do(r.Context(), func(ctx context.Context, tx eventual.Tx) error {
		if rec.status >= 500 {
			_, err := tx.Exec(ctx, "DELETE FROM shop_idempotency WHERE key = $1 AND method = $2 AND path = $3", key, r.Method, r.URL.Path)
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE shop_idempotency SET status = $4, type = $5, response = $6
			WHERE key = $1 AND method = $2 AND path = $3`, key, r.Method, r.URL.Path, rec.status, rec.Header().Get("Content-Type"), rec.body.Bytes())
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
