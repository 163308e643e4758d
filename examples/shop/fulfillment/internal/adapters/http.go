package adapters

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/eventual-go/eventual/examples/shop/fulfillment/internal/sagas"
	"github.com/eventual-go/eventual/examples/shop/platform"
	"github.com/eventual-go/eventual/saga"
)

// Saga is an instance as the API shows it.
type Saga struct {
	Name      string    `json:"name"`
	ID        string    `json:"id"`
	Status    string    `json:"status" enum:"running,compensating,done,failed,stuck"`
	Step      int       `json:"step"`
	StepName  string    `json:"step_name,omitempty"`
	Attempt   int       `json:"attempt"`
	Awaiting  bool      `json:"awaiting"`
	Due       time.Time `json:"due,omitzero"`
	Error     string    `json:"error,omitempty"`
	Data      any       `json:"data"`
	StartedAt time.Time `json:"started_at"`
	UpdatedAt time.Time `json:"updated_at"`
	History   []Entry   `json:"history,omitempty"`
}

// Entry is an event of an instance's history.
type Entry struct {
	Type      string    `json:"type"`
	At        time.Time `json:"at"`
	Status    string    `json:"status"`
	StepName  string    `json:"step_name,omitempty"`
	Attempt   int       `json:"attempt,omitempty"`
	Reason    string    `json:"reason,omitempty"`
	MessageID string    `json:"message_id,omitempty"`
	ReplyType string    `json:"reply_type,omitempty"`
}

// sagaAPI is what the endpoints need of an orchestrator, whatever its
// data's type.
type sagaAPI struct {
	get     func(ctx context.Context, id string) (Saga, error)
	list    func(ctx context.Context, o saga.ListOptions) ([]Saga, error)
	history func(ctx context.Context, id string) ([]saga.HistoryEntry, error)
	repair  func(ctx context.Context, id string, op saga.RepairOp, reason string) error
	counts  func(ctx context.Context) (map[saga.Status]int, error)
}

func apiOf[D any](o *saga.Orchestrator[D]) sagaAPI {
	view := func(in saga.Instance[D]) Saga {
		return Saga{Name: in.Name, ID: in.ID, Status: string(in.Status), Step: in.Step, StepName: in.StepName,
			Attempt: in.Attempt, Awaiting: in.Awaiting, Due: in.Due, Error: in.Error, Data: in.Data,
			StartedAt: in.StartedAt, UpdatedAt: in.UpdatedAt}
	}
	return sagaAPI{
		get: func(ctx context.Context, id string) (Saga, error) {
			in, err := o.Get(ctx, id)
			return view(in), err
		},
		list: func(ctx context.Context, opts saga.ListOptions) ([]Saga, error) {
			ins, err := o.List(ctx, opts)
			out := make([]Saga, len(ins))
			for i, in := range ins {
				out[i] = view(in)
			}
			return out, err
		},
		history: o.History,
		repair:  o.Repair,
		counts:  o.Counts,
	}
}

// ListRequest lists a saga's instances.
type ListRequest struct {
	Name   string `path:"name" enum:"fulfillment,cancellation"`
	Status string `query:"status" enum:"running,compensating,done,failed,stuck" description:"Only instances in this status."`
	Limit  int    `query:"limit" description:"Page length, 1 to 500 (default 50)."`
	Cursor string `query:"cursor"`
}

// ByID names an instance.
type ByID struct {
	Name string `path:"name" enum:"fulfillment,cancellation"`
	ID   string `path:"id" description:"The order's ID."`
}

// RepairRequest repairs a stuck or waiting instance.
type RepairRequest struct {
	Name   string `path:"name" enum:"fulfillment,cancellation"`
	ID     string `path:"id"`
	Op     string `json:"op" required:"true" enum:"retry,skip,compensate,abort" description:"retry the current step; skip it as if it succeeded; compensate from here; abort (mark failed, compensating nothing more)."`
	Reason string `json:"reason" required:"true" description:"Recorded in the instance's history."`
}

// Validate checks the operation and reason.
func (r *RepairRequest) Validate() error {
	var c platform.Check
	switch saga.RepairOp(r.Op) {
	case saga.RepairRetry, saga.RepairSkip, saga.RepairCompensate, saga.RepairAbort:
	default:
		c.Require("op", false, "must be retry, skip, compensate or abort")
	}
	c.Require("reason", r.Reason != "", "is required")
	return c.Err()
}

// Counts are the number of instances per saga and status.
type Counts map[string]map[string]int

// Routes registers the saga endpoints.
func Routes(r *platform.Router, fo *saga.Orchestrator[sagas.Order], co *saga.Orchestrator[sagas.Cancelled]) {
	const tag = "fulfillment"
	apis := map[string]sagaAPI{sagas.Fulfillment: apiOf(fo), sagas.Cancellation: apiOf(co)}
	pick := func(name string) (sagaAPI, error) {
		a, ok := apis[name]
		if !ok {
			return a, fmt.Errorf("%w: no saga %q", platform.ErrNotFound, name)
		}
		return a, nil
	}
	platform.Handle(r, platform.Endpoint{Method: "GET", Path: "/api/sagas", Summary: "How many saga instances are in each status", Tag: tag},
		func(ctx context.Context, _ platform.Empty) (Counts, error) {
			out := Counts{}
			for name, a := range apis {
				c, err := a.counts(ctx)
				if err != nil {
					return nil, err
				}
				m := map[string]int{}
				for s, n := range c {
					m[string(s)] = n
				}
				out[name] = m
			}
			return out, nil
		})
	platform.Handle(r, platform.Endpoint{Method: "GET", Path: "/api/sagas/{name}", Summary: "A saga's instances, in ID order", Tag: tag, Errors: []int{404}},
		func(ctx context.Context, req ListRequest) (platform.Page[Saga], error) {
			a, err := pick(req.Name)
			if err != nil {
				return platform.Page[Saga]{}, err
			}
			limit, err := platform.PageSize(req.Limit)
			if err != nil {
				return platform.Page[Saga]{}, err
			}
			after, err := platform.DecodeCursor(req.Cursor, 1)
			if err != nil {
				return platform.Page[Saga]{}, err
			}
			opts := saga.ListOptions{Status: saga.Status(req.Status), Limit: limit}
			if after != nil {
				opts.After = after[0]
			}
			items, err := a.list(ctx, opts)
			if err != nil {
				return platform.Page[Saga]{}, err
			}
			p := platform.Page[Saga]{Items: items}
			if len(items) == limit {
				p.NextCursor = platform.EncodeCursor(items[len(items)-1].ID)
			}
			return p, nil
		})
	platform.Handle(r, platform.Endpoint{Method: "GET", Path: "/api/sagas/{name}/{id}", Summary: "A saga instance and its history", Tag: tag, Errors: []int{404}},
		func(ctx context.Context, req ByID) (Saga, error) {
			a, err := pick(req.Name)
			if err != nil {
				return Saga{}, err
			}
			s, err := a.get(ctx, req.ID)
			if err != nil {
				return Saga{}, mapErr(err)
			}
			hist, err := a.history(ctx, req.ID)
			if err != nil {
				return Saga{}, err
			}
			for _, h := range hist {
				s.History = append(s.History, Entry{Type: h.Type, At: h.At, Status: string(h.Status), StepName: h.StepName,
					Attempt: h.Attempt, Reason: h.Reason, MessageID: h.MessageID, ReplyType: h.ReplyType})
			}
			return s, nil
		})
	platform.Handle(r, platform.Endpoint{Method: "POST", Path: "/api/sagas/{name}/{id}/repair", Summary: "Repair a saga instance (retry, skip, compensate, abort)", Tag: tag, Errors: []int{404, 409}},
		func(ctx context.Context, req RepairRequest) (Saga, error) {
			a, err := pick(req.Name)
			if err != nil {
				return Saga{}, err
			}
			if err := a.repair(ctx, req.ID, saga.RepairOp(req.Op), req.Reason); err != nil {
				return Saga{}, mapErr(err)
			}
			s, err := a.get(ctx, req.ID)
			return s, mapErr(err)
		})
}

func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, saga.ErrNotFound):
		return fmt.Errorf("%w: %w", platform.ErrNotFound, err)
	case errors.Is(err, saga.ErrFinished):
		return fmt.Errorf("%w: %w", platform.ErrConflict, err)
	}
	return err
}

// Metrics registers the sagas' instance counts per status, read when
// scraped.
func Metrics(reg prometheus.Registerer, fo *saga.Orchestrator[sagas.Order], co *saga.Orchestrator[sagas.Cancelled]) {
	reg.MustRegister(&countsCollector{apis: map[string]sagaAPI{sagas.Fulfillment: apiOf(fo), sagas.Cancellation: apiOf(co)}})
}

var sagaDesc = prometheus.NewDesc("shop_sagas", "Saga instances by saga and status.", []string{"saga", "status"}, nil)

type countsCollector struct{ apis map[string]sagaAPI }

func (c *countsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- sagaDesc }

func (c *countsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for name, a := range c.apis {
		counts, err := a.counts(ctx)
		if err != nil {
			continue
		}
		for _, s := range []saga.Status{saga.StatusRunning, saga.StatusCompensating, saga.StatusDone, saga.StatusFailed, saga.StatusStuck} {
			ch <- prometheus.MustNewConstMetric(sagaDesc, prometheus.GaugeValue, float64(counts[s]), name, string(s))
		}
	}
}
