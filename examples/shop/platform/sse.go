package platform

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// SubscriberBuffer is how many values a [Broadcaster] subscriber may fall
// behind before it is dropped. Publishers hand over a committed batch at
// once (hundreds of values under load), so it is large.
const SubscriberBuffer = 4096

// Broadcaster fans values out to subscribers, such as SSE streams. A
// subscriber that falls more than SubscriberBuffer behind is dropped (its
// channel closed) rather than slowing the others; an SSE client then
// reconnects with Last-Event-ID and resumes (see [LastEventID]).
type Broadcaster[T any] struct {
	mu   sync.Mutex
	subs map[chan T]struct{}
}

// Subscribe returns a channel of the values published from now on, and the
// function that unsubscribes.
func (b *Broadcaster[T]) Subscribe() (<-chan T, func()) {
	ch := make(chan T, SubscriberBuffer)
	b.mu.Lock()
	if b.subs == nil {
		b.subs = map[chan T]struct{}{}
	}
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	return ch, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if _, ok := b.subs[ch]; ok {
			delete(b.subs, ch)
			close(ch)
		}
	}
}

// Publish sends v to every subscriber, never blocking.
func (b *Broadcaster[T]) Publish(v T) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		select {
		case ch <- v:
		default: // too slow: dropped
			delete(b.subs, ch)
			close(ch)
		}
	}
}

// LastEventID returns the position a reconnecting SSE client asks to
// resume after: its Last-Event-ID header (what browsers send) or, for
// clients that cannot set headers, the "after" query parameter; 0 when
// neither is given. A value that is not a position is a validation error.
func LastEventID(r *http.Request) (uint64, error) {
	v := r.Header.Get("Last-Event-ID")
	field := "Last-Event-ID"
	if v == "" {
		v, field = r.URL.Query().Get("after"), "after"
	}
	if v == "" {
		return 0, nil
	}
	p, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		var c Check
		c.Require(field, false, "must be an event ID received from this stream (a position)")
		return 0, c.Err()
	}
	return p, nil
}

// SSE describes how [ServeSSE] writes a value: its event name and its ID
// (what the client sends back as Last-Event-ID when it reconnects; empty
// for none).
type SSE[T any] struct {
	Name func(T) string
	ID   func(T) string
}

// ServeSSE streams events to the client as server-sent events until the
// request ends or events closes: each as "id: ID(v)", "event: Name(v)" and
// v as JSON data, and a comment every 15 s to keep proxies from closing the
// stream. Values already queued are written together and flushed once.
func ServeSSE[T any](w http.ResponseWriter, r *http.Request, events <-chan T, f SSE[T]) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Connection", "keep-alive")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 32<<10)
	fmt.Fprint(bw, ": stream open\n\n")
	flush := func() bool {
		if bw.Flush() != nil {
			return false
		}
		fl.Flush()
		return true
	}
	if !flush() {
		return
	}
	write := func(v T) {
		data, err := json.Marshal(v)
		if err != nil {
			return
		}
		if f.ID != nil {
			if id := f.ID(v); id != "" {
				fmt.Fprintf(bw, "id: %s\n", id)
			}
		}
		fmt.Fprintf(bw, "event: %s\ndata: %s\n\n", f.Name(v), data)
	}
	ping := time.NewTicker(15 * time.Second)
	defer ping.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-ping.C:
			fmt.Fprint(bw, ": ping\n\n")
		case v, ok := <-events:
			// Write it and what is queued behind it, then flush once.
			for n := 0; ok && n < SubscriberBuffer; n++ {
				write(v)
				select {
				case v, ok = <-events:
				default:
					n = SubscriberBuffer
				}
			}
			if !ok {
				flush()
				return
			}
		}
		if !flush() {
			return
		}
	}
}
