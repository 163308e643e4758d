package ledger

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/aggregate"
	"github.com/eventual-go/eventual/examples/bank/internal/account"
)

// Statement is an account's movements over a period [From, To), with the
// balance before and after: the report a bank sends, built from the events
// alone.
type Statement struct {
	Account string         `json:"account"`
	Holder  string         `json:"holder"`
	From    time.Time      `json:"from"`
	To      time.Time      `json:"to"`
	Opening account.Money  `json:"opening_balance"`
	Closing account.Money  `json:"closing_balance"`
	Status  account.Status `json:"status_at_end"`
	Lines   []Line         `json:"lines"`
}

// Line is one event of a statement. Amount is signed (what it did to the
// balance); events that move no money have a zero amount.
type Line struct {
	At          time.Time     `json:"at"`
	Version     uint64        `json:"version"`
	What        string        `json:"what"`
	Description string        `json:"description,omitempty"`
	Amount      account.Money `json:"amount"`
	Balance     account.Money `json:"balance"`
}

// Statement returns the account's statement for [from, to), by the time
// the events were recorded. A zero from means since the opening; a zero to
// means until now.
func (s *Service) Statement(ctx context.Context, id string, from, to time.Time) (Statement, error) {
	if to.IsZero() {
		to = s.now().Add(time.Second)
	}
	if !from.IsZero() && !to.After(from) {
		return Statement{}, fmt.Errorf("%w: the period ends (%s) before it starts (%s)", eventual.ErrInvalidArgument, to, from)
	}
	now, err := s.accounts.Load(ctx, id)
	if err != nil {
		return Statement{}, err
	}
	st := Statement{Account: id, Holder: now.Holder(), From: from, To: to, Opening: account.Money{Currency: now.Currency()}}
	if !from.IsZero() {
		before, err := s.accounts.LoadAsOf(ctx, id, from.Add(-time.Nanosecond))
		switch {
		case err == nil:
			st.Opening = before.Balance()
		case !errors.Is(err, aggregate.ErrNotFound):
			return Statement{}, err
		}
	}
	balance, status := st.Opening, account.StatusNone
	for ev, err := range s.store.ReadStream(ctx, s.accounts.StreamID(id), eventual.ReadStreamOptions{}) {
		if err != nil {
			return Statement{}, err
		}
		if ev.RecordedAt.Before(from) {
			continue
		}
		if !ev.RecordedAt.Before(to) {
			break
		}
		event, err := s.codec.Decode(ev)
		if err != nil {
			return Statement{}, err
		}
		line := describe(event)
		line.At, line.Version = ev.RecordedAt, ev.Version
		if line.Amount.Currency == "" {
			line.Amount.Currency = balance.Currency
		}
		if balance, err = balance.Add(line.Amount); err != nil {
			return Statement{}, err
		}
		line.Balance = balance
		if s := statusAfter(event); s != account.StatusNone {
			status = s
		}
		st.Lines = append(st.Lines, line)
	}
	st.Closing, st.Status = balance, status
	if st.Status == account.StatusNone {
		at, err := s.accounts.LoadAsOf(ctx, id, to.Add(-time.Nanosecond))
		if err == nil {
			st.Status = at.Status()
		}
	}
	return st, nil
}

// describe turns an event into a statement line without time and balance.
func describe(event any) Line {
	switch e := event.(type) {
	case account.AccountOpened:
		return Line{What: "opened", Description: "for " + e.Holder}
	case account.MoneyDeposited:
		return Line{What: "deposit", Description: e.Reference, Amount: e.Amount}
	case account.MoneyWithdrawn:
		return Line{What: "withdrawal", Description: e.Reference, Amount: e.Amount.Neg()}
	case account.OverdraftOccurred:
		return Line{What: "overdraft", Description: "balance " + e.Balance.String() + ", limit " + e.Limit.String()}
	case account.InterestApplied:
		return Line{What: "interest", Description: fmt.Sprintf("%d.%02d %%", e.BasisPoints/100, e.BasisPoints%100), Amount: e.Amount}
	case account.FeeCharged:
		return Line{What: "fee", Description: e.Reason, Amount: e.Amount.Neg()}
	case account.AccountSuspended:
		return Line{What: "suspended", Description: e.Reason}
	case account.AccountReactivated:
		return Line{What: "reactivated"}
	case account.AccountClosed:
		return Line{What: "closed"}
	}
	return Line{What: fmt.Sprintf("%T", event)}
}

func statusAfter(event any) account.Status {
	switch event.(type) {
	case account.AccountOpened, account.AccountReactivated:
		return account.StatusOpen
	case account.AccountSuspended:
		return account.StatusSuspended
	case account.AccountClosed:
		return account.StatusClosed
	}
	return account.StatusNone
}
