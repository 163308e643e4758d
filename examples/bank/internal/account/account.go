// Package account is the bank example's domain: an event-sourced account
// with the rules of a small bank. Commands check the rules and record
// events; Apply changes the state by events; money is integer minor units.
//
// Rules: an account opens with a holder and at least the minimum opening
// deposit; deposits and withdrawals are positive amounts in the account's
// currency; a withdrawal may take the balance below zero down to the
// overdraft limit (going below zero records OverdraftOccurred); withdrawals
// of one (UTC) day are capped by the daily limit; more withdrawals within a
// minute than the terms allow suspend the account (suspected fraud);
// a suspended account refuses withdrawals until reactivated; interest is
// paid on a positive balance and fees are charged within the overdraft
// limit; an account closes only at a zero balance, and a closed account
// refuses everything.
package account

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/eventual-go/eventual/aggregate"
)

// Errors of the account's rules.
var (
	ErrNotOpen                = errors.New("account is not open")
	ErrAlreadyOpen            = errors.New("account is already open")
	ErrHolderRequired         = errors.New("a holder is required")
	ErrOpeningDepositTooSmall = errors.New("opening deposit below the minimum")
	ErrInvalidAmount          = errors.New("amount must be positive")
	ErrInsufficientFunds      = errors.New("insufficient funds: beyond the overdraft limit")
	ErrDailyLimitExceeded     = errors.New("daily withdrawal limit exceeded")
	ErrSuspended              = errors.New("account is suspended")
	ErrAlreadySuspended       = errors.New("account is already suspended")
	ErrNotSuspended           = errors.New("account is not suspended")
	ErrClosed                 = errors.New("account is closed")
	ErrBalanceNotZero         = errors.New("account can only close at a zero balance")
	ErrInvalidRate            = errors.New("interest rate must be between 1 and 10,000 basis points")
	ErrReasonRequired         = errors.New("a reason is required")
	ErrInvalidTerms           = errors.New("invalid terms")
)

// Terms are the conditions an account runs under, fixed when it opens.
// Amounts are minor units of the account's currency.
type Terms struct {
	// MinimumOpeningDeposit is the least first deposit.
	MinimumOpeningDeposit int64 `json:"minimum_opening_deposit"`
	// OverdraftLimit is how far below zero the balance may go.
	OverdraftLimit int64 `json:"overdraft_limit"`
	// DailyWithdrawalLimit caps the withdrawals of one UTC day; 0: none.
	DailyWithdrawalLimit int64 `json:"daily_withdrawal_limit"`
	// MaxWithdrawalsPerMinute is how many withdrawals within a minute
	// are normal; one more suspends the account. 0: no such rule.
	MaxWithdrawalsPerMinute int `json:"max_withdrawals_per_minute"`
}

// DefaultTerms are the bank's standard terms in a currency: a minimum
// opening deposit of 10, no overdraft, 1,000 a day, 5 withdrawals a minute.
func DefaultTerms(currency string) Terms {
	unit := int64(1)
	for range Exponent(currency) {
		unit *= 10
	}
	return Terms{MinimumOpeningDeposit: 10 * unit, DailyWithdrawalLimit: 1000 * unit, MaxWithdrawalsPerMinute: 5}
}

// Status is where an account is in its life.
type Status string

// The statuses of an account.
const (
	StatusNone      Status = ""
	StatusOpen      Status = "open"
	StatusSuspended Status = "suspended"
	StatusClosed    Status = "closed"
)

// Account is the event-sourced account aggregate.
type Account struct {
	aggregate.Root
	state
}

// state is everything the events build up; it is what a snapshot holds.
type state struct {
	Holder         string      `json:"holder"`
	Currency       string      `json:"currency"`
	Terms          Terms       `json:"terms"`
	Balance        int64       `json:"balance"`
	Status         Status      `json:"status"`
	SuspendedFor   string      `json:"suspended_for,omitempty"`
	Day            string      `json:"day,omitempty"` // of WithdrawnToday
	WithdrawnToday int64       `json:"withdrawn_today"`
	Recent         []time.Time `json:"recent,omitempty"` // last withdrawals, for the fraud rule
}

// New returns an account with the given ID and no events.
func New(id string) *Account {
	a := &Account{}
	a.SetID(id)
	return a
}

// Balance returns the account's balance.
func (a *Account) Balance() Money { return Money{Minor: a.state.Balance, Currency: a.state.Currency} }

// Holder returns the account's holder.
func (a *Account) Holder() string { return a.state.Holder }

// Currency returns the account's currency.
func (a *Account) Currency() string { return a.state.Currency }

// Status returns the account's status.
func (a *Account) Status() Status { return a.state.Status }

// Terms returns the account's terms.
func (a *Account) Terms() Terms { return a.state.Terms }

// Open opens the account for holder with an opening deposit, under terms.
func (a *Account) Open(holder string, deposit Money, terms Terms, at time.Time) error {
	holder = strings.TrimSpace(holder)
	switch {
	case a.state.Status != StatusNone:
		return ErrAlreadyOpen
	case holder == "":
		return ErrHolderRequired
	case terms.MinimumOpeningDeposit < 0 || terms.OverdraftLimit < 0 || terms.DailyWithdrawalLimit < 0 || terms.MaxWithdrawalsPerMinute < 0:
		return fmt.Errorf("%w: negative limits in %+v", ErrInvalidTerms, terms)
	}
	if err := ValidateCurrency(deposit.Currency); err != nil {
		return err
	}
	if !deposit.IsPositive() {
		return ErrInvalidAmount
	}
	if deposit.Minor < terms.MinimumOpeningDeposit {
		return fmt.Errorf("%w: %s is less than %s", ErrOpeningDepositTooSmall, deposit, Money{terms.MinimumOpeningDeposit, deposit.Currency})
	}
	if err := aggregate.Record(a, AccountOpened{Holder: holder, Currency: deposit.Currency, Terms: terms, At: at}); err != nil {
		return err
	}
	return aggregate.Record(a, MoneyDeposited{Amount: deposit, Reference: "opening deposit", At: at})
}

// Deposit adds amount to the balance. Suspended accounts take deposits.
func (a *Account) Deposit(amount Money, reference string, at time.Time) error {
	if err := a.notClosed(); err != nil {
		return err
	}
	if err := a.checkAmount(amount); err != nil {
		return err
	}
	return aggregate.Record(a, MoneyDeposited{Amount: amount, Reference: reference, At: at})
}

// Withdraw takes amount from the balance, within the overdraft limit and
// the daily limit; it suspends the account when withdrawals come faster
// than the terms allow.
func (a *Account) Withdraw(amount Money, reference string, at time.Time) error {
	if err := a.notClosed(); err != nil {
		return err
	}
	if a.state.Status == StatusSuspended {
		return fmt.Errorf("%w: %s", ErrSuspended, a.state.SuspendedFor)
	}
	if err := a.checkAmount(amount); err != nil {
		return err
	}
	if err := a.checkOverdraft(amount); err != nil {
		return err
	}
	day := at.UTC().Format(time.DateOnly)
	today := int64(0)
	if a.state.Day == day {
		today = a.state.WithdrawnToday
	}
	if limit := a.state.Terms.DailyWithdrawalLimit; limit > 0 && today+amount.Minor > limit {
		return fmt.Errorf("%w: %s withdrawn today, the limit is %s", ErrDailyLimitExceeded, a.money(today), a.money(limit))
	}
	before := a.state.Balance
	if err := aggregate.Record(a, MoneyWithdrawn{Amount: amount, Reference: reference, At: at}); err != nil {
		return err
	}
	if err := a.overdraftOccurred(before, at); err != nil {
		return err
	}
	if max := a.state.Terms.MaxWithdrawalsPerMinute; max > 0 {
		n := 0
		for _, t := range a.state.Recent {
			if at.Sub(t) < time.Minute {
				n++
			}
		}
		if n > max {
			return aggregate.Record(a, AccountSuspended{
				Reason: fmt.Sprintf("suspected fraud: %d withdrawals within a minute", n), At: at})
		}
	}
	return nil
}

// ApplyInterest pays interest of basisPoints (1/100 of a percent) on a
// positive balance; on a balance of zero or less it records nothing.
func (a *Account) ApplyInterest(basisPoints int64, at time.Time) error {
	if err := a.notClosed(); err != nil {
		return err
	}
	if basisPoints < 1 || basisPoints > 10000 {
		return fmt.Errorf("%w: %d", ErrInvalidRate, basisPoints)
	}
	if a.state.Balance <= 0 {
		return nil
	}
	interest, err := a.Balance().Percent(basisPoints)
	if err != nil || interest.IsZero() {
		return err
	}
	return aggregate.Record(a, InterestApplied{Amount: interest, BasisPoints: basisPoints, At: at})
}

// ChargeFee takes a fee, within the overdraft limit. Suspended accounts
// are charged too.
func (a *Account) ChargeFee(amount Money, reason string, at time.Time) error {
	if err := a.notClosed(); err != nil {
		return err
	}
	if strings.TrimSpace(reason) == "" {
		return ErrReasonRequired
	}
	if err := a.checkAmount(amount); err != nil {
		return err
	}
	if err := a.checkOverdraft(amount); err != nil {
		return err
	}
	before := a.state.Balance
	if err := aggregate.Record(a, FeeCharged{Amount: amount, Reason: reason, At: at}); err != nil {
		return err
	}
	return a.overdraftOccurred(before, at)
}

// Suspend freezes withdrawals.
func (a *Account) Suspend(reason string, at time.Time) error {
	if err := a.notClosed(); err != nil {
		return err
	}
	if a.state.Status == StatusSuspended {
		return ErrAlreadySuspended
	}
	if strings.TrimSpace(reason) == "" {
		return ErrReasonRequired
	}
	return aggregate.Record(a, AccountSuspended{Reason: reason, At: at})
}

// Reactivate lifts a suspension.
func (a *Account) Reactivate(at time.Time) error {
	if err := a.notClosed(); err != nil {
		return err
	}
	if a.state.Status != StatusSuspended {
		return ErrNotSuspended
	}
	return aggregate.Record(a, AccountReactivated{At: at})
}

// Close closes the account; its balance must be zero.
func (a *Account) Close(at time.Time) error {
	if err := a.notClosed(); err != nil {
		return err
	}
	if a.state.Balance != 0 {
		return fmt.Errorf("%w: the balance is %s", ErrBalanceNotZero, a.Balance())
	}
	return aggregate.Record(a, AccountClosed{At: at})
}

func (a *Account) notClosed() error {
	switch a.state.Status {
	case StatusNone:
		return ErrNotOpen
	case StatusClosed:
		return ErrClosed
	}
	return nil
}

func (a *Account) checkAmount(m Money) error {
	if m.Currency != a.state.Currency {
		return fmt.Errorf("%w: the account is in %s, the amount in %s", ErrCurrencyMismatch, a.state.Currency, m.Currency)
	}
	if !m.IsPositive() {
		return fmt.Errorf("%w: %s", ErrInvalidAmount, m)
	}
	return nil
}

// checkOverdraft refuses to take amount if the balance would fall below
// the overdraft limit.
func (a *Account) checkOverdraft(amount Money) error {
	after, err := a.Balance().Sub(amount)
	if err != nil {
		return err
	}
	if after.Minor < -a.state.Terms.OverdraftLimit {
		return fmt.Errorf("%w: the balance is %s, the overdraft limit %s", ErrInsufficientFunds, a.Balance(), a.money(a.state.Terms.OverdraftLimit))
	}
	return nil
}

// overdraftOccurred records that the balance went below zero, when it was
// not below zero before.
func (a *Account) overdraftOccurred(before int64, at time.Time) error {
	if before < 0 || a.state.Balance >= 0 {
		return nil
	}
	return aggregate.Record(a, OverdraftOccurred{Balance: a.Balance(), Limit: a.money(a.state.Terms.OverdraftLimit), At: at})
}

func (a *Account) money(minor int64) Money { return Money{Minor: minor, Currency: a.state.Currency} }

// Apply implements aggregate.Aggregate.
func (a *Account) Apply(event any) error {
	s := &a.state
	switch e := event.(type) {
	case AccountOpened:
		s.Holder, s.Currency, s.Terms, s.Status = e.Holder, e.Currency, e.Terms, StatusOpen
	case MoneyDeposited:
		s.Balance += e.Amount.Minor
	case MoneyWithdrawn:
		s.Balance -= e.Amount.Minor
		if day := e.At.UTC().Format(time.DateOnly); day != s.Day {
			s.Day, s.WithdrawnToday = day, 0
		}
		s.WithdrawnToday += e.Amount.Minor
		if keep := s.Terms.MaxWithdrawalsPerMinute + 1; keep > 1 {
			s.Recent = append(s.Recent, e.At)
			if len(s.Recent) > keep {
				s.Recent = append(s.Recent[:0:0], s.Recent[len(s.Recent)-keep:]...)
			}
		}
	case OverdraftOccurred:
	case InterestApplied:
		s.Balance += e.Amount.Minor
	case FeeCharged:
		s.Balance -= e.Amount.Minor
	case AccountSuspended:
		s.Status, s.SuspendedFor = StatusSuspended, e.Reason
	case AccountReactivated:
		s.Status, s.SuspendedFor, s.Recent = StatusOpen, "", nil
	case AccountClosed:
		s.Status = StatusClosed
	default:
		return fmt.Errorf("account: unknown event %T", event)
	}
	return nil
}

// SnapshotVersion implements aggregate.Snapshotter.
func (a *Account) SnapshotVersion() int { return 1 }

// MarshalSnapshot implements aggregate.Snapshotter.
func (a *Account) MarshalSnapshot() ([]byte, error) { return json.Marshal(a.state) }

// UnmarshalSnapshot implements aggregate.Snapshotter.
func (a *Account) UnmarshalSnapshot(data []byte) error { return json.Unmarshal(data, &a.state) }
