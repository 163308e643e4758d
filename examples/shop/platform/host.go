package platform

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/inbox"
	"github.com/eventual-go/eventual/outbox"
	"github.com/eventual-go/eventual/projection"
	"github.com/eventual-go/eventual/store/postgres"
	"github.com/eventual-go/eventual/store/sqlite"
	"github.com/eventual-go/eventual/transport"
	"github.com/eventual-go/eventual/transport/inproc"
	"github.com/eventual-go/eventual/transport/natsjs"
)

// Store is what a module keeps its data in: an event store that takes
// the module's own rows in its transactions (SQLite or PostgreSQL).
type Store interface {
	eventual.TxStore
	eventual.Querier
	eventual.Migrator
	eventual.Notifier
	eventual.SnapshotStore
}

// Module is a bounded context of the shop. The same module runs in the
// monolith and as a service; only the host around it differs.
type Module interface {
	// Name is the module's name: its data's file or schema, its tag in
	// the API.
	Name() string
	// Start registers the module's routes, subscriptions, projections and
	// background work with s. It must not block; background work goes
	// through s.Go. ctx lasts as long as the module runs (until the
	// graceful shutdown has flushed the outboxes): subscribe with it.
	Start(ctx context.Context, s *Services) error
}

// Services is what the host gives a module.
type Services struct {
	// Module is the module's name.
	Module string
	// Store is the module's own database: nothing else reads or writes it.
	Store Store
	// Outbox sends the module's messages with its transactions; the host
	// relays it to the transport.
	Outbox *outbox.Outbox
	// Inbox makes the module's message handlers effectively once.
	Inbox *inbox.Inbox
	// Transport connects the modules (in-process, or NATS JetStream).
	Transport transport.Transport
	// Projections runs the module's read models; add them in Start, the
	// host starts the runner.
	Projections *projection.Runner
	// Router takes the module's HTTP endpoints.
	Router *Router
	// Metrics takes the module's metrics.
	Metrics prometheus.Registerer
	// Log is the module's logger.
	Log *slog.Logger

	host *Host
}

// Go runs fn in the background until the host stops. An error other than
// the context's stops the host: background work that dies must not go
// unnoticed.
func (s *Services) Go(name string, fn func(ctx context.Context) error) {
	s.host.goWorker(s.Module+"/"+name, fn)
}

// OnStop registers fn to run when the host stops, after the HTTP server
// and before the stores close; hooks run last registered first.
func (s *Services) OnStop(fn func(ctx context.Context) error) {
	s.host.mu.Lock()
	defer s.host.mu.Unlock()
	s.host.stops = append(s.host.stops, fn)
}

// Host runs modules in one process: their stores, the transport between
// them, the HTTP API, their background work; and stops them gracefully.
type Host struct {
	cfg     Config
	modules []Module
	log     *slog.Logger

	mu       sync.Mutex
	addr     string
	ready    chan struct{}
	isReady  atomic.Bool
	workers  sync.WaitGroup
	workCtx  context.Context
	fail     chan error
	stops    []func(ctx context.Context) error
	outboxes []moduleOutbox
	closers  []func() error
	closeTr  func() error
	services map[string]*Services
}

// NewHost returns a host of the modules named in cfg.Modules (all when
// empty).
func NewHost(cfg Config, log *slog.Logger, modules ...Module) (*Host, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	var chosen []Module
	for _, m := range modules {
		if len(cfg.Modules) == 0 || slices.Contains(cfg.Modules, m.Name()) {
			chosen = append(chosen, m)
		}
	}
	for _, name := range cfg.Modules {
		if !slices.ContainsFunc(modules, func(m Module) bool { return m.Name() == name }) {
			return nil, fmt.Errorf("%w: no module %q", ErrInvalidConfig, name)
		}
	}
	return &Host{cfg: cfg, modules: chosen, log: log, ready: make(chan struct{}), fail: make(chan error, 1),
		services: map[string]*Services{}}, nil
}

// Ready is closed once the host serves requests.
func (h *Host) Ready() <-chan struct{} { return h.ready }

// Addr is the address the API listens on, once Ready.
func (h *Host) Addr() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.addr
}

// Services returns the services given to a module (for tests and tools),
// once Ready; nil for a module that does not run.
func (h *Host) Services(module string) *Services {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.services[module]
}

func (h *Host) goWorker(name string, fn func(ctx context.Context) error) {
	h.workers.Add(1)
	go func() {
		defer h.workers.Done()
		err := fn(h.workCtx)
		if err != nil && h.workCtx.Err() == nil {
			err = fmt.Errorf("%s: %w", name, err)
			h.log.Error("background work failed; stopping", "worker", name, "err", err)
			select {
			case h.fail <- err:
			default:
			}
		}
	}()
}

// Run starts every module and serves the API until ctx ends (or
// background work fails), then stops gracefully: it stops taking
// requests, lets those in flight finish, flushes the outboxes, stops the
// background work and closes the stores. Errors: the start-up's, or the
// failure that stopped it.
func (h *Host) Run(ctx context.Context) (err error) {
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	h.workCtx = workCtx
	defer func() {
		stopWork()
		h.workers.Wait()
		err = errors.Join(err, h.closeAll())
	}()

	tr, err := h.openTransport()
	if err != nil {
		return err
	}
	metrics := NewMetrics()
	platformStore, err := h.openStore(ctx, "platform")
	if err != nil {
		return err
	}
	// With the in-process transport, no other process can serve this
	// data: the monolith.
	idem, err := NewIdempotency(ctx, platformStore, h.cfg.NATSURL == "", h.log)
	if err != nil {
		return err
	}
	router := NewRouter(h.log, idem.Middleware)
	var runners []*projection.Runner
	for _, m := range h.modules {
		var s *Services
		// Goroutines inherit profiler labels: a CPU profile (--pprof)
		// tells the modules' work apart by its "module" label.
		pprof.Do(workCtx, pprof.Labels("module", m.Name()), func(ctx context.Context) {
			s, err = h.startModule(ctx, m, tr, router, metrics)
		})
		if err != nil {
			return fmt.Errorf("module %s: %w", m.Name(), err)
		}
		runners = append(runners, s.Projections)
	}
	for _, r := range runners {
		if err := r.Start(ctx); err != nil {
			return err
		}
		h.closers = append(h.closers, r.Close)
	}
	for _, ob := range h.outboxes {
		pprof.Do(workCtx, pprof.Labels("module", ob.module), func(context.Context) {
			h.goWorker(ob.module+"/outbox relay", func(ctx context.Context) error { return ob.Relay(ctx, tr) })
		})
	}
	h.goWorker("idempotency cleanup", func(ctx context.Context) error {
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(time.Hour):
				if _, err := idem.Cleanup(ctx); err != nil {
					h.log.Warn("idempotency cleanup", "err", err)
				}
			}
		}
	})

	srv, ln, err := h.serve(router, metrics)
	if err != nil {
		return err
	}
	h.log.Info("shop serving", "addr", ln.Addr().String(), "modules", len(h.modules), "data", h.where())
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-h.fail:
	}
	return errors.Join(runErr, h.shutdown(srv))
}

func (h *Host) where() string {
	if h.cfg.PostgresDSN != "" {
		return "PostgreSQL"
	}
	return h.cfg.DataDir
}

// startModule gives a module its services and starts it.
func (h *Host) startModule(ctx context.Context, m Module, tr transport.Transport, router *Router, metrics *Metrics) (*Services, error) {
	log := h.log.With("module", m.Name())
	st, err := h.openStore(ctx, m.Name())
	if err != nil {
		return nil, err
	}
	// Sent rows go at once: the marking is the deletion, and the tables
	// stay small under load.
	ob, err := outbox.New(ctx, st, outbox.WithLogger(log), outbox.WithRetention(0))
	if err != nil {
		return nil, err
	}
	in, err := inbox.New(ctx, st, inbox.WithLogger(log))
	if err != nil {
		return nil, err
	}
	runner, err := projection.NewRunner(st, projection.WithLogger(log))
	if err != nil {
		return nil, err
	}
	s := &Services{Module: m.Name(), Store: st, Outbox: ob, Inbox: in, Transport: tr, Projections: runner,
		Router: router, Metrics: prometheus.WrapRegistererWith(prometheus.Labels{"module": m.Name()}, metrics.Registry),
		Log: log, host: h}
	registerToolkitMetrics(s)
	if err := m.Start(ctx, s); err != nil {
		return nil, err
	}
	h.mu.Lock()
	h.outboxes = append(h.outboxes, moduleOutbox{m.Name(), ob})
	h.services[m.Name()] = s
	h.mu.Unlock()
	h.goWorker(m.Name()+"/inbox cleanup", in.Run)
	return s, nil
}

// moduleOutbox is a module's outbox, named for logs and profiles.
type moduleOutbox struct {
	module string
	*outbox.Outbox
}

// openStore opens the data of one module: data/<name>.db, or the schema
// shop_<name>.
func (h *Host) openStore(ctx context.Context, name string) (Store, error) {
	var st Store
	var err error
	if h.cfg.PostgresDSN != "" {
		st, err = postgres.Open(ctx, h.cfg.PostgresDSN, postgres.WithSchema("shop_"+name))
	} else {
		if err := os.MkdirAll(h.cfg.DataDir, 0o755); err != nil {
			return nil, fmt.Errorf("data directory: %w", err)
		}
		sync := sqlite.SyncFull
		if h.cfg.Sync == "normal" {
			sync = sqlite.SyncNormal
		}
		st, err = sqlite.Open(ctx, filepath.Join(h.cfg.DataDir, name+".db"), sqlite.WithSynchronous(sync))
	}
	if err != nil {
		return nil, fmt.Errorf("open the %s store: %w", name, err)
	}
	h.closers = append(h.closers, st.Close)
	return st, nil
}

// openTransport connects to NATS JetStream if configured, else makes the
// in-process transport.
func (h *Host) openTransport() (transport.Transport, error) {
	if h.cfg.NATSURL == "" {
		tr, err := inproc.New(inproc.WithLogger(h.log))
		if err != nil {
			return nil, err
		}
		h.closeTr = tr.Close
		return tr, nil
	}
	nc, err := natsjs.Connect(h.cfg.NATSURL)
	if err != nil {
		return nil, err
	}
	tr, err := natsjs.New(nc, natsjs.WithLogger(h.log), natsjs.WithStreamPrefix("SHOP_"))
	if err != nil {
		nc.Close()
		return nil, err
	}
	h.closeTr = func() error { err := tr.Close(); nc.Close(); return err }
	return tr, nil
}

// serve starts the HTTP server.
func (h *Host) serve(router *Router, metrics *Metrics) (*http.Server, net.Listener, error) {
	doc, err := router.OpenAPI()
	if err != nil {
		return nil, nil, fmt.Errorf("OpenAPI document: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/api/", metrics.Middleware(router))
	mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(doc)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if !h.isReady.Load() {
			WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready"})
			return
		}
		WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	mux.Handle("GET /metrics", metrics.Handler())
	ln, err := net.Listen("tcp", h.cfg.HTTPAddr)
	if err != nil {
		return nil, nil, fmt.Errorf("listen on %s: %w", h.cfg.HTTPAddr, err)
	}
	srv := &http.Server{Handler: recoverer(h.log, mux), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			select {
			case h.fail <- fmt.Errorf("HTTP server: %w", err):
			default:
			}
		}
	}()
	h.mu.Lock()
	h.addr = ln.Addr().String()
	h.mu.Unlock()
	h.isReady.Store(true)
	close(h.ready)
	return srv, ln, nil
}

// shutdown stops taking requests, waits for those in flight, flushes the
// outboxes and runs the stop hooks.
func (h *Host) shutdown(srv *http.Server) error {
	h.isReady.Store(false)
	h.log.Info("shop stopping")
	ctx, cancel := context.WithTimeout(context.Background(), h.cfg.ShutdownTimeout)
	defer cancel()
	var errs []error
	if err := srv.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("HTTP shutdown: %w", err))
	}
	// Let the relays send what the last requests wrote.
	for _, mo := range h.outboxes {
		ob := mo.Outbox
		for {
			st, err := ob.Stats(ctx)
			if err != nil || st.Backlog == 0 || ctx.Err() != nil {
				if st.Backlog > 0 {
					h.log.Warn("outbox not flushed before the shutdown timeout; it is sent at the next start", "backlog", st.Backlog)
				}
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	h.mu.Lock()
	stops := slices.Clone(h.stops)
	h.mu.Unlock()
	for i := len(stops) - 1; i >= 0; i-- {
		if err := stops[i](ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// closeAll closes what the host opened: the transport first (no handler
// runs after), then the rest, last opened first.
func (h *Host) closeAll() error {
	var errs []error
	if h.closeTr != nil {
		errs = append(errs, h.closeTr())
		h.closeTr = nil
	}
	for i := len(h.closers) - 1; i >= 0; i-- {
		if err := h.closers[i](); err != nil {
			errs = append(errs, err)
		}
	}
	h.closers = nil
	return errors.Join(errs...)
}

// recoverer turns a panic in a handler into a 500.
func recoverer(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				WriteError(w, r, log, fmt.Errorf("panic: %v", p))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// registerToolkitMetrics exposes the module's outbox backlog and
// projection lags.
func registerToolkitMetrics(s *Services) {
	stat := func() (float64, float64) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		st, err := s.Outbox.Stats(ctx)
		if err != nil {
			return -1, -1
		}
		return float64(st.Backlog), st.OldestUnsent.Seconds()
	}
	s.Metrics.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "shop_outbox_backlog", Help: "Outbox messages not yet sent."},
			func() float64 { n, _ := stat(); return n }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "shop_outbox_oldest_seconds", Help: "Age of the oldest unsent outbox message."},
			func() float64 { _, a := stat(); return a }),
		&projectionCollector{runner: s.Projections},
	)
}

// projectionCollector reports each projection's lag.
type projectionCollector struct{ runner *projection.Runner }

var (
	lagEventsDesc  = prometheus.NewDesc("shop_projection_lag_events", "Events a projection is behind the log.", []string{"projection"}, nil)
	lagSecondsDesc = prometheus.NewDesc("shop_projection_lag_seconds", "Age of the oldest event a projection has yet to handle.", []string{"projection"}, nil)
	failedDesc     = prometheus.NewDesc("shop_projection_failed", "1 when a projection is stopped by a failing event.", []string{"projection"}, nil)
)

func (c *projectionCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- lagEventsDesc
	ch <- lagSecondsDesc
	ch <- failedDesc
}

func (c *projectionCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	statuses, err := c.runner.Status(ctx)
	if err != nil {
		return
	}
	for _, s := range statuses {
		failed := 0.0
		if s.State == projection.StateFailed {
			failed = 1
		}
		ch <- prometheus.MustNewConstMetric(lagEventsDesc, prometheus.GaugeValue, float64(s.LagEvents), s.Name)
		ch <- prometheus.MustNewConstMetric(lagSecondsDesc, prometheus.GaugeValue, s.Lag.Seconds(), s.Name)
		ch <- prometheus.MustNewConstMetric(failedDesc, prometheus.GaugeValue, failed, s.Name)
	}
}
