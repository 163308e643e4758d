package platform_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/examples/shop/platform"
	"github.com/eventual-go/eventual/internal/testdb"
)

// TestIdempotencyClaims runs concurrent and repeated requests under one
// key through both kinds of claim: in memory (one process owns the
// table) and as rows (processes may share it). Either way the handler
// runs once per key, every request gets its response, another body gets
// 422, and a server error is not remembered.
func TestIdempotencyClaims(t *testing.T) {
	for _, c := range []struct {
		name       string
		oneProcess bool
		backend    testdb.Backend
	}{
		{"SQLite, one process", true, testdb.SQLite()},
		{"SQLite, shared", false, testdb.SQLite()},
		{"PostgreSQL", true, testdb.Postgres()}, // rows whatever oneProcess says
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			st := c.backend.New(t).(platform.Store)
			idem, err := platform.NewIdempotency(ctx, st, c.oneProcess, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			var runs atomic.Int64
			srv := httptest.NewServer(idem.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := runs.Add(1)
				time.Sleep(20 * time.Millisecond) // the others arrive meanwhile
				body, _ := io.ReadAll(r.Body)
				if string(body) == "fail" {
					w.WriteHeader(http.StatusInternalServerError)
					return
				}
				w.WriteHeader(http.StatusCreated)
				fmt.Fprintf(w, "run %d", n)
			})))
			t.Cleanup(srv.Close)
			post := func(key, body string) (int, string, error) {
				req, _ := http.NewRequest("POST", srv.URL+"/things", strings.NewReader(body))
				req.Header.Set(platform.IdempotencyHeader, key)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return 0, "", err
				}
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b), err
			}

			var wg sync.WaitGroup
			var mu sync.Mutex
			seen := map[string]int{}
			for range 10 {
				wg.Go(func() {
					status, body, err := post("k", "same")
					mu.Lock()
					defer mu.Unlock()
					if err != nil || status != http.StatusCreated {
						t.Errorf("concurrent request: %d %q %v", status, body, err)
					}
					seen[body]++
				})
			}
			wg.Wait()
			if runs.Load() != 1 || len(seen) != 1 {
				t.Fatalf("10 concurrent requests under one key: %d runs, responses %v", runs.Load(), seen)
			}
			if status, body, _ := post("k", "same"); status != http.StatusCreated || seen[body] != 10 {
				t.Errorf("a later retry: %d %q, want the stored response", status, body)
			}
			if status, _, _ := post("k", "other"); status != http.StatusUnprocessableEntity {
				t.Errorf("the same key with another body: %d, want 422", status)
			}
			if runs.Load() != 1 {
				t.Errorf("%d runs after the retries, want 1", runs.Load())
			}
			// A server error is not remembered: a retry runs again.
			for i := range 2 {
				if status, _, _ := post("f", "fail"); status != http.StatusInternalServerError {
					t.Errorf("failing request %d: %d", i, status)
				}
			}
			if runs.Load() != 3 {
				t.Errorf("%d runs after two failing requests, want 3", runs.Load())
			}
		})
	}
}

// In memory (one process), a server error under a key no row holds
// writes nothing; under a claim row an earlier version left, it removes
// the row, and a success replaces it with the response.
func TestIdempotencyInMemoryAndLeftoverClaimRows(t *testing.T) {
	ctx := context.Background()
	st := testdb.SQLite().New(t).(platform.Store)
	idem, err := platform.NewIdempotency(ctx, st, true, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(idem.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if body, _ := io.ReadAll(r.Body); string(body) == "fail" {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusCreated)
	})))
	t.Cleanup(srv.Close)
	post := func(key, body string) int {
		req, _ := http.NewRequest("POST", srv.URL+"/things", strings.NewReader(body))
		req.Header.Set(platform.IdempotencyHeader, key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	rows := func(key string) (n, status int) {
		if err := st.QueryRow(ctx, "SELECT COUNT(*), COALESCE(MAX(status), 0) FROM shop_idempotency WHERE key = $1", key).Scan(&n, &status); err != nil {
			t.Fatal(err)
		}
		return n, status
	}
	if status := post("plain", "fail"); status != http.StatusServiceUnavailable {
		t.Fatalf("failing request: %d", status)
	}
	if n, _ := rows("plain"); n != 0 {
		t.Errorf("a server error left %d rows", n)
	}
	for _, key := range []string{"left-1", "left-2"} {
		if err := st.InTx(ctx, func(tx eventual.Tx) error {
			_, err := tx.Exec(ctx, "INSERT INTO shop_idempotency (key, method, path, body_hash, status, created_at) VALUES ($1, 'POST', '/things', 'x', 0, 0)", key)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	if status := post("left-1", "fail"); status != http.StatusServiceUnavailable {
		t.Fatalf("failing request: %d", status)
	}
	if n, _ := rows("left-1"); n != 0 {
		t.Errorf("a server error under a leftover claim row kept it (%d rows)", n)
	}
	if status := post("left-2", "ok"); status != http.StatusCreated {
		t.Fatalf("request: %d", status)
	}
	if n, status := rows("left-2"); n != 1 || status != http.StatusCreated {
		t.Errorf("a success under a leftover claim row: %d rows, status %d; want its response stored", n, status)
	}
}
