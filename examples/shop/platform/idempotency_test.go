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
