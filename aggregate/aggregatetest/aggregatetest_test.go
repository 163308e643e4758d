package aggregatetest_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/eventual-go/eventual/aggregate"
	"github.com/eventual-go/eventual/aggregate/aggregatetest"
)

type Tally struct {
	aggregate.Root
	n int
}

type Counted struct{ By int }

var errTooMuch = errors.New("too much")

func (t *Tally) Count(by int) error {
	if t.n+by > 10 {
		return errTooMuch
	}
	return aggregate.Record(t, Counted{By: by})
}

func (t *Tally) Apply(e any) error {
	c, ok := e.(Counted)
	if !ok {
		return fmt.Errorf("unknown event %T", e)
	}
	t.n += c.By
	return nil
}

func TestScenarios(t *testing.T) {
	aggregatetest.Given(t, &Tally{}, Counted{By: 4}).
		When(func(a *Tally) error { return a.Count(2) }).
		Then(Counted{By: 2}).
		ThenState(func(t testing.TB, a *Tally) {
			if a.n != 6 || a.Version() != 2 || a.StoredVersion() != 1 {
				t.Fatalf("n %d version %d stored %d", a.n, a.Version(), a.StoredVersion())
			}
		})
	aggregatetest.Given(t, &Tally{}, Counted{By: 9}).
		When(func(a *Tally) error { return a.Count(2) }).
		ThenError(errTooMuch)
	aggregatetest.Given(t, &Tally{}).
		When(func(a *Tally) error { return nil }).
		Then()
}

// fakeT records failures instead of stopping the test.
type fakeT struct {
	testing.TB
	failed string
}

func (f *fakeT) Helper() {}
func (f *fakeT) Fatalf(format string, args ...any) {
	f.failed = fmt.Sprintf(format, args...)
	panic(f) // stop the scenario as t.Fatalf would
}
func (f *fakeT) Fatal(args ...any) { f.Fatalf("%s", fmt.Sprint(args...)) }

// failure runs a scenario that must fail and returns its message.
func failure(t *testing.T, run func(tb testing.TB)) string {
	t.Helper()
	f := &fakeT{TB: t}
	func() {
		defer func() {
			if p := recover(); p != nil && p != any(f) {
				panic(p)
			}
		}()
		run(f)
	}()
	if f.failed == "" {
		t.Fatal("the scenario passed, want it to fail")
	}
	return f.failed
}

func TestFailuresSayWhatIsWrong(t *testing.T) {
	tests := []struct {
		name string
		run  func(tb testing.TB)
		want []string
	}{
		{"other events", func(tb testing.TB) {
			aggregatetest.Given(tb, &Tally{}).When(func(a *Tally) error {
				_ = a.Count(1)
				return a.Count(3)
			}).Then(Counted{By: 1}, Counted{By: 2})
		}, []string{"- want, + got", "  #0 aggregatetest_test.Counted{By:1}", "- #1 aggregatetest_test.Counted{By:2}", "+ #1 aggregatetest_test.Counted{By:3}"}},
		{"an event too many", func(tb testing.TB) {
			aggregatetest.Given(tb, &Tally{}).When(func(a *Tally) error { return a.Count(1) }).Then()
		}, []string{"+ #0 aggregatetest_test.Counted{By:1}"}},
		{"failed instead", func(tb testing.TB) {
			aggregatetest.Given(tb, &Tally{}, Counted{By: 10}).When(func(a *Tally) error { return a.Count(1) }).Then(Counted{By: 1})
		}, []string{"the command failed: too much"}},
		{"succeeded instead", func(tb testing.TB) {
			aggregatetest.Given(tb, &Tally{}).When(func(a *Tally) error { return a.Count(1) }).ThenError(errTooMuch)
		}, []string{"the command succeeded", "Counted{By:1}"}},
		{"another error", func(tb testing.TB) {
			aggregatetest.Given(tb, &Tally{}).When(func(a *Tally) error { return errors.New("other") }).ThenError(errTooMuch)
		}, []string{"failed with other, want an error matching too much"}},
		{"no command", func(tb testing.TB) {
			aggregatetest.Given(tb, &Tally{}).Then()
		}, []string{"call When first"}},
		{"bad history", func(tb testing.TB) {
			aggregatetest.Given(tb, &Tally{}, "not an event")
		}, []string{"applying the history"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := failure(t, tt.run)
			for _, want := range tt.want {
				if !strings.Contains(msg, want) {
					t.Errorf("failure message lacks %q:\n%s", want, msg)
				}
			}
		})
	}
}
