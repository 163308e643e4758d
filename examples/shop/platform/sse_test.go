package platform_test

import (
	"bufio"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/eventual-go/eventual/examples/shop/platform"
)

func TestBroadcasterDropsASubscriberThatFallsBehind(t *testing.T) {
	var b platform.Broadcaster[int]
	slow, stopSlow := b.Subscribe()
	defer stopSlow()
	fast, stopFast := b.Subscribe()
	defer stopFast()
	for i := range platform.SubscriberBuffer + 1 {
		b.Publish(i)
		if v := <-fast; v != i {
			t.Fatalf("fast subscriber got %d, want %d", v, i)
		}
	}
	n := 0
	for range slow {
		n++
	}
	if n != platform.SubscriberBuffer {
		t.Fatalf("slow subscriber: %d values then closed, want %d", n, platform.SubscriberBuffer)
	}
	b.Publish(-1)
	if v := <-fast; v != -1 {
		t.Fatalf("fast subscriber after the drop: %d", v)
	}
}

func TestServeSSE(t *testing.T) {
	events := make(chan int, 10)
	for i := 1; i <= 3; i++ {
		events <- i
	}
	close(events)
	f := platform.SSE[int]{Name: func(int) string { return "n" }, ID: func(v int) string {
		if v == 2 {
			return ""
		}
		return strconv.Itoa(v)
	}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		platform.ServeSSE(w, r, events, f)
	}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	var lines []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	want := ": stream open||id: 1|event: n|data: 1||event: n|data: 2||id: 3|event: n|data: 3|"
	if got := strings.Join(lines, "|"); got != want {
		t.Fatalf("stream:\n%s\nwant\n%s", got, want)
	}
}

func TestLastEventID(t *testing.T) {
	for _, c := range []struct {
		header, query string
		want          uint64
		field         string
	}{
		{"", "", 0, ""},
		{"42", "", 42, ""},
		{"", "7", 7, ""},
		{"42", "7", 42, ""}, // the header wins
		{"x", "", 0, "Last-Event-ID"},
		{"", "-1", 0, "after"},
	} {
		r := httptest.NewRequestWithContext(context.Background(), "GET", "/s?after="+c.query, nil)
		if c.header != "" {
			r.Header.Set("Last-Event-ID", c.header)
		}
		got, err := platform.LastEventID(r)
		var v *platform.ValidationError
		switch {
		case c.field == "" && (err != nil || got != c.want):
			t.Errorf("%+v: %d, %v", c, got, err)
		case c.field != "" && (!errors.As(err, &v) || len(v.Fields) != 1 || v.Fields[0].Field != c.field):
			t.Errorf("%+v: error %v, want one on %s", c, err, c.field)
		}
	}
}
