package platform_test

import (
	"context"
	"runtime/pprof"
	"sync"
	"testing"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/examples/shop/platform"
	"github.com/eventual-go/eventual/examples/shop/platform/platformtest"
	"github.com/eventual-go/eventual/transport"
)

// counter is a toy module: it answers "counter.add" commands and counts
// "other.events.tick" events, each once.
type counter struct {
	mu     sync.Mutex
	ticks  int
	corr   []string
	labels []string // the profiler's "module" label the handler ran with
}

func (*counter) Name() string { return "counter" }

func (c *counter) Start(ctx context.Context, s *platform.Services) error {
	err := platform.HandleCommands(ctx, s, "counter.commands.>", platform.Handlers{
		"counter.add": func(ctx context.Context, tx eventual.Tx, d transport.Delivery) error {
			label, _ := pprof.Label(ctx, "module")
			c.mu.Lock()
			c.corr = append(c.corr, eventual.MetadataFromContext(ctx).CausationID)
			c.labels = append(c.labels, label)
			c.mu.Unlock()
			m, err := platform.ReplyMessage(d, "counter.add.done", map[string]int{"ok": 1})
			if err != nil {
				return err
			}
			return s.Outbox.Add(ctx, tx, m)
		},
	})
	if err != nil {
		return err
	}
	return platform.HandleEvents(ctx, s, "other.events.>", "counter-other", platform.Handlers{
		"other.tick": func(context.Context, eventual.Tx, transport.Delivery) error {
			c.mu.Lock()
			c.ticks++
			c.mu.Unlock()
			return nil
		},
	})
}

func (c *counter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ticks
}

func TestHandleCommandsAndEvents(t *testing.T) {
	c := &counter{}
	h := platformtest.Start(t, c)
	dead := h.Collect("deadletter.counter")

	// Sent from a goroutine labelled as another module's, as a relay's
	// would be: the handler's work is still counted as this module's.
	var d transport.Delivery
	pprof.Do(context.Background(), pprof.Labels("module", "sender"), func(context.Context) {
		d = h.Request("counter.commands.add", "counter.add", "k", map[string]int{"n": 1})
	})
	if d.Type != "counter.add.done" {
		t.Errorf("reply %s", d.Type)
	}
	c.mu.Lock()
	if len(c.corr) != 1 || c.corr[0] == "" {
		t.Errorf("the handler's context does not name the command as the cause: %q", c.corr)
	}
	if len(c.labels) != 1 || c.labels[0] != "counter" {
		t.Errorf("the handler ran with module label %q, want counter", c.labels)
	}
	c.mu.Unlock()

	// A command nobody handles goes to the module's dead letters at once.
	h.Publish("counter.commands.nope", "counter.nope", "k", map[string]int{})
	h.Eventually("the unknown command dead-lettered", func() bool { return len(dead.Of("counter.nope")) == 1 })

	// Events: handled types counted once each; others acknowledged.
	h.Publish("other.events.tick", "other.tick", "k", map[string]int{})
	h.Publish("other.events.tock", "other.tock", "k", map[string]int{})
	m, err := platform.Message(context.Background(), "other.events.tick", "other.tick", "k", map[string]int{})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // the same message twice
		if err := h.Transport.Publish(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	h.Eventually("two ticks", func() bool { return c.count() == 2 })
	if n := len(dead.All()); n != 1 {
		t.Errorf("%d dead letters, want only the unknown command", n)
	}
}
