package outbox_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/internal/testdb"
	"github.com/eventual-go/eventual/outbox"
)

// commitWatch wraps a store: for each statement of the relays'
// bookkeeping (marking rows sent, deleting them, saving an event relay's
// checkpoint) it records whether its transaction commits without waiting
// for the disk — through eventual.NoSyncTxStore, or on PostgreSQL with
// synchronous_commit off.
type commitWatch struct {
	testdb.Store
	mu             sync.Mutex
	lazy, flushing []string
}

// noSyncWatch is a commitWatch on a store that implements
// eventual.NoSyncTxStore (both SQL backends), and implements it too.
type noSyncWatch struct{ *commitWatch }

func watchCommits(s testdb.Store) (testdb.Store, *commitWatch) {
	w := &commitWatch{Store: s}
	if _, ok := s.(eventual.NoSyncTxStore); ok {
		return noSyncWatch{w}, w
	}
	return w, w
}

func (w *commitWatch) InTx(ctx context.Context, fn func(tx eventual.Tx) error) error {
	return w.Store.InTx(ctx, func(tx eventual.Tx) error { return fn(&watchedTx{Tx: tx, w: w}) })
}

func (w noSyncWatch) InTxNoSync(ctx context.Context, fn func(tx eventual.Tx) error) error {
	return w.Store.(eventual.NoSyncTxStore).InTxNoSync(ctx, func(tx eventual.Tx) error {
		return fn(&watchedTx{Tx: tx, w: w.commitWatch, noSync: true})
	})
}

type watchedTx struct {
	eventual.Tx
	w      *commitWatch
	noSync bool
}

func (t *watchedTx) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	var what string
	switch {
	case strings.HasPrefix(query, "UPDATE eventual_outbox SET sent_at"), strings.HasPrefix(query, "DELETE FROM eventual_outbox WHERE seq IN ($"):
		what = "mark sent"
	case strings.HasPrefix(query, "DELETE FROM eventual_outbox WHERE seq IN (\n"):
		what = "clean up"
	case strings.HasPrefix(query, "INSERT INTO eventual_event_relays"):
		what = "checkpoint"
	}
	if what != "" {
		lazy := t.noSync
		if t.Dialect() == eventual.DialectPostgres {
			var setting string
			if err := t.QueryRow(ctx, "SELECT current_setting('synchronous_commit')").Scan(&setting); err != nil {
				return 0, err
			}
			lazy = setting == "off"
		}
		t.w.mu.Lock()
		if lazy {
			t.w.lazy = append(t.w.lazy, what)
		} else {
			t.w.flushing = append(t.w.flushing, what)
		}
		t.w.mu.Unlock()
	}
	return t.Tx.Exec(ctx, query, args...)
}

func (w *commitWatch) seen() (lazy, flushing []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.lazy...), append([]string(nil), w.flushing...)
}

// The relays' bookkeeping commits without waiting for the disk: a crash
// of the machine that undoes it only has messages sent again, so a flush
// per relayed batch would hold the single writer for nothing.
func TestBookkeepingCommitsLazily(t *testing.T) {
	testdb.Run(t, func(t *testing.T, b testdb.Backend) {
		for _, retention := range []time.Duration{0, time.Hour} {
			s, w := watchCommits(b.New(t))
			o := newOutbox(t, s, outbox.WithRetention(retention))
			tr := newTransport(t)
			got := subscribe(t, tr, "m.>", 1)
			add(t, s, o, msg("m.x", "k", 1), msg("m.x", "k", 2))
			stop := startRelay(t, o, tr)
			got.waitDistinct(t, 2)
			eventually(t, "the backlog drains", func() bool { return stats(t, o).Backlog == 0 })
			stop()
			if _, err := o.Cleanup(context.Background()); err != nil {
				t.Fatal(err)
			}

			r := newEventRelay(t, s, "lazy", tr)
			appendEvents(t, s, "order-1", "order.placed", 1, 1)
			stopEvents := background(t, r.Run)
			eventually(t, "the event relay's checkpoint", func() bool { st := relayStatus(t, r); return st.Head > 0 && st.Checkpoint == st.Head })
			stopEvents()

			lazy, flushing := w.seen()
			if len(flushing) > 0 {
				t.Errorf("retention %v: bookkeeping that waited for the disk: %v", retention, flushing)
			}
			for _, want := range []string{"mark sent", "clean up", "checkpoint"} {
				if !strings.Contains(strings.Join(lazy, ","), want) {
					t.Errorf("retention %v: no %s seen (lazy: %v)", retention, want, lazy)
				}
			}
		}
	})
}
