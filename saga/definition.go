package saga

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/transport"
)

// ErrInvalidDefinition is matched by the errors of Builder.Build.
var ErrInvalidDefinition = errors.New("saga: invalid definition")

// CommandFunc builds the command a step sends, from the saga's data. The
// saga sets the message's ID, reply subject, key and metadata.
type CommandFunc[D any] func(ctx context.Context, data *D) (transport.Message, error)

// LocalFunc is a step's action (or compensation) that runs in the saga's
// own transaction: it may read and write through tx and change data. An
// error fails the attempt (retried with backoff); Fail(err) fails the step
// at once. It may run more than once for one attempt — the orchestrator
// runs a batch's local functions without savepoints and, when one fails,
// runs the batch again with a savepoint around each; a transaction may
// also fail after it ran — so it must do nothing outside tx.
type LocalFunc[D any] func(ctx context.Context, tx eventual.Tx, data *D) error

// ReplyFunc handles a reply to a step's command: it may change data. For a
// success reply, an error turns it into a failure of the step.
type ReplyFunc[D any] func(ctx context.Context, data *D, reply transport.Delivery) error

// action is what a step does forward or to compensate: a command awaiting
// one of its replies, or a local function.
type action[D any] struct {
	command   CommandFunc[D]
	local     LocalFunc[D]
	successes map[string]ReplyFunc[D] // reply type → handler (nil: none)
	failures  map[string]ReplyFunc[D]
}

func (a *action[D]) defined() bool { return a.command != nil || a.local != nil }

// step is one step of a definition.
type step[D any] struct {
	name       string
	forward    action[D]
	compensate action[D]
	timeout    time.Duration
	attempts   int
	backoff    func(attempt int) time.Duration
}

// Definition is a saga's steps; build it with Define. It is immutable and
// safe for concurrent use.
type Definition[D any] struct {
	name         string
	replySubject string
	steps        []*step[D]
}

// Name is the saga's name.
func (d *Definition[D]) Name() string { return d.name }

// ReplySubject is where the saga's commands ask replies to go.
func (d *Definition[D]) ReplySubject() string { return d.replySubject }

// Steps returns the names of the steps, in order.
func (d *Definition[D]) Steps() []string {
	out := make([]string, len(d.steps))
	for i, s := range d.steps {
		out[i] = s.name
	}
	return out
}

// Builder builds a Definition.
type Builder[D any] struct {
	def  Definition[D]
	errs []error
}

// Define starts the definition of the saga called name (a lower-case
// identifier of letters, digits, '-' and '_'), whose instances carry data
// of type D, stored as JSON.
func Define[D any](name string) *Builder[D] {
	b := &Builder[D]{def: Definition[D]{name: name, replySubject: "saga." + name + ".replies"}}
	if !nameRE.MatchString(name) {
		b.errs = append(b.errs, fmt.Errorf("saga name %q is not a lower-case identifier of letters, digits, '-' and '_'", name))
	}
	return b
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)

// ReplySubject sets where the saga's commands ask replies to go (default
// "saga.<name>.replies").
func (b *Builder[D]) ReplySubject(subject string) *Builder[D] {
	if err := (transport.Message{ID: "x", Type: "x", Subject: subject}).Validate(); err != nil {
		b.errs = append(b.errs, fmt.Errorf("reply subject: %w", err))
	}
	b.def.replySubject = subject
	return b
}

// Step adds a step called name; configure it with the StepBuilder's
// methods. Steps run in the order they are added.
func (b *Builder[D]) Step(name string) *StepBuilder[D] {
	s := &step[D]{name: name, timeout: DefaultTimeout, attempts: DefaultAttempts, backoff: DefaultBackoff}
	if name == "" {
		b.errs = append(b.errs, errors.New("a step without a name"))
	}
	for _, o := range b.def.steps {
		if o.name == name {
			b.errs = append(b.errs, fmt.Errorf("step %q added twice", name))
		}
	}
	b.def.steps = append(b.def.steps, s)
	return &StepBuilder[D]{b: b, s: s}
}

// Build returns the definition, or an error matching
// ErrInvalidDefinition naming every problem.
func (b *Builder[D]) Build() (*Definition[D], error) {
	errs := append([]error(nil), b.errs...)
	if len(b.def.steps) == 0 {
		errs = append(errs, errors.New("no steps"))
	}
	for _, s := range b.def.steps {
		errs = append(errs, s.check()...)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: saga %s: %w", ErrInvalidDefinition, b.def.name, errors.Join(errs...))
	}
	def := b.def
	return &def, nil
}

// Defaults of a step.
const (
	// DefaultTimeout is how long a step waits for a reply to its command.
	DefaultTimeout = 30 * time.Second
	// DefaultAttempts is how many times a step's action is tried.
	DefaultAttempts = 3
)

// DefaultBackoff waits 1 s after the first failed attempt, doubling up to
// one minute.
func DefaultBackoff(attempt int) time.Duration {
	return min(time.Second<<min(attempt-1, 10), time.Minute)
}

func (s *step[D]) check() []error {
	var errs []error
	if !s.forward.defined() {
		errs = append(errs, fmt.Errorf("step %q has no action (Command or Local)", s.name))
	}
	for _, a := range []struct {
		what string
		a    *action[D]
	}{{"action", &s.forward}, {"compensation", &s.compensate}} {
		if a.a.command != nil && a.a.local != nil {
			errs = append(errs, fmt.Errorf("step %q: its %s is both a command and a local function", s.name, a.what))
		}
		if a.a.command != nil && len(a.a.successes) == 0 {
			errs = append(errs, fmt.Errorf("step %q: its %s sends a command but expects no reply (OnReply)", s.name, a.what))
		}
		if a.a.local != nil && len(a.a.successes)+len(a.a.failures) > 0 {
			errs = append(errs, fmt.Errorf("step %q: its %s is local but expects replies", s.name, a.what))
		}
		for t := range a.a.failures {
			if _, ok := a.a.successes[t]; ok {
				errs = append(errs, fmt.Errorf("step %q: reply %q is both a success and a failure", s.name, t))
			}
		}
	}
	if s.timeout <= 0 || s.attempts < 1 || s.backoff == nil {
		errs = append(errs, fmt.Errorf("step %q: timeout, attempts and backoff must be positive", s.name))
	}
	return errs
}

// StepBuilder configures one step.
type StepBuilder[D any] struct {
	b *Builder[D]
	s *step[D]
}

// Command makes the step send the command fn builds, through the outbox,
// and wait for one of the replies declared with OnReply or OnFailure.
func (sb *StepBuilder[D]) Command(fn CommandFunc[D]) *StepBuilder[D] {
	sb.s.forward.command = fn
	return sb
}

// Local makes the step run fn in the saga's transaction.
func (sb *StepBuilder[D]) Local(fn LocalFunc[D]) *StepBuilder[D] {
	sb.s.forward.local = fn
	return sb
}

// OnReply declares a reply type that completes the step; fn (may be nil)
// handles it first.
func (sb *StepBuilder[D]) OnReply(replyType string, fn ReplyFunc[D]) *StepBuilder[D] {
	sb.s.forward.successes = addReply(sb.s.forward.successes, replyType, fn)
	return sb
}

// OnFailure declares a reply type that fails the step: the saga then
// compensates the steps before it (the step itself did nothing, the reply
// says). fn (may be nil) handles it first, for instance to keep the
// reason in the data.
func (sb *StepBuilder[D]) OnFailure(replyType string, fn ReplyFunc[D]) *StepBuilder[D] {
	sb.s.forward.failures = addReply(sb.s.forward.failures, replyType, fn)
	return sb
}

// Compensate sets the command that undoes the step; the saga waits for
// one of the replies declared with OnCompensationReply.
func (sb *StepBuilder[D]) Compensate(fn CommandFunc[D]) *StepBuilder[D] {
	sb.s.compensate.command = fn
	return sb
}

// CompensateLocal sets a local function that undoes the step.
func (sb *StepBuilder[D]) CompensateLocal(fn LocalFunc[D]) *StepBuilder[D] {
	sb.s.compensate.local = fn
	return sb
}

// OnCompensationReply declares a reply type that completes the step's
// compensation; fn (may be nil) handles it first.
func (sb *StepBuilder[D]) OnCompensationReply(replyType string, fn ReplyFunc[D]) *StepBuilder[D] {
	sb.s.compensate.successes = addReply(sb.s.compensate.successes, replyType, fn)
	return sb
}

// OnCompensationFailure declares a reply type meaning the compensation
// failed: the saga is then stuck, for a person to repair.
func (sb *StepBuilder[D]) OnCompensationFailure(replyType string, fn ReplyFunc[D]) *StepBuilder[D] {
	sb.s.compensate.failures = addReply(sb.s.compensate.failures, replyType, fn)
	return sb
}

// Timeout sets how long the step waits for a reply (default 30 s); when
// it passes, the attempt failed.
func (sb *StepBuilder[D]) Timeout(d time.Duration) *StepBuilder[D] {
	sb.s.timeout = d
	return sb
}

// Retry sets how many times the step's action (and its compensation) is
// tried (default 3) and the wait after the attempt-th failed one (default
// DefaultBackoff; nil keeps the default).
func (sb *StepBuilder[D]) Retry(attempts int, backoff func(attempt int) time.Duration) *StepBuilder[D] {
	sb.s.attempts = attempts
	if backoff != nil {
		sb.s.backoff = backoff
	}
	return sb
}

// Step ends this step and adds the next one.
func (sb *StepBuilder[D]) Step(name string) *StepBuilder[D] { return sb.b.Step(name) }

// Build builds the definition (see Builder.Build).
func (sb *StepBuilder[D]) Build() (*Definition[D], error) { return sb.b.Build() }

func addReply[D any](m map[string]ReplyFunc[D], t string, fn ReplyFunc[D]) map[string]ReplyFunc[D] {
	if m == nil {
		m = map[string]ReplyFunc[D]{}
	}
	m[t] = fn
	return m
}

// failed marks an error as final for a step.
type failed struct{ err error }

func (f failed) Error() string { return f.err.Error() }
func (f failed) Unwrap() error { return f.err }

// Fail marks err, returned by a LocalFunc, as final: the step fails at
// once, without the retries left.
func Fail(err error) error {
	if err == nil {
		err = errors.New("failed")
	}
	return failed{err}
}

func isFinal(err error) bool {
	var f failed
	return errors.As(err, &f)
}
