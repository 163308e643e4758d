package outbox

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/internal/component"
	"github.com/eventual-go/eventual/internal/flatjson"
	"github.com/eventual-go/eventual/internal/sqltext"
	"github.com/eventual-go/eventual/internal/wake"
	"github.com/eventual-go/eventual/transport"
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrations embed.FS

// Migrations returns the outbox's schema migrations for a dialect (goose
// SQL files, applied by New through eventual.Migrator.MigrateComponent
// with the component name "outbox"), for operators who apply migrations
// with their own tools. Errors: eventual.ErrUnsupported for a dialect other
// than SQLite and PostgreSQL.
func Migrations(d eventual.Dialect) (fs.FS, error) {
	return component.Migrations(migrations, "outbox", d)
}

// migrate applies the outbox component's migrations to store and returns
// its dialect.
func migrate(ctx context.Context, store eventual.TxStore) (eventual.Dialect, error) {
	return component.Migrate(ctx, store, "outbox", migrations)
}

// Outbox keeps outgoing messages in a table of the event store's database,
// written by Add in the caller's transaction, and relays them to a
// transport with Relay. Create it with New; it is safe for concurrent use.
type Outbox struct {
	store   eventual.TxStore
	dialect eventual.Dialect
	cfg     config
	signal  wake.Signal
	// hot holds the rows this process added and committed, for the relay
	// to publish without reading them back.
	hot hotRows

	sent   atomic.Int64
	health health
}

// New returns the outbox of store, creating its table if needed. store
// must be a SQL store (eventual.Migrator: SQLite or PostgreSQL), since the
// messages are rows written in its transactions.
//
// Errors: ErrInvalidOption; eventual.ErrUnsupported for another store;
// eventual.ErrInvalidArgument for a nil store; the migration's error.
func New(ctx context.Context, store eventual.TxStore, opts ...Option) (*Outbox, error) {
	cfg := config{common: defaultCommon(), retention: 24 * time.Hour}
	for _, opt := range opts {
		if opt == nil {
			return nil, invalidOption("nil option")
		}
		if err := opt.applyOutbox(&cfg); err != nil {
			return nil, err
		}
	}
	dialect, err := migrate(ctx, store)
	if err != nil {
		return nil, err
	}
	return &Outbox{store: store, dialect: dialect, cfg: cfg, hot: hotRows{max: maxHot}}, nil
}

// insertChunk is the most rows one INSERT statement writes (7 parameters
// a row, within both backends' limits). Up to insertExact rows, a common
// case, go in one statement of their own count; more go in power-of-two
// chunks, so that the statements are few and stay prepared (sqltext).
const (
	insertChunk = 512
	insertExact = 4
)

// insertKey names an INSERT of messages: how many rows, and whether it
// returns their seqs.
type insertKey struct {
	rows      int
	returning bool
}

// insertStatements holds the INSERT of each row count, with RETURNING and
// without.
var insertStatements sqltext.Cache[insertKey]

// buildInsert returns the INSERT of k.rows messages, … RETURNING seq, id
// when k.returning: $1 is created_at, then 7 parameters a message.
func buildInsert(k insertKey) string {
	n := k.rows
	var q strings.Builder
	q.WriteString("INSERT INTO eventual_outbox (created_at, id, subject, type, key, data, metadata, reply_to) VALUES ")
	for i := range n {
		if i > 0 {
			q.WriteByte(',')
		}
		q.WriteString("($1, " + sqltext.Params(2+7*i, 7) + ")")
	}
	if k.returning {
		q.WriteString(" RETURNING seq, id")
	}
	return q.String()
}

// Add writes msgs to the outbox in tx, the caller's transaction: they are
// relayed once it commits, and never if it rolls back. Each message keeps
// its ID, by which a broker drops a message published twice. Messages with
// the same Key are published in the order they were added, across
// transactions in commit order.
//
// Add takes the log's lock (eventual.Tx.LockLog), as an append in tx
// does, until tx ends: rows then take their order (seq) in commit order —
// on PostgreSQL a sequence is handed out at insert, not at commit — so the
// relay can never publish a row before one that commits ahead of it.
// Transactions that add messages therefore commit one at a time, like
// those that append; keep them short.
//
// Errors: an error matching transport.ErrInvalidMessage when a message
// fails transport.Message.Validate, or has text that is not valid UTF-8 or
// holds a NUL byte (nothing is written then); eventual.ErrInvalidArgument
// for a nil tx; the context's or the database's error (on PostgreSQL a
// failed statement aborts the transaction: return the error from InTx's
// fn).
func (o *Outbox) Add(ctx context.Context, tx eventual.Tx, msgs ...transport.Message) error {
	if tx == nil {
		return fmt.Errorf("%w: outbox: nil transaction", eventual.ErrInvalidArgument)
	}
	if len(msgs) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	metas := make([]string, len(msgs))
	for i, m := range msgs {
		if err := validate(m); err != nil {
			return fmt.Errorf("outbox: message %d of %d: %w", i+1, len(msgs), err)
		}
		metas[i] = encodeMetadata(m.Metadata)
	}
	if err := tx.LockLog(ctx); err != nil {
		return fmt.Errorf("outbox: lock the log: %w", err)
	}
	now := time.Now().UnixMicro()
	var added []hotRow
	for start := 0; start < len(msgs); {
		n := sqltext.Chunk(len(msgs)-start, insertChunk, insertExact)
		end := start + n
		args := make([]any, 1, 1+7*n)
		args[0] = now
		for i := start; i < end; i++ {
			m := msgs[i]
			args = append(args, m.ID, m.Subject, m.Type, m.Key, m.Data, metas[i], m.ReplyTo)
		}
		var rows []hotRow
		var err error
		if tx.Dialect() == eventual.DialectSQLite {
			rows, err = insertedSQLite(ctx, tx, msgs[start:end], args)
		} else {
			rows, err = returned(ctx, tx, insertStatements.Get(insertKey{n, true}, buildInsert), args...)
		}
		if err != nil {
			return fmt.Errorf("outbox: add %d messages: %w", end-start, err)
		}
		added = appendHot(added, rows, msgs[start:end])
		start = end
	}
	tx.AfterCommit(func() {
		o.hot.add(added)
		o.signal.Notify()
	})
	return nil
}

// insertedSQLite inserts msgs with a plain INSERT and returns their rows,
// their seqs counted back from the last row's: on SQLite one transaction
// writes at a time and an AUTOINCREMENT rowid is one more than the largest
// ever used, so the n rows of one INSERT take n consecutive seqs, the last
// of them the rowid the transaction reports (lastInsertIDer) and the
// table's sqlite_sequence entry (queried for other transactions). That is
// cheaper than RETURNING, which SQLite serves by storing the rows aside
// and stepping through them (about a third of Add's CPU for 100 messages a
// transaction, BenchmarkAdd). The returned IDs are msgs' own.
func insertedSQLite(ctx context.Context, tx eventual.Tx, msgs []transport.Message, args []any) ([]hotRow, error) {
	if _, err := tx.Exec(ctx, insertStatements.Get(insertKey{len(msgs), false}, buildInsert), args...); err != nil {
		return nil, err
	}
	var last int64
	if l, ok := tx.(lastInsertIDer); ok {
		last = l.LastInsertID()
	} else if err := tx.QueryRow(ctx, "SELECT seq FROM sqlite_sequence WHERE name = 'eventual_outbox'").Scan(&last); err != nil {
		return nil, err
	}
	rows := make([]hotRow, len(msgs))
	for i, m := range msgs {
		rows[i].seq = last - int64(len(msgs)-1-i)
		rows[i].msg.ID = m.ID
	}
	return rows, nil
}

// lastInsertIDer is a SQLite transaction that tells the rowid of the last
// row its last Exec inserted (the SQLite store's transactions do): with
// AUTOINCREMENT, the last row's seq, the same as sqlite_sequence's entry
// right after the INSERT, without a query.
type lastInsertIDer interface{ LastInsertID() int64 }

// returned runs an INSERT … RETURNING seq, id and returns its rows.
func returned(ctx context.Context, tx eventual.Tx, query string, args ...any) ([]hotRow, error) {
	rows, err := tx.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []hotRow
	for rows.Next() {
		var r hotRow
		if err := rows.Scan(&r.seq, &r.msg.ID); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, rows.Close()
}

// validate checks a message as Publish would, and that its text can be
// stored and read back unchanged.
func validate(m transport.Message) error {
	if err := m.Validate(); err != nil {
		return err
	}
	// The labels of errors are built only for an error: Add validates
	// every message.
	valid := func(s string) bool { return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 }
	invalid := func(what string) error {
		return fmt.Errorf("%w: %s: %s is not valid UTF-8 without NUL bytes", transport.ErrInvalidMessage, m.ID, what)
	}
	md := m.Metadata
	for _, f := range [...]struct{ what, s string }{
		{"ID", m.ID}, {"subject", m.Subject}, {"type", m.Type}, {"key", m.Key}, {"reply-to", m.ReplyTo},
		{"correlation ID", md.CorrelationID}, {"causation ID", md.CausationID},
		{"tenant ID", md.TenantID}, {"user ID", md.UserID},
		{"trace parent", md.TraceParent}, {"trace state", md.TraceState},
	} {
		if !valid(f.s) {
			return invalid(f.what)
		}
	}
	for k, v := range md.Extra {
		switch {
		case k == "":
			return fmt.Errorf("%w: %s: empty metadata key", transport.ErrInvalidMessage, m.ID)
		case !valid(k):
			return invalid("metadata key " + strconv.Quote(k))
		case !valid(v):
			return invalid("metadata value of " + strconv.Quote(k))
		}
	}
	return nil
}

// metadataJSON is how eventual.Metadata is stored in the metadata column.
type metadataJSON struct {
	CorrelationID string            `json:"correlation_id,omitempty"`
	CausationID   string            `json:"causation_id,omitempty"`
	TenantID      string            `json:"tenant_id,omitempty"`
	UserID        string            `json:"user_id,omitempty"`
	TraceParent   string            `json:"traceparent,omitempty"`
	TraceState    string            `json:"tracestate,omitempty"`
	Extra         map[string]string `json:"extra,omitempty"`
}

// encodeMetadata writes m as the metadata column holds it: the JSON of
// metadataJSON, "" when m is empty.
func encodeMetadata(m eventual.Metadata) string {
	if m.IsZero() {
		return ""
	}
	// As json.Marshal(metadataJSON(m)) writes it, without its reflection.
	b := make([]byte, 1, 128)
	b[0] = '{'
	for _, f := range [...]struct{ key, value string }{
		{"correlation_id", m.CorrelationID}, {"causation_id", m.CausationID}, {"tenant_id", m.TenantID},
		{"user_id", m.UserID}, {"traceparent", m.TraceParent}, {"tracestate", m.TraceState},
	} {
		if f.value != "" {
			b = flatjson.AppendMember(b, f.key, f.value)
		}
	}
	if len(m.Extra) > 0 {
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = append(b, `"extra":`...)
		b = flatjson.AppendStringMap(b, m.Extra)
	}
	return string(append(b, '}'))
}

func decodeMetadata(s string) (eventual.Metadata, error) {
	if s == "" {
		return eventual.Metadata{}, nil
	}
	var m metadataJSON
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return eventual.Metadata{}, err
	}
	return eventual.Metadata(m), nil
}

// Stats tells how the outbox is doing.
type Stats struct {
	// Backlog is how many messages wait to be sent.
	Backlog int64
	// OldestUnsent is how long the oldest of them has waited; 0 when none
	// waits.
	OldestUnsent time.Duration
	// Sent counts the messages this Outbox's relays published and marked
	// sent since New.
	Sent int64
	// LastError is the last error of this Outbox's relays (a failed
	// publish, read or cleanup) and LastErrorAt when it happened; empty
	// and zero if there was none since New. They are kept after the relay
	// recovered: Failures tells whether it still fails.
	LastError   string
	LastErrorAt time.Time
	// Failures counts the relay's failures in a row: 0 once a batch went
	// through.
	Failures int
}

// Stats returns the backlog (read from the table, so it counts the rows of
// every process) and this Outbox's relay counters. Errors: the context's
// or the database's.
func (o *Outbox) Stats(ctx context.Context) (Stats, error) {
	var n, oldest int64
	err := o.read(ctx, func(q eventual.Querier) error {
		return q.QueryRow(ctx, "SELECT COUNT(*), COALESCE(MIN(created_at), 0) FROM eventual_outbox WHERE sent_at IS NULL").Scan(&n, &oldest)
	})
	if err != nil {
		return Stats{}, fmt.Errorf("outbox: stats: %w", err)
	}
	st := Stats{Backlog: n, Sent: o.sent.Load()}
	if n > 0 {
		st.OldestUnsent = max(time.Since(time.UnixMicro(oldest)), 0)
	}
	st.LastError, st.LastErrorAt, st.Failures = o.health.get()
	return st, nil
}

// cleanupChunk is the most rows one cleanup statement deletes, so that no
// transaction holds the writer long.
const cleanupChunk = 5000

// Cleanup deletes the sent rows older than the retention and returns how
// many it deleted. Relay calls it at start and every minute; call it
// yourself only if no relay runs. Errors: the context's or the database's.
func (o *Outbox) Cleanup(ctx context.Context) (int64, error) {
	cutoff := time.Now().Add(-o.cfg.retention).UnixMicro()
	var total int64
	for {
		var n int64
		err := lazyTx(ctx, o.store, func(tx eventual.Tx) error {
			var err error
			n, err = tx.Exec(ctx, `DELETE FROM eventual_outbox WHERE seq IN (
				SELECT seq FROM eventual_outbox WHERE sent_at IS NOT NULL AND sent_at <= $1 LIMIT $2)`,
				cutoff, cleanupChunk)
			return err
		})
		if err != nil {
			return total, fmt.Errorf("outbox: cleanup: %w", err)
		}
		total += n
		if n < cleanupChunk {
			return total, nil
		}
	}
}

// read runs fn with a way to query outside a write transaction where the
// store offers one (eventual.Querier: SQLite's readers, so the relay never
// holds the single writer to read), in a transaction otherwise.
func (o *Outbox) read(ctx context.Context, fn func(q eventual.Querier) error) error {
	return readQuery(ctx, o.store, fn)
}

// lazyTx runs fn in a transaction whose commit does not wait for the
// disk's flush (eventual.NoSyncTxStore: SQLite and PostgreSQL), for the
// relays' bookkeeping: marking rows sent, deleting them, saving a
// checkpoint. A crash of the machine may undo the last of these, each
// whole, and the relay then sends those messages again — allowed by
// at-least-once delivery, as after a crash of the process between a
// publish and its mark, and never a loss: the rows and the log themselves
// are written durably by their own transactions. A durable commit after
// it flushes it too. It spares the store's single writer (SQLite) a flush
// per relayed batch.
func lazyTx(ctx context.Context, store eventual.TxStore, fn func(tx eventual.Tx) error) error {
	if ns, ok := store.(eventual.NoSyncTxStore); ok {
		return ns.InTxNoSync(ctx, fn)
	}
	return store.InTx(ctx, fn)
}

func readQuery(ctx context.Context, store eventual.TxStore, fn func(q eventual.Querier) error) error {
	if q, ok := store.(eventual.Querier); ok {
		return fn(q)
	}
	return store.InTx(ctx, func(tx eventual.Tx) error { return fn(tx) })
}

// health records a relay's last error.
type health struct {
	mu       sync.Mutex
	err      string
	at       time.Time
	failures int
}

func (h *health) fail(err error) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.err, h.at = err.Error(), time.Now()
	h.failures++
	return h.failures
}

func (h *health) ok() {
	h.mu.Lock()
	h.failures = 0
	h.mu.Unlock()
}

func (h *health) get() (string, time.Time, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err, h.at, h.failures
}

// backoff is the growing wait after failures.
type backoff struct {
	first, max, cur time.Duration
}

func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.first
	} else {
		b.cur = min(2*b.cur, b.max)
	}
	return b.cur
}

func (b *backoff) reset() { b.cur = 0 }

// sleep waits d, or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// fatal reports whether err will not go away by retrying: the store or
// the transport was closed.
func fatal(err error) bool {
	return errors.Is(err, eventual.ErrClosed) || errors.Is(err, transport.ErrClosed)
}
