package adapters

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/internal/sqltext"
)

// SearchMode is how the full-text search tables are built and queried.
type SearchMode int

// The search modes.
const (
	// SearchLike: a plain table of lower-cased text, queried with one
	// LIKE per word. PostgreSQL uses it for now (a tsvector index is for
	// a later issue), and SQLite builds without FTS.
	SearchLike SearchMode = iota + 1
	// SearchFTS4: an SQLite FTS4 table (built into go-sqlite3 by default).
	SearchFTS4
	// SearchFTS5: an SQLite FTS5 table (go-sqlite3 built with the
	// sqlite_fts5 tag).
	SearchFTS5
)

func (m SearchMode) String() string {
	switch m {
	case SearchFTS4:
		return "fts4"
	case SearchFTS5:
		return "fts5"
	}
	return "like"
}

// DetectSearch tells which search mode the store supports: FTS5, else
// FTS4 on SQLite; LIKE on PostgreSQL.
func DetectSearch(ctx context.Context, q eventual.Querier, dialect eventual.Dialect) (SearchMode, error) {
	if dialect != eventual.DialectSQLite {
		return SearchLike, nil
	}
	var fts5, fts3 bool
	err := q.QueryRow(ctx, "SELECT sqlite_compileoption_used('ENABLE_FTS5'), sqlite_compileoption_used('ENABLE_FTS3')").Scan(&fts5, &fts3)
	switch {
	case err != nil:
		return 0, fmt.Errorf("reporting: detect full-text search: %w", err)
	case fts5:
		return SearchFTS5, nil
	case fts3:
		return SearchFTS4, nil
	}
	return SearchLike, nil
}

// createSearch creates a search table of (id, doc).
func createSearch(ctx context.Context, tx eventual.Tx, mode SearchMode, table string) error {
	var ddl string
	switch mode {
	case SearchFTS5:
		ddl = "CREATE VIRTUAL TABLE " + table + " USING fts5(id UNINDEXED, doc)"
	case SearchFTS4:
		ddl = "CREATE VIRTUAL TABLE " + table + " USING fts4(id, doc, notindexed=id)"
	default:
		ddl = "CREATE TABLE " + table + " (id TEXT PRIMARY KEY, doc TEXT NOT NULL)"
	}
	_, err := tx.Exec(ctx, ddl)
	return err
}

// searchVersion is the projection version of a search mode: the search
// table's kind is part of the schema, and so, since the second layout, is
// how FTS documents are numbered (by the rowid of their item's row, see
// writeSearch); a change of either rebuilds the tables.
func searchVersion(mode SearchMode) int {
	if mode == SearchLike {
		return int(mode)
	}
	return int(mode) + 10
}

// writeSearch replaces the documents of docs (id → text). An FTS document
// is numbered by the rowid of its item's row in rows (upserted before):
// items are added in order, so new documents go to the end of the FTS
// tables' B-trees, where a hash of the ID would scatter each batch over
// as many pages as it has documents.
func writeSearch(ctx context.Context, tx eventual.Tx, mode SearchMode, table, rows string, ids []string, docs map[string]string) error {
	if len(ids) == 0 {
		return nil
	}
	values := make([][]any, 0, len(ids))
	for _, id := range ids {
		if mode == SearchLike {
			values = append(values, []any{id, strings.ToLower(docs[id])})
		} else {
			values = append(values, []any{id, docs[id]})
		}
	}
	if mode == SearchLike {
		return insertRows(ctx, tx, "INSERT INTO "+table+" (id, doc)", values,
			"ON CONFLICT (id) DO UPDATE SET doc = excluded.doc")
	}
	return insertRows(ctx, tx, "WITH v (id, doc) AS (", values,
		") INSERT OR REPLACE INTO "+table+" (rowid, id, doc) SELECT r.rowid, v.id, v.doc FROM v JOIN "+rows+" r ON r.id = v.id")
}

// deleteSearch removes the document of id (its row in rows still there).
func deleteSearch(ctx context.Context, tx eventual.Tx, mode SearchMode, table, rows, id string) error {
	var err error
	if mode == SearchLike {
		_, err = tx.Exec(ctx, "DELETE FROM "+table+" WHERE id = $1", id)
	} else {
		_, err = tx.Exec(ctx, "DELETE FROM "+table+" WHERE rowid = (SELECT rowid FROM "+rows+" WHERE id = $1)", id)
	}
	return err
}

// searchCondition returns the condition on alias's doc column that finds
// every term (as a prefix for FTS, anywhere for LIKE), with its arguments
// numbered from $next.
func searchCondition(mode SearchMode, alias string, terms []string, next int) (string, []any) {
	if mode == SearchLike {
		conds := make([]string, len(terms))
		args := make([]any, len(terms))
		for i, t := range terms {
			conds[i] = alias + ".doc LIKE $" + strconv.Itoa(next+i) + ` ESCAPE '\'`
			args[i] = "%" + likeEscaper.Replace(t) + "%"
		}
		return strings.Join(conds, " AND "), args
	}
	q := make([]string, len(terms))
	for i, t := range terms {
		q[i] = t + "*" // terms are letters and digits only: no FTS operator
	}
	return alias + ".doc MATCH $" + strconv.Itoa(next), []any{strings.Join(q, " ")}
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`)

// maxParams bounds the parameters of one statement (SQLite's default
// limit is 32766, PostgreSQL's 65535).
const maxParams = 8000

// insertRows runs head VALUES (…), (…) tail for rows: up to insertExact
// rows in one statement of their own count, more in power-of-two chunks
// as large as the parameter limit allows (sqltext.Chunk), so that the
// statements are few and stay prepared.
func insertRows(ctx context.Context, tx eventual.Tx, head string, rows [][]any, tail string) error {
	if len(rows) == 0 {
		return nil
	}
	cols := len(rows[0])
	most := max(1, maxParams/cols)
	args := make([]any, 0, min(len(rows), most)*cols)
	for len(rows) > 0 {
		n := sqltext.Chunk(len(rows), most, insertExact)
		args = args[:0]
		for _, r := range rows[:n] {
			args = append(args, r...)
		}
		if _, err := tx.Exec(ctx, insertStatements.Get(insertKey{head, tail, cols, n}, buildInsert), args...); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// insertExact is the most rows insertRows writes with a statement of
// their own count.
const insertExact = 4

// insertKey names a statement of insertRows.
type insertKey struct {
	head, tail string
	cols, rows int
}

// insertStatements holds the statements of insertRows.
var insertStatements sqltext.Cache[insertKey]

// buildInsert returns head VALUES ($1, …), … tail for k.rows rows of
// k.cols values.
func buildInsert(k insertKey) string {
	var b strings.Builder
	b.WriteString(k.head)
	b.WriteString(" VALUES ")
	for i := range k.rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		b.WriteString(sqltext.Params(i*k.cols+1, k.cols))
		b.WriteByte(')')
	}
	if k.tail != "" {
		b.WriteByte(' ')
		b.WriteString(k.tail)
	}
	return b.String()
}

// chunks calls fn with ids in parts of at most 512, each padded to a
// power of two by repeating its last ID (sqltext.Padded): the parts are
// IN lists, where a repeat changes nothing, and a few list lengths keep
// their statements prepared, where one per count would not.
func chunks(ids []string, fn func(part []any) error) error {
	const size = 512
	for start := 0; start < len(ids); start += size {
		end := min(start+size, len(ids))
		n := sqltext.Padded(end - start)
		part := sqltext.AppendPadded(make([]any, 0, n), ids[start:end], n)
		if err := fn(part); err != nil {
			return err
		}
	}
	return nil
}
