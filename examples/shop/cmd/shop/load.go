package main

import (
	"encoding/json"
	"errors"
	"fmt"
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
