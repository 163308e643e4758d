package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// bank runs the CLI on db and returns what it printed.
func bank(t *testing.T, db string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(t.Context(), append([]string{"--db", db}, args...), &out)
	return out.String(), err
}

func TestCommandLine(t *testing.T) {
	db := filepath.Join(t.TempDir(), "bank.db")
	must := func(args ...string) string {
		t.Helper()
		out, err := bank(t, db, args...)
		if err != nil {
			t.Fatalf("bank %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	if out := must("open", "acc-1", "--holder", "Ada Lovelace", "--deposit", "100", "--overdraft", "50"); !strings.Contains(out, "balance 100.00 EUR  open  (version 2)") {
		t.Fatalf("open printed %q", out)
	}
	before := time.Now().UTC()
	time.Sleep(5 * time.Millisecond)
	must("withdraw", "acc-1", "120", "--ref", "rent")
	if out := must("balance", "acc-1"); !strings.Contains(out, "balance -20.00 EUR") {
		t.Fatalf("balance printed %q", out)
	}
	if out := must("balance", "acc-1", "--at", before.Format(time.RFC3339Nano)); !strings.Contains(out, "balance 100.00 EUR") {
		t.Fatalf("balance --at printed %q", out)
	}
	if out := must("balance", "acc-1", "--version", "3"); !strings.Contains(out, "balance -20.00 EUR") {
		t.Fatalf("balance --version printed %q", out)
	}
	if _, err := bank(t, db, "withdraw", "acc-1", "31"); err == nil || !strings.Contains(err.Error(), "insufficient funds") {
		t.Fatalf("withdraw beyond the overdraft: %v", err)
	}
	if _, err := bank(t, db, "close", "acc-1"); err == nil || !strings.Contains(err.Error(), "zero balance") {
		t.Fatalf("close with a balance: %v", err)
	}
	stmt := must("statement", "acc-1")
	for _, want := range []string{"Opening balance: 0.00 EUR", "withdrawal", "rent", "-120.00 EUR", "overdraft", "Closing balance: -20.00 EUR (open)"} {
		if !strings.Contains(stmt, want) {
			t.Errorf("statement lacks %q:\n%s", want, stmt)
		}
	}
	var entries []map[string]any
	if err := json.Unmarshal([]byte(must("audit", "acc-1", "--json", "--user", "ignored for reads")), &entries); err != nil || len(entries) != 4 {
		t.Fatalf("audit --json: %d entries, %v", len(entries), err)
	}
	if entries[2]["type"] != "bank.money_withdrawn" || entries[2]["user"] != "cli" {
		t.Errorf("audit entry = %v", entries[2])
	}
	if out := must("demo"); !strings.Contains(out, "suspended") || !strings.Contains(out, "refused") {
		t.Errorf("demo printed:\n%s", out)
	}
	for _, bad := range [][]string{
		{"deposit", "acc-1", "1.001"},
		{"balance", "acc-1", "--at", "yesterday"},
		{"balance", "nobody"},
		{"open", "acc-2", "--holder", "X"},
		{"interest", "acc-1", "many"},
	} {
		if _, err := bank(t, db, bad...); err == nil {
			t.Errorf("bank %s: no error", strings.Join(bad, " "))
		}
	}
}
