package main

import (
	"fmt"
	"log/slog"
	"net/http"
	_ "net/http/pprof" // served only with --pprof, on its own address
	"os"
	"runtime/debug"
	"time"

	"github.com/spf13/cobra"

	"github.com/eventual-go/eventual/examples/shop/catalog"
	"github.com/eventual-go/eventual/examples/shop/customers"
	"github.com/eventual-go/eventual/examples/shop/fulfillment"
	"github.com/eventual-go/eventual/examples/shop/inventory"
	"github.com/eventual-go/eventual/examples/shop/notifications"
	"github.com/eventual-go/eventual/examples/shop/ordering"
	"github.com/eventual-go/eventual/examples/shop/payments"
	"github.com/eventual-go/eventual/examples/shop/platform"
	"github.com/eventual-go/eventual/examples/shop/reporting"
	"github.com/eventual-go/eventual/examples/shop/shipping"
)

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "shop",
		Short: "The Eventual reference shop: order fulfillment with event sourcing, CQRS and sagas",
		Long: `shop runs the reference platform. Without a command it serves: every module
in one process, on SQLite files under ./data and the in-process transport,
the HTTP API on :8080 (OpenAPI at /openapi.json, /healthz, /readyz, /metrics).

Environment: SHOP_DATA_DIR, SHOP_SQLITE_SYNC (full or normal), SHOP_HTTP_ADDR,
SHOP_POSTGRES_DSN, SHOP_NATS_URL, SHOP_MODULES (comma-separated),
SHOP_LOG_LEVEL, SHOP_SHUTDOWN_TIMEOUT, SHOP_MAX_PENDING_ORDERS (past it,
placing an order answers 503; default 1000, negative: no bound),
SHOP_SAGA_STEP_TIMEOUT, SHOP_SAGA_ATTEMPTS, SHOP_SAGA_BACKOFF; flags win.
The server runs Go's garbage collector at GOGC=400 with a 1 GiB soft memory
limit unless GOGC or GOMEMLIMIT say otherwise.`,
		SilenceUsage: true,
	}
	serve := newServeCmd()
	root.RunE = serve.RunE
	root.Flags().AddFlagSet(serve.Flags())
	root.AddCommand(serve, newLoadCmd())
	return root
}

func newServeCmd() *cobra.Command {
	var addr, data, pprofAddr, sync string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the shop's API with its modules (the default command)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := platform.ConfigFromEnv()
			if err != nil {
				return err
			}
			if addr != "" {
				cfg.HTTPAddr = addr
			}
			if data != "" {
				cfg.DataDir = data
			}
			if sync != "" {
				cfg.Sync = sync
				if err := cfg.Validate(); err != nil {
					return err
				}
			}
			fm, err := fulfillmentFromEnv()
			if err != nil {
				return err
			}
			var level slog.Level
			if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
				return err
			}
			log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
			if percent, limit, set := serverGC(); set {
				log.Debug("garbage collector", "GOGC", percent, "GOMEMLIMIT", limit)
			}
			if pprofAddr != "" {
				// The profiler on its own listener, never on the API's.
				go func() {
					log.Info("profiler serving", "addr", pprofAddr)
					if err := http.ListenAndServe(pprofAddr, nil); err != nil {
						log.Error("profiler", "err", err)
					}
				}()
			}
			om, err := orderingFromEnv()
			if err != nil {
				return err
			}
			h, err := platform.NewHost(cfg, log, modules(om, fm)...)
			if err != nil {
				return err
			}
			return h.Run(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "", "HTTP address (default SHOP_HTTP_ADDR or :8080)")
	cmd.Flags().StringVar(&pprofAddr, "pprof", "", "serve Go's profiler (net/http/pprof) on this address, like 127.0.0.1:6060")
	cmd.Flags().StringVar(&data, "data", "", "data directory of the SQLite files (default SHOP_DATA_DIR or ./data)")
	cmd.Flags().StringVar(&sync, "sync", "", "SQLite commits: full (flushed to disk, survive a power cut) or normal (survive a crash of the process, not of the machine; much faster) (default SHOP_SQLITE_SYNC or full)")
	return cmd
}

// modules are every module of the shop, in start order.
func modules(o ordering.Module, f fulfillment.Module) []platform.Module {
	return []platform.Module{
		customers.Module{},
		catalog.Module{},
		inventory.Module{},
		o,
		payments.Module{},
		shipping.Module{},
		notifications.Module{},
		reporting.Module{},
		f,
	}
}

// orderingFromEnv reads the bound of orders being fulfilled from
// SHOP_MAX_PENDING_ORDERS (a number; 0 or unset: the default; negative:
// none).
func orderingFromEnv() (ordering.Module, error) {
	var m ordering.Module
	if v := os.Getenv("SHOP_MAX_PENDING_ORDERS"); v != "" {
		if _, err := fmt.Sscan(v, &m.MaxPending); err != nil {
			return m, fmt.Errorf("%w: SHOP_MAX_PENDING_ORDERS=%q: want a number", platform.ErrInvalidConfig, v)
		}
	}
	return m, nil
}

// fulfillmentFromEnv reads the saga timing from SHOP_SAGA_*.
func fulfillmentFromEnv() (fulfillment.Module, error) {
	var m fulfillment.Module
	for name, d := range map[string]*time.Duration{"SHOP_SAGA_STEP_TIMEOUT": &m.StepTimeout, "SHOP_SAGA_BACKOFF": &m.Backoff} {
		if v := os.Getenv(name); v != "" {
			x, err := time.ParseDuration(v)
			if err != nil || x <= 0 {
				return m, fmt.Errorf("%w: %s=%q: want a positive duration", platform.ErrInvalidConfig, name, v)
			}
			*d = x
		}
	}
	if v := os.Getenv("SHOP_SAGA_ATTEMPTS"); v != "" {
		var n int
		if _, err := fmt.Sscan(v, &n); err != nil || n <= 0 {
			return m, fmt.Errorf("%w: SHOP_SAGA_ATTEMPTS=%q: want a positive number", platform.ErrInvalidConfig, v)
		}
		m.Attempts = n
	}
	return m, nil
}

// The shop server's garbage collector, unless the environment sets GOGC or
// GOMEMLIMIT. The live heap is small (tens of MB at a few hundred orders a
// second) and the shop allocates about half a megabyte an order:
// collecting at 5× the live heap instead of 2× gave about 5 % more
// confirmed orders a second at capacity (ADR 0013), for a resident size of
// about 600 MB instead of 300 MB when overloaded. The soft limit makes the
// collector work harder before the heap passes 1 GiB.
const (
	serverGCPercent  = 400
	serverSoftMemory = 1 << 30
)

// serverGC applies the server's GC settings that the environment leaves
// unset, and reports them.
func serverGC() (percent int, limit int64, set bool) {
	percent, limit = -1, -1
	if _, ok := os.LookupEnv("GOGC"); !ok {
		debug.SetGCPercent(serverGCPercent)
		percent, set = serverGCPercent, true
	}
	if _, ok := os.LookupEnv("GOMEMLIMIT"); !ok {
		debug.SetMemoryLimit(serverSoftMemory)
		limit, set = serverSoftMemory, true
	}
	return percent, limit, set
}
