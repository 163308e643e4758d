// Package platformtest starts shop modules on a real host for tests: a
// temporary data directory, a free port, the in-process transport; and
// helpers to call the API, send commands and watch events.
package platformtest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/eventual-go/eventual/examples/shop/platform"
	"github.com/eventual-go/eventual/transport"
)

// Harness is a running host.
type Harness struct {
	T         testing.TB
	Host      *platform.Host
	Base      string // http://127.0.0.1:port
	Transport transport.Transport
	requester *transport.Requester
}

// Start runs modules on a host until the test ends.
func Start(t testing.TB, modules ...platform.Module) *Harness {
	t.Helper()
	cfg := platform.DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.HTTPAddr = "127.0.0.1:0"
	return StartWith(t, cfg, modules...)
}

// StartWith runs modules on a host configured by cfg until the test ends.
func StartWith(t testing.TB, cfg platform.Config, modules ...platform.Module) *Harness {
	t.Helper()
	h, err := platform.NewHost(cfg, slog.New(slog.DiscardHandler), modules...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	select {
	case <-h.Ready():
	case err := <-done:
		cancel()
		t.Fatalf("host stopped: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("host not ready after 30 s")
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("host: %v", err)
		}
	})
	tr := h.Services(modules[0].Name()).Transport
	req, err := transport.NewRequester(ctx, tr, "test.replies."+uuid.NewString()[:8])
	if err != nil {
		t.Fatal(err)
	}
	return &Harness{T: t, Host: h, Base: "http://" + h.Addr(), Transport: tr, requester: req}
}

// Do calls the API: body (if not nil) as JSON, the response decoded into
// out (if not nil); it returns the status.
func (h *Harness) Do(method, path string, body, out any, headers ...string) int {
	h.T.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			h.T.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, h.Base+path, r)
	if err != nil {
		h.T.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.T.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		h.T.Fatal(err)
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			h.T.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, data, err)
		}
	}
	return resp.StatusCode
}

// Post calls POST path and fails the test unless the status is want.
func (h *Harness) Post(path string, body, out any, want int) {
	h.T.Helper()
	var raw json.RawMessage
	if got := h.Do("POST", path, body, &raw); got != want {
		h.T.Fatalf("POST %s: %d %s, want %d", path, got, raw, want)
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			h.T.Fatal(err)
		}
	}
}

// Get calls GET path and fails the test unless the status is want.
func (h *Harness) Get(path string, out any, want int) {
	h.T.Helper()
	var raw json.RawMessage
	if got := h.Do("GET", path, nil, &raw); got != want {
		h.T.Fatalf("GET %s: %d %s, want %d", path, got, raw, want)
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			h.T.Fatal(err)
		}
	}
}

// Request sends a command with v as its data and waits for the reply.
func (h *Harness) Request(subject, typ, key string, v any) transport.Delivery {
	h.T.Helper()
	m, err := platform.Message(context.Background(), subject, typ, key, v)
	if err != nil {
		h.T.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := h.requester.Request(ctx, m)
	if err != nil {
		h.T.Fatalf("%s: %v", typ, err)
	}
	return d
}

// Publish publishes an event with v as its data, as another context would.
func (h *Harness) Publish(subject, typ, key string, v any) {
	h.T.Helper()
	m, err := platform.Message(context.Background(), subject, typ, key, v)
	if err != nil {
		h.T.Fatal(err)
	}
	if err := h.Transport.Publish(context.Background(), m); err != nil {
		h.T.Fatal(err)
	}
}

// Collector gathers the messages of a subject.
type Collector struct {
	mu  sync.Mutex
	got []transport.Delivery
}

// Collect subscribes to subject (a pattern) from now on.
func (h *Harness) Collect(subject string) *Collector {
	h.T.Helper()
	c := &Collector{}
	err := h.Transport.Subscribe(context.Background(), transport.Subscription{Subject: subject, Group: "test-" + uuid.NewString()[:8], Ephemeral: true},
		func(_ context.Context, d transport.Delivery) error {
			c.mu.Lock()
			c.got = append(c.got, d)
			c.mu.Unlock()
			return nil
		})
	if err != nil {
		h.T.Fatal(err)
	}
	return c
}

// All returns what was gathered.
func (c *Collector) All() []transport.Delivery {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]transport.Delivery(nil), c.got...)
}

// Of returns the messages of type typ.
func (c *Collector) Of(typ string) []transport.Delivery {
	var out []transport.Delivery
	for _, d := range c.All() {
		if d.Type == typ {
			out = append(out, d)
		}
	}
	return out
}

// Eventually waits up to 10 s for cond.
func (h *Harness) Eventually(what string, cond func() bool) {
	h.T.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			h.T.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
