// Package aggregatetest tests aggregates as specifications: given the
// events that already happened, when a command runs, then these events are
// recorded (or this error is returned).
//
//	func TestWithdrawBeyondOverdraft(t *testing.T) {
//		aggregatetest.Given(t, bank.NewAccount("a-1"),
//			bank.AccountOpened{Holder: "Ada", Currency: "EUR"},
//			bank.MoneyDeposited{Amount: eur(100)},
//		).When(func(a *bank.Account) error {
//			return a.Withdraw(eur(500), now)
//		}).ThenError(bank.ErrInsufficientFunds)
//	}
//
// On failure it prints expected and recorded events side by side.
package aggregatetest

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/eventual-go/eventual/aggregate"
)

// Scenario is one given/when/then test of an aggregate.
type Scenario[T aggregate.Aggregate] struct {
	t       testing.TB
	agg     T
	history int
	ran     bool
	err     error
}

// Given starts a scenario with agg (new, from its constructor) after the
// history of events already stored, applied in order.
func Given[T aggregate.Aggregate](t testing.TB, agg T, history ...any) *Scenario[T] {
	t.Helper()
	if err := aggregate.ApplyHistory(agg, history...); err != nil {
		t.Fatalf("given: applying the history: %v", err)
	}
	return &Scenario[T]{t: t, agg: agg, history: len(history)}
}

// When runs command on the aggregate. Run one command per scenario.
func (s *Scenario[T]) When(command func(T) error) *Scenario[T] {
	s.t.Helper()
	if s.ran {
		s.t.Fatal("when: a scenario runs one command")
	}
	s.ran = true
	s.err = command(s.agg)
	return s
}

// Then checks that the command succeeded and recorded exactly events, in
// order (compared with reflect.DeepEqual). Then() with no events checks
// that nothing was recorded.
func (s *Scenario[T]) Then(events ...any) *Scenario[T] {
	s.t.Helper()
	s.mustHaveRun("then")
	if s.err != nil {
		s.t.Fatalf("then: the command failed: %v\nwant it to record:\n%s", s.err, list(events))
	}
	if diff := Diff(events, s.agg.Pending()); diff != "" {
		s.t.Fatalf("then: recorded events differ (- want, + got):\n%s", diff)
	}
	return s
}

// ThenError checks that the command failed with an error matching target
// (errors.Is) and recorded nothing.
func (s *Scenario[T]) ThenError(target error) *Scenario[T] {
	s.t.Helper()
	s.mustHaveRun("then error")
	switch {
	case s.err == nil:
		s.t.Fatalf("then error: the command succeeded, want an error matching %v; it recorded:\n%s", target, list(s.agg.Pending()))
	case !errors.Is(s.err, target):
		s.t.Fatalf("then error: the command failed with %v, want an error matching %v", s.err, target)
	case len(s.agg.Pending()) > 0:
		s.t.Fatalf("then error: the command failed as expected but recorded:\n%s", list(s.agg.Pending()))
	}
	return s
}

// ThenState runs check on the aggregate after the command, for state the
// events do not show directly.
func (s *Scenario[T]) ThenState(check func(t testing.TB, agg T)) *Scenario[T] {
	s.t.Helper()
	s.mustHaveRun("then state")
	check(s.t, s.agg)
	return s
}

// Aggregate returns the aggregate of the scenario.
func (s *Scenario[T]) Aggregate() T { return s.agg }

func (s *Scenario[T]) mustHaveRun(step string) {
	s.t.Helper()
	if !s.ran {
		s.t.Fatalf("%s: no command ran: call When first", step)
	}
}

// Diff compares expected and recorded events and returns "" when they are
// equal, otherwise one line per event: "  " for equal ones, "-" for
// expected ones that were not recorded, "+" for recorded ones that were not
// expected.
func Diff(want, got []any) string {
	if len(want) == len(got) {
		same := true
		for i := range want {
			if !reflect.DeepEqual(want[i], got[i]) {
				same = false
				break
			}
		}
		if same {
			return ""
		}
	}
	var b strings.Builder
	for i := range max(len(want), len(got)) {
		switch {
		case i < len(want) && i < len(got) && reflect.DeepEqual(want[i], got[i]):
			fmt.Fprintf(&b, "  #%d %s\n", i, show(got[i]))
		default:
			if i < len(want) {
				fmt.Fprintf(&b, "- #%d %s\n", i, show(want[i]))
			}
			if i < len(got) {
				fmt.Fprintf(&b, "+ #%d %s\n", i, show(got[i]))
			}
		}
	}
	return b.String()
}

func list(events []any) string {
	if len(events) == 0 {
		return "  (no events)\n"
	}
	var b strings.Builder
	for i, e := range events {
		fmt.Fprintf(&b, "  #%d %s\n", i, show(e))
	}
	return b.String()
}

func show(e any) string { return fmt.Sprintf("%T%+v", e, e) }
