// Command bank is the event-sourced bank of the examples: accounts with
// overdraft, daily limits, a fraud rule, interest, fees, suspension and
// closing; balances at any past time; statements and an audit trail, all
// from the events.
//
//	go run ./examples/bank open acc-1 --holder "Ada Lovelace" --deposit 100 --currency EUR
//	go run ./examples/bank withdraw acc-1 30 --ref rent
//	go run ./examples/bank balance acc-1 --at 2026-11-21T10:00:00Z
//	go run ./examples/bank statement acc-1 --from 2026-11-01
//	go run ./examples/bank audit acc-1
//	go run ./examples/bank demo
//
// Data lives in ./data/bank.db (SQLite) unless --db or --postgres says
// otherwise.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/examples/bank/internal/account"
	"github.com/eventual-go/eventual/examples/bank/internal/ledger"
	"github.com/eventual-go/eventual/store/postgres"
	"github.com/eventual-go/eventual/store/sqlite"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bank:", err)
		os.Exit(1)
	}
}

// run runs the command line args, writing to out.
func run(ctx context.Context, args []string, out io.Writer) error {
	var (
		dbPath, pgDSN, user string
		asJSON              bool
		svc                 *ledger.Service
		closeStore          func() error
	)
	root := &cobra.Command{
		Use:           "bank",
		Short:         "An event-sourced bank: accounts, balances at any time, statements, audit",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			var store eventual.Store
			var err error
			if pgDSN != "" {
				store, err = postgres.Open(cmd.Context(), pgDSN, postgres.WithSchema("bank"))
			} else {
				store, err = sqlite.Open(cmd.Context(), dbPath)
			}
			if err != nil {
				return err
			}
			if svc, err = ledger.New(store); err != nil {
				store.Close()
				return err
			}
			closeStore = store.Close
			return nil
		},
	}
	root.SetArgs(args)
	root.SetOut(out)
	root.SetErr(out)
	root.PersistentFlags().StringVar(&dbPath, "db", "data/bank.db", "SQLite file of the bank")
	root.PersistentFlags().StringVar(&pgDSN, "postgres", "", "PostgreSQL DSN (schema bank) instead of SQLite")
	root.PersistentFlags().StringVar(&user, "user", "cli", "who acts, recorded with every event")
	root.PersistentFlags().BoolVar(&asJSON, "json", false, "print results as JSON")
	defer func() {
		if svc != nil {
			svc.Close()
		}
		if closeStore != nil {
			closeStore()
		}
	}()

	// ctxOf carries who acts into the events' metadata.
	ctxOf := func(cmd *cobra.Command) context.Context {
		return eventual.ContextWithMetadata(cmd.Context(), eventual.Metadata{UserID: user})
	}
	print := func(v any, human func(w io.Writer)) error {
		if asJSON {
			enc := json.NewEncoder(out)
			enc.SetIndent("", "  ")
			return enc.Encode(v)
		}
		human(out)
		return nil
	}
	printSummary := func(s ledger.Summary) error {
		return print(s, func(w io.Writer) {
			fmt.Fprintf(w, "%s  %s  balance %s  %s  (version %d)\n", s.ID, s.Holder, s.Balance, s.Status, s.Version)
		})
	}
	// change builds a command that changes an account.
	change := func(use, short string, nargs int, do func(cmd *cobra.Command, args []string) (ledger.Summary, error)) *cobra.Command {
		return &cobra.Command{Use: use, Short: short, Args: cobra.ExactArgs(nargs), RunE: func(cmd *cobra.Command, args []string) error {
			s, err := do(cmd, args)
			if err != nil {
				return err
			}
			return printSummary(s)
		}}
	}

	var holder, deposit, currency, overdraft, dailyLimit string
	var fraudLimit int
	open := change("open ID", "Open an account with an opening deposit", 1, func(cmd *cobra.Command, args []string) (ledger.Summary, error) {
		terms := account.DefaultTerms(currency)
		for flag, dst := range map[string]*int64{"overdraft": &terms.OverdraftLimit, "daily-limit": &terms.DailyWithdrawalLimit} {
			if v, _ := cmd.Flags().GetString(flag); v != "" {
				m, err := account.ParseMoney(v, currency)
				if err != nil {
					return ledger.Summary{}, fmt.Errorf("--%s: %w", flag, err)
				}
				*dst = m.Minor
			}
		}
		if cmd.Flags().Changed("fraud-limit") {
			terms.MaxWithdrawalsPerMinute = fraudLimit
		}
		return svc.Open(ctxOf(cmd), args[0], holder, deposit, currency, &terms)
	})
	open.Flags().StringVar(&holder, "holder", "", "account holder (required)")
	open.Flags().StringVar(&deposit, "deposit", "", "opening deposit, e.g. 100.00 (required)")
	open.Flags().StringVar(&currency, "currency", "EUR", "ISO 4217 currency")
	open.Flags().StringVar(&overdraft, "overdraft", "", "overdraft limit (default: none)")
	open.Flags().StringVar(&dailyLimit, "daily-limit", "", "daily withdrawal limit (default: 1000)")
	open.Flags().IntVar(&fraudLimit, "fraud-limit", 5, "withdrawals a minute allowed before the account is suspended (0: no rule)")
	_ = open.MarkFlagRequired("holder")
	_ = open.MarkFlagRequired("deposit")

	var ref string
	deposit2 := change("deposit ID AMOUNT", "Deposit money", 2, func(cmd *cobra.Command, a []string) (ledger.Summary, error) {
		return svc.Deposit(ctxOf(cmd), a[0], a[1], ref)
	})
	deposit2.Flags().StringVar(&ref, "ref", "", "reference")
	withdraw := change("withdraw ID AMOUNT", "Withdraw money", 2, func(cmd *cobra.Command, a []string) (ledger.Summary, error) {
		return svc.Withdraw(ctxOf(cmd), a[0], a[1], ref)
	})
	withdraw.Flags().StringVar(&ref, "ref", "", "reference")
	interest := change("interest ID BASIS_POINTS", "Pay interest (125 = 1.25 %) on a positive balance", 2, func(cmd *cobra.Command, a []string) (ledger.Summary, error) {
		bp, err := strconv.ParseInt(a[1], 10, 64)
		if err != nil {
			return ledger.Summary{}, fmt.Errorf("basis points %q: %w", a[1], err)
		}
		return svc.ApplyInterest(ctxOf(cmd), a[0], bp)
	})
	fee := change("fee ID AMOUNT REASON", "Charge a fee", 3, func(cmd *cobra.Command, a []string) (ledger.Summary, error) {
		return svc.ChargeFee(ctxOf(cmd), a[0], a[1], a[2])
	})
	suspend := change("suspend ID REASON", "Suspend an account", 2, func(cmd *cobra.Command, a []string) (ledger.Summary, error) {
		return svc.Suspend(ctxOf(cmd), a[0], a[1])
	})
	reactivate := change("reactivate ID", "Lift a suspension", 1, func(cmd *cobra.Command, a []string) (ledger.Summary, error) {
		return svc.Reactivate(ctxOf(cmd), a[0])
	})
	closeCmd := change("close ID", "Close an account (at a zero balance)", 1, func(cmd *cobra.Command, a []string) (ledger.Summary, error) {
		return svc.CloseAccount(ctxOf(cmd), a[0])
	})

	var atFlag string
	var versionFlag uint64
	balance := change("balance ID", "Show the balance, now or as of --at TIME or --version N", 1, func(cmd *cobra.Command, a []string) (ledger.Summary, error) {
		switch {
		case atFlag != "":
			t, err := parseTime(atFlag)
			if err != nil {
				return ledger.Summary{}, err
			}
			return svc.BalanceAt(cmd.Context(), a[0], t)
		case versionFlag > 0:
			return svc.BalanceAtVersion(cmd.Context(), a[0], versionFlag)
		}
		return svc.Balance(cmd.Context(), a[0])
	})
	balance.Flags().StringVar(&atFlag, "at", "", "as of this time (RFC 3339, or YYYY-MM-DD for its start, UTC)")
	balance.Flags().Uint64Var(&versionFlag, "version", 0, "as of this version of the account's stream")

	var fromFlag, toFlag string
	statement := &cobra.Command{Use: "statement ID", Short: "Show the account's movements over a period", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			var from, to time.Time
			var err error
			if fromFlag != "" {
				if from, err = parseTime(fromFlag); err != nil {
					return err
				}
			}
			if toFlag != "" {
				if to, err = parseTime(toFlag); err != nil {
					return err
				}
			}
			st, err := svc.Statement(cmd.Context(), a[0], from, to)
			if err != nil {
				return err
			}
			return print(st, func(w io.Writer) { printStatement(w, st) })
		}}
	statement.Flags().StringVar(&fromFlag, "from", "", "period start (RFC 3339 or YYYY-MM-DD; default: the opening)")
	statement.Flags().StringVar(&toFlag, "to", "", "period end, excluded (default: now)")

	audit := &cobra.Command{Use: "audit ID", Short: "Show every stored event of an account, with who and what caused it", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			entries, err := svc.Audit(cmd.Context(), a[0])
			if err != nil {
				return err
			}
			return print(entries, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "VERSION\tRECORDED\tTYPE\tUSER\tCORRELATION\tDATA")
				for _, e := range entries {
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", e.Version, e.RecordedAt.Format(time.RFC3339), e.Type, e.User, short(e.CorrelationID), e.Data)
				}
				tw.Flush()
			})
		}}

	demo := &cobra.Command{Use: "demo", Short: "Run a short scripted story against a fresh account", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runDemo(ctxOf(cmd), svc, out) }}

	root.AddCommand(open, deposit2, withdraw, interest, fee, suspend, reactivate, closeCmd, balance, statement, audit, demo)
	return root.ExecuteContext(ctx)
}

// parseTime reads RFC 3339 or a date (its start, UTC).
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%w: time %q is neither RFC 3339 nor YYYY-MM-DD", eventual.ErrInvalidArgument, s)
}

// short shows the end of an ID: the random part of a UUIDv7 (its start is
// a timestamp, alike for IDs made close together).
func short(id string) string {
	if len(id) > 8 {
		return "…" + id[len(id)-8:]
	}
	return id
}

func printStatement(w io.Writer, st ledger.Statement) {
	period := "since the opening"
	if !st.From.IsZero() {
		period = "from " + st.From.Format(time.RFC3339)
	}
	fmt.Fprintf(w, "Statement of %s (%s), %s to %s\n", st.Account, st.Holder, period, st.To.Format(time.RFC3339))
	fmt.Fprintf(w, "Opening balance: %s\n\n", st.Opening)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "DATE\tWHAT\tDESCRIPTION\tAMOUNT\tBALANCE\t")
	for _, l := range st.Lines {
		amount := ""
		if !l.Amount.IsZero() {
			amount = l.Amount.String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", l.At.Format("2006-01-02 15:04"), l.What, l.Description, amount, l.Balance)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nClosing balance: %s (%s)\n", st.Closing, st.Status)
}

// runDemo tells a short story on a fresh account: the rules at work.
func runDemo(ctx context.Context, svc *ledger.Service, out io.Writer) error {
	id := fmt.Sprintf("demo-%d", time.Now().UnixNano()%1e9)
	terms := account.Terms{MinimumOpeningDeposit: 1000, OverdraftLimit: 5000, DailyWithdrawalLimit: 30000, MaxWithdrawalsPerMinute: 3}
	say := func(what string, s ledger.Summary, err error) {
		if err != nil {
			fmt.Fprintf(out, "%-44s refused: %v\n", what, err)
			return
		}
		fmt.Fprintf(out, "%-44s balance %-12s %s\n", what, s.Balance, s.Status)
	}
	s, err := svc.Open(ctx, id, "Ada Lovelace", "5.00", "EUR", &terms)
	say("open with 5.00 (minimum 10.00)", s, err)
	s, err = svc.Open(ctx, id, "Ada Lovelace", "100.00", "EUR", &terms)
	say("open with 100.00", s, err)
	s, err = svc.Withdraw(ctx, id, "120", "rent")
	say("withdraw 120.00 (overdraft limit 50.00)", s, err)
	s, err = svc.Withdraw(ctx, id, "40", "")
	say("withdraw 40.00 more", s, err)
	s, err = svc.Deposit(ctx, id, "300", "salary")
	say("deposit 300.00", s, err)
	s, err = svc.Withdraw(ctx, id, "200", "")
	say("withdraw 200.00 (daily limit 300.00)", s, err)
	for i := range 3 {
		s, err = svc.Withdraw(ctx, id, "1", "")
		say(fmt.Sprintf("withdraw 1.00 (quick withdrawal %d)", i+2), s, err)
	}
	s, err = svc.Withdraw(ctx, id, "1", "")
	say("withdraw 1.00 again", s, err)
	s, err = svc.Reactivate(ctx, id)
	say("reactivate", s, err)
	s, err = svc.ApplyInterest(ctx, id, 150)
	say("interest at 1.50 %", s, err)
	s, err = svc.CloseAccount(ctx, id)
	say("close", s, err)
	bal, _ := svc.Balance(ctx, id)
	s, err = svc.ChargeFee(ctx, id, strings.TrimSuffix(bal.Balance.String(), " EUR"), "closing fee")
	say("charge the balance as a closing fee", s, err)
	s, err = svc.CloseAccount(ctx, id)
	say("close", s, err)
	fmt.Fprintf(out, "\nSee it all: bank statement %s; bank audit %s\n", id, id)
	return nil
}
