package saga

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/internal/sqltext"
)

// Status is where an instance stands.
type Status string

// The statuses of an instance.
const (
	// StatusRunning: going forward, step by step.
	StatusRunning Status = "running"
	// StatusCompensating: undoing the completed steps, last first.
	StatusCompensating Status = "compensating"
	// StatusDone: every step completed.
	StatusDone Status = "done"
	// StatusFailed: a step failed and the steps before it were
	// compensated, or a person aborted the saga.
	StatusFailed Status = "failed"
	// StatusStuck: a compensation failed; the saga waits for a person
	// (Retry, Skip, Abort). Never silently done.
	StatusStuck Status = "stuck"
)

// finished reports whether nothing more happens to an instance in s.
func (s Status) finished() bool { return s == StatusDone || s == StatusFailed }

// Instance is one run of a saga, as Get and List return it.
type Instance[D any] struct {
	Name string
	ID   string
	// Status, and the step in progress: the one going forward or, when
	// compensating, the one being compensated (-1 when none).
	Status   Status
	Step     int
	StepName string
	// Attempt is the attempt of the step's action (or compensation) in
	// progress, from 1.
	Attempt int
	Data    D
	// Awaiting tells that the instance waits for a reply to a command.
	Awaiting bool
	// Due is when its timer fires (the reply's timeout, or the next
	// attempt); zero when none.
	Due time.Time
	// Error says why the saga compensates, failed or is stuck.
	Error string
	// Version is the version of the instance's history stream.
	Version   uint64
	StartedAt time.Time
	UpdatedAt time.Time
}

// HistoryEntry is one entry of an instance's history. The entries one
// transaction recorded (a reply, the step's completion, the next command)
// are stored as one event: they share its Version, Position, At and Data.
type HistoryEntry struct {
	// Type is one of the Event… constants.
	Type string
	At   time.Time
	// Version and Position are the event's in the history stream and the
	// global log.
	Version, Position uint64
	// Status, Step, StepName and Attempt are the instance's after the
	// event.
	Status   Status
	Step     int
	StepName string
	Attempt  int
	// Reason says why a step failed, timed out or was repaired.
	Reason string
	// MessageID is the command sent, or the reply received.
	MessageID string
	ReplyType string
	// Data is the instance's data after the transaction that recorded the
	// entry, as JSON.
	Data json.RawMessage
}

// The types of history events, recorded in the stream saga-<name>-<id>.
const (
	EventStarted             = "saga.started"
	EventCommandSent         = "saga.command_sent"
	EventReplyReceived       = "saga.reply_received"
	EventStepCompleted       = "saga.step_completed"
	EventAttemptFailed       = "saga.attempt_failed"
	EventTimedOut            = "saga.timed_out"
	EventStepFailed          = "saga.step_failed"
	EventCompensationStarted = "saga.compensation_started"
	EventStepCompensated     = "saga.step_compensated"
	EventDone                = "saga.done"
	EventFailed              = "saga.failed"
	EventStuck               = "saga.stuck"
	EventRepaired            = "saga.repaired"
)

// historyData is the payload of a history event.
type historyData struct {
	Step      int    `json:"step"`
	StepName  string `json:"step_name,omitempty"`
	Attempt   int    `json:"attempt,omitempty"`
	Status    Status `json:"status"`
	Reason    string `json:"reason,omitempty"`
	MessageID string `json:"message_id,omitempty"`
	ReplyType string `json:"reply_type,omitempty"`
	// Data is the instance's data after the event when it changed since
	// the previous event, and omitted otherwise (History fills it in).
	Data json.RawMessage `json:"data,omitempty"`
	// Before holds the entries that one transaction recorded ahead of
	// this one (the event's type is the last entry's), oldest first;
	// each names its Type. One event per transaction instead of one per
	// entry: a step's reply, its completion and the next command are
	// one write.
	Before []historyData `json:"before,omitempty"`
	Type   string        `json:"type,omitempty"`
}

// StreamID is the ID of the stream holding the history of instance id of
// the saga called name.
func StreamID(name, id string) string { return "saga-" + name + "-" + id }

var idRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)

// validID checks an instance ID: 1 to 128 letters, digits, '.', '_', '-'.
func validID(id string) error {
	if !idRE.MatchString(id) {
		return fmt.Errorf("%w: saga instance ID %q is not 1 to 128 letters, digits, '.', '_' or '-'", eventual.ErrInvalidArgument, id)
	}
	return nil
}

// state is an instance as the orchestrator works on it: its row, its data
// decoded, and what the current transition adds.
type state[D any] struct {
	name, id  string
	status    Status
	step      int
	attempt   int
	awaiting  string
	due       time.Time // zero: none
	data      D
	meta      eventual.Metadata
	err       string
	version   uint64 // of the history, as loaded
	startedAt time.Time
	updatedAt time.Time

	// recorded is the data as of the last history event (JSON).
	recorded []byte

	isNew   bool
	entries []historyData // history recorded by this transaction, Type set
	encoded []byte        // data as JSON, set by encode
}

// changed tells whether this transaction recorded anything of st: only
// then is its row written and its history appended.
func (st *state[D]) changed() bool { return len(st.entries) > 0 }

// nextVersion is the history's version once this transaction's entries
// are written: they go in one event.
func (st *state[D]) nextVersion() uint64 {
	if !st.changed() {
		return st.version
	}
	return st.version + 1
}

// historyEvent is the event of this transaction's entries: the last one,
// carrying the earlier ones in Before and the data if it changed. It
// needs encode to have run.
func (st *state[D]) historyEvent() (eventual.EventData, error) {
	last := st.entries[len(st.entries)-1]
	typ := last.Type
	last.Type = ""
	if len(st.entries) > 1 {
		last.Before = st.entries[:len(st.entries)-1]
	}
	b, err := json.Marshal(last)
	if err != nil {
		return eventual.EventData{}, fmt.Errorf("saga %s %s: encode history: %w", st.name, st.id, err)
	}
	if !bytes.Equal(st.encoded, st.recorded) {
		// The data goes in as encode made it: json.Marshal would scan a
		// RawMessage again to check and compact it (a sixth of a
		// transition's encoding for a saga carrying an order).
		b = spliceData(b, st.encoded)
	}
	st.recorded = st.encoded
	meta := st.meta
	meta.Extra = nil
	return eventual.EventData{Type: typ, Data: b, Metadata: meta}, nil
}

// spliceData adds the member "data": data (valid, compact JSON, as
// json.Marshal made it) to obj, a JSON object with at least one member.
func spliceData(obj, data []byte) []byte {
	out := make([]byte, 0, len(obj)+len(`,"data":`)+len(data))
	out = append(out, obj[:len(obj)-1]...)
	out = append(out, `,"data":`...)
	out = append(out, data...)
	return append(out, '}')
}

const rowColumns = "id, status, step, attempt, awaiting, due_at, data, metadata, error, version, started_at, updated_at"

// scanState reads a row into a state.
func scanState[D any](name string, r eventual.Row) (*state[D], error) {
	st := &state[D]{name: name}
	var due sql.NullInt64
	var data, meta string
	var version, started, updated int64
	var status string
	if err := r.Scan(&st.id, &status, &st.step, &st.attempt, &st.awaiting, &due, &data, &meta, &st.err, &version, &started, &updated); err != nil {
		return nil, err
	}
	st.status, st.version = Status(status), uint64(version)
	st.startedAt, st.updatedAt = time.UnixMicro(started).UTC(), time.UnixMicro(updated).UTC()
	if due.Valid {
		st.due = time.UnixMicro(due.Int64).UTC()
	}
	st.recorded = []byte(data)
	if err := json.Unmarshal(st.recorded, &st.data); err != nil {
		return nil, fmt.Errorf("saga %s %s: decode data: %w", name, st.id, err)
	}
	if meta != "" {
		if err := json.Unmarshal([]byte(meta), &st.meta); err != nil {
			return nil, fmt.Errorf("saga %s %s: decode metadata: %w", name, st.id, err)
		}
	}
	return st, nil
}

// loadAll reads the instances ids in tx, in one query; those missing are
// not in the map.
func loadAll[D any](ctx context.Context, tx eventual.Tx, name string, ids []string) (map[string]*state[D], error) {
	out := make(map[string]*state[D], len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := selectInstances(ctx, tx, rowColumns, name, ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		st, err := scanState[D](name, rows)
		if err != nil {
			return nil, err
		}
		out[st.id] = st
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, rows.Close()
}

// selectInstances selects columns of the instances ids of saga name.
// Lists of up to maxPaddedIDs IDs are padded to a power of two by
// repeating the last ID (sqltext.Padded), so that the statements are few
// and stay prepared.
func selectInstances(ctx context.Context, tx eventual.Tx, columns, name string, ids []string) (eventual.Rows, error) {
	n := len(ids)
	if n <= maxPaddedIDs {
		n = sqltext.Padded(n)
	}
	args := sqltext.AppendPadded(append(make([]any, 0, n+1), name), ids, n)
	return tx.Query(ctx, selectStatements.Get(selectKey{columns, n}, buildSelect), args...)
}

// maxPaddedIDs bounds the ID lists selectInstances pads (well within the
// parameter limits of both backends).
const maxPaddedIDs = 4096

// selectKey names a statement of selectInstances.
type selectKey struct {
	columns string
	n       int
}

// selectStatements holds the statements of selectInstances.
var selectStatements sqltext.Cache[selectKey]

// buildSelect returns the SELECT of k.columns for k.n instance IDs ($2…).
func buildSelect(k selectKey) string {
	return "SELECT " + k.columns + " FROM eventual_sagas WHERE name = $1 AND id IN (" + sqltext.Params(2, k.n) + ")"
}

// row is a state encoded for its row.
type row struct {
	args []any // status, step, attempt, awaiting, due, data, error, version
	id   string
	old  uint64
	meta string
}

// encode returns st's row values.
func (st *state[D]) encode() (row, error) {
	data, err := json.Marshal(st.data)
	if err != nil {
		return row{}, fmt.Errorf("saga %s %s: encode data: %w", st.name, st.id, err)
	}
	st.encoded = data
	r := row{id: st.id, old: st.version}
	if !st.meta.IsZero() {
		b, err := json.Marshal(st.meta)
		if err != nil {
			return row{}, err
		}
		r.meta = string(b)
	}
	var due any
	if !st.due.IsZero() {
		due = st.due.UnixMicro()
	}
	r.args = []any{string(st.status), st.step, st.attempt, st.awaiting, due, string(data), st.err,
		int64(st.nextVersion())}
	return r, nil
}

// saveAll writes the rows of the changed states: the new ones with one
// INSERT, the others with one UPDATE that checks each row's version
// (compare-and-set: another process that changed an instance meanwhile
// makes this transaction fail with eventual.ErrConflict).
func saveAll[D any](ctx context.Context, tx eventual.Tx, name string, states []*state[D], now time.Time) error {
	var inserts, updates []row
	for _, st := range states {
		if !st.changed() {
			continue
		}
		r, err := st.encode()
		if err != nil {
			return err
		}
		if st.isNew {
			inserts = append(inserts, r)
		} else {
			updates = append(updates, r)
		}
	}
	nowUS := now.UnixMicro()
	if len(inserts) > 0 {
		var q strings.Builder
		q.WriteString(`INSERT INTO eventual_sagas (name, id, metadata, started_at, updated_at, status, step, attempt, awaiting, due_at, data, error, version) VALUES `)
		args := []any{name, nowUS}
		for i, r := range inserts {
			if i > 0 {
				q.WriteByte(',')
			}
			args = append(args, r.id, r.meta)
			q.WriteString("($1, $" + strconv.Itoa(len(args)-1) + ", $" + strconv.Itoa(len(args)) + ", $2, $2")
			for _, a := range r.args {
				args = append(args, a)
				q.WriteString(", $" + strconv.Itoa(len(args)))
			}
			q.WriteByte(')')
		}
		if _, err := tx.Exec(ctx, q.String(), args...); err != nil {
			return err
		}
	}
	if len(updates) == 0 {
		return nil
	}
	if tx.Dialect() == eventual.DialectSQLite {
		// In-process: a statement per row is cheaper than the join below
		// (measured with the saga bench: about 2,800 against 2,500 sagas/s).
		for _, r := range updates {
			n, err := tx.Exec(ctx, `UPDATE eventual_sagas SET status = $1, step = $2, attempt = $3, awaiting = $4, due_at = $5, data = $6,
				error = $7, version = $8, updated_at = $9 WHERE name = $10 AND id = $11 AND version = $12`,
				append(r.args, nowUS, name, r.id, int64(r.old))...)
			if err == nil && n != 1 {
				err = fmt.Errorf("%w: saga %s %s changed meanwhile", eventual.ErrConflict, name, r.id)
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	// One UPDATE from a VALUES list; its columns are column1… on both
	// databases, and typed by CASTs (PostgreSQL would take them as text).
	var q strings.Builder
	q.WriteString(`UPDATE eventual_sagas SET status = v.column3, step = v.column4, attempt = v.column5, awaiting = v.column6,
		due_at = v.column7, data = v.column8, error = v.column9, version = v.column10, updated_at = $2
		FROM (VALUES `)
	args := []any{name, nowUS}
	casts := []string{"TEXT", "BIGINT", "TEXT", "INTEGER", "INTEGER", "TEXT", "BIGINT", "TEXT", "TEXT", "BIGINT"}
	for i, r := range updates {
		if i > 0 {
			q.WriteByte(',')
		}
		vals := append([]any{r.id, int64(r.old)}, r.args...)
		q.WriteByte('(')
		for j, a := range vals {
			if j > 0 {
				q.WriteString(", ")
			}
			args = append(args, a)
			q.WriteString("CAST($" + strconv.Itoa(len(args)) + " AS " + casts[j] + ")")
		}
		q.WriteByte(')')
	}
	q.WriteString(`) AS v WHERE eventual_sagas.name = $1 AND eventual_sagas.id = v.column1 AND eventual_sagas.version = v.column2`)
	n, err := tx.Exec(ctx, q.String(), args...)
	if err == nil && n != int64(len(updates)) {
		err = fmt.Errorf("%w: saga %s: %d of %d instances changed meanwhile", eventual.ErrConflict, name, int64(len(updates))-n, len(updates))
	}
	return err
}

// instance returns the exported view of st.
func (st *state[D]) instance(def *Definition[D]) Instance[D] {
	in := Instance[D]{Name: st.name, ID: st.id, Status: st.status, Step: st.step, Attempt: st.attempt, Data: st.data,
		Awaiting: st.awaiting != "", Due: st.due, Error: st.err, Version: st.version,
		StartedAt: st.startedAt, UpdatedAt: st.updatedAt}
	if st.step >= 0 && st.step < len(def.steps) {
		in.StepName = def.steps[st.step].name
	}
	return in
}

// commandPrefix is the start of the IDs of the commands of a step's
// action (phase 'f') or compensation ('c'); awaiting holds it.
func commandPrefix(name, id string, phase byte, step int) string {
	return "saga:" + name + ":" + id + ":" + string(phase) + strconv.Itoa(step) + ":"
}

// sagaOf returns the saga name and instance ID a command ID (a reply's
// causation ID) belongs to.
func sagaOf(commandID string) (name, id string, ok bool) {
	rest, ok := strings.CutPrefix(commandID, "saga:")
	if !ok {
		return "", "", false
	}
	parts := strings.SplitN(rest, ":", 4)
	if len(parts) != 4 {
		return "", "", false
	}
	return parts[0], parts[1], true
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// cloneOf returns *d's Clone, and false when D does not implement
// eventual.Cloner.
func cloneOf[D any](d *D) (D, bool) {
	if c, ok := any(d).(eventual.Cloner[D]); ok {
		return c.Clone(), true
	}
	var zero D
	return zero, false
}

// copyData returns a copy of *d that shares no maps or slices with it: by
// Clone when D implements eventual.Cloner, else through JSON, as the data
// is stored.
func copyData[D any](d *D) (D, error) {
	if c, ok := cloneOf(d); ok {
		return c, nil
	}
	var out D
	b, err := json.Marshal(d)
	if err != nil {
		return out, fmt.Errorf("saga: encode data: %w", err)
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return out, fmt.Errorf("saga: decode data: %w", err)
	}
	return out, nil
}
