package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/eventual-go/eventual/examples/shop/internal/loadgen"
	"github.com/eventual-go/eventual/internal/cpuprofile"
)

func newLoadCmd() *cobra.Command {
	var o loadgen.Options
	var jsonOut, cpuProfile string
	cmd := &cobra.Command{
		Use:   "load",
		Short: "Place orders on a running shop at a fixed rate and time them to confirmation",
		Long: `load sets up customers, a store, products and stock on a running shop, then
places orders at --rate per second for --duration (open loop), following the
order status stream to time each order from its POST to its confirmation.
It prints a line per second and a summary: orders/s placed and confirmed,
p50/p90/p99 placed → confirmed, errors by kind.

Start the shop first (go run ./examples/shop/cmd/shop), then:
  go run ./examples/shop/cmd/shop load --rate 500 --duration 60s`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			if err := checkLoadFlags(o); err != nil {
				return err
			}
			o.Progress = cmd.OutOrStdout()
			if cpuProfile != "" {
				stop, perr := cpuprofile.Start(cpuProfile)
				if perr != nil {
					return perr
				}
				defer func() { err = errors.Join(err, stop()) }()
			}
			s, err := loadgen.Run(cmd.Context(), o)
			if err != nil && s.Sent == 0 {
				return err
			}
			fmt.Fprint(cmd.OutOrStdout(), "\n"+s.String())
			if jsonOut != "" {
				b, _ := json.MarshalIndent(s, "", "  ")
				if werr := os.WriteFile(jsonOut, b, 0o644); werr != nil {
					return werr
				}
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.BaseURL, "url", "http://127.0.0.1:8080", "the shop's base URL")
	f.IntVar(&o.Rate, "rate", 100, "orders placed per second")
	f.DurationVar(&o.Duration, "duration", 10*time.Second, "how long to place orders")
	f.DurationVar(&o.Drain, "drain", 30*time.Second, "how long to wait afterwards for orders in flight")
	f.IntVar(&o.Customers, "customers", 100, "customers to register")
	f.IntVar(&o.Products, "products", 50, "products to add (with plenty of stock)")
	f.IntVar(&o.MaxInFlight, "max-in-flight", 4096, "most POSTs awaiting a response; beyond, orders are not sent (error \"overload\")")
	f.StringVar(&o.Token, "token", "tok_visa", "payment token (tok_decline declines every order)")
	f.BoolVar(&o.Idempotency, "idempotency", true, "send an Idempotency-Key with every POST")
	f.StringVar(&jsonOut, "json", "", "also write the summary as JSON to this file")
	f.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the load generator to this file (read it with go tool pprof): it shares the machine with the shop")
	return cmd
}

// maxLoadRate is the most orders a second load accepts: far beyond what
// one shop serves, and a send interval still well above a nanosecond.
const maxLoadRate = 1_000_000

// checkLoadFlags refuses values the generator would otherwise replace
// with its defaults or misread: a run must not quietly do something else
// than the command line says.
func checkLoadFlags(o loadgen.Options) error {
	var errs []error
	bad := func(flag string, v any, want string) {
		errs = append(errs, fmt.Errorf("--%s %v: want %s", flag, v, want))
	}
	if o.Rate <= 0 || o.Rate > maxLoadRate {
		bad("rate", o.Rate, fmt.Sprintf("1 to %d orders a second", maxLoadRate))
	}
	if o.Duration <= 0 {
		bad("duration", o.Duration, "a positive duration, like 30s")
	}
	if o.Drain <= 0 {
		bad("drain", o.Drain, "a positive duration")
	}
	if o.Customers <= 0 {
		bad("customers", o.Customers, "at least 1")
	}
	if o.Products <= 0 {
		bad("products", o.Products, "at least 1")
	}
	if o.MaxInFlight <= 0 {
		bad("max-in-flight", o.MaxInFlight, "at least 1")
	}
	if o.Token == "" {
		bad("token", `""`, "a payment token, like tok_visa")
	}
	if u, err := url.Parse(o.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("url", fmt.Sprintf("%q", o.BaseURL), "an http:// or https:// URL, like http://127.0.0.1:8080")
	}
	return errors.Join(errs...)
}
