package plan

import (
	"slices"
	"testing"

	"github.com/eventual-go/eventual"
)

func TestSavepointStatement(t *testing.T) {
	both := []eventual.Dialect{eventual.DialectSQLite, eventual.DialectPostgres}
	tests := []struct {
		query    string
		dialects []eventual.Dialect
		op, name string
	}{
		{"SAVEPOINT inbox_message", both, "SAVEPOINT", "inbox_message"},
		{"  savepoint \"A\";", []eventual.Dialect{eventual.DialectSQLite}, "SAVEPOINT", "a"},
		{"  savepoint \"A\";", []eventual.Dialect{eventual.DialectPostgres}, "SAVEPOINT", "A"},
		{`savepoint "a"`, []eventual.Dialect{eventual.DialectPostgres}, "SAVEPOINT", "a"},
		{"savepoint A", both, "SAVEPOINT", "a"},
		{`savepoint "a ""b"""`, []eventual.Dialect{eventual.DialectPostgres}, "SAVEPOINT", `a "b"`},
		{`savepoint "a b"`, []eventual.Dialect{eventual.DialectPostgres}, "SAVEPOINT", "a b"},
		{"RELEASE SAVEPOINT x", both, "RELEASE", "x"},
		{"release x", both, "RELEASE", "x"},
		{"ROLLBACK TO SAVEPOINT saga_local", both, "ROLLBACK TO", "saga_local"},
		{"ROLLBACK TRANSACTION TO x", both, "ROLLBACK TO", "x"},
		{"ROLLBACK WORK TO SAVEPOINT x", both, "ROLLBACK TO", "x"},
		{"rollback to\n savepoint X ;", both, "ROLLBACK TO", "x"},
		{"/* undo */ ROLLBACK TO SAVEPOINT s", both, "ROLLBACK TO", "s"},
		{"-- undo\n  -- the handler\nROLLBACK TO s", both, "ROLLBACK TO", "s"},
		{"/* a /* nested */ comment */ RELEASE s", both, "RELEASE", "s"},
		{"ROLLBACK", both, "ROLLBACK", ""},
		{"ROLLBACK;", both, "ROLLBACK", ""},
		{"ROLLBACK AND CHAIN", both, "ROLLBACK", ""},
		{"rollback work and no chain;", both, "ROLLBACK", ""},
		{"ABORT", both, "ROLLBACK", ""},
		{"abort transaction and chain", both, "ROLLBACK", ""},
		{"ROLLBACK AND", both, "", ""},
		{"SELECT 1", both, "", ""},
		{"/* ROLLBACK */ SELECT 1", both, "", ""},
		{"-- ROLLBACK", both, "", ""},
		{"/* unterminated ROLLBACK", both, "", ""},
		{"SAVEPOINT", both, "", ""},
		{"RELEASE SAVEPOINT a b", both, "", ""},
		{"REPLACE INTO t VALUES (1)", both, "", ""},
		{"ABORTED", both, "", ""},
		{"", both, "", ""},
	}
	for _, tt := range tests {
		for _, d := range tt.dialects {
			op, name := savepointStatement(tt.query, d)
			if op != tt.op || name != tt.name {
				t.Errorf("savepointStatement(%q, %s) = %q, %q; want %q, %q", tt.query, d, op, name, tt.op, tt.name)
			}
		}
	}
}

// On both, "a" and a are one savepoint.
func TestQuotedLowerCaseNameIsTheUnquotedOne(t *testing.T) {
	for _, d := range []eventual.Dialect{eventual.DialectSQLite, eventual.DialectPostgres} {
		var a AfterCommit
		ran := false
		a.Ran(Classify(`SAVEPOINT "a"`, d))
		a.Add(func() { ran = true })
		a.Ran(Classify("ROLLBACK TO a", d))
		a.Run()
		if ran {
			t.Errorf("dialect %s: the function registered after \"a\" ran after ROLLBACK TO a", d)
		}
	}
}

// On PostgreSQL "A" and a are two savepoints; on SQLite one.
func TestQuotedSavepointNames(t *testing.T) {
	for _, tt := range []struct {
		d    eventual.Dialect
		want []string
	}{{eventual.DialectSQLite, []string{"1"}}, {eventual.DialectPostgres, nil}} {
		var a AfterCommit
		var ran []string
		a.Ran(Classify("SAVEPOINT a", tt.d))
		a.Add(func() { ran = append(ran, "1") })
		a.Ran(Classify(`SAVEPOINT "A"`, tt.d))
		a.Add(func() { ran = append(ran, "2") })
		a.Ran(Classify("ROLLBACK TO a", tt.d)) // SQLite: to "A", the innermost; PostgreSQL: to a
		a.Run()
		if !slices.Equal(ran, tt.want) {
			t.Errorf("dialect %s: ran %v, want %v", tt.d, ran, tt.want)
		}
	}
}

func TestAfterCommitFollowsSavepoints(t *testing.T) {
	var a AfterCommit
	var ran []string
	add := func(s string) { a.Add(func() { ran = append(ran, s) }) }
	add("1")
	a.Ran(Classify("SAVEPOINT a", eventual.DialectSQLite))
	add("2")
	a.Ran(Classify("SAVEPOINT b", eventual.DialectSQLite))
	add("3")
	a.Ran(Classify("ROLLBACK TO SAVEPOINT b", eventual.DialectSQLite)) // drops 3, keeps b
	add("4")
	a.Ran(Classify("ROLLBACK TO SAVEPOINT b", eventual.DialectSQLite)) // drops 4
	a.Ran(Classify("RELEASE SAVEPOINT b", eventual.DialectSQLite))
	add("5")
	a.Ran(Classify("ROLLBACK TO SAVEPOINT a", eventual.DialectSQLite)) // drops 2 and 5
	a.Ran(Classify("RELEASE a", eventual.DialectSQLite))
	add("6")
	a.Ran(Classify("ROLLBACK TO SAVEPOINT gone", eventual.DialectSQLite)) // no such savepoint: the database refused it
	a.Ran(Classify("SAVEPOINT c", eventual.DialectSQLite))
	add("7")
	a.Ran(Classify("RELEASE SAVEPOINT c", eventual.DialectSQLite)) // released: 7 stays
	a.Run()
	if want := []string{"1", "6", "7"}; !slices.Equal(ran, want) {
		t.Fatalf("ran %v, want %v", ran, want)
	}
}
