// Package ledger is the bank example's application layer: it runs the
// account commands through an aggregate repository (with optimistic
// concurrency and snapshots) and answers the bank's questions from the
// events: the balance now or at any past time or version, a statement for
// a period, and the audit trail of an account.
package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/aggregate"
	"github.com/eventual-go/eventual/codec"
	"github.com/eventual-go/eventual/examples/bank/internal/account"
)

// Service runs the bank. Create it with New.
type Service struct {
	store    eventual.Store
	codec    *codec.Registry
	accounts *aggregate.Repository[*account.Account]
	now      func() time.Time
}

// Option configures New.
type Option func(*options)

type options struct {
	now           func() time.Time
	snapshotEvery uint64
}

// WithClock sets the clock that stamps the events' business time.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithSnapshotEvery takes a snapshot of an account every n events (0: no
// snapshots). The default is 1,000.
func WithSnapshotEvery(n uint64) Option { return func(o *options) { o.snapshotEvery = n } }

// New returns a service on store. If store keeps snapshots
// (eventual.SnapshotStore), accounts are snapshot every 1,000 events.
func New(store eventual.Store, opts ...Option) (*Service, error) {
	o := options{now: time.Now, snapshotEvery: 1000}
	for _, opt := range opts {
		opt(&o)
	}
	reg, err := account.Registry()
	if err != nil {
		return nil, err
	}
	var repoOpts []aggregate.Option
	if snaps, ok := store.(eventual.SnapshotStore); ok && o.snapshotEvery > 0 {
		repoOpts = append(repoOpts, aggregate.WithSnapshots(snaps, aggregate.EveryNEvents(o.snapshotEvery)))
	}
	repo, err := aggregate.NewRepository(store, reg, "account", account.New, repoOpts...)
	if err != nil {
		return nil, err
	}
	return &Service{store: store, codec: reg, accounts: repo, now: o.now}, nil
}

// Close releases the repository.
func (s *Service) Close() error { return s.accounts.Close() }

// Accounts returns the account repository.
func (s *Service) Accounts() *aggregate.Repository[*account.Account] { return s.accounts }

// Summary is an account's state in a few fields.
type Summary struct {
	ID      string         `json:"id"`
	Holder  string         `json:"holder"`
	Balance account.Money  `json:"balance"`
	Status  account.Status `json:"status"`
	Version uint64         `json:"version"`
}

func summary(a *account.Account) Summary {
	return Summary{ID: a.ID(), Holder: a.Holder(), Balance: a.Balance(), Status: a.Status(), Version: a.Version()}
}

// Open opens an account with an opening deposit (an amount like "100.00")
// in currency, under terms (nil: the bank's default terms).
func (s *Service) Open(ctx context.Context, id, holder, deposit, currency string, terms *account.Terms) (Summary, error) {
	amount, err := account.ParseMoney(deposit, currency)
	if err != nil {
		return Summary{}, err
	}
	t := account.DefaultTerms(currency)
	if terms != nil {
		t = *terms
	}
	a := s.accounts.New(id)
	if err := a.Open(holder, amount, t, s.now()); err != nil {
		return Summary{}, err
	}
	if err := s.accounts.Save(ctx, a); err != nil {
		if errors.Is(err, eventual.ErrConflict) {
			return Summary{}, fmt.Errorf("%w: %s", account.ErrAlreadyOpen, id)
		}
		return Summary{}, err
	}
	return summary(a), nil
}

// change runs a command on an account, retrying version conflicts.
func (s *Service) change(ctx context.Context, id string, command func(a *account.Account, now time.Time) error) (Summary, error) {
	a, err := s.accounts.Update(ctx, id, func(a *account.Account) error { return command(a, s.now()) })
	if err != nil {
		return Summary{}, err
	}
	return summary(a), nil
}

// money parses an amount in the account's currency.
func money(a *account.Account, amount string) (account.Money, error) {
	if a.Currency() == "" {
		return account.Money{}, account.ErrNotOpen
	}
	return account.ParseMoney(amount, a.Currency())
}

// Deposit deposits an amount ("12.50") in the account's currency.
func (s *Service) Deposit(ctx context.Context, id, amount, reference string) (Summary, error) {
	return s.change(ctx, id, func(a *account.Account, now time.Time) error {
		m, err := money(a, amount)
		if err != nil {
			return err
		}
		return a.Deposit(m, reference, now)
	})
}

// Withdraw withdraws an amount in the account's currency.
func (s *Service) Withdraw(ctx context.Context, id, amount, reference string) (Summary, error) {
	return s.change(ctx, id, func(a *account.Account, now time.Time) error {
		m, err := money(a, amount)
		if err != nil {
			return err
		}
		return a.Withdraw(m, reference, now)
	})
}

// ApplyInterest pays interest in basis points on a positive balance.
func (s *Service) ApplyInterest(ctx context.Context, id string, basisPoints int64) (Summary, error) {
	return s.change(ctx, id, func(a *account.Account, now time.Time) error { return a.ApplyInterest(basisPoints, now) })
}

// ChargeFee charges a fee in the account's currency.
func (s *Service) ChargeFee(ctx context.Context, id, amount, reason string) (Summary, error) {
	return s.change(ctx, id, func(a *account.Account, now time.Time) error {
		m, err := money(a, amount)
		if err != nil {
			return err
		}
		return a.ChargeFee(m, reason, now)
	})
}

// Suspend suspends an account.
func (s *Service) Suspend(ctx context.Context, id, reason string) (Summary, error) {
	return s.change(ctx, id, func(a *account.Account, now time.Time) error { return a.Suspend(reason, now) })
}

// Reactivate lifts a suspension.
func (s *Service) Reactivate(ctx context.Context, id string) (Summary, error) {
	return s.change(ctx, id, func(a *account.Account, now time.Time) error { return a.Reactivate(now) })
}

// CloseAccount closes an account at a zero balance.
func (s *Service) CloseAccount(ctx context.Context, id string) (Summary, error) {
	return s.change(ctx, id, func(a *account.Account, now time.Time) error { return a.Close(now) })
}

// Balance returns the account as it is now.
func (s *Service) Balance(ctx context.Context, id string) (Summary, error) {
	a, err := s.accounts.Load(ctx, id)
	if err != nil {
		return Summary{}, err
	}
	return summary(a), nil
}

// BalanceAt returns the account as it was at time t.
func (s *Service) BalanceAt(ctx context.Context, id string, t time.Time) (Summary, error) {
	a, err := s.accounts.LoadAsOf(ctx, id, t)
	if err != nil {
		return Summary{}, err
	}
	return summary(a), nil
}

// BalanceAtVersion returns the account as it was right after the given
// event of its stream.
func (s *Service) BalanceAtVersion(ctx context.Context, id string, version uint64) (Summary, error) {
	a, err := s.accounts.LoadAt(ctx, id, version)
	if err != nil {
		return Summary{}, err
	}
	return summary(a), nil
}

// AuditEntry is one stored event of an account, with who and what caused
// it.
type AuditEntry struct {
	Version       uint64          `json:"version"`
	Position      uint64          `json:"position"`
	RecordedAt    time.Time       `json:"recorded_at"`
	Type          string          `json:"type"`
	User          string          `json:"user,omitempty"`
	CorrelationID string          `json:"correlation_id,omitempty"`
	CausationID   string          `json:"causation_id,omitempty"`
	EventID       string          `json:"event_id"`
	Data          json.RawMessage `json:"data"`
}

// Audit returns every event of an account as stored: the compliance view.
func (s *Service) Audit(ctx context.Context, id string) ([]AuditEntry, error) {
	var out []AuditEntry
	for ev, err := range s.store.ReadStream(ctx, s.accounts.StreamID(id), eventual.ReadStreamOptions{}) {
		if err != nil {
			if errors.Is(err, eventual.ErrStreamNotFound) {
				return nil, fmt.Errorf("%w: account %q", aggregate.ErrNotFound, id)
			}
			return nil, err
		}
		m := ev.Metadata
		out = append(out, AuditEntry{
			Version: ev.Version, Position: ev.Position, RecordedAt: ev.RecordedAt, Type: ev.Type,
			User: m.UserID, CorrelationID: m.CorrelationID, CausationID: m.CausationID,
			EventID: ev.ID.String(), Data: json.RawMessage(ev.Data),
		})
	}
	return out, nil
}
