package account

import (
	"time"

	"github.com/eventual-go/eventual/codec"
)

// The events of an account. At is the business time of the fact; the store
// keeps its own recorded time too.

// AccountOpened starts an account, with the terms it is run under.
type AccountOpened struct {
	Holder   string    `json:"holder"`
	Currency string    `json:"currency"`
	Terms    Terms     `json:"terms"`
	At       time.Time `json:"at"`
}

// MoneyDeposited adds money to the balance.
type MoneyDeposited struct {
	Amount    Money     `json:"amount"`
	Reference string    `json:"reference,omitempty"`
	At        time.Time `json:"at"`
}

// MoneyWithdrawn takes money from the balance.
type MoneyWithdrawn struct {
	Amount    Money     `json:"amount"`
	Reference string    `json:"reference,omitempty"`
	At        time.Time `json:"at"`
}

// OverdraftOccurred says the balance went below zero (within the
// overdraft limit).
type OverdraftOccurred struct {
	Balance Money     `json:"balance"`
	Limit   Money     `json:"limit"`
	At      time.Time `json:"at"`
}

// InterestApplied adds interest on a positive balance.
type InterestApplied struct {
	Amount      Money     `json:"amount"`
	BasisPoints int64     `json:"basis_points"`
	At          time.Time `json:"at"`
}

// FeeCharged takes a fee from the balance.
type FeeCharged struct {
	Amount Money     `json:"amount"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// AccountSuspended freezes withdrawals and fees.
type AccountSuspended struct {
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// AccountReactivated lifts a suspension.
type AccountReactivated struct {
	At time.Time `json:"at"`
}

// AccountClosed ends the account; it then refuses everything.
type AccountClosed struct {
	At time.Time `json:"at"`
}

// Register registers the account's events with a codec builder.
func Register(b *codec.Builder) {
	codec.Register[AccountOpened](b, "bank.account_opened")
	codec.Register[MoneyDeposited](b, "bank.money_deposited")
	codec.Register[MoneyWithdrawn](b, "bank.money_withdrawn")
	codec.Register[OverdraftOccurred](b, "bank.overdraft_occurred")
	codec.Register[InterestApplied](b, "bank.interest_applied")
	codec.Register[FeeCharged](b, "bank.fee_charged")
	codec.Register[AccountSuspended](b, "bank.account_suspended")
	codec.Register[AccountReactivated](b, "bank.account_reactivated")
	codec.Register[AccountClosed](b, "bank.account_closed")
}

// Registry returns a codec registry of the account's events.
func Registry() (*codec.Registry, error) {
	b := codec.New()
	Register(b)
	return b.Build()
}
