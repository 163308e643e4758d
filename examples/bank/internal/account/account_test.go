package account_test

import (
	"errors"
	"testing"
	"time"

	"github.com/eventual-go/eventual/aggregate/aggregatetest"
	"github.com/eventual-go/eventual/examples/bank/internal/account"
)

var (
	t0    = time.Date(2030, 3, 14, 9, 0, 0, 0, time.UTC)
	terms = account.Terms{MinimumOpeningDeposit: 1000, OverdraftLimit: 5000, DailyWithdrawalLimit: 20000, MaxWithdrawalsPerMinute: 3}
)

func eur(s string) account.Money { return account.MustMoney(s, "EUR") }

// opened is the history of an account opened with 100.00 EUR.
func opened() []any {
	return []any{
		account.AccountOpened{Holder: "Ada Lovelace", Currency: "EUR", Terms: terms, At: t0},
		account.MoneyDeposited{Amount: eur("100"), Reference: "opening deposit", At: t0},
	}
}

func with(events ...any) []any { return append(opened(), events...) }

func given(t *testing.T, history ...any) *aggregatetest.Scenario[*account.Account] {
	return aggregatetest.Given(t, account.New("acc-1"), history...)
}

func TestOpen(t *testing.T) {
	given(t).When(func(a *account.Account) error {
		return a.Open("Ada Lovelace", eur("100"), terms, t0)
	}).Then(
		account.AccountOpened{Holder: "Ada Lovelace", Currency: "EUR", Terms: terms, At: t0},
		account.MoneyDeposited{Amount: eur("100"), Reference: "opening deposit", At: t0},
	).ThenState(func(t testing.TB, a *account.Account) {
		if a.Balance() != eur("100") || a.Status() != account.StatusOpen || a.Holder() != "Ada Lovelace" {
			t.Fatalf("balance %s status %s holder %q", a.Balance(), a.Status(), a.Holder())
		}
	})

	refused := []struct {
		name    string
		holder  string
		deposit account.Money
		terms   account.Terms
		want    error
	}{
		{"deposit below the minimum", "Ada", eur("9.99"), terms, account.ErrOpeningDepositTooSmall},
		{"no holder", "  ", eur("100"), terms, account.ErrHolderRequired},
		{"zero deposit", "Ada", eur("0"), account.Terms{}, account.ErrInvalidAmount},
		{"bad currency", "Ada", account.Money{Minor: 100, Currency: "euro"}, terms, account.ErrBadCurrency},
		{"negative limits", "Ada", eur("100"), account.Terms{OverdraftLimit: -1}, account.ErrInvalidTerms},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			given(t).When(func(a *account.Account) error { return a.Open(tt.holder, tt.deposit, tt.terms, t0) }).ThenError(tt.want)
		})
	}
	t.Run("twice", func(t *testing.T) {
		given(t, opened()...).When(func(a *account.Account) error { return a.Open("Ada", eur("100"), terms, t0) }).ThenError(account.ErrAlreadyOpen)
	})
}

func TestDeposit(t *testing.T) {
	given(t, opened()...).When(func(a *account.Account) error {
		return a.Deposit(eur("25.50"), "salary", t0)
	}).Then(account.MoneyDeposited{Amount: eur("25.50"), Reference: "salary", At: t0}).
		ThenState(func(t testing.TB, a *account.Account) {
			if a.Balance() != eur("125.50") {
				t.Fatalf("balance %s", a.Balance())
			}
		})
	refused := []struct {
		name    string
		history []any
		amount  account.Money
		want    error
	}{
		{"not open", nil, eur("1"), account.ErrNotOpen},
		{"negative", opened(), eur("-1"), account.ErrInvalidAmount},
		{"zero", opened(), eur("0"), account.ErrInvalidAmount},
		{"other currency", opened(), account.MustMoney("1", "USD"), account.ErrCurrencyMismatch},
		{"closed", with(account.MoneyWithdrawn{Amount: eur("100"), At: t0}, account.AccountClosed{At: t0}), eur("1"), account.ErrClosed},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			given(t, tt.history...).When(func(a *account.Account) error { return a.Deposit(tt.amount, "", t0) }).ThenError(tt.want)
		})
	}
	t.Run("suspended accounts take deposits", func(t *testing.T) {
		given(t, with(account.AccountSuspended{Reason: "review", At: t0})...).
			When(func(a *account.Account) error { return a.Deposit(eur("1"), "", t0) }).
			Then(account.MoneyDeposited{Amount: eur("1"), At: t0})
	})
}

func TestWithdrawAndOverdraft(t *testing.T) {
	t.Run("within the balance", func(t *testing.T) {
		given(t, opened()...).When(func(a *account.Account) error { return a.Withdraw(eur("40"), "rent", t0) }).
			Then(account.MoneyWithdrawn{Amount: eur("40"), Reference: "rent", At: t0})
	})
	t.Run("into the overdraft", func(t *testing.T) {
		given(t, opened()...).When(func(a *account.Account) error { return a.Withdraw(eur("120"), "", t0) }).
			Then(
				account.MoneyWithdrawn{Amount: eur("120"), At: t0},
				account.OverdraftOccurred{Balance: eur("-20"), Limit: eur("50"), At: t0},
			)
	})
	t.Run("to exactly the overdraft limit", func(t *testing.T) {
		given(t, opened()...).When(func(a *account.Account) error { return a.Withdraw(eur("150"), "", t0) }).
			Then(account.MoneyWithdrawn{Amount: eur("150"), At: t0}, account.OverdraftOccurred{Balance: eur("-50"), Limit: eur("50"), At: t0})
	})
	t.Run("deeper while overdrawn records no new overdraft", func(t *testing.T) {
		given(t, with(account.MoneyWithdrawn{Amount: eur("110"), At: t0}, account.OverdraftOccurred{Balance: eur("-10"), Limit: eur("50"), At: t0})...).
			When(func(a *account.Account) error { return a.Withdraw(eur("20"), "", t0.Add(time.Hour)) }).
			Then(account.MoneyWithdrawn{Amount: eur("20"), At: t0.Add(time.Hour)})
	})
	t.Run("beyond the overdraft limit", func(t *testing.T) {
		given(t, opened()...).When(func(a *account.Account) error { return a.Withdraw(eur("150.01"), "", t0) }).
			ThenError(account.ErrInsufficientFunds)
	})
	t.Run("suspended", func(t *testing.T) {
		given(t, with(account.AccountSuspended{Reason: "review", At: t0})...).
			When(func(a *account.Account) error { return a.Withdraw(eur("1"), "", t0) }).ThenError(account.ErrSuspended)
	})
	t.Run("closed", func(t *testing.T) {
		given(t, with(account.MoneyWithdrawn{Amount: eur("100"), At: t0}, account.AccountClosed{At: t0})...).
			When(func(a *account.Account) error { return a.Withdraw(eur("1"), "", t0) }).ThenError(account.ErrClosed)
	})
	t.Run("other currency", func(t *testing.T) {
		given(t, opened()...).When(func(a *account.Account) error { return a.Withdraw(account.MustMoney("1", "GBP"), "", t0) }).
			ThenError(account.ErrCurrencyMismatch)
	})
}

func TestDailyLimit(t *testing.T) {
	rich := with(account.MoneyDeposited{Amount: eur("1000"), At: t0})
	day := with(account.MoneyDeposited{Amount: eur("1000"), At: t0}, account.MoneyWithdrawn{Amount: eur("150"), At: t0})
	t.Run("up to the limit", func(t *testing.T) {
		given(t, day...).When(func(a *account.Account) error { return a.Withdraw(eur("50"), "", t0.Add(time.Hour)) }).
			Then(account.MoneyWithdrawn{Amount: eur("50"), At: t0.Add(time.Hour)})
	})
	t.Run("over the limit", func(t *testing.T) {
		given(t, day...).When(func(a *account.Account) error { return a.Withdraw(eur("50.01"), "", t0.Add(time.Hour)) }).
			ThenError(account.ErrDailyLimitExceeded)
	})
	t.Run("one withdrawal over the limit", func(t *testing.T) {
		given(t, rich...).When(func(a *account.Account) error { return a.Withdraw(eur("200.01"), "", t0) }).
			ThenError(account.ErrDailyLimitExceeded)
	})
	t.Run("the next day starts afresh", func(t *testing.T) {
		next := time.Date(2030, 3, 15, 0, 0, 1, 0, time.UTC)
		given(t, day...).When(func(a *account.Account) error { return a.Withdraw(eur("200"), "", next) }).
			Then(account.MoneyWithdrawn{Amount: eur("200"), At: next})
	})
}

func TestFraudRuleSuspends(t *testing.T) {
	quick := with(
		account.MoneyWithdrawn{Amount: eur("1"), At: t0},
		account.MoneyWithdrawn{Amount: eur("1"), At: t0.Add(10 * time.Second)},
		account.MoneyWithdrawn{Amount: eur("1"), At: t0.Add(20 * time.Second)},
	)
	at := t0.Add(30 * time.Second)
	given(t, quick...).When(func(a *account.Account) error { return a.Withdraw(eur("1"), "", at) }).
		Then(
			account.MoneyWithdrawn{Amount: eur("1"), At: at},
			account.AccountSuspended{Reason: "suspected fraud: 4 withdrawals within a minute", At: at},
		)
	later := t0.Add(61 * time.Second) // the first one left the minute
	given(t, quick...).When(func(a *account.Account) error { return a.Withdraw(eur("1"), "", later) }).
		Then(account.MoneyWithdrawn{Amount: eur("1"), At: later})
	// Reactivation starts the count afresh.
	suspended := append(quick, account.MoneyWithdrawn{Amount: eur("1"), At: at},
		account.AccountSuspended{Reason: "suspected fraud", At: at}, account.AccountReactivated{At: at})
	given(t, suspended...).When(func(a *account.Account) error { return a.Withdraw(eur("1"), "", at.Add(time.Second)) }).
		Then(account.MoneyWithdrawn{Amount: eur("1"), At: at.Add(time.Second)})
}

func TestInterestAndFees(t *testing.T) {
	t.Run("interest on a positive balance", func(t *testing.T) {
		given(t, opened()...).When(func(a *account.Account) error { return a.ApplyInterest(125, t0) }).
			Then(account.InterestApplied{Amount: eur("1.25"), BasisPoints: 125, At: t0})
	})
	t.Run("interest rounds half away from zero", func(t *testing.T) {
		given(t, with(account.MoneyDeposited{Amount: eur("0.20"), At: t0})...). // 100.20 × 0.5 % = 0.501
											When(func(a *account.Account) error { return a.ApplyInterest(50, t0) }).
											Then(account.InterestApplied{Amount: eur("0.50"), BasisPoints: 50, At: t0})
	})
	t.Run("no interest on an overdrawn balance", func(t *testing.T) {
		given(t, with(account.MoneyWithdrawn{Amount: eur("110"), At: t0})...).
			When(func(a *account.Account) error { return a.ApplyInterest(125, t0) }).Then()
	})
	t.Run("bad rate", func(t *testing.T) {
		given(t, opened()...).When(func(a *account.Account) error { return a.ApplyInterest(0, t0) }).ThenError(account.ErrInvalidRate)
		given(t, opened()...).When(func(a *account.Account) error { return a.ApplyInterest(10001, t0) }).ThenError(account.ErrInvalidRate)
	})
	t.Run("fee into the overdraft", func(t *testing.T) {
		given(t, opened()...).When(func(a *account.Account) error { return a.ChargeFee(eur("105"), "card", t0) }).
			Then(account.FeeCharged{Amount: eur("105"), Reason: "card", At: t0}, account.OverdraftOccurred{Balance: eur("-5"), Limit: eur("50"), At: t0})
	})
	t.Run("fee beyond the overdraft", func(t *testing.T) {
		given(t, opened()...).When(func(a *account.Account) error { return a.ChargeFee(eur("151"), "card", t0) }).ThenError(account.ErrInsufficientFunds)
	})
	t.Run("fee without a reason", func(t *testing.T) {
		given(t, opened()...).When(func(a *account.Account) error { return a.ChargeFee(eur("1"), " ", t0) }).ThenError(account.ErrReasonRequired)
	})
	t.Run("suspended accounts are charged", func(t *testing.T) {
		given(t, with(account.AccountSuspended{Reason: "review", At: t0})...).
			When(func(a *account.Account) error { return a.ChargeFee(eur("2"), "review fee", t0) }).
			Then(account.FeeCharged{Amount: eur("2"), Reason: "review fee", At: t0})
	})
}

func TestSuspendReactivateClose(t *testing.T) {
	given(t, opened()...).When(func(a *account.Account) error { return a.Suspend("identity check", t0) }).
		Then(account.AccountSuspended{Reason: "identity check", At: t0})
	given(t, with(account.AccountSuspended{Reason: "x", At: t0})...).When(func(a *account.Account) error { return a.Suspend("again", t0) }).
		ThenError(account.ErrAlreadySuspended)
	given(t, opened()...).When(func(a *account.Account) error { return a.Suspend("", t0) }).ThenError(account.ErrReasonRequired)
	given(t, with(account.AccountSuspended{Reason: "x", At: t0})...).When(func(a *account.Account) error { return a.Reactivate(t0) }).
		Then(account.AccountReactivated{At: t0})
	given(t, opened()...).When(func(a *account.Account) error { return a.Reactivate(t0) }).ThenError(account.ErrNotSuspended)

	given(t, opened()...).When(func(a *account.Account) error { return a.Close(t0) }).ThenError(account.ErrBalanceNotZero)
	zero := with(account.MoneyWithdrawn{Amount: eur("100"), At: t0})
	given(t, zero...).When(func(a *account.Account) error { return a.Close(t0) }).Then(account.AccountClosed{At: t0})
	closed := append(zero, account.AccountClosed{At: t0})
	for name, cmd := range map[string]func(*account.Account) error{
		"suspend":    func(a *account.Account) error { return a.Suspend("x", t0) },
		"reactivate": func(a *account.Account) error { return a.Reactivate(t0) },
		"close":      func(a *account.Account) error { return a.Close(t0) },
		"interest":   func(a *account.Account) error { return a.ApplyInterest(100, t0) },
		"fee":        func(a *account.Account) error { return a.ChargeFee(eur("1"), "x", t0) },
	} {
		t.Run(name+" when closed", func(t *testing.T) {
			given(t, closed...).When(cmd).ThenError(account.ErrClosed)
		})
	}
}

func TestMoney(t *testing.T) {
	for _, tt := range []struct {
		in, currency, want string
		err                error
	}{
		{"12.5", "EUR", "12.50 EUR", nil},
		{"-0.07", "EUR", "-0.07 EUR", nil},
		{"100", "JPY", "100 JPY", nil},
		{"1.234", "BHD", "1.234 BHD", nil},
		{"1.234", "EUR", "", account.ErrBadAmount},
		{"1.5", "JPY", "", account.ErrBadAmount},
		{"", "EUR", "", account.ErrBadAmount},
		{"1e3", "EUR", "", account.ErrBadAmount},
		{"--1", "EUR", "", account.ErrBadAmount},
		{"99999999999999999999", "EUR", "", account.ErrBadAmount},
		{"1", "eur", "", account.ErrBadCurrency},
	} {
		m, err := account.ParseMoney(tt.in, tt.currency)
		if !errors.Is(err, tt.err) || (err == nil && m.String() != tt.want) {
			t.Errorf("ParseMoney(%q, %q) = %s, %v; want %s, %v", tt.in, tt.currency, m, err, tt.want, tt.err)
		}
	}
	if _, err := eur("1").Add(account.MustMoney("1", "USD")); !errors.Is(err, account.ErrCurrencyMismatch) {
		t.Errorf("EUR + USD: %v", err)
	}
	if _, err := (account.Money{Minor: 1<<63 - 1, Currency: "EUR"}).Add(eur("0.01")); !errors.Is(err, account.ErrOverflow) {
		t.Errorf("overflow: %v", err)
	}
	if p, _ := eur("-1.00").Percent(50); p != eur("-0.01") { // -0.005 rounds away from zero
		t.Errorf("Percent = %s", p)
	}
}
