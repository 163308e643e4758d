package wake

import (
	"sync"
	"testing"
	"time"
)

func TestNotifyWakesAllWaiters(t *testing.T) {
	var s Signal
	var wg sync.WaitGroup
	for range 10 {
		c := s.C()
		wg.Add(1)
		go func() { defer wg.Done(); <-c }()
	}
	s.Notify()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("waiters were not woken")
	}
}

func TestChannelTakenAfterNotifyWaitsForTheNext(t *testing.T) {
	var s Signal
	s.Notify() // no one waits: nothing happens
	c := s.C()
	select {
	case <-c:
		t.Fatal("channel closed before any Notify after C")
	default:
	}
	s.Notify()
	select {
	case <-c:
	default:
		t.Fatal("channel not closed by Notify")
	}
}
