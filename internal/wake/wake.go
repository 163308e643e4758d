// Package wake is a broadcast signal: goroutines wait for "something
// changed" and one call wakes them all. Event store backends use it to wake
// subscriptions when an append commits.
package wake

import "sync"

// Signal wakes every goroutine waiting on the channel that C returned before
// the next Notify. The zero Signal is ready to use.
type Signal struct {
	mu      sync.Mutex
	ch      chan struct{}
	waiting bool
}

// C returns a channel that is closed at the next Notify. Take it before
// checking for news, then wait on it, so no Notify is missed in between.
func (s *Signal) C() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		s.ch = make(chan struct{})
	}
	s.waiting = true
	return s.ch
}

// Notify wakes every goroutine waiting on a channel from C. It costs
// nothing when no one waits.
func (s *Signal) Notify() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.waiting {
		return
	}
	close(s.ch)
	s.ch = make(chan struct{})
	s.waiting = false
}
