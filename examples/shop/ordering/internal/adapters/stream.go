package adapters

import (
	"context"
	"log/slog"
	"net/http"
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
// (event "status").
type StatusChange struct {
	OrderID string    `json:"order_id"`
	Status  string    `json:"status"`
	Reason  string    `json:"reason,omitempty"`
	At      time.Time `json:"at"`
	// Version is the order's version after the change (not sent).
	Version uint64 `json:"-"`
}

// Statuses feeds the SSE streams of order statuses: a projection over the
// module's own log (no tables; its checkpoint says what was sent)
// publishes each committed status change, after its own transaction
// commits, in commit order.
type Statuses struct {
	b     platform.Broadcaster[StatusChange]
	codec *codec.Registry
}

// NewStatuses returns the feed; Projection is to be added to the
// module's runner.
func NewStatuses(reg *codec.Registry) *Statuses { return &Statuses{codec: reg} }

// Projection returns the projection that feeds the streams.
func (s *Statuses) Projection() projection.Projection {
	return projection.Projection{
		Name:   "ordering_status_stream",
		Filter: eventual.Filter{Types: domain.OrderEvents, StreamPrefix: app.OrderKind + "-"},
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

// change returns the status change an order event makes.
func (s *Statuses) change(e eventual.RecordedEvent) (StatusChange, bool, error) {
	ev, err := s.codec.Decode(e)
	if err != nil {
		return StatusChange{}, false, err
	}
	c := StatusChange{OrderID: strings.TrimPrefix(e.StreamID, app.OrderKind+"-"), Version: e.Version}
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

// StreamRequest names an order in the path of its stream.
type StreamRequest struct {
	ID string `path:"id"`
}

func statusEvent(StatusChange) string { return "status" }

// Routes registers and documents the two streams: GET
// /api/orders/stream and GET /api/orders/{id}/stream.
func (s *Statuses) Routes(r *platform.Router, a *app.App, log *slog.Logger) {
	r.Document(platform.Endpoint{Method: "GET", Path: "/api/orders/stream", Tag: tag,
		Summary: "Every order's status changes, as server-sent events named \"status\""},
		&platform.Empty{}, &StatusChange{}, "text/event-stream")
	r.HandleHTTP("GET /api/orders/stream", http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		ch, stop := s.b.Subscribe()
		defer stop()
		platform.ServeSSE(w, req, ch, statusEvent)
	}))
	r.Document(platform.Endpoint{Method: "GET", Path: "/api/orders/{id}/stream", Tag: tag, Errors: []int{404},
		Summary: "An order's status changes, as server-sent events named \"status\", starting with its current status"},
		&StreamRequest{}, &StatusChange{}, "text/event-stream")
	r.HandleHTTP("GET /api/orders/{id}/stream", http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		id := req.PathValue("id")
		ch, stop := s.b.Subscribe() // before loading: no change is missed
		defer stop()
		o, err := a.Order(req.Context(), id)
		if err != nil {
			platform.WriteError(w, req, log, err)
			return
		}
		out := make(chan StatusChange, 256)
		out <- StatusChange{OrderID: id, Status: o.Status, Reason: o.Reason, At: o.UpdatedAt, Version: o.Version()}
		ctx := req.Context()
		go func() {
			defer close(out)
			for {
				select {
				case <-ctx.Done():
					return
				case c, ok := <-ch:
					if !ok {
						return
					}
					if c.OrderID != id || c.Version <= o.Version() {
						continue
					}
					select {
					case out <- c:
					case <-ctx.Done():
						return
					}
				}
			}
		}()
		platform.ServeSSE(w, req, out, statusEvent)
	}))
}
