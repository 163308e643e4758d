package sqlite

import (
	"strconv"
	"strings"

	"github.com/eventual-go/eventual/internal/sqltext"
	"github.com/eventual-go/eventual/store/internal/plan"
)

// The events of a batch are written with multi-row INSERT statements, and
// binding their arguments is most of what the writer does in Go: every
// argument goes through database/sql's conversion and a cgo call of its
// own. So a statement binds only what differs from row to row. What a
// chunk of rows shares is written into the statement instead: columns
// that are NULL (or a schema version of 0) in every row are literals,
// recorded_at is one parameter for all rows, and positions that follow
// one another are the first position plus the row's offset. The shapes
// in use are few (most batches have the same metadata columns set), and
// each has its statement text, so the connection's statement cache holds
// them prepared.
//
// The statements are INSERT OR ROLLBACK: a multi-row INSERT that may fail
// on a constraint halfway (ABORT, the default) makes SQLite copy every page
// it changes into a statement journal first, so that it can undo the
// statement alone — 3 % of the CPU of a 64-writer bench. The writer never
// needs that: in the group commit a stored event ID (errUnique) makes it
// write the whole batch again in a new transaction, and transactions
// (InTx) look every event ID up first, so their inserts cannot fail on
// one. A constraint failure therefore rolls the transaction back, which
// is what the callers do anyway.

// maxChunk is the most rows one INSERT of events writes; a chunk is a
// power of two rows (sqltext.Chunk), so that only a few distinct
// statements are prepared and cached.
const maxChunk = 64

// insertColumns are the columns of an inserted event, in the order of the
// INSERT's column list.
var insertColumns = [...]string{"position", "stream_no", "version", "stream_id", "event_id", "type", "schema_version", "data",
	"correlation_id", "causation_id", "tenant_id", "user_id", "trace_parent", "trace_state", "extra", "recorded_at"}

// The columns that may be literals for a whole chunk: bit col of
// insertShape.literal stands for the column of that constant, whose
// literal is NULL, except schema_version's, which is 0.
const (
	colSchemaVersion = iota
	colCorrelation
	colCausation
	colTenant
	colUser
	colTraceParent
	colTraceState
	colExtra
	numOptional
)

// insertShape is what a statement binds for a chunk of rows.
type insertShape struct {
	rows int
	// literal has bit i set when optional column i has its literal value
	// in every row of the chunk.
	literal uint16
	// consecutive: each row's position is the one before plus one.
	consecutive bool
}

// rowArgs are the values of a row's optional columns, as bound.
type rowArgs [numOptional]any

// optionalArgs returns r's optional column values as bound, and which of
// them are their column's literal.
func optionalArgs(r *plan.Row) (a rowArgs, literal uint16) {
	m := &r.Event.Metadata
	a[colSchemaVersion] = int64(r.Event.SchemaVersion)
	a[colCorrelation], a[colCausation] = nullable(m.CorrelationID), nullable(m.CausationID)
	a[colTenant], a[colUser] = nullable(m.TenantID), nullable(m.UserID)
	a[colTraceParent], a[colTraceState] = nullable(m.TraceParent), nullable(m.TraceState)
	a[colExtra] = encodeExtra(m.Extra)
	for col, v := range a {
		if v == nil || col == colSchemaVersion && r.Event.SchemaVersion == 0 {
			literal |= 1 << col
		}
	}
	return a, literal
}

// insertStatements holds the statement text of each shape in use.
var insertStatements sqltext.Cache[insertShape]

// sql returns the INSERT statement of the shape. Its parameters are ?1,
// recorded_at; ?2, the first position, when consecutive; then each row's
// own values in column order.
func (sh insertShape) sql() string { return insertStatements.Get(sh, buildInsert) }

func buildInsert(sh insertShape) string {
	var b strings.Builder
	b.WriteString("INSERT OR ROLLBACK INTO events (")
	b.WriteString(strings.Join(insertColumns[:], ", "))
	b.WriteString(") VALUES ")
	param := 1
	if sh.consecutive {
		param = 2
	}
	next := func() {
		param++
		b.WriteByte('?')
		b.WriteString(strconv.Itoa(param))
	}
	optional := func(col int, literal string) {
		b.WriteString(", ")
		if sh.literal&(1<<col) != 0 {
			b.WriteString(literal)
		} else {
			next()
		}
	}
	for i := range sh.rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		switch {
		case !sh.consecutive:
			next()
		case i == 0:
			b.WriteString("?2")
		default:
			b.WriteString("?2+" + strconv.Itoa(i))
		}
		for range 5 { // stream_no, version, stream_id, event_id, type
			b.WriteString(", ")
			next()
		}
		optional(colSchemaVersion, "0")
		b.WriteString(", ")
		next() // data
		for col := colCorrelation; col < numOptional; col++ {
			optional(col, "NULL")
		}
		b.WriteString(", ?1)")
	}
	return b.String()
}

// insertEvents writes planned events with multi-row INSERTs.
func (w *writer) insertEvents(rows []plan.Row) error {
	for len(rows) > 0 {
		n := sqltext.Chunk(len(rows), maxChunk, 1)
		chunk := rows[:n]
		if cap(w.opt) < n {
			w.opt = make([]rowArgs, n)
		}
		opt := w.opt[:n]
		sh := insertShape{rows: n, literal: 1<<numOptional - 1, consecutive: true}
		for i := range chunk {
			a, literal := optionalArgs(&chunk[i])
			opt[i] = a
			sh.literal &= literal
			if i > 0 && chunk[i].Position != chunk[i-1].Position+1 {
				sh.consecutive = false
			}
		}
		args := append(w.args[:0], w.now)
		if sh.consecutive {
			args = append(args, int64(chunk[0].Position))
		}
		for i := range chunk {
			r := &chunk[i]
			if !sh.consecutive {
				args = append(args, int64(r.Position))
			}
			args = append(args, r.Stream.No, int64(r.Version), r.StreamID, r.Event.ID[:], r.Event.Type)
			if sh.literal&(1<<colSchemaVersion) == 0 {
				args = append(args, opt[i][colSchemaVersion])
			}
			args = append(args, r.Event.Data)
			for col := colCorrelation; col < numOptional; col++ {
				if sh.literal&(1<<col) == 0 {
					args = append(args, opt[i][col])
				}
			}
		}
		if onInsert != nil {
			onInsert(n, len(args))
		}
		_, err := w.tx.ExecContext(w.ctx, sh.sql(), args...)
		w.args = args
		clear(args) // pins no event's data until the next insert
		clear(opt)
		if err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// onInsert, when set (by tests), is told of each INSERT of events: its
// rows and bound arguments.
var onInsert func(rows, args int)
