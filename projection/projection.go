package projection

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/eventual-go/eventual"
)

// Errors of the runner. Match them with errors.Is.
var (
	// ErrUnknown means no projection of that name was added.
	ErrUnknown = errors.New("projection: unknown projection")
	// ErrFailed is matched by *FailedError.
	ErrFailed = errors.New("projection: failed")
	// ErrNotRunning means the runner was not started, or was closed.
	ErrNotRunning = errors.New("projection: runner not running")
	// ErrRebuilding means a rebuild is already under way.
	ErrRebuilding = errors.New("projection: already rebuilding")
)

// FailedError tells that a projection stopped at an event its handler
// kept failing on.
type FailedError struct {
	Name     string
	Position uint64 // the failing event's position
	Err      string // the handler's last error
}

func (e *FailedError) Error() string {
	return fmt.Sprintf("projection %s failed at position %d: %s", e.Name, e.Position, e.Err)
}

// Is makes a *FailedError match ErrFailed.
func (e *FailedError) Is(target error) bool { return target == ErrFailed }

// Projection builds a read model from the global log: its Handle applies
// events to its tables, in transactions that also write its checkpoint.
type Projection struct {
	// Name identifies the projection and its checkpoint: a lower-case
	// identifier of letters, digits and '_'.
	Name string
	// Version is the version of Setup and Handle. When it changes, the
	// runner rebuilds the tables from the start of the log, into new
	// tables, while the old ones keep serving. 0 means 1.
	Version int
	// Filter keeps only the events the projection needs.
	Filter eventual.Filter
	// Tables are the names of the tables the projection owns. Each
	// generation of the projection has its own copy of them
	// (Tables.Name gives its name), and readers read through a view of the
	// plain name that points at the active generation: that is what lets
	// a rebuild fill new tables and swap them in atomically. Without
	// tables, a projection cannot be rebuilt.
	Tables []string
	// Setup creates the tables (and their indexes) of one generation,
	// named with t.Name. Name indexes after t.Name too, since index names
	// are global to the database. Called once per generation.
	Setup func(ctx context.Context, tx eventual.Tx, t Tables) error
	// Handle applies one event through tx, writing to the tables named by
	// t.Name. An error rolls back the batch; the runner retries, then
	// marks the projection failed at that event.
	Handle func(ctx context.Context, tx eventual.Tx, t Tables, e eventual.RecordedEvent) error
	// HandleBatch, instead of Handle, applies a batch of events at once
	// (multi-row statements rebuild faster). On an error the runner goes
	// one event at a time to find the failing one.
	HandleBatch func(ctx context.Context, tx eventual.Tx, t Tables, events []eventual.RecordedEvent) error
	// Linger, when positive, trades freshness for fewer transactions while
	// following the log: after a batch that was not full, the projection
	// waits this long before reading again, so that the events appended
	// meanwhile are handled together. An event that arrives when the
	// projection has been idle longer than Linger is handled at once, so
	// only a busy log is delayed, by at most Linger. Meant for read models
	// that are off every request's path (reports, statistics), where a
	// batch that folds several events of one row into one write saves
	// more than the lag costs. 0 (the default) reads again at once.
	Linger time.Duration
}

var identifier = regexp.MustCompile(`^[a-z][a-z0-9_]{0,47}$`)

// validate checks p and fills in its defaults.
func (p *Projection) validate() error {
	if !identifier.MatchString(p.Name) {
		return fmt.Errorf("%w: projection name %q is not a lower-case identifier of at most 48 characters", eventual.ErrInvalidArgument, p.Name)
	}
	if p.Version < 0 {
		return fmt.Errorf("%w: projection %s: negative version", eventual.ErrInvalidArgument, p.Name)
	}
	if p.Version == 0 {
		p.Version = 1
	}
	if p.Linger < 0 {
		return fmt.Errorf("%w: projection %s: negative linger %v", eventual.ErrInvalidArgument, p.Name, p.Linger)
	}
	if (p.Handle == nil) == (p.HandleBatch == nil) {
		return fmt.Errorf("%w: projection %s: set exactly one of Handle and HandleBatch", eventual.ErrInvalidArgument, p.Name)
	}
	if err := p.Filter.Validate(); err != nil {
		return fmt.Errorf("projection %s: %w", p.Name, err)
	}
	seen := map[string]bool{}
	for _, t := range p.Tables {
		if !identifier.MatchString(t) {
			return fmt.Errorf("%w: projection %s: table name %q is not a lower-case identifier of at most 48 characters", eventual.ErrInvalidArgument, p.Name, t)
		}
		if seen[t] {
			return fmt.Errorf("%w: projection %s: table %q listed twice", eventual.ErrInvalidArgument, p.Name, t)
		}
		seen[t] = true
	}
	if len(p.Tables) > 0 && p.Setup == nil {
		return fmt.Errorf("%w: projection %s has tables but no Setup", eventual.ErrInvalidArgument, p.Name)
	}
	return nil
}

// handle applies events with Handle or HandleBatch. With Handle, an error
// tells the failing event's position.
func (p *Projection) handle(ctx context.Context, tx eventual.Tx, t Tables, events []eventual.RecordedEvent) error {
	if p.HandleBatch != nil {
		if err := p.HandleBatch(ctx, tx, t, events); err != nil {
			return &handlerError{err: err}
		}
		return nil
	}
	for _, e := range events {
		if err := p.Handle(ctx, tx, t, e); err != nil {
			return &handlerError{position: e.Position, err: err}
		}
	}
	return nil
}

// handlerError is a handler's failure; position is the failing event's
// when known (0 when a batch handler failed).
type handlerError struct {
	position uint64
	err      error
}

func (e *handlerError) Error() string { return e.err.Error() }
func (e *handlerError) Unwrap() error { return e.err }

// Tables names the tables of one generation of a projection.
type Tables struct {
	generation int
	owned      []string
}

func tablesOf(p *Projection, generation int) Tables {
	return Tables{generation: generation, owned: p.Tables}
}

// Name returns the name of table in this generation (like orders__g2).
// A table the projection does not own keeps its name.
func (t Tables) Name(table string) string {
	for _, o := range t.owned {
		if o == table {
			return physical(table, t.generation)
		}
	}
	return table
}

// Generation is the generation these tables belong to: 1 at first, one
// more with each rebuild.
func (t Tables) Generation() int { return t.generation }

func physical(table string, generation int) string {
	return table + "__g" + strconv.Itoa(generation)
}
