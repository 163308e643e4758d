package follow_test

import (
	"context"
	"testing"
	"time"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/internal/follow"
	"github.com/eventual-go/eventual/store/memory"
)

func TestReadAndWait(t *testing.T) {
	ctx := context.Background()
	s, err := memory.New()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	add := func(typ string) uint64 {
		r, err := s.Append(ctx, "s-"+typ+time.Now().String(), eventual.Any, eventual.EventData{Type: typ})
		if err != nil {
			t.Fatal(err)
		}
		return r.LastPosition
	}
	f := follow.New(s, eventual.Filter{Types: []string{"keep"}}).WithPoll(time.Hour)
	if p, err := f.Read(ctx, 0, 10); err != nil || len(p.Events) != 0 || p.Through != 0 || p.Full {
		t.Fatalf("empty log: %+v, %v", p, err)
	}
	k1 := add("keep")
	add("skip")
	k2 := add("keep")
	last := add("skip")

	p, err := f.Read(ctx, 0, 1)
	if err != nil || len(p.Events) != 1 || p.Events[0].Position != k1 || p.Through != k1 || !p.Full {
		t.Fatalf("first page: %+v, %v", p, err)
	}
	p, err = f.Read(ctx, p.Through, 10)
	if err != nil || len(p.Events) != 1 || p.Events[0].Position != k2 || p.Through != last || p.Full {
		t.Fatalf("second page: %+v, %v; want through %d past the skipped tail", p, err, last)
	}
	news := f.News()
	go func() { time.Sleep(20 * time.Millisecond); add("keep") }()
	start := time.Now()
	f.Wait(ctx, news)
	if time.Since(start) > 10*time.Second {
		t.Fatal("Wait was not woken by an append")
	}
	if p, err = f.Read(ctx, p.Through, 10); err != nil || len(p.Events) != 1 {
		t.Fatalf("after news: %+v, %v", p, err)
	}
}

// knowing wraps a store with a known head and counts head queries.
type knowing struct {
	eventual.Store
	head    uint64
	known   bool
	queries int
}

func (k *knowing) KnownHead() (uint64, bool) { return k.head, k.known }

func (k *knowing) HeadPosition(ctx context.Context) (uint64, error) {
	k.queries++
	return k.Store.HeadPosition(ctx)
}

// A store that knows its head is not asked for it; a head known late ends
// the page there, and the next read goes on from it.
func TestReadUpToKnownHead(t *testing.T) {
	ctx := context.Background()
	s, err := memory.New()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var pos []uint64
	for i := range 4 {
		r, err := s.Append(ctx, "s", eventual.Any, eventual.EventData{Type: []string{"keep", "skip"}[i%2]})
		if err != nil {
			t.Fatal(err)
		}
		pos = append(pos, r.LastPosition)
	}
	k := &knowing{Store: s}
	f := follow.New(k, eventual.Filter{Types: []string{"keep"}})
	if p, err := f.Read(ctx, 0, 10); err != nil || len(p.Events) != 2 || p.Through != pos[3] || k.queries != 1 {
		t.Fatalf("head not known: %+v, %v, %d queries; want both events through %d, one query", p, err, k.queries, pos[3])
	}
	k.head, k.known, k.queries = pos[1], true, 0 // late: the log goes on to pos[3]
	p, err := f.Read(ctx, 0, 10)
	if err != nil || k.queries != 0 || p.Through < pos[1] || p.Through > pos[3] || len(p.Events) == 0 || p.Events[0].Position != pos[0] {
		t.Fatalf("head known at %d: %+v, %v, %d queries; want the first event, through at least %d, no query", pos[1], p, err, k.queries, pos[1])
	}
	if p, err = f.Read(ctx, pos[3], 10); err != nil || len(p.Events) != 0 || p.Through != pos[3] || k.queries != 0 {
		t.Fatalf("at the end: %+v, %v, %d queries", p, err, k.queries)
	}
}
