package plan

import (
	"slices"
	"testing"
)

func TestSavepointStatement(t *testing.T) {
	tests := []struct{ query, op, name string }{
		{"SAVEPOINT inbox_message", "SAVEPOINT", "inbox_message"},
		{"  savepoint \"A\";", "SAVEPOINT", "a"},
		{"RELEASE SAVEPOINT x", "RELEASE", "x"},
		{"release x", "RELEASE", "x"},
		{"ROLLBACK TO SAVEPOINT saga_local", "ROLLBACK TO", "saga_local"},
		{"ROLLBACK TRANSACTION TO x", "ROLLBACK TO", "x"},
		{"rollback to\n savepoint X ;", "ROLLBACK TO", "x"},
		{"ROLLBACK", "ROLLBACK", ""},
		{"ROLLBACK;", "ROLLBACK", ""},
		{"SELECT 1", "", ""},
		{"SAVEPOINT", "", ""},
		{"RELEASE SAVEPOINT a b", "", ""},
		{"REPLACE INTO t VALUES (1)", "", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		op, name := savepointStatement(tt.query)
		if op != tt.op || name != tt.name {
			t.Errorf("savepointStatement(%q) = %q, %q; want %q, %q", tt.query, op, name, tt.op, tt.name)
		}
	}
}

func TestAfterCommitFollowsSavepoints(t *testing.T) {
	var a AfterCommit
	var ran []string
	add := func(s string) { a.Add(func() { ran = append(ran, s) }) }
	add("1")
	a.Ran(Classify("SAVEPOINT a"))
	add("2")
	a.Ran(Classify("SAVEPOINT b"))
	add("3")
	a.Ran(Classify("ROLLBACK TO SAVEPOINT b")) // drops 3, keeps b
	add("4")
	a.Ran(Classify("ROLLBACK TO SAVEPOINT b")) // drops 4
	a.Ran(Classify("RELEASE SAVEPOINT b"))
	add("5")
	a.Ran(Classify("ROLLBACK TO SAVEPOINT a")) // drops 2 and 5
	a.Ran(Classify("RELEASE a"))
	add("6")
	a.Ran(Classify("ROLLBACK TO SAVEPOINT gone")) // no such savepoint: the database refused it
	a.Ran(Classify("SAVEPOINT c"))
	add("7")
	a.Ran(Classify("RELEASE SAVEPOINT c")) // released: 7 stays
	a.Run()
	if want := []string{"1", "6", "7"}; !slices.Equal(ran, want) {
		t.Fatalf("ran %v, want %v", ran, want)
	}
}
