package eventual

import (
	"context"
	"io/fs"
	"iter"
	"time"
)

// Store is an append-only event store: streams of events, each with versions
// 1, 2, 3, …, and one global log of all events ordered by commit.
//
// Every implementation passes the conformance suite in store/storetest,
// which checks the guarantees written on each method. All methods are safe
// for concurrent use.
type Store interface {
	// Append appends events to one stream if expected holds, atomically:
	// all of them or none.
	//
	// Events with a zero ID get a new UUIDv7. If every event's ID is
	// already stored in this stream, in the same order, nothing is written
	// and the result of the original append is returned, whatever expected
	// says: retrying an append with the same event IDs is safe.
	//
	// Errors: *[ConflictError] (matches [ErrConflict]) when expected does
	// not hold; [ErrStreamDeleted]; [ErrInvalidArgument] for an empty or
	// over-long stream ID, no events, an event without a type, an event over
	// the size limit, invalid UTF-8, duplicate IDs in the call, or IDs that
	// are stored elsewhere; the context's error if it ended before the
	// append was taken for writing; [ErrClosed]. Once an append has been
	// taken for writing, Append waits for and reports its real outcome.
	Append(ctx context.Context, streamID string, expected ExpectedVersion, events ...EventData) (AppendResult, error)

	// AppendMulti appends to several streams in one transaction: all
	// appends are written, or none is. Each request's expected version is
	// checked; the first that fails fails the call. A stream may appear
	// only once per call. Errors are those of Append.
	AppendMulti(ctx context.Context, appends ...AppendRequest) ([]AppendResult, error)

	// ReadStream returns the events of one stream in version order (or
	// reverse order with [Backward]), in batches, as an iterator. The
	// iterator yields one error and stops on failure: [ErrStreamNotFound],
	// [ErrStreamDeleted], [ErrInvalidArgument], or the context's error.
	ReadStream(ctx context.Context, streamID string, opts ReadStreamOptions) iter.Seq2[RecordedEvent, error]

	// ReadAll returns events of the global log in position order (or
	// reverse), filtered as opts says, in batches, as an iterator. It reads
	// up to the head of the log as it was when it started; use Subscribe to
	// go on with what comes after.
	ReadAll(ctx context.Context, opts ReadAllOptions) iter.Seq2[RecordedEvent, error]

	// Subscribe returns all events from opts.From on, as ReadAll does, and
	// then keeps waiting for new ones and returns them as soon as they are
	// committed, by this process or (on shared backends) by any other. It
	// never returns an event twice or skips one, and positions strictly
	// increase. It ends when ctx ends, yielding ctx's error.
	Subscribe(ctx context.Context, opts SubscribeOptions) iter.Seq2[RecordedEvent, error]

	// StreamInfo returns a stream's head version and state.
	// Errors: [ErrStreamNotFound], [ErrInvalidArgument]. A deleted stream
	// is reported with Deleted set, not as an error.
	StreamInfo(ctx context.Context, streamID string) (StreamInfo, error)

	// HeadPosition returns the position of the last committed event in the
	// global log, or 0 when the log is empty.
	HeadPosition(ctx context.Context) (uint64, error)

	// DeleteStream soft-deletes a stream if expected holds: its events stay
	// in the global log, but the stream can no longer be read or appended
	// to ([ErrStreamDeleted]). Deleting a deleted stream does nothing.
	// Errors: [ErrStreamNotFound], *[ConflictError], [ErrInvalidArgument].
	DeleteStream(ctx context.Context, streamID string, expected ExpectedVersion) error

	// TruncateStream removes the stream's events with versions below
	// before, from the stream and the global log. The stream keeps its
	// version; reads start at before. Truncating less than is already
	// truncated does nothing. Errors: [ErrStreamNotFound],
	// [ErrStreamDeleted], [ErrInvalidArgument] when before is beyond the
	// next version.
	TruncateStream(ctx context.Context, streamID string, before uint64) error

	// Close finishes the appends already taken, then releases resources.
	// Calls after Close fail with [ErrClosed].
	Close() error
}

// TxStore is a [Store] that lets the caller write its own rows in the same
// database transaction as its appends. SQLite and PostgreSQL backends
// implement it, so an outbox row, an inbox mark or a read-model update
// commits or rolls back together with the events.
type TxStore interface {
	Store
	// InTx runs fn in one transaction and commits it if fn returns nil;
	// otherwise it rolls back and returns fn's error. Appends made through
	// tx become visible to readers and subscribers only after the commit.
	// Keep fn short: on the embedded backend it holds the single writer.
	InTx(ctx context.Context, fn func(tx Tx) error) error
}

// NoSyncTxStore is a [TxStore] that can also commit a transaction without
// waiting for the disk to flush it, for writes that can be made again from
// the log: read models and their checkpoints. A crash of the process loses
// nothing; a crash of the machine may lose the last such transactions,
// each whole. A durable commit after them flushes them too (the database's
// log is written in order), so they never make a durable commit's writes
// less durable. Both SQL backends implement it: SQLite with PRAGMA
// synchronous = NORMAL for the transaction, PostgreSQL with
// synchronous_commit off for it.
type NoSyncTxStore interface {
	TxStore
	// InTxNoSync is InTx with a commit that does not wait for the flush.
	InTxNoSync(ctx context.Context, fn func(tx Tx) error) error
}

// Tx is a transaction of a [TxStore]: event appends and the caller's own SQL
// in one atomic unit, with the same API on every SQL backend.
//
// Queries use $1, $2, … placeholders on every backend. A Tx must not be used
// after InTx's fn returns, nor from several goroutines at once.
type Tx interface {
	// Append, AppendMulti, ReadStream and StreamInfo behave as the Store's,
	// inside the transaction: they see the transaction's own writes. One
	// difference: an append that expects no stream or an exact version and
	// carries an event ID stored in another stream (or elsewhere in its
	// own) is not refused alone with [ErrInvalidArgument]; the transaction
	// fails with an error, writing nothing. (Such IDs are looked up only
	// after a version conflict, which a retry of a stored append always
	// meets; that spares a query per append.)
	Append(ctx context.Context, streamID string, expected ExpectedVersion, events ...EventData) (AppendResult, error)
	AppendMulti(ctx context.Context, appends ...AppendRequest) ([]AppendResult, error)
	ReadStream(ctx context.Context, streamID string, opts ReadStreamOptions) iter.Seq2[RecordedEvent, error]
	StreamInfo(ctx context.Context, streamID string) (StreamInfo, error)

	// Exec runs a statement and returns the number of rows it affected.
	Exec(ctx context.Context, query string, args ...any) (int64, error)
	// Query runs a query that returns rows. The caller closes them.
	Query(ctx context.Context, query string, args ...any) (Rows, error)
	// QueryRow runs a query expected to return at most one row. Its Scan
	// returns an error matching [database/sql.ErrNoRows] when there is none.
	QueryRow(ctx context.Context, query string, args ...any) Row

	// Dialect tells which SQL the backend speaks.
	Dialect() Dialect

	// LockLog takes, until the transaction ends, the lock that puts the
	// commits of appends in order (an append in the transaction takes it
	// too). A transaction that numbers rows of its own from a sequence —
	// the outbox does — then commits in the order of those numbers, as
	// events commit in the order of their positions. Transactions holding
	// it commit one at a time: keep them short. On backends that write
	// one transaction at a time anyway (SQLite, memory) it does nothing.
	LockLog(ctx context.Context) error
	// AfterCommit registers fn to run after the transaction commits (not
	// if it rolls back), in registration order, before InTx returns. Use it
	// to wake whatever reads what the transaction wrote. A function
	// registered after a SAVEPOINT that the transaction then rolls back to
	// (ROLLBACK TO SAVEPOINT, through Exec) is dropped with what it wrote.
	// Savepoint statements are recognized after leading comments, with
	// names compared as the database compares them (on PostgreSQL a quoted
	// name keeps its case); run them through Exec, not inside a function
	// or a multi-statement string.
	AfterCommit(fn func())
}

// Notifier is a store that tells when appends commit, so that whatever
// follows the global log (projections, relays) wakes at once instead of
// polling. Every backend in this module implements it.
type Notifier interface {
	// Appended returns a channel that is closed when the next append
	// commits: one by this process, or on the shared backends (PostgreSQL,
	// a SQLite file) one by any process. Take the channel before reading
	// the log, then wait on it, so that no commit in between is missed.
	// The channel may also close with nothing new (a listener
	// reconnecting, a poll): re-read, then wait on a new channel. Other
	// processes' commits may be seen late where polling is the fallback,
	// so a follower should also wake on a timer.
	Appended() <-chan struct{}
}

// Querier runs read-only queries outside any write transaction, with $1,
// $2, … placeholders on every backend: the way to read read models (the
// tables projections write) without holding the writer. The SQL stores
// implement it.
type Querier interface {
	// Query runs a query that returns rows. The caller closes them.
	Query(ctx context.Context, query string, args ...any) (Rows, error)
	// QueryRow runs a query expected to return at most one row. Its Scan
	// returns an error matching [database/sql.ErrNoRows] when there is none.
	QueryRow(ctx context.Context, query string, args ...any) Row
}

// Migrator is a store that applies the schema migrations of other
// components (the outbox, the inbox, projections) to its database, each
// component with its own version table. The SQL stores implement it.
type Migrator interface {
	// Dialect tells which SQL the component's migrations must be written
	// in.
	Dialect() Dialect
	// MigrateComponent applies the migrations in fsys (goose SQL files)
	// that the component lacks. component names the version table
	// (eventual_<component>_migrations) and must be a lower-case
	// identifier.
	MigrateComponent(ctx context.Context, component string, fsys fs.FS) error
}

// Rows is the result of [Tx.Query].
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close() error
}

// Row is the result of [Tx.QueryRow].
type Row interface {
	Scan(dest ...any) error
}

// Dialect names the SQL dialect of a backend.
type Dialect string

// The dialects of the backends in this module.
const (
	DialectSQLite   Dialect = "sqlite"
	DialectPostgres Dialect = "postgres"
	DialectMemory   Dialect = "memory"
)

// AppendRequest is one stream's part of [Store.AppendMulti].
type AppendRequest struct {
	StreamID string
	Expected ExpectedVersion
	Events   []EventData
}

// AppendResult tells where an append's events landed.
type AppendResult struct {
	StreamID string
	// FirstVersion and LastVersion are the versions of the first and the
	// last appended event; LastVersion is the stream's new head.
	FirstVersion, LastVersion uint64
	// FirstPosition and LastPosition are their positions in the global
	// log. Wait for a projection to reach LastPosition to read your write.
	FirstPosition, LastPosition uint64
}

// Direction is the order of a read.
type Direction uint8

const (
	// Forward reads in increasing version or position order.
	Forward Direction = iota
	// Backward reads in decreasing order.
	Backward
)

// ReadStreamOptions tell [Store.ReadStream] what to read.
type ReadStreamOptions struct {
	// From is the first version to return. Forward: 0 and 1 both mean the
	// start. Backward: 0 means the end.
	From uint64
	// Direction is Forward (the default) or Backward.
	Direction Direction
	// Limit is the most events to return; 0 means no limit.
	Limit int
}

// Filter narrows reads of the global log. The zero Filter matches all.
type Filter struct {
	// Types keeps only events of these types, if not empty.
	Types []string
	// StreamPrefix keeps only events of streams whose ID starts with it.
	StreamPrefix string
}

// ReadAllOptions tell [Store.ReadAll] what to read.
type ReadAllOptions struct {
	// From is the first position to return. Forward: 0 means the start;
	// resume after a checkpoint p with From: p+1. Backward: 0 means the
	// end.
	From uint64
	// Direction is Forward (the default) or Backward.
	Direction Direction
	// Limit is the most events to return; 0 means no limit.
	Limit int
	// Filter keeps only matching events.
	Filter Filter
	// Since and Until keep only events recorded in [Since, Until); a zero
	// time leaves that end open.
	Since, Until time.Time
}

// SubscribeOptions tell [Store.Subscribe] where to start and what to keep.
type SubscribeOptions struct {
	// From is the first position to return; 0 means the start of the log.
	// Resume after a checkpoint p with From: p+1.
	From uint64
	// Filter keeps only matching events.
	Filter Filter
}

// StreamInfo describes a stream.
type StreamInfo struct {
	StreamID string
	// Version is the version of the stream's last event: its head.
	Version uint64
	// FirstVersion is the first version still stored: 1, or the version a
	// truncation kept. It is Version+1 when every event was truncated.
	FirstVersion uint64
	// Deleted tells whether the stream was soft-deleted.
	Deleted bool
}

// Collect drains an iterator from the store into a slice, stopping at the
// first error.
func Collect(seq iter.Seq2[RecordedEvent, error]) ([]RecordedEvent, error) {
	var out []RecordedEvent
	for ev, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, ev)
	}
	return out, nil
}

// GroupCommitStats describes a store's group commit since the store was
// opened: how many transactions it wrote appends in, how many appends and
// events they held, and the time spent writing and committing them. From
// two readings: appends per batch = ΔAppends ÷ ΔBatches, and the time a
// batch takes = ΔBusy ÷ ΔBatches. With W writers each waiting for its
// append, a batch holds at most W appends, so W ÷ (time per batch) bounds
// the appends per second. The SQLite and PostgreSQL backends implement
// [GroupCommitReporter].
type GroupCommitStats struct {
	Batches int64         // transactions the group commit ran, committed or not
	Appends int64         // Append and AppendMulti calls they held
	Events  int64         // events those calls carried
	Busy    time.Duration // time from each batch's first request taken to its outcome known
}

// GroupCommitReporter is a [Store] whose appends go through a group commit.
type GroupCommitReporter interface {
	// GroupCommitStats returns the group commit's counters so far.
	GroupCommitStats() GroupCommitStats
}
