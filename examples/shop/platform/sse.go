package platform

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Broadcaster fans values out to subscribers, such as SSE streams. A
// subscriber that falls more than its buffer behind is dropped (its
// channel closed) rather than slowing the others.
type Broadcaster[T any] struct {
	mu   sync.Mutex
	subs map[chan T]struct{}
}

// Subscribe returns a channel of the values published from now on, and the
// function that unsubscribes.
func (b *Broadcaster[T]) Subscribe() (<-chan T, func()) {
	ch := make(chan T, 256)
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

// ServeSSE streams events to the client as server-sent events until the
// request ends or events closes: each as "event: name(v)" with v as JSON
// data, and a comment every 15 s to keep proxies from closing the stream.
func ServeSSE[T any](w http.ResponseWriter, r *http.Request, events <-chan T, name func(T) string) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Connection", "keep-alive")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, ": stream open\n\n")
	fl.Flush()
	ping := time.NewTicker(15 * time.Second)
	defer ping.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-ping.C:
			fmt.Fprint(w, ": ping\n\n")
			fl.Flush()
		case v, ok := <-events:
			if !ok {
				return
			}
			data, err := json.Marshal(v)
			if err != nil {
				continue
			}
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name(v), data)
			fl.Flush()
		}
	}
}
