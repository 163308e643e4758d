package outbox

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/internal/sqltext"
	"github.com/eventual-go/eventual/transport"
)

// cleanupEvery is how often Relay deletes the sent rows past the
// retention.
const cleanupEvery = time.Minute

// markTimeout bounds marking a published batch sent once the relay's
// context has ended: the batch went out, so marking it is still worth a
// moment (it spares the broker a re-publish).
const markTimeout = 10 * time.Second

// markEvery is how long acknowledged rows may wait to be marked sent
// together, and maxUnmarked how many at most.
const (
	markEvery   = 50 * time.Millisecond
	maxUnmarked = 4096
)

// Relay publishes the outbox's messages to pub until ctx ends, then
// returns nil.
//
// It reads unsent rows in the order they were added (seq), a batch at a
// time (WithBatchSize), publishes each batch with one pub.Publish call
// under ctx, and only after Publish returned nil marks exactly those rows
// sent (or deletes them when the retention is 0), in one transaction with
// the rows of the batches acknowledged within 50 ms. Since Publish returns
// only once the transport acknowledged every message, a message is marked
// sent only after the broker stored it; with transport/inproc, only after
// its handlers settled it. When Publish fails, Relay logs the error,
// waits (WithBackoff) and publishes the same rows again, with the same
// IDs: it never skips a row nor marks one it did not see acknowledged, and
// nothing after a failed batch goes out before it, so messages of one key
// keep their order. A row that can never be published (a transport that
// rejects it) therefore holds up the relay, and shows in Stats.
//
// With a transport.PipelinedPublisher (transport/inproc), the relay sends
// the next batch without waiting for the last to be acknowledged: up to
// five batches are on their way, acknowledged and marked in order. When
// an acknowledgement fails, the later ones are disregarded and the relay
// publishes again from the first unmarked row, as above. A hop through
// the outbox then costs no more than the slowest consumer's handling of
// one batch, not of every batch queued before it.
//
// Relay wakes at once when a transaction that called Add on this Outbox
// commits, and every poll interval (WithPollInterval) to find rows added by
// other processes. At start and every minute it deletes the sent rows
// older than the retention (see Cleanup).
//
// Several relays may run at once, in one process or several: each
// publishes the unsent rows in seq order, so messages of one key still
// arrive in order, and the messages both publish carry the same IDs, so
// the broker's deduplication (JetStream's, or inproc's window) drops the
// second copy. It is safe but wasteful: run one relay per outbox where
// you can.
//
// Errors: eventual.ErrInvalidArgument for a nil pub; an error matching
// eventual.ErrClosed or transport.ErrClosed once the store or the
// transport is closed. Other errors are retried for as long as they last.
func (o *Outbox) Relay(ctx context.Context, pub transport.Publisher) error {
	if pub == nil {
		return fmt.Errorf("%w: outbox: nil publisher", eventual.ErrInvalidArgument)
	}
	bo := backoff{first: o.cfg.backoffMin, max: o.cfg.backoffMax}
	mk := o.newMarker(ctx)
	defer mk.close()
	// Rows commit in seq order (Add locks the log), so the relay reads on
	// after the last row it published while that batch is being marked
	// sent, and reads the next batch while it publishes one. Rows this
	// process added come from memory when they follow on (hotRows).
	var cursor int64
	var next chan batchRead
	var nextCleanup time.Time
	for ctx.Err() == nil {
		if now := time.Now(); !now.Before(nextCleanup) {
			nextCleanup = now.Add(cleanupEvery)
			if _, err := o.Cleanup(ctx); err != nil && ctx.Err() == nil {
				if fatal(err) {
					return err
				}
				o.health.fail(err)
				o.cfg.log.Warn("outbox: cleanup failed", "err", err)
			}
		}
		if err := mk.failed(); err != nil {
			// A batch went out but could not be marked: read from the
			// start again; the broker drops what it has already.
			if fatal(err) {
				return err
			}
			cursor, next = 0, nil
		}
		woken := o.signal.C()
		var b batchRead
		hot := false
		if next != nil {
			b = <-next
			next = nil
		} else if b, hot = o.hot.take(cursor, o.cfg.batchSize); !hot {
			b = o.unsent(ctx, cursor)
		}
		more := len(b.msgs) == o.cfg.batchSize
		if b.err == nil && more && !hot {
			next = o.prefetch(ctx, b.seqs[len(b.seqs)-1])
		}
		var wait func(context.Context) error
		if b.err == nil && len(b.msgs) > 0 {
			var err error
			if pp, ok := pub.(transport.PipelinedPublisher); ok {
				wait, err = pp.PublishAsync(ctx, b.msgs...)
			} else {
				err = pub.Publish(ctx, b.msgs...)
			}
			if err != nil {
				b.err = fmt.Errorf("outbox: publish %d messages: %w", len(b.msgs), err)
			}
		}
		if b.err != nil {
			next = nil
			if ctx.Err() != nil {
				return nil
			}
			if fatal(b.err) {
				return b.err
			}
			failures := o.health.fail(b.err)
			wait := bo.next()
			o.cfg.log.Warn("outbox: relay failed; will publish the same messages again",
				"err", b.err, "failures", failures, "retry_in", wait)
			sleep(ctx, wait)
			continue
		}
		bo.reset()
		o.health.ok()
		if len(b.msgs) > 0 {
			cursor = b.seqs[len(b.seqs)-1]
			mk.mark(b.seqs, wait)
		}
		if next != nil || (hot && more) {
			continue // there is more at once
		}
		t := time.NewTimer(o.cfg.poll)
		select {
		case <-woken:
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
	}
	return nil
}

// batchRead is a batch of unsent rows, or the error reading them.
type batchRead struct {
	seqs []int64
	msgs []transport.Message
	err  error
}

// prefetch reads the batch after seq in the background.
func (o *Outbox) prefetch(ctx context.Context, seq int64) chan batchRead {
	ch := make(chan batchRead, 1)
	go func() { ch <- o.unsent(ctx, seq) }()
	return ch
}

// marker waits for published batches to be acknowledged (when they were
// published with PublishAsync) and marks them sent, in order, in the
// background.
type marker struct {
	o       *Outbox
	relay   context.Context // waits end with it
	ctx     context.Context // markings outlive it
	todo    chan markItem
	done    chan struct{}
	mu      sync.Mutex
	err     error
	epoch   int // of the items the relay queues; a failure starts a new one
	skipped int // the epoch whose later items are disregarded
}

// markItem is a published batch: its rows, and the wait for its
// acknowledgement (nil: acknowledged already).
type markItem struct {
	seqs  []int64
	wait  func(context.Context) error
	epoch int
}

func (o *Outbox) newMarker(ctx context.Context) *marker {
	m := &marker{o: o, relay: ctx, ctx: context.WithoutCancel(ctx), todo: make(chan markItem, 4),
		done: make(chan struct{}), skipped: -1}
	go m.run()
	return m
}

// mark queues a published batch to be marked sent once wait (if any)
// returns nil; it waits while four batches wait.
func (m *marker) mark(seqs []int64, wait func(context.Context) error) {
	m.mu.Lock()
	epoch := m.epoch
	m.mu.Unlock()
	m.todo <- markItem{seqs: seqs, wait: wait, epoch: epoch}
}

func (m *marker) run() {
	defer close(m.done)
	// Acknowledged rows are marked together, every markEvery at most:
	// one transaction (and one flush to disk) for the batches of that
	// time rather than one each, which was most of a busy module's
	// commits.
	var pending []int64
	var last markItem // the last item whose rows are pending
	var flushAt <-chan time.Time
	flush := func() {
		flushAt = nil
		if len(pending) == 0 {
			return
		}
		// Rows that went out are worth marking even as the relay stops:
		// it spares the broker a re-publish.
		ctx, cancel := context.WithTimeout(m.ctx, markTimeout)
		n, err := m.o.markSent(ctx, pending)
		cancel()
		if err != nil {
			m.fail(last, fmt.Errorf("outbox: mark %d published messages sent: %w", len(pending), err))
		} else {
			m.o.sent.Add(n)
		}
		pending = nil
	}
	for {
		var it markItem
		var ok bool
		select {
		case it, ok = <-m.todo:
		case <-flushAt:
			flush()
			continue
		}
		if !ok {
			flush()
			return
		}
		m.mu.Lock()
		skip := it.epoch == m.skipped
		m.mu.Unlock()
		if skip {
			continue // behind a batch that failed: published again
		}
		if it.wait != nil {
			if err := it.wait(m.relay); err != nil {
				flush() // those before it went out
				m.fail(it, fmt.Errorf("outbox: publish %d messages: %w", len(it.seqs), err))
				continue
			}
		}
		pending, last = append(pending, it.seqs...), it
		switch {
		case len(pending) >= maxUnmarked:
			flush()
		case flushAt == nil:
			flushAt = time.After(markEvery)
		}
	}
}

// fail records err for the relay and disregards the batches queued after
// it until the relay has seen it.
func (m *marker) fail(it markItem, err error) {
	if m.relay.Err() == nil {
		m.o.health.fail(err)
		m.o.cfg.log.Warn("outbox: a published batch was not acknowledged or not marked sent; the messages will be published again", "err", err)
	}
	m.mu.Lock()
	m.err = err
	m.skipped = it.epoch
	m.mu.Unlock()
}

// failed returns, and forgets, the last error; the batches the relay
// queues after it are a new epoch.
func (m *marker) failed() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	err := m.err
	if err != nil {
		m.err = nil
		m.epoch++
	}
	return err
}

// close waits for the queued batches to be marked.
func (m *marker) close() {
	close(m.todo)
	<-m.done
}

// unsent reads the first batch of unsent rows after seq, in seq order.
func (o *Outbox) unsent(ctx context.Context, after int64) batchRead {
	var seqs []int64
	var msgs []transport.Message
	err := o.read(ctx, func(q eventual.Querier) error {
		seqs, msgs = seqs[:0], msgs[:0]
		rows, err := q.Query(ctx, `SELECT seq, id, subject, type, key, data, metadata, reply_to
			FROM eventual_outbox WHERE sent_at IS NULL AND seq > $1 ORDER BY seq LIMIT $2`, after, o.cfg.batchSize)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var seq int64
			var m transport.Message
			var meta string
			if err := rows.Scan(&seq, &m.ID, &m.Subject, &m.Type, &m.Key, &m.Data, &meta, &m.ReplyTo); err != nil {
				return err
			}
			if m.Metadata, err = decodeMetadata(meta); err != nil {
				return fmt.Errorf("row %d: metadata: %w", seq, err)
			}
			seqs = append(seqs, seq)
			msgs = append(msgs, m)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		return rows.Close()
	})
	if err != nil {
		return batchRead{err: fmt.Errorf("outbox: read unsent messages: %w", err)}
	}
	return batchRead{seqs: seqs, msgs: msgs}
}

// markSent marks the rows seqs sent, or deletes them when the retention
// is 0, and returns how many it changed (fewer when another relay was
// first).
func (o *Outbox) markSent(ctx context.Context, seqs []int64) (int64, error) {
	retain := o.cfg.retention != 0
	var n int64
	err := lazyTx(ctx, o.store, func(tx eventual.Tx) error {
		n = 0
		for rest := seqs; len(rest) > 0; {
			chunk := rest[:min(len(rest), maxMarkChunk)]
			rest = rest[len(chunk):]
			query, params := markSentSQL(retain, len(chunk))
			args := make([]any, 0, params+1)
			if retain {
				args = append(args, time.Now().UnixMicro())
			}
			args = sqltext.AppendPadded(args, chunk, params)
			m, err := tx.Exec(ctx, query, args...)
			if err != nil {
				return err
			}
			n += m
		}
		return nil
	})
	return n, err
}

// maxMarkChunk bounds the sequence numbers one statement of markSent
// names (well under SQLite's 32,766 parameters).
const maxMarkChunk = 1024

// markKey names a statement of markSent: with retention or not, and how
// many sequence numbers it takes.
type markKey struct {
	retain bool
	params int
}

// markSentStatements holds the statements of markSent.
var markSentStatements sqltext.Cache[markKey]

// markSentSQL returns the statement that marks n rows sent (deletes them,
// without retention) and how many sequence numbers it takes: n padded to
// a power of two (sqltext.Padded), the caller repeating the last one.
func markSentSQL(retain bool, n int) (string, int) {
	params := sqltext.Padded(n)
	return markSentStatements.Get(markKey{retain, params}, buildMarkSent), params
}

func buildMarkSent(k markKey) string {
	if k.retain {
		return "UPDATE eventual_outbox SET sent_at = $1 WHERE sent_at IS NULL AND seq IN (" + sqltext.Params(2, k.params) + ")"
	}
	return "DELETE FROM eventual_outbox WHERE seq IN (" + sqltext.Params(1, k.params) + ")"
}
