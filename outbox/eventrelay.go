package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/internal/follow"
	"github.com/eventual-go/eventual/transport"
)

// Mapping turns an event of the global log into the message an EventRelay
// publishes. It returns false to skip the event, and an error to stop the
// relay at the event (it is tried again after a backoff, so an error that
// does not go away holds the relay up: skip on purpose with false
// instead).
type Mapping func(eventual.RecordedEvent) (transport.Message, bool, error)

// DefaultMapping returns the mapping EventRelay uses unless told
// otherwise: the subject is prefix + "." + the event type (the type alone
// when prefix is empty), the message type the event type, the key the
// stream ID (so the events of one stream stay in order), the data and
// metadata the event's, and the message ID the event ID, so that a broker
// drops an event published twice.
func DefaultMapping(prefix string) Mapping {
	return func(ev eventual.RecordedEvent) (transport.Message, bool, error) {
		subject := ev.Type
		if prefix != "" {
			subject = prefix + "." + ev.Type
		}
		return transport.Message{
			ID:       ev.ID.String(),
			Subject:  subject,
			Type:     ev.Type,
			Key:      ev.StreamID,
			Data:     ev.Data,
			Metadata: ev.Metadata.Clone(),
		}, true, nil
	}
}

// EventRelay publishes chosen events of the global log, as they are
// committed, to a transport: integration events straight from the event
// store, with no outbox row to write. It keeps its checkpoint (the log
// position up to which it has published) under its name in the table
// eventual_event_relays. Create it with NewEventRelay and run it with Run.
//
// Delivery is at least once: the checkpoint is written after the broker
// acknowledged a page, so a relay stopped in between publishes the page
// again on restart, with the same message IDs (the event IDs, with the
// default mapping), which the broker's deduplication drops.
type EventRelay struct {
	store   eventual.TxStore
	dialect eventual.Dialect
	name    string
	pub     transport.Publisher
	cfg     relayConfig

	published  atomic.Int64
	checkpoint atomic.Uint64 // the running relay's, ahead of the stored one between saves
	health     health

	saveMu  sync.Mutex
	savedAt time.Time
}

// NewEventRelay returns the event relay called name, which publishes
// store's events to pub. name is a lower-case identifier ([a-z][a-z0-9_]*,
// at most 100 characters) that keys the relay's checkpoint: a relay that
// starts under the name of one that ran before resumes after its
// checkpoint. It creates the outbox component's tables if needed.
//
// Errors: ErrInvalidOption; eventual.ErrInvalidArgument for a bad name, a
// nil store or a nil pub; eventual.ErrUnsupported for a store that is not
// SQL (eventual.Migrator); the migration's error.
func NewEventRelay(ctx context.Context, store eventual.TxStore, name string, pub transport.Publisher, opts ...RelayOption) (*EventRelay, error) {
	cfg := relayConfig{common: defaultCommon(), prefix: "events"}
	for _, opt := range opts {
		if opt == nil {
			return nil, invalidOption("nil option")
		}
		if err := opt.applyRelay(&cfg); err != nil {
			return nil, err
		}
	}
	if !relayName.MatchString(name) {
		return nil, fmt.Errorf("%w: outbox: relay name %q is not a lower-case identifier", eventual.ErrInvalidArgument, name)
	}
	if pub == nil {
		return nil, fmt.Errorf("%w: outbox: nil publisher", eventual.ErrInvalidArgument)
	}
	if cfg.mapping == nil {
		cfg.mapping = DefaultMapping(cfg.prefix)
	}
	dialect, err := migrate(ctx, store)
	if err != nil {
		return nil, err
	}
	return &EventRelay{store: store, dialect: dialect, name: name, pub: pub, cfg: cfg}, nil
}

// idleSaveEvery is how often a relay whose filter skips the events it
// reads saves the checkpoint it moved past them; a page with events to
// publish always saves it.
const idleSaveEvery = time.Second

// Run publishes events until ctx ends, then returns nil.
//
// It follows the global log from the relay's checkpoint, a page at a time
// (WithBatchSize events that pass the filter), maps each event to a
// message, publishes the page with one Publish call under ctx, and then
// writes the checkpoint. When reading, mapping or publishing fails, it
// logs the error, waits (WithBackoff) and tries the same page again: it
// never skips an event nor moves the checkpoint past one it did not see
// acknowledged, so events of one stream keep their order. It wakes when an
// append commits (eventual.Notifier) and every poll interval.
//
// Running the same relay (by name) in several processes is safe but
// wasteful: they share the checkpoint and may publish the same events,
// each in log order and with the same IDs, for the broker to deduplicate.
//
// Errors: an error matching eventual.ErrClosed or transport.ErrClosed once
// the store or the transport is closed. Other errors are retried for as
// long as they last.
func (r *EventRelay) Run(ctx context.Context) error {
	bo := backoff{first: r.cfg.backoffMin, max: r.cfg.backoffMax}
	var cp uint64
	for {
		var err error
		if cp, err = r.loadCheckpoint(ctx); err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		if fatal(err) {
			return err
		}
		r.failed(ctx, err, &bo)
	}
	r.checkpoint.Store(cp)
	f := follow.New(r.store, r.cfg.filter).WithPoll(r.cfg.poll)
	for ctx.Err() == nil {
		news := f.News()
		page, err := f.Read(ctx, cp, r.cfg.batchSize)
		if err == nil {
			err = r.publish(ctx, page, cp)
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if fatal(err) {
				return err
			}
			r.failed(ctx, err, &bo)
			continue
		}
		bo.reset()
		r.health.ok()
		cp = page.Through
		r.checkpoint.Store(cp)
		if !page.Full {
			f.Wait(ctx, news)
		}
	}
	return nil
}

// failed records err, logs it and backs off.
func (r *EventRelay) failed(ctx context.Context, err error, bo *backoff) {
	failures := r.health.fail(err)
	wait := bo.next()
	r.cfg.log.Warn("outbox: event relay failed; will try the same events again",
		"relay", r.name, "err", err, "failures", failures, "retry_in", wait)
	sleep(ctx, wait)
}

// publish maps and publishes a page, then saves its checkpoint.
func (r *EventRelay) publish(ctx context.Context, page follow.Page, cp uint64) error {
	msgs := make([]transport.Message, 0, len(page.Events))
	for _, ev := range page.Events {
		m, ok, err := r.cfg.mapping(ev)
		if err != nil {
			return fmt.Errorf("outbox: relay %s: map event %s at position %d: %w", r.name, ev.ID, ev.Position, err)
		}
		if !ok {
			continue
		}
		if err := m.Validate(); err != nil {
			return fmt.Errorf("outbox: relay %s: event %s at position %d: %w", r.name, ev.ID, ev.Position, err)
		}
		msgs = append(msgs, m)
	}
	if len(msgs) > 0 {
		if err := r.pub.Publish(ctx, msgs...); err != nil {
			return fmt.Errorf("outbox: relay %s: publish %d messages: %w", r.name, len(msgs), err)
		}
		r.published.Add(int64(len(msgs)))
	}
	if page.Through <= cp {
		return nil
	}
	r.saveMu.Lock()
	idle := len(page.Events) == 0 && !page.Full && time.Since(r.savedAt) < idleSaveEvery
	r.saveMu.Unlock()
	if idle {
		return nil // only skipped events: save later, nothing to publish again
	}
	// The page went out: save its checkpoint even if ctx just ended, to
	// spare the broker a re-publish.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), markTimeout)
	defer cancel()
	if err := r.saveCheckpoint(sctx, page.Through); err != nil {
		return fmt.Errorf("outbox: relay %s: save checkpoint %d: %w", r.name, page.Through, err)
	}
	return nil
}

func (r *EventRelay) loadCheckpoint(ctx context.Context) (uint64, error) {
	var cp int64
	err := readQuery(ctx, r.store, func(q eventual.Querier) error {
		return q.QueryRow(ctx, "SELECT checkpoint FROM eventual_event_relays WHERE name = $1", r.name).Scan(&cp)
	})
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("outbox: relay %s: read checkpoint: %w", r.name, err)
	}
	return uint64(cp), nil
}

// saveCheckpoint stores cp, unless a relay of the same name stored a
// later one.
func (r *EventRelay) saveCheckpoint(ctx context.Context, cp uint64) error {
	now := time.Now()
	err := lazyTx(ctx, r.store, func(tx eventual.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO eventual_event_relays (name, checkpoint, updated_at) VALUES ($1, $2, $3)
			ON CONFLICT (name) DO UPDATE SET checkpoint = excluded.checkpoint, updated_at = excluded.updated_at
			WHERE eventual_event_relays.checkpoint < excluded.checkpoint`,
			r.name, int64(cp), now.UnixMicro())
		return err
	})
	if err == nil {
		r.saveMu.Lock()
		r.savedAt = now
		r.saveMu.Unlock()
	}
	return err
}

// RelayStatus tells how far an event relay is.
type RelayStatus struct {
	// Name is the relay's name.
	Name string
	// Checkpoint is the log position up to which the relay has published
	// (0: nothing yet).
	Checkpoint uint64
	// Head is the position of the last event in the log.
	Head uint64
	// Lag is Head - Checkpoint: how many positions of the log the relay
	// has yet to scan. It counts every event, not only those the filter
	// chooses, and positions may have gaps: it is an upper bound on the
	// events still to publish.
	Lag uint64
	// Published counts the messages this EventRelay published since
	// NewEventRelay.
	Published int64
	// LastError is the last error of this EventRelay's Run and
	// LastErrorAt when it happened; empty and zero if there was none.
	// They are kept after the relay recovered: Failures tells whether it
	// still fails.
	LastError   string
	LastErrorAt time.Time
	// Failures counts Run's failures in a row: 0 once a page went through.
	Failures int
}

// Status returns the relay's checkpoint (the stored one, or this relay's
// own when it is further), the log's head and the relay's counters. It
// works whether or not Run is running. Errors: the context's or the
// database's.
func (r *EventRelay) Status(ctx context.Context) (RelayStatus, error) {
	cp, err := r.loadCheckpoint(ctx)
	if err != nil {
		return RelayStatus{}, err
	}
	cp = max(cp, r.checkpoint.Load())
	head, err := r.store.HeadPosition(ctx)
	if err != nil {
		return RelayStatus{}, fmt.Errorf("outbox: relay %s: head position: %w", r.name, err)
	}
	st := RelayStatus{Name: r.name, Checkpoint: cp, Head: head, Published: r.published.Load()}
	if head > cp {
		st.Lag = head - cp
	}
	st.LastError, st.LastErrorAt, st.Failures = r.health.get()
	return st, nil
}
