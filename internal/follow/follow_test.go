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
