package plan

import (
	"strings"

	"github.com/eventual-go/eventual"
)

// AfterCommit holds a transaction's after-commit functions in step with its
// savepoints: a ROLLBACK TO a savepoint drops the functions registered
// since the savepoint was set, as the database drops what was written
// since. Without this, a failed handler's "publish the rows I added" would
// run at the commit for rows the rollback undid.
type AfterCommit struct {
	fns        []func()
	savepoints []savepoint
}

// savepoint is a savepoint set and not released: its name, lower-cased,
// and how many functions were registered before it.
type savepoint struct {
	name string
	fns  int
}

// Add registers fn.
func (a *AfterCommit) Add(fn func()) { a.fns = append(a.fns, fn) }

// Statement is a statement a caller runs in its transaction, as the
// transaction follows it: a savepoint set, released or rolled back to, a
// whole rollback, or anything else. Classify reads it once for both
// RollsBack (before it runs) and AfterCommit.Ran (after).
type Statement struct{ op, name string }

// Classify reads query as d's database would. SAVEPOINT, RELEASE
// [SAVEPOINT], ROLLBACK [TRANSACTION | WORK] TO [SAVEPOINT], and the whole
// rollbacks ROLLBACK and ABORT (each optionally AND [NO] CHAIN) are
// recognized, after any leading comments.
//
// Names compare as d's database compares them: SQLite without case, quoted
// or not; PostgreSQL folds unquoted names to lower case and keeps quoted
// ones as written.
func Classify(query string, d eventual.Dialect) Statement {
	op, name := savepointStatement(query, d)
	return Statement{op, name}
}

// RollsBack reports whether the statement rolls back (to a savepoint, as
// the inbox and the saga do for a failed handler, or the whole
// transaction): what the transaction appended since may be undone, so a
// backend must forget what it planned and read again.
func (s Statement) RollsBack() bool { return s.op == "ROLLBACK TO" || s.op == "ROLLBACK" }

// Ran tells a that the caller's statement s ran in the transaction
// without error.
func (a *AfterCommit) Ran(s Statement) {
	name := s.name
	switch s.op {
	case "SAVEPOINT":
		a.savepoints = append(a.savepoints, savepoint{name, len(a.fns)})
	case "RELEASE":
		if i := a.find(name); i >= 0 {
			a.savepoints = a.savepoints[:i]
		}
	case "ROLLBACK TO":
		if i := a.find(name); i >= 0 {
			clear(a.fns[a.savepoints[i].fns:])
			a.fns = a.fns[:a.savepoints[i].fns]
			a.savepoints = a.savepoints[:i+1] // ROLLBACK TO keeps the savepoint
		}
	case "ROLLBACK":
		a.fns, a.savepoints = nil, nil
	}
}

// find returns the index of the innermost savepoint called name, or -1.
func (a *AfterCommit) find(name string) int {
	for i := len(a.savepoints) - 1; i >= 0; i-- {
		if a.savepoints[i].name == name {
			return i
		}
	}
	return -1
}

// Run calls the functions in the order they were registered.
func (a *AfterCommit) Run() {
	for _, f := range a.fns {
		f()
	}
}

// savepointStatement classifies query: "SAVEPOINT", "RELEASE",
// "ROLLBACK TO" (each with the savepoint's name as d compares it),
// "ROLLBACK" for a whole rollback, or "" for any other statement.
func savepointStatement(query string, d eventual.Dialect) (op, name string) {
	q := skipComments(query)
	if len(q) < 5 || !strings.ContainsAny(q[:1], "SsRrAa") { // the common case: not one of these
		return "", ""
	}
	words := strings.Fields(strings.TrimRight(q, "; \t\r\n"))
	next := func(w string) bool {
		if len(words) > 0 && strings.EqualFold(words[0], w) {
			words = words[1:]
			return true
		}
		return false
	}
	named := func(op string) (string, string) {
		if len(words) > 1 && strings.HasPrefix(words[0], `"`) && strings.HasSuffix(words[len(words)-1], `"`) {
			words = []string{strings.Join(words, " ")} // a quoted name with spaces
		}
		if len(words) != 1 {
			return "", ""
		}
		return op, savepointName(words[0], d)
	}
	whole := func() (string, string) { // [AND [NO] CHAIN]
		if next("AND") {
			next("NO")
			if !next("CHAIN") {
				return "", ""
			}
		}
		if len(words) == 0 {
			return "ROLLBACK", ""
		}
		return "", ""
	}
	switch {
	case next("SAVEPOINT"):
		return named("SAVEPOINT")
	case next("RELEASE"):
		next("SAVEPOINT")
		return named("RELEASE")
	case next("ABORT"):
		_ = next("TRANSACTION") || next("WORK")
		return whole()
	case next("ROLLBACK"):
		_ = next("TRANSACTION") || next("WORK")
		if !next("TO") {
			return whole()
		}
		next("SAVEPOINT")
		return named("ROLLBACK TO")
	}
	return "", ""
}

// savepointName returns a savepoint's name as d compares it.
func savepointName(w string, d eventual.Dialect) string {
	if d == eventual.DialectPostgres && len(w) >= 2 && w[0] == '"' && w[len(w)-1] == '"' {
		return strings.ReplaceAll(w[1:len(w)-1], `""`, `"`) // as written: "a" is a, "A" is not
	}
	return strings.ToLower(strings.Trim(w, "\"`[]'"))
}

// skipComments returns query without the white space and comments (-- to
// the end of the line, /* */ nested as PostgreSQL allows) it starts with.
func skipComments(query string) string {
	q := strings.TrimSpace(query)
	for {
		switch {
		case strings.HasPrefix(q, "--"):
			_, rest, ok := strings.Cut(q, "\n")
			if !ok {
				return ""
			}
			q = strings.TrimSpace(rest)
		case strings.HasPrefix(q, "/*"):
			depth, i := 0, 0
			for i < len(q) && (i == 0 || depth > 0) {
				switch {
				case strings.HasPrefix(q[i:], "/*"):
					depth, i = depth+1, i+2
				case strings.HasPrefix(q[i:], "*/"):
					depth, i = depth-1, i+2
				default:
					i++
				}
			}
			if depth > 0 {
				return ""
			}
			q = strings.TrimSpace(q[i:])
		default:
			return q
		}
	}
}
