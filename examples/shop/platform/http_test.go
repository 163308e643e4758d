package platform_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/eventual-go/eventual/examples/shop/platform"
)

// An endpoint's Admit runs before what every POST runs behind (the
// idempotency middleware) and before the body's decoding: a refused
// request reaches none of them.
func TestAdmissionRefusesBeforeWhatItWraps(t *testing.T) {
	var reached []string
	r := platform.NewRouter(slog.New(slog.DiscardHandler), func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			reached = append(reached, req.Method+" "+req.URL.Path)
			next.ServeHTTP(w, req)
		})
	})
	full := true
	admit := func() error {
		if full {
			return fmt.Errorf("%w: full", platform.ErrUnavailable)
		}
		return nil
	}
	type body struct {
		N int `json:"n"`
	}
	type thing struct {
		ID string `path:"id"`
		N  int    `json:"n"`
	}
	echo := func(_ context.Context, b body) (body, error) { return b, nil }
	platform.Handle(r, platform.Endpoint{Method: "POST", Path: "/api/things/{id}", Status: 201, Admit: admit},
		func(_ context.Context, b thing) (body, error) { return body{N: b.N}, nil })
	platform.Handle(r, platform.Endpoint{Method: "POST", Path: "/api/other"}, echo)
	platform.Handle(r, platform.Endpoint{Method: "GET", Path: "/api/things/{id}"}, func(context.Context, platform.Empty) (body, error) {
		return body{N: 7}, nil
	})
	var pattern string // as the metrics middleware, outside, reads it
	do := func(method, path, payload string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		req := httptest.NewRequest(method, path, strings.NewReader(payload))
		r.ServeHTTP(w, req)
		pattern = req.Pattern
		return w
	}

	for _, c := range []struct {
		method, path, body string
		status             int
		reached            bool
	}{
		{"POST", "/api/things/1", `{"n":1}`, 503, false},
		{"POST", "/api/things/1", `{not json`, 503, false}, // refused before the body is read
		{"POST", "/api/other", `{"n":2}`, 200, true},       // no Admit
		{"GET", "/api/things/1", ``, 200, false},           // same path, another method: no POST
		{"POST", "/api/nowhere", `{}`, 404, false},
	} {
		reached = nil
		w := do(c.method, c.path, c.body)
		if w.Code != c.status || (len(reached) == 1) != c.reached {
			t.Errorf("%s %s while full: %d, reached the rest %v; want %d, %v", c.method, c.path, w.Code, reached, c.status, c.reached)
		}
		if w.Code == 503 && w.Header().Get("Retry-After") == "" {
			t.Errorf("%s %s: 503 without Retry-After", c.method, c.path)
		}
		if want := c.method + " /api/things/{id}"; w.Code == 503 && pattern != want {
			t.Errorf("%s %s refused as route %q, want %q", c.method, c.path, pattern, want)
		}
	}

	full = false
	reached = nil
	if w := do("POST", "/api/things/1", `{"n":3}`); w.Code != 201 || len(reached) != 1 || !strings.Contains(w.Body.String(), `"n":3`) {
		t.Errorf("admitted: %d %q, reached %v", w.Code, w.Body.String(), reached)
	}
}

// Every POST runs behind the router's posts, the first outermost; other
// methods behind none.
func TestRouterPostsWrapPostsInOrder(t *testing.T) {
	var seen []string
	mw := func(name string) func(http.Handler) http.Handler {
		return func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				seen = append(seen, name)
				next.ServeHTTP(w, req)
			})
		}
	}
	r := platform.NewRouter(slog.New(slog.DiscardHandler), mw("outer"), mw("inner"))
	r.HandleHTTP("POST /api/x", http.HandlerFunc(func(http.ResponseWriter, *http.Request) { seen = append(seen, "handler") }))
	r.HandleHTTP("GET /api/x", http.HandlerFunc(func(http.ResponseWriter, *http.Request) { seen = append(seen, "handler") }))
	for _, c := range []struct {
		method string
		want   string
	}{{"POST", "outer inner handler"}, {"GET", "handler"}} {
		seen = nil
		r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(c.method, "/api/x", nil))
		if got := strings.Join(seen, " "); got != c.want {
			t.Errorf("%s: ran %q, want %q", c.method, got, c.want)
		}
	}
}
