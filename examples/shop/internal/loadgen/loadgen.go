// Package loadgen drives a running shop over its HTTP API the way a crowd
// of customers would: it sets up customers, a store, products and stock,
// then places orders at a fixed rate (open loop: a slow shop does not slow
// the arrivals) and follows the order status stream (SSE) to time each
// order from the moment its POST was sent to the moment it was confirmed.
package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/eventual-go/eventual/internal/cpustat"
)

// Options configure a run.
type Options struct {
	// BaseURL is the shop's, like http://127.0.0.1:8080.
	BaseURL string
	// Rate is how many orders to place per second.
	Rate int
	// Duration is how long to place them.
	Duration time.Duration
	// Drain is how long to wait, after the last order, for the orders
	// still in flight to be confirmed or rejected.
	Drain time.Duration
	// Customers and Products are how many to set up.
	Customers, Products int
	// MaxInFlight bounds the POSTs waiting for a response; an order that
	// would exceed it is not sent and counts as an error ("overload").
	MaxInFlight int
	// Token is the payment token of every order.
	Token string
	// Idempotency sends an Idempotency-Key with each POST, as careful
	// clients do.
	Idempotency bool
	// Progress, if not nil, gets a line per second while the run goes.
	Progress io.Writer
}

// withDefaults fills the zero fields of o.
func (o Options) withDefaults() Options {
	if o.BaseURL == "" {
		o.BaseURL = "http://127.0.0.1:8080"
	}
	if o.Rate <= 0 {
		o.Rate = 100
	}
	if o.Duration <= 0 {
		o.Duration = 10 * time.Second
	}
	if o.Drain <= 0 {
		o.Drain = 30 * time.Second
	}
	if o.Customers <= 0 {
		o.Customers = 100
	}
	if o.Products <= 0 {
		o.Products = 50
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = 4096
	}
	if o.Token == "" {
		o.Token = "tok_visa"
	}
	o.BaseURL = strings.TrimRight(o.BaseURL, "/")
	return o
}

// Summary is what a run measured.
type Summary struct {
	Rate      int           `json:"rate"`
	Duration  time.Duration `json:"duration"`
	Sent      int           `json:"sent"`
	Placed    int           `json:"placed"`
	Confirmed int           `json:"confirmed"`
	Rejected  int           `json:"rejected"`
	// Unfinished were placed but neither confirmed nor rejected by the
	// end of the drain.
	Unfinished int `json:"unfinished"`
	// Errors counts failures by kind: "http 503", "network", "overload",
	// "unfinished", "stream".
	Errors map[string]int `json:"errors"`
	// PlacedPerSecond and ConfirmedPerSecond are over the placing window
	// (confirmations seen during it).
	PlacedPerSecond    float64 `json:"placed_per_second"`
	ConfirmedPerSecond float64 `json:"confirmed_per_second"`
	// Latencies from POST sent to confirmation seen on the stream.
	P50 time.Duration `json:"p50"`
	P90 time.Duration `json:"p90"`
	P99 time.Duration `json:"p99"`
	Max time.Duration `json:"max"`
	// Machine is how busy this machine's CPUs were while orders were
	// placed (the shop's, this load's and anything else's), and how much
	// the hypervisor stole; nil where it cannot be read (not Linux).
	Machine *cpustat.Use `json:"machine,omitempty"`
}

// String renders s for people.
func (s Summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "rate %d orders/s for %v: sent %d, placed %d, confirmed %d, rejected %d, unfinished %d\n",
		s.Rate, s.Duration, s.Sent, s.Placed, s.Confirmed, s.Rejected, s.Unfinished)
	fmt.Fprintf(&b, "throughput: %.0f placed/s, %.0f confirmed/s\n", s.PlacedPerSecond, s.ConfirmedPerSecond)
	fmt.Fprintf(&b, "placed → confirmed: p50 %v, p90 %v, p99 %v, max %v\n",
		s.P50.Round(100*time.Microsecond), s.P90.Round(100*time.Microsecond), s.P99.Round(100*time.Microsecond), s.Max.Round(time.Millisecond))
	if len(s.Errors) == 0 {
		b.WriteString("errors: none\n")
	} else {
		kinds := make([]string, 0, len(s.Errors))
		for k := range s.Errors {
			kinds = append(kinds, k)
		}
		slices.Sort(kinds)
		b.WriteString("errors:")
		for _, k := range kinds {
			fmt.Fprintf(&b, " %s=%d", k, s.Errors[k])
		}
		b.WriteString("\n")
	}
	if s.Machine != nil {
		fmt.Fprintf(&b, "machine CPU while placing: %.0f %% busy, %.0f %% stolen by the hypervisor\n", s.Machine.BusyPercent, s.Machine.StealPercent)
	}
	return b.String()
}

// run is the state of one run.
type run struct {
	o      Options
	client *http.Client

	customers []string
	products  []string

	mu       sync.Mutex
	sentAt   map[string]time.Time // order → POST sent, until it ends
	lat      []time.Duration
	errs     map[string]int
	finished map[string]bool // orders that ended (confirmed: true) before their POST returned

	sent, placed, confirmed, rejected, inFlight atomic.Int64
	confirmedInWindow                           atomic.Int64
	windowOpen                                  atomic.Bool
}

// Run sets the shop up, places orders at o.Rate for o.Duration, waits for
// the stragglers and summarizes. Errors: the set-up's (the shop is down,
// a module is missing), or the context's.
func Run(ctx context.Context, o Options) (Summary, error) {
	o = o.withDefaults()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost, tr.MaxConnsPerHost = o.MaxInFlight, o.MaxInFlight, 0
	r := &run{o: o, client: &http.Client{Transport: tr, Timeout: 60 * time.Second},
		sentAt: map[string]time.Time{}, errs: map[string]int{}, finished: map[string]bool{}}
	if err := r.setUp(ctx); err != nil {
		return Summary{}, fmt.Errorf("set up: %w", err)
	}
	streamCtx, stopStream := context.WithCancel(ctx)
	defer stopStream()
	streaming := make(chan struct{})
	go r.follow(streamCtx, streaming)
	select {
	case <-streaming:
	case <-time.After(10 * time.Second):
		return Summary{}, errors.New("the order stream /api/orders/stream did not answer in 10 s")
	case <-ctx.Done():
		return Summary{}, ctx.Err()
	}

	cpu := cpustat.Take()
	start := time.Now()
	r.windowOpen.Store(true)
	progressDone := r.progress(ctx, start)
	// Each order is placed by an idle worker if there is one, else by a
	// new one: arrivals never wait (open loop), and the workers, reused,
	// keep the stacks they grew (a goroutine an order spent a tenth of
	// the generator's CPU growing stacks, on the machine it shares with
	// the shop).
	var wg sync.WaitGroup
	jobs := make(chan struct{})
	place := func() {
		defer wg.Done()
		defer r.inFlight.Add(-1)
		r.placeOne(ctx)
	}
	worker := func() {
		place()
		for range jobs {
			place()
		}
	}
	interval := time.Second / time.Duration(o.Rate)
	total := int(o.Duration.Seconds() * float64(o.Rate))
	for i := 0; i < total && ctx.Err() == nil; i++ {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		if r.inFlight.Load() >= int64(o.MaxInFlight) {
			r.fail("overload")
			continue
		}
		r.inFlight.Add(1)
		wg.Add(1)
		select {
		case jobs <- struct{}{}:
		default:
			go worker()
		}
	}
	wg.Wait()
	close(jobs)
	window := time.Since(start)
	r.windowOpen.Store(false)
	machine, measured := cpustat.Since(cpu)
	confirmedInWindow := r.confirmedInWindow.Load()

	deadline := time.Now().Add(o.Drain)
	for time.Now().Before(deadline) && r.pending() > 0 && ctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
	}
	stopStream()
	close(progressDone)
	r.settleByPolling(ctx)

	r.mu.Lock()
	defer r.mu.Unlock()
	s := Summary{Rate: o.Rate, Duration: o.Duration, Sent: int(r.sent.Load()), Placed: int(r.placed.Load()),
		Confirmed: int(r.confirmed.Load()), Rejected: int(r.rejected.Load()), Unfinished: len(r.sentAt), Errors: r.errs,
		PlacedPerSecond:    float64(r.placed.Load()) / window.Seconds(),
		ConfirmedPerSecond: float64(confirmedInWindow) / window.Seconds()}
	if measured {
		s.Machine = &machine
	}
	if s.Unfinished > 0 {
		s.Errors["unfinished"] = s.Unfinished
	}
	slices.Sort(r.lat)
	if n := len(r.lat); n > 0 {
		at := func(q float64) time.Duration { return r.lat[min(n-1, int(q*float64(n)))] }
		s.P50, s.P90, s.P99, s.Max = at(0.50), at(0.90), at(0.99), r.lat[n-1]
	}
	return s, ctx.Err()
}

func (r *run) fail(kind string) {
	r.mu.Lock()
	r.errs[kind]++
	r.mu.Unlock()
}

func (r *run) pending() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.sentAt)
}

// order is the body of POST /api/orders.
type order struct {
	CustomerID      string            `json:"customer_id"`
	Lines           []line            `json:"lines"`
	ShippingAddress map[string]string `json:"shipping_address"`
	PaymentToken    string            `json:"payment_token"`
}

type line struct {
	ProductID string `json:"product_id"`
	Quantity  int64  `json:"quantity"`
}

var address = map[string]string{"name": "Load Tester", "street": "1 Rue de la Paix", "city": "Paris", "postal_code": "75002", "country": "FR"}

func (r *run) newOrder() order {
	o := order{CustomerID: r.customers[rand.IntN(len(r.customers))], ShippingAddress: address, PaymentToken: r.o.Token}
	for _, i := range rand.Perm(len(r.products))[:1+rand.IntN(min(3, len(r.products)))] {
		o.Lines = append(o.Lines, line{ProductID: r.products[i], Quantity: 1 + rand.Int64N(3)})
	}
	return o
}

// placeOne posts an order and records when it was sent.
func (r *run) placeOne(ctx context.Context) {
	body, _ := json.Marshal(r.newOrder())
	sent := time.Now()
	r.sent.Add(1)
	var created createdOrder
	status, err := r.post(ctx, "/api/orders", body, &created)
	switch {
	case err != nil:
		r.fail("network")
		return
	case status != http.StatusCreated:
		r.fail(fmt.Sprintf("http %d", status))
		return
	}
	r.placed.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	if ok, ended := r.finished[created.id]; ended { // the stream was faster than the response
		delete(r.finished, created.id)
		if !ok {
			r.rejected.Add(1)
			return
		}
		r.confirmed.Add(1)
		if r.windowOpen.Load() {
			r.confirmedInWindow.Add(1)
		}
		r.lat = append(r.lat, time.Since(sent))
		return
	}
	r.sentAt[created.id] = sent
}

// createdOrder is the ID of an order from the response to its POST.
type createdOrder struct{ id string }

// UnmarshalJSON takes the ID where the shop writes it, first, without
// decoding the whole order (the generator shares the machine with the
// shop); any other shape is decoded.
func (c *createdOrder) UnmarshalJSON(b []byte) error {
	if rest, ok := bytes.CutPrefix(b, []byte(`{"id":"`)); ok {
		if i := bytes.IndexByte(rest, '"'); i > 0 && bytes.IndexByte(rest[:i], '\\') < 0 {
			c.id = string(rest[:i])
			return nil
		}
	}
	var v struct {
		ID string `json:"id"`
	}
	err := json.Unmarshal(b, &v)
	c.id = v.ID
	return err
}

// statusEvent is the data of an event of the order stream.
type statusEvent struct {
	OrderID string `json:"order_id"`
	Status  string `json:"status"`
}

// follow reads the order status stream until ctx ends, reconnecting when
// it drops and resuming after the last event it got (Last-Event-ID), so
// no status is missed; ready is closed once it is connected.
func (r *run) follow(ctx context.Context, ready chan struct{}) {
	var once sync.Once
	var last string
	for ctx.Err() == nil {
		err := r.stream(ctx, &last, func() { once.Do(func() { close(ready) }) })
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			r.fail("stream")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stream reads the order status stream once, from after *last on,
// recording in *last the ID of each event read.
func (r *run) stream(ctx context.Context, last *string, connected func()) error {
	req, err := http.NewRequestWithContext(ctx, "GET", r.o.BaseURL+"/api/orders/stream", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	if *last != "" {
		req.Header.Set("Last-Event-ID", *last)
	}
	resp, err := (&http.Client{Transport: r.client.Transport}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("order stream: %s", resp.Status)
	}
	connected()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var id string // of the event being read; it becomes *last once read
	for sc.Scan() {
		if v, ok := bytes.CutPrefix(sc.Bytes(), []byte("id:")); ok {
			id = string(bytes.TrimSpace(v))
			continue
		}
		data, ok := bytes.CutPrefix(sc.Bytes(), []byte("data:"))
		if !ok {
			continue
		}
		if id != "" {
			*last, id = id, ""
		}
		var e statusEvent
		if json.Unmarshal(bytes.TrimSpace(data), &e) != nil {
			continue
		}
		switch e.Status {
		case "confirmed":
			r.end(e.OrderID, true)
		case "rejected", "cancelled":
			r.end(e.OrderID, false)
		}
	}
	return sc.Err()
}

// end records that an order was confirmed (ok) or rejected.
func (r *run) end(id string, ok bool) {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	sent, known := r.sentAt[id]
	if !known {
		// Its POST has not returned yet, or it is not ours (set-up, or
		// another client), or it ended already: placeOne settles it.
		r.finished[id] = ok
		return
	}
	delete(r.sentAt, id)
	if !ok {
		r.rejected.Add(1)
		return
	}
	r.confirmed.Add(1)
	if r.windowOpen.Load() {
		r.confirmedInWindow.Add(1)
	}
	r.lat = append(r.lat, now.Sub(sent))
}

// settleByPolling asks for the orders the stream did not end (a dropped
// stream loses events): those confirmed or rejected count, without a
// latency; the others stay unfinished.
func (r *run) settleByPolling(ctx context.Context) {
	r.mu.Lock()
	ids := make([]string, 0, len(r.sentAt))
	for id := range r.sentAt {
		ids = append(ids, id)
	}
	r.mu.Unlock()
	for _, id := range ids {
		var o struct {
			Status string `json:"status"`
		}
		if status, err := r.get(ctx, "/api/orders/"+id, &o); err != nil || status != http.StatusOK {
			continue
		}
		r.mu.Lock()
		switch o.Status {
		case "confirmed", "shipped", "delivered":
			delete(r.sentAt, id)
			r.confirmed.Add(1)
		case "rejected", "cancelled":
			delete(r.sentAt, id)
			r.rejected.Add(1)
		}
		r.mu.Unlock()
	}
}

// progress writes a line per second until the returned channel closes.
func (r *run) progress(ctx context.Context, start time.Time) chan struct{} {
	done := make(chan struct{})
	if r.o.Progress == nil {
		return done
	}
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		var lastConfirmed int64
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				c := r.confirmed.Load()
				r.mu.Lock()
				errs := 0
				for _, n := range r.errs {
					errs += n
				}
				pending := len(r.sentAt)
				r.mu.Unlock()
				fmt.Fprintf(r.o.Progress, "%5.0fs  sent %7d  placed %7d  confirmed %7d (%5d/s)  rejected %5d  pending %5d  errors %d\n",
					time.Since(start).Seconds(), r.sent.Load(), r.placed.Load(), c, c-lastConfirmed, r.rejected.Load(), pending, errs)
				lastConfirmed = c
			}
		}
	}()
	return done
}

// post sends a JSON POST (with an Idempotency-Key when asked) and decodes
// the response into out; it returns the status.
func (r *run) post(ctx context.Context, path string, body []byte, out any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", r.o.BaseURL+path, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if r.o.Idempotency {
		req.Header.Set("Idempotency-Key", uuid.NewString())
	}
	return r.do(req, out)
}

func (r *run) get(ctx context.Context, path string, out any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", r.o.BaseURL+path, nil)
	if err != nil {
		return 0, err
	}
	return r.do(req, out)
}

func (r *run) do(req *http.Request, out any) (int, error) {
	resp, err := r.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if out != nil && resp.StatusCode < 300 {
		decode := json.Unmarshal
		if u, ok := out.(json.Unmarshaler); ok {
			// Straight to its own decoding: json.Unmarshal would first
			// scan the whole body to check it.
			decode = func(b []byte, _ any) error { return u.UnmarshalJSON(b) }
		}
		if err := decode(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
		}
	}
	return resp.StatusCode, nil
}
