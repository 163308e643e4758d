package outbox

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/transport"
)

// cleanupEvery is how often Relay deletes the sent rows past the
// retention.
const cleanupEvery = time.Minute

// markTimeout bounds marking a published batch sent once the relay's
// context has ended: the batch went out, so marking it is still worth a
// moment (it spares the broker a re-publish).
const markTimeout = 10 * time.Second

// Relay publishes the outbox's messages to pub until ctx ends, then
// returns nil.
//
// It reads unsent rows in the order they were added (seq), a batch at a
// time (WithBatchSize), publishes each batch with one pub.Publish call
// under ctx, and only after Publish returned nil marks exactly those rows
// sent (or deletes them when the retention is 0). Since Publish returns
// only once the transport acknowledged every message, a message is marked
// sent only after the broker stored it; with transport/inproc, only after
// its handlers settled it. When Publish fails, Relay logs the error,
// waits (WithBackoff) and publishes the same rows again, with the same
// IDs: it never skips a row nor marks one it did not see acknowledged, and
// nothing after a failed batch goes out before it, so messages of one key
// keep their order. A row that can never be published (a transport that
// rejects it) therefore holds up the relay, and shows in Stats.
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
		woken := o.signal.C()
		n, err := o.relayBatch(ctx, pub)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if fatal(err) {
				return err
			}
			failures := o.health.fail(err)
			wait := bo.next()
			o.cfg.log.Warn("outbox: relay failed; will publish the same messages again",
				"err", err, "failures", failures, "retry_in", wait)
			sleep(ctx, wait)
			continue
		}
		bo.reset()
		o.health.ok()
		if n == o.cfg.batchSize {
			continue // there may be more at once
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

// relayBatch publishes one batch of unsent rows and marks them sent. It
// returns how many rows it read.
func (o *Outbox) relayBatch(ctx context.Context, pub transport.Publisher) (int, error) {
	seqs, msgs, err := o.unsent(ctx)
	if err != nil || len(msgs) == 0 {
		return 0, err
	}
	if err := pub.Publish(ctx, msgs...); err != nil {
		return 0, fmt.Errorf("outbox: publish %d messages: %w", len(msgs), err)
	}
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), markTimeout)
	defer cancel()
	n, err := o.markSent(mctx, seqs)
	if err != nil {
		return 0, fmt.Errorf("outbox: mark %d published messages sent: %w", len(msgs), err)
	}
	o.sent.Add(n)
	return len(msgs), nil
}

// unsent reads the first batch of unsent rows, in seq order.
func (o *Outbox) unsent(ctx context.Context) ([]int64, []transport.Message, error) {
	var seqs []int64
	var msgs []transport.Message
	err := o.read(ctx, func(q eventual.Querier) error {
		seqs, msgs = seqs[:0], msgs[:0]
		rows, err := q.Query(ctx, `SELECT seq, id, subject, type, key, data, metadata, reply_to
			FROM eventual_outbox WHERE sent_at IS NULL ORDER BY seq LIMIT $1`, o.cfg.batchSize)
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
		return nil, nil, fmt.Errorf("outbox: read unsent messages: %w", err)
	}
	return seqs, msgs, nil
}

// markSent marks the rows seqs sent, or deletes them when the retention
// is 0, and returns how many it changed (fewer when another relay was
// first).
func (o *Outbox) markSent(ctx context.Context, seqs []int64) (int64, error) {
	var q strings.Builder
	args := make([]any, 0, len(seqs)+1)
	if o.cfg.retention == 0 {
		q.WriteString("DELETE FROM eventual_outbox WHERE seq IN (")
	} else {
		q.WriteString("UPDATE eventual_outbox SET sent_at = $1 WHERE sent_at IS NULL AND seq IN (")
		args = append(args, time.Now().UnixMicro())
	}
	for i, seq := range seqs {
		if i > 0 {
			q.WriteByte(',')
		}
		args = append(args, seq)
		fmt.Fprintf(&q, "$%d", len(args))
	}
	q.WriteByte(')')
	var n int64
	err := o.store.InTx(ctx, func(tx eventual.Tx) error {
		var err error
		n, err = tx.Exec(ctx, q.String(), args...)
		return err
	})
	return n, err
}
