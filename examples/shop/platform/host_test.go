package platform_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/examples/shop/platform"
	"github.com/eventual-go/eventual/transport"
)

// notes is a toy module: POST a note (counted, and published), GET it,
// list them, and a consumer that counts the published ones.
type notes struct {
	created  atomic.Int64
	received atomic.Int64
}

func (n *notes) Name() string { return "notes" }

type createNote struct {
	Text  string `json:"text"`
	Title string `json:"title"`
}

func (c *createNote) Validate() error {
	var ch platform.Check
	ch.Require("text", c.Text != "", "is required")
	ch.Require("title", len(c.Title) <= 10, "must be at most 10 characters")
	return ch.Err()
}

type note struct {
	ID   string `json:"id"`
	Text string `json:"text"`
}

type noteID struct {
	ID string `path:"id"`
}

func (n *notes) Start(ctx context.Context, s *platform.Services) error {
	err := s.Transport.Subscribe(ctx, transport.Subscription{Subject: "notes.events.>", Group: "counter"},
		func(ctx context.Context, d transport.Delivery) error { n.received.Add(1); return nil })
	if err != nil {
		return err
	}
	platform.Handle(s.Router, platform.Endpoint{Method: "POST", Path: "/api/notes", Summary: "Write a note", Tag: "notes", Status: 201},
		func(ctx context.Context, req createNote) (note, error) {
			id := fmt.Sprint(n.created.Add(1))
			err := s.Store.InTx(ctx, func(tx eventual.Tx) error {
				m, err := platform.Message(ctx, "notes.events.created", "notes.created", id, note{ID: id, Text: req.Text})
				if err != nil {
					return err
				}
				return s.Outbox.Add(ctx, tx, m)
			})
			return note{ID: id, Text: req.Text}, err
		})
	platform.Handle(s.Router, platform.Endpoint{Method: "GET", Path: "/api/notes/{id}", Summary: "Read a note", Tag: "notes", Errors: []int{404}},
		func(ctx context.Context, req noteID) (note, error) {
			if req.ID == "missing" {
				return note{}, fmt.Errorf("%w: note %s", platform.ErrNotFound, req.ID)
			}
			return note{ID: req.ID}, nil
		})
	return nil
}

func start(t *testing.T, mods ...platform.Module) (*platform.Host, string, context.CancelFunc, chan error) {
	t.Helper()
	cfg := platform.DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.HTTPAddr = "127.0.0.1:0"
	h, err := platform.NewHost(cfg, slog.New(slog.DiscardHandler), mods...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	select {
	case <-h.Ready():
	case err := <-done:
		t.Fatalf("host stopped: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("host not ready")
	}
	t.Cleanup(func() { cancel(); <-done })
	return h, "http://" + h.Addr(), cancel, done
}

func call(t *testing.T, method, url, key, body string) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if key != "" {
		req.Header.Set(platform.IdempotencyHeader, key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func TestHostServesModules(t *testing.T) {
	n := &notes{}
	h, base, _, _ := start(t, n)
	status, _, body := call(t, "POST", base+"/api/notes", "", `{"text":"hello"}`)
	if status != 201 || !strings.Contains(string(body), `"text":"hello"`) {
		t.Fatalf("POST: %d %s", status, body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for n.received.Load() != 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n.received.Load() != 1 {
		t.Error("the note's event never reached the consumer through the outbox and the transport")
	}
	if h.Services("notes") == nil || h.Services("other") != nil {
		t.Error("Services")
	}

	t.Run("validation errors name the fields", func(t *testing.T) {
		status, hdr, body := call(t, "POST", base+"/api/notes", "", `{"title":"far too long a title"}`)
		var p platform.Problem
		_ = json.Unmarshal(body, &p)
		if status != 400 || hdr.Get("Content-Type") != "application/problem+json" || len(p.Errors) != 2 ||
			p.Errors[0].Field != "text" || p.Errors[1].Field != "title" {
			t.Errorf("%d %s %s", status, hdr.Get("Content-Type"), body)
		}
		status, _, body = call(t, "POST", base+"/api/notes", "", `{"text":"x","color":"red"}`)
		if status != 400 || !strings.Contains(string(body), `"field":"color"`) {
			t.Errorf("unknown field: %d %s", status, body)
		}
		status, _, body = call(t, "POST", base+"/api/notes", "", `{"text":42}`)
		if status != 400 || !strings.Contains(string(body), `"field":"text"`) {
			t.Errorf("wrong type: %d %s", status, body)
		}
	})
	t.Run("not found", func(t *testing.T) {
		status, _, body := call(t, "GET", base+"/api/notes/missing", "", "")
		if status != 404 || !strings.Contains(string(body), "note missing") {
			t.Errorf("%d %s", status, body)
		}
	})
	t.Run("idempotency key", func(t *testing.T) {
		before := n.created.Load()
		s1, _, b1 := call(t, "POST", base+"/api/notes", "key-1", `{"text":"once"}`)
		s2, h2, b2 := call(t, "POST", base+"/api/notes", "key-1", `{"text":"once"}`)
		if s1 != 201 || s2 != 201 || !bytes.Equal(b1, b2) || h2.Get("Idempotent-Replayed") != "true" {
			t.Errorf("replay: %d %s / %d %s", s1, b1, s2, b2)
		}
		if got := n.created.Load() - before; got != 1 {
			t.Errorf("the request ran %d times", got)
		}
		s3, _, b3 := call(t, "POST", base+"/api/notes", "key-1", `{"text":"other"}`)
		if s3 != 422 {
			t.Errorf("same key, other body: %d %s", s3, b3)
		}
		s4, _, _ := call(t, "POST", base+"/api/notes", "key-2", `{"text":""}`) // a 400 is remembered too
		s5, h5, _ := call(t, "POST", base+"/api/notes", "key-2", `{"text":""}`)
		if s4 != 400 || s5 != 400 || h5.Get("Idempotent-Replayed") != "true" {
			t.Errorf("remembered 400: %d, %d", s4, s5)
		}
	})
	t.Run("openapi, health, metrics", func(t *testing.T) {
		status, _, body := call(t, "GET", base+"/openapi.json", "", "")
		var doc struct {
			OpenAPI string                    `json:"openapi"`
			Paths   map[string]map[string]any `json:"paths"`
		}
		if err := json.Unmarshal(body, &doc); status != 200 || err != nil || doc.Paths["/api/notes"]["post"] == nil ||
			doc.Paths["/api/notes/{id}"]["get"] == nil {
			t.Errorf("openapi: %d %v %s", status, err, body)
		}
		for _, p := range []string{"/healthz", "/readyz"} {
			if status, _, _ := call(t, "GET", base+p, "", ""); status != 200 {
				t.Errorf("%s: %d", p, status)
			}
		}
		_, _, m := call(t, "GET", base+"/metrics", "", "")
		for _, want := range []string{"shop_http_requests_total", `shop_outbox_backlog{module="notes"}`, "go_goroutines"} {
			if !strings.Contains(string(m), want) {
				t.Errorf("metrics lack %s", want)
			}
		}
	})
}

// broken fails in Start.
type broken struct{}

func (broken) Name() string { return "broken" }
func (broken) Start(context.Context, *platform.Services) error {
	return errors.New("cannot start")
}

func TestStartFailureStopsTheHost(t *testing.T) {
	cfg := platform.DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.HTTPAddr = "127.0.0.1:0"
	h, err := platform.NewHost(cfg, slog.New(slog.DiscardHandler), &notes{}, broken{})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "cannot start") {
		t.Errorf("Run = %v", err)
	}
	cfg.Modules = []string{"nope"}
	if _, err := platform.NewHost(cfg, nil, &notes{}); !errors.Is(err, platform.ErrInvalidConfig) {
		t.Errorf("an unknown module: %v", err)
	}
}

// Shutdown lets the outbox flush: a note written just before the stop
// still reaches its consumer.
func TestGracefulShutdownFlushesTheOutbox(t *testing.T) {
	n := &notes{}
	_, base, cancel, done := start(t, n)
	for range 20 {
		if status, _, _ := call(t, "POST", base+"/api/notes", "", `{"text":"x"}`); status != 201 {
			t.Fatal(status)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	done <- nil // for the clean-up
	if got := n.received.Load(); got != 20 {
		t.Errorf("%d of 20 notes reached the consumer before the stop", got)
	}
}
