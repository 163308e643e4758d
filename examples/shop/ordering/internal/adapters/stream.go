package adapters

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/codec"
	"github.com/eventual-go/eventual/examples/shop/ordering/api"
	"github.com/eventual-go/eventual/examples/shop/ordering/internal/app"
	"github.com/eventual-go/eventual/examples/shop/ordering/internal/domain"
	"github.com/eventual-go/eventual/examples/shop/platform"
	"github.com/eventual-go/eventual/projection"
)

// StatusChange is an order's new status, as the SSE streams send it
// (event "status", id the position of the event in the module's log).
type StatusChange struct {
	OrderID string    `json:"order_id"`
	Status  string    `json:"status"`
	Reason  string    `json:"reason,omitempty"`
	At      time.Time `json:"at"`
	// Version is the order's version after the change (not sent).
	Version uint64 `json:"-"`
	// Position is the change's event in the module's log (sent as the
	// SSE id; 0 for an order's current status, which has none).
	Position uint64 `json:"-"`
}

// Statuses feeds the SSE streams of order statuses: a projection over the
// module's own log (no tables; its checkpoint says what was sent)
// publishes each committed status change, after its own transaction
// commits, in commit order. A client that reconnects with the last ID it
// received is sent what it missed from the log, then the live changes.
type Statuses struct {
	b     platform.Broadcaster[StatusChange]
	codec *codec.Registry
	log   eventual.Store
}

// NewStatuses returns the feed over the module's store; Projection is to
// be added to the module's runner.
func NewStatuses(reg *codec.Registry, log eventual.Store) *Statuses {
	return &Statuses{codec: reg, log: log}
}

// filter keeps the events that change an order's status.
var filter = eventual.Filter{Types: domain.OrderEvents, StreamPrefix: app.OrderKind + "-"}

// Projection returns the projection that feeds the streams.
func (s *Statuses) Projection() projection.Projection {
	return projection.Projection{
		Name:   "ordering_status_stream",
		Filter: filter,
		Handle: func(ctx context.Context, tx eventual.Tx, _ projection.Tables, e eventual.RecordedEvent) error {
			c, ok, err := s.change(e)
			if err != nil || !ok {
				return err
			}
			tx.AfterCommit(func() { s.b.Publish(c) })
			return nil
		},
	}
}

// follow returns the status changes that keep accepts: first those
// recorded after position after (none when after is 0), read from the
// log, then live ones, each once and in commit order. The channel closes
// when ctx ends, the log cannot be read, or the client fell too far
// behind; the client then reconnects with the last ID it got.
func (s *Statuses) follow(ctx context.Context, after uint64, keep func(StatusChange) bool) <-chan StatusChange {
	live, stop := s.b.Subscribe() // before reading the log: nothing is missed in between
	return s.relay(ctx, live, stop, after, nil, keep)
}

// relay is follow on a subscription taken already (live, ended by stop),
// sending first, if not nil, before anything else.
func (s *Statuses) relay(ctx context.Context, live <-chan StatusChange, stop func(), after uint64, first *StatusChange, keep func(StatusChange) bool) <-chan StatusChange {
	out := make(chan StatusChange, platform.SubscriberBuffer)
	if first != nil {
		out <- *first
	}
	go func() {
		defer close(out)
		defer stop()
		send := func(c StatusChange) bool {
			if !keep(c) {
				return true
			}
			select {
			case out <- c:
				return true
			case <-ctx.Done():
				return false
			}
		}
		last := after
		if after > 0 {
			for e, err := range s.log.ReadAll(ctx, eventual.ReadAllOptions{From: after + 1, Filter: filter}) {
				if err != nil {
					return
				}
				c, ok, err := s.change(e)
				if err != nil || !ok {
					continue
				}
				last = c.Position
				if !send(c) {
					return
				}
			}
		}
		for {
			select {
			case <-ctx.Done():
				return
			case c, ok := <-live:
				if !ok {
					return
				}
				if c.Position <= last {
					continue // read from the log already
				}
				last = c.Position
				if !send(c) {
					return
				}
			}
		}
	}()
	return out
}

// change returns the status change an order event makes.
func (s *Statuses) change(e eventual.RecordedEvent) (StatusChange, bool, error) {
	ev, err := s.codec.Decode(e)
	if err != nil {
		return StatusChange{}, false, err
	}
	c := StatusChange{OrderID: strings.TrimPrefix(e.StreamID, app.OrderKind+"-"), Version: e.Version, Position: e.Position}
	switch ev := ev.(type) {
	case domain.OrderPlaced:
		c.Status, c.At = api.StatusPlaced, ev.PlacedAt
	case domain.OrderConfirmed:
		c.Status, c.At = api.StatusConfirmed, ev.At
	case domain.OrderRejected:
		c.Status, c.Reason, c.At = api.StatusRejected, ev.Reason, ev.At
	case domain.OrderCancelled:
		c.Status, c.Reason, c.At = api.StatusCancelled, ev.Reason, ev.At
	case domain.OrderShipped:
		c.Status, c.At = api.StatusShipped, ev.At
	case domain.OrderDelivered:
		c.Status, c.At = api.StatusDelivered, ev.At
	default:
		return c, false, nil
	}
	return c, true, nil
}

// sse writes a change as the event "status" with its position as ID.
var sse = platform.SSE[StatusChange]{
	Name: func(StatusChange) string { return "status" },
	ID: func(c StatusChange) string {
		if c.Position == 0 {
			return ""
		}
		return strconv.FormatUint(c.Position, 10)
	},
}

// Routes registers and documents the two streams: GET
// /api/orders/stream and GET /api/orders/{id}/stream. Both resume after
// the Last-Event-ID header (or the "after" query parameter).
func (s *Statuses) Routes(r *platform.Router, a *app.App, log *slog.Logger) {
	r.Document(platform.Endpoint{Method: "GET", Path: "/api/orders/stream", Tag: tag, Errors: []int{400},
		Summary: "Every order's status changes, as server-sent events named \"status\"; reconnect with Last-Event-ID (or ?after=) to resume"},
		&ResumeRequest{}, &StatusChange{}, "text/event-stream")
	r.HandleHTTP("GET /api/orders/stream", http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		after, err := platform.LastEventID(req)
		if err != nil {
			platform.WriteError(w, req, log, err)
			return
		}
		all := func(StatusChange) bool { return true }
		platform.ServeSSE(w, req, s.follow(req.Context(), after, all), sse)
	}))
	r.Document(platform.Endpoint{Method: "GET", Path: "/api/orders/{id}/stream", Tag: tag, Errors: []int{400, 404},
		Summary: "An order's status changes, as server-sent events named \"status\", starting with its current status (or, with Last-Event-ID or ?after=, with what followed that event)"},
		&StreamRequest{}, &StatusChange{}, "text/event-stream")
	r.HandleHTTP("GET /api/orders/{id}/stream", http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		id := req.PathValue("id")
		after, err := platform.LastEventID(req)
		if err != nil {
			platform.WriteError(w, req, log, err)
			return
		}
		ctx, cancel := context.WithCancel(req.Context())
		defer cancel()
		if after > 0 {
			if _, err := a.Order(ctx, id); err != nil {
				platform.WriteError(w, req, log, err)
				return
			}
			ours := func(c StatusChange) bool { return c.OrderID == id }
			platform.ServeSSE(w, req, s.follow(ctx, after, ours), sse)
			return
		}
		live, stop := s.b.Subscribe()
		o, err := a.Order(ctx, id) // after subscribing: no change is missed
		if err != nil {
			stop()
			platform.WriteError(w, req, log, err)
			return
		}
		current := StatusChange{OrderID: id, Status: o.Status, Reason: o.Reason, At: o.UpdatedAt, Version: o.Version()}
		newer := func(c StatusChange) bool { return c.OrderID == id && c.Version > current.Version }
		platform.ServeSSE(w, req, s.relay(ctx, live, stop, 0, &current, newer), sse)
	}))
}

// ResumeRequest is the optional position to resume after, for clients
// that cannot send Last-Event-ID.
type ResumeRequest struct {
	After uint64 `query:"after" description:"resume after this event ID (as Last-Event-ID does)"`
}

// StreamRequest names an order in the path of its stream.
type StreamRequest struct {
	ID    string `path:"id"`
	After uint64 `query:"after" description:"resume after this event ID (as Last-Event-ID does)"`
}
