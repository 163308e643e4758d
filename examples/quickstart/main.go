// Command quickstart shows the event store at work on the embedded default
// (a SQLite file): it appends events to a stream, reads them back, meets an
// optimistic-concurrency conflict, and follows the global log with a live
// subscription while another goroutine appends.
//
//	go run ./examples/quickstart            # data in ./data/quickstart.db
//	go run ./examples/quickstart -db /tmp/q.db
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/google/uuid"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/store/sqlite"
)

func main() {
	db := flag.String("db", "data/quickstart.db", "SQLite file of the event store")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *db); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, path string) error {
	store, err := sqlite.Open(ctx, path)
	if err != nil {
		return err
	}
	defer store.Close()
	fmt.Printf("event store: %s\n\n", path)

	// 1. Append to a new stream. NoStream: it must not exist yet.
	account := "account-" + uuid.NewString()[:8]
	meta := eventual.Metadata{CorrelationID: uuid.NewString(), UserID: "quickstart"}
	res, err := store.Append(ctx, account, eventual.NoStream,
		eventual.EventData{Type: "account.opened", Data: []byte(`{"holder":"Ada Lovelace","currency":"EUR"}`), Metadata: meta},
		eventual.EventData{Type: "money.deposited", Data: []byte(`{"amount_minor":10000}`), Metadata: meta},
	)
	if err != nil {
		return err
	}
	fmt.Printf("appended versions %d-%d of %s at global positions %d-%d\n",
		res.FirstVersion, res.LastVersion, account, res.FirstPosition, res.LastPosition)

	// 2. Append again, expecting the version we know.
	if _, err := store.Append(ctx, account, eventual.Exact(res.LastVersion),
		eventual.EventData{Type: "money.withdrawn", Data: []byte(`{"amount_minor":2500}`), Metadata: meta}); err != nil {
		return err
	}

	// 3. A writer with a stale version is refused, and told what it missed.
	_, err = store.Append(ctx, account, eventual.Exact(res.LastVersion),
		eventual.EventData{Type: "money.withdrawn", Data: []byte(`{"amount_minor":9999}`)})
	var conflict *eventual.ConflictError
	if errors.As(err, &conflict) {
		fmt.Printf("stale append refused: expected version %s, stream is at %d\n", conflict.Expected, conflict.Actual)
	} else {
		return fmt.Errorf("want a conflict, got %v", err)
	}

	// 4. Read the stream back.
	fmt.Printf("\n%s:\n", account)
	for ev, err := range store.ReadStream(ctx, account, eventual.ReadStreamOptions{}) {
		if err != nil {
			return err
		}
		fmt.Printf("  v%d  %-16s %s  (position %d, %s)\n", ev.Version, ev.Type, ev.Data, ev.Position, ev.RecordedAt.Format(time.RFC3339))
	}

	// 5. Follow the global log: catch up, then live.
	head, err := store.HeadPosition(ctx)
	if err != nil {
		return err
	}
	from := uint64(1)
	if head > 5 {
		from = head - 4 // the last five events, then what comes
	}
	subCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	go func() {
		for i := range 3 {
			time.Sleep(200 * time.Millisecond)
			_, err := store.Append(subCtx, account, eventual.StreamExists,
				eventual.EventData{Type: "money.deposited", Data: fmt.Appendf(nil, `{"amount_minor":%d}`, (i+1)*100)})
			if err != nil {
				fmt.Fprintln(os.Stderr, "append:", err)
			}
		}
	}()
	fmt.Printf("\nsubscribed to the global log from position %d (waiting for 3 live events):\n", from)
	live := 0
	for ev, err := range store.Subscribe(subCtx, eventual.SubscribeOptions{From: from}) {
		if err != nil {
			return err
		}
		tag := "caught up"
		if ev.Position > head {
			tag, live = "live", live+1
		}
		fmt.Printf("  @%-6d %-9s %s v%d %s\n", ev.Position, tag, ev.StreamID, ev.Version, ev.Type)
		if live == 3 {
			break
		}
	}
	info, err := store.StreamInfo(ctx, account)
	if err != nil {
		return err
	}
	fmt.Printf("\n%s is at version %d. Run again to add another account to the same file.\n", account, info.Version)
	return nil
}
