package saga

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/transport"
)

// Keys of Metadata.Extra on the commands a saga sends.
const (
	// ExtraSagaName and ExtraSagaID name the saga instance.
	ExtraSagaName = "saga.name"
	ExtraSagaID   = "saga.id"
	// ExtraStep is the step's name.
	ExtraStep = "saga.step"
	// ExtraStepKey is the same for every attempt of one step's action (or
	// compensation) of one instance: command handlers use it to apply a
	// command once however often it is sent. Each attempt has its own
	// message ID, so that brokers deliver it.
	ExtraStepKey = "saga.step_key"
)

// StepKey returns the key that is the same for every attempt of the
// command d: handle it once per key, and reply to every attempt.
func StepKey(d transport.Delivery) string { return d.Metadata.Extra[ExtraStepKey] }

// txn is one transaction of the orchestrator: the transitions of the
// instances it touches and the commands they send.
type txn[D any] struct {
	o        *Orchestrator[D]
	ctx      context.Context
	tx       eventual.Tx
	now      time.Time
	commands []transport.Message
	// optimistic runs local functions without a savepoint; localFailed
	// tells that one failed then, and the transaction must not commit.
	optimistic, localFailed bool
}

// record adds a history entry for st's current state. The transaction's
// entries are written as one event (state.historyEvent), with the data
// once, and only if it changed: a saga of ten transitions over a large
// order would otherwise store it ten times.
func (x *txn[D]) record(st *state[D], typ string, h historyData) {
	h.Type = typ
	h.Step, h.Attempt, h.Status = st.step, st.attempt, st.status
	if st.step >= 0 && st.step < len(x.o.def.steps) {
		h.StepName = x.o.def.steps[st.step].name
	}
	st.entries = append(st.entries, h)
}

// start begins a new instance.
func (x *txn[D]) start(st *state[D]) {
	st.status, st.step, st.attempt = StatusRunning, 0, 1
	x.record(st, EventStarted, historyData{})
	x.runStep(st)
}

// runStep performs the forward action of st's step.
func (x *txn[D]) runStep(st *state[D]) {
	s := x.o.def.steps[st.step]
	st.awaiting, st.due = "", time.Time{}
	if s.forward.local != nil {
		if err := x.local(st, s.forward.local); err != nil {
			x.attemptFailed(st, err.Error(), isFinal(err), false)
			return
		}
		x.record(st, EventStepCompleted, historyData{})
		x.advance(st)
		return
	}
	if err := x.send(st, s.forward.command, 'f', s); err != nil {
		x.attemptFailed(st, err.Error(), isFinal(err), false)
	}
}

// advance moves to the next step, or finishes the saga.
func (x *txn[D]) advance(st *state[D]) {
	st.step++
	st.attempt = 1
	if st.step >= len(x.o.def.steps) {
		st.status, st.step, st.awaiting, st.due = StatusDone, -1, "", time.Time{}
		x.record(st, EventDone, historyData{})
		return
	}
	x.runStep(st)
}

// guarded runs fn, which may change st's data: a panic becomes an error,
// and on an error the data is put back as it was, from a deep copy so that
// changes through maps and slices are undone too: Clone when the data
// type implements eventual.Cloner, else JSON, decoded only on an error.
func (x *txn[D]) guarded(st *state[D], what string, fn func() error) (err error) {
	var restore func() D
	if before, ok := cloneOf(&st.data); ok {
		restore = func() D { return before }
	} else {
		before, merr := json.Marshal(st.data)
		if merr != nil {
			return Fail(fmt.Errorf("saga: encode data: %w", merr))
		}
		restore = func() D {
			var d D
			if uerr := json.Unmarshal(before, &d); uerr != nil {
				return st.data // cannot happen: it was encoded from a D
			}
			return d
		}
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("saga: %s panicked: %v", what, p)
		}
		if err != nil {
			st.data = restore()
		}
	}()
	return fn()
}

// onLocalSavepoint, when set (by tests), is told of each savepoint taken
// around a local function.
var onLocalSavepoint func()

// local runs a local function in a savepoint, so that a failing one
// leaves nothing behind in the transaction; or, optimistic, without one,
// marking the transaction as not to be committed if it fails.
func (x *txn[D]) local(st *state[D], fn LocalFunc[D]) error {
	run := func() error {
		return x.guarded(st, "local function", func() error { return fn(x.ctx, x.tx, &st.data) })
	}
	if x.optimistic {
		err := run()
		x.localFailed = x.localFailed || err != nil
		return err
	}
	if onLocalSavepoint != nil {
		onLocalSavepoint()
	}
	if _, err := x.tx.Exec(x.ctx, "SAVEPOINT saga_local"); err != nil {
		return err
	}
	err := run()
	if err != nil {
		if _, rerr := x.tx.Exec(x.ctx, "ROLLBACK TO SAVEPOINT saga_local"); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}
	if _, rerr := x.tx.Exec(x.ctx, "RELEASE SAVEPOINT saga_local"); rerr != nil && err == nil {
		err = rerr
	}
	return err
}

// send builds and queues a command of st's step, and sets the timer for
// its reply.
func (x *txn[D]) send(st *state[D], build CommandFunc[D], phase byte, s *step[D]) error {
	var msg transport.Message
	err := x.guarded(st, "command builder", func() (err error) {
		msg, err = build(x.ctx, &st.data)
		return err
	})
	if err != nil {
		return err
	}
	prefix := commandPrefix(st.name, st.id, phase, st.step)
	// The version of the history event that records the sending, and the
	// entry's place in it, make every attempt's ID unique.
	msg.ID = prefix + strconv.FormatUint(st.version+1, 10) + "." + strconv.Itoa(len(st.entries)+1)
	msg.ReplyTo = x.o.def.replySubject
	if msg.Key == "" {
		msg.Key = st.id
	}
	extra := map[string]string{}
	for k, v := range msg.Metadata.Extra {
		extra[k] = v
	}
	extra[ExtraSagaName], extra[ExtraSagaID], extra[ExtraStep] = st.name, st.id, s.name
	extra[ExtraStepKey] = st.name + "/" + st.id + "/" + string(phase) + strconv.Itoa(st.step)
	m := st.meta
	if m.CorrelationID == "" {
		m.CorrelationID = st.id
	}
	m.Extra = extra
	msg.Metadata = m
	if err := msg.Validate(); err != nil {
		return Fail(err)
	}
	x.commands = append(x.commands, msg)
	st.awaiting, st.due = prefix, x.now.Add(s.timeout)
	x.record(st, EventCommandSent, historyData{MessageID: msg.ID})
	return nil
}

// attemptFailed handles a failed attempt of a step's forward action: a
// retry after the backoff while attempts are left (and the error is not
// final), else compensation. unknown tells that the action may have taken
// effect (no reply came), so that it is compensated too.
func (x *txn[D]) attemptFailed(st *state[D], reason string, final, unknown bool) {
	s := x.o.def.steps[st.step]
	st.awaiting = ""
	if !final && st.attempt < s.attempts {
		st.due = x.now.Add(s.backoff(st.attempt))
		x.record(st, EventAttemptFailed, historyData{Reason: reason})
		st.attempt++
		return
	}
	st.due = time.Time{}
	x.record(st, EventStepFailed, historyData{Reason: reason})
	x.compensate(st, reason, unknown)
}

// compensate starts compensating: the completed steps, last first, and
// the failing one too when it may have taken effect.
func (x *txn[D]) compensate(st *state[D], reason string, includeCurrent bool) {
	st.status, st.err, st.awaiting, st.due = StatusCompensating, reason, "", time.Time{}
	if !includeCurrent {
		st.step--
	}
	st.attempt = 1
	x.record(st, EventCompensationStarted, historyData{Reason: reason})
	x.compensateStep(st)
}

// compensateStep performs the compensation of st's step, skipping steps
// without one, and ends the saga once none is left.
func (x *txn[D]) compensateStep(st *state[D]) {
	st.awaiting, st.due = "", time.Time{}
	for st.step >= 0 && !x.o.def.steps[st.step].compensate.defined() {
		st.step--
	}
	if st.step < 0 {
		st.status, st.step = StatusFailed, -1
		x.record(st, EventFailed, historyData{Reason: st.err})
		return
	}
	s := x.o.def.steps[st.step]
	if s.compensate.local != nil {
		if err := x.local(st, s.compensate.local); err != nil {
			x.compensationFailed(st, err.Error(), isFinal(err))
			return
		}
		x.compensated(st)
		return
	}
	if err := x.send(st, s.compensate.command, 'c', s); err != nil {
		x.compensationFailed(st, err.Error(), isFinal(err))
	}
}

// compensated records st's step as compensated and goes to the one before.
func (x *txn[D]) compensated(st *state[D]) {
	x.record(st, EventStepCompensated, historyData{})
	st.step--
	st.attempt = 1
	x.compensateStep(st)
}

// compensationFailed retries a compensation while attempts are left, and
// leaves the saga stuck for a person after that.
func (x *txn[D]) compensationFailed(st *state[D], reason string, final bool) {
	s := x.o.def.steps[st.step]
	st.awaiting = ""
	if !final && st.attempt < s.attempts {
		st.due = x.now.Add(s.backoff(st.attempt))
		x.record(st, EventAttemptFailed, historyData{Reason: reason})
		st.attempt++
		return
	}
	st.status, st.due = StatusStuck, time.Time{}
	st.err = "compensation of step " + s.name + " failed: " + reason
	x.record(st, EventStuck, historyData{Reason: st.err})
	x.o.log.Error("saga: stuck; a person must retry, skip or abort", "saga", st.name, "id", st.id, "step", s.name, "reason", reason)
}

// reply handles a reply to st's command. It returns false when the reply
// answers nothing st waits for (late, duplicate, or of an unknown type),
// which is then ignored.
func (x *txn[D]) reply(st *state[D], d transport.Delivery) (consumed bool) {
	if st.awaiting == "" || !strings.HasPrefix(d.Metadata.CausationID, st.awaiting) {
		return false
	}
	s := x.o.def.steps[st.step]
	forward := st.status == StatusRunning
	a := &s.compensate
	if forward {
		a = &s.forward
	}
	run := func(fn ReplyFunc[D]) error {
		if fn == nil {
			return nil
		}
		return x.guarded(st, "reply handler", func() error { return fn(x.ctx, &st.data, d) })
	}
	if fn, ok := a.successes[d.Type]; ok {
		st.awaiting, st.due = "", time.Time{}
		x.record(st, EventReplyReceived, historyData{MessageID: d.ID, ReplyType: d.Type})
		if err := run(fn); err != nil {
			// The step took effect, but its reply is refused: undo it too.
			if forward {
				x.record(st, EventStepFailed, historyData{Reason: err.Error()})
				x.compensate(st, err.Error(), true)
			} else {
				x.compensationFailed(st, err.Error(), true)
			}
			return true
		}
		if forward {
			x.record(st, EventStepCompleted, historyData{})
			x.advance(st)
		} else {
			x.compensated(st)
		}
		return true
	}
	if fn, ok := a.failures[d.Type]; ok {
		st.awaiting, st.due = "", time.Time{}
		x.record(st, EventReplyReceived, historyData{MessageID: d.ID, ReplyType: d.Type})
		reason := "reply " + d.Type
		if err := run(fn); err != nil {
			reason += ": " + err.Error()
		}
		if forward {
			x.record(st, EventStepFailed, historyData{Reason: reason})
			x.compensate(st, reason, false)
		} else {
			x.compensationFailed(st, reason, true)
		}
		return true
	}
	x.o.log.Warn("saga: reply of an undeclared type ignored", "saga", st.name, "id", st.id, "step", s.name, "type", d.Type)
	return false
}

// timer handles st's timer if it is due: a reply that did not come, or
// the next attempt.
func (x *txn[D]) timer(st *state[D]) {
	if st.due.IsZero() || st.due.After(x.now) || st.status.finished() || st.status == StatusStuck {
		return
	}
	forward := st.status == StatusRunning
	if st.awaiting != "" {
		s := x.o.def.steps[st.step]
		reason := fmt.Sprintf("no reply within %v", s.timeout)
		x.record(st, EventTimedOut, historyData{Reason: reason})
		if forward {
			x.attemptFailed(st, reason, false, true)
		} else {
			x.compensationFailed(st, reason, false)
		}
		return
	}
	if forward {
		x.runStep(st)
	} else {
		x.compensateStep(st)
	}
}

// RepairOp is what a person asks of a saga instance.
type RepairOp string

// The repairs.
const (
	// RepairRetry tries the step in progress (or its compensation) again,
	// now, with its attempts renewed: for a stuck saga, after the cause
	// was fixed.
	RepairRetry RepairOp = "retry"
	// RepairSkip takes the step in progress as done (or its compensation
	// as done) and goes on: for a step a person carried out by hand.
	RepairSkip RepairOp = "skip"
	// RepairCompensate stops going forward and compensates, the step in
	// progress included.
	RepairCompensate RepairOp = "compensate"
	// RepairAbort ends the saga as failed without compensating anything
	// more: a person takes it over.
	RepairAbort RepairOp = "abort"
)

// ErrFinished means the instance is done or failed: nothing to repair.
var ErrFinished = errors.New("saga: instance finished")

// repair carries out op on st.
func (x *txn[D]) repair(st *state[D], op RepairOp, reason string) error {
	if st.status.finished() {
		return fmt.Errorf("%w: %s %s is %s", ErrFinished, st.name, st.id, st.status)
	}
	if reason == "" {
		reason = "by a person"
	}
	forward := st.status == StatusRunning
	switch {
	case op != RepairRetry && op != RepairSkip && op != RepairCompensate && op != RepairAbort:
		return fmt.Errorf("%w: unknown repair %q", eventual.ErrInvalidArgument, op)
	case op == RepairCompensate && !forward:
		return fmt.Errorf("%w: %s %s compensates already", eventual.ErrInvalidArgument, st.name, st.id)
	}
	x.record(st, EventRepaired, historyData{Reason: string(op) + ": " + reason})
	st.awaiting, st.due = "", time.Time{}
	switch op {
	case RepairRetry:
		st.attempt = 1
		if forward {
			x.runStep(st)
		} else {
			st.status = StatusCompensating
			x.compensateStep(st)
		}
	case RepairSkip:
		if forward {
			x.record(st, EventStepCompleted, historyData{Reason: "skipped"})
			x.advance(st)
		} else {
			st.status = StatusCompensating
			x.compensated(st)
		}
	case RepairCompensate:
		x.compensate(st, "compensation asked: "+reason, true)
	case RepairAbort:
		st.status, st.step, st.err = StatusFailed, -1, "aborted: "+reason
		x.record(st, EventFailed, historyData{Reason: st.err})
	}
	return nil
}
