package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/eventual-go/eventual"
)

func testAppendAndReadBack(t *testing.T, b Backend) {
	s := b.open(t)
	ctx := testContext(t)
	before := time.Now().Add(-time.Second)
	meta := eventual.Metadata{
		CorrelationID: "corr-1", CausationID: "cause-1", TenantID: "tenant-a", UserID: "user-7",
		TraceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", TraceState: "vendor=x",
		Extra: map[string]string{"source": "test", "ünïcode": "値"},
	}
	in := []eventual.EventData{
		{ID: uuid.Must(uuid.NewV7()), Type: "order.placed", SchemaVersion: 2, Data: []byte(`{"total":1250}`), Metadata: meta},
		{Type: "order.paid", Data: []byte{0, 1, 2, 255}},
		{Type: "order.noted"}, // no data, no metadata
	}
	res := mustAppend(t, s, "order-1", eventual.NoStream, in...)
	if res.StreamID != "order-1" || res.FirstVersion != 1 || res.LastVersion != 3 {
		t.Fatalf("result = %+v, want versions 1..3 of order-1", res)
	}
	if res.FirstPosition == 0 || res.LastPosition < res.FirstPosition+2 {
		t.Fatalf("result positions %d..%d: want three increasing positions", res.FirstPosition, res.LastPosition)
	}

	got := readStream(t, s, "order-1", eventual.ReadStreamOptions{})
	if len(got) != 3 {
		t.Fatalf("read %d events, want 3", len(got))
	}
	for i, e := range got {
		want := in[i]
		if e.StreamID != "order-1" || e.Version != uint64(i+1) || e.Type != want.Type || e.SchemaVersion != want.SchemaVersion {
			t.Errorf("event %d = %q v%d %q schema %d, want order-1 v%d %q schema %d", i, e.StreamID, e.Version, e.Type, e.SchemaVersion, i+1, want.Type, want.SchemaVersion)
		}
		if !bytes.Equal(e.Data, want.Data) {
			t.Errorf("event %d data = %q, want %q", i, e.Data, want.Data)
		}
		if e.ID == uuid.Nil || (want.ID != uuid.Nil && e.ID != want.ID) {
			t.Errorf("event %d ID = %s, want %s (or a generated one)", i, e.ID, want.ID)
		}
		if e.ID.Version() != 7 && want.ID == uuid.Nil {
			t.Errorf("event %d generated ID %s is not a UUIDv7", i, e.ID)
		}
		if i > 0 && e.Position <= got[i-1].Position {
			t.Errorf("event %d position %d not after %d", i, e.Position, got[i-1].Position)
		}
		if e.RecordedAt.Before(before) || e.RecordedAt.After(time.Now().Add(time.Second)) || e.RecordedAt.Location() != time.UTC {
			t.Errorf("event %d recorded at %v: want now, in UTC", i, e.RecordedAt)
		}
	}
	if got[0].Position != res.FirstPosition || got[2].Position != res.LastPosition {
		t.Errorf("positions read %d..%d, result said %d..%d", got[0].Position, got[2].Position, res.FirstPosition, res.LastPosition)
	}
	m := got[0].Metadata
	if m.CorrelationID != meta.CorrelationID || m.CausationID != meta.CausationID || m.TenantID != meta.TenantID ||
		m.UserID != meta.UserID || m.TraceParent != meta.TraceParent || m.TraceState != meta.TraceState ||
		len(m.Extra) != 2 || m.Extra["source"] != "test" || m.Extra["ünïcode"] != "値" {
		t.Errorf("metadata = %+v, want %+v", m, meta)
	}
	if !got[2].Metadata.IsZero() {
		t.Errorf("event without metadata read back with %+v", got[2].Metadata)
	}

	// The same events through the global log.
	all := readAll(t, s, eventual.ReadAllOptions{})
	if len(all) != 3 || all[0].ID != got[0].ID || all[2].Position != got[2].Position || !bytes.Equal(all[1].Data, in[1].Data) {
		t.Fatalf("ReadAll = %d events, want the 3 appended", len(all))
	}
	info, err := s.StreamInfo(ctx, "order-1")
	if err != nil || info.Version != 3 || info.FirstVersion != 1 || info.Deleted {
		t.Fatalf("StreamInfo = %+v, %v; want version 3, first 1", info, err)
	}
	if h := head(t, s); h != res.LastPosition {
		t.Fatalf("HeadPosition = %d, want %d", h, res.LastPosition)
	}

	// Changing the caller's buffers after the append changes nothing stored.
	in[1].Data[0] = 42
	if again := readStream(t, s, "order-1", eventual.ReadStreamOptions{From: 2, Limit: 1}); again[0].Data[0] != 0 {
		t.Fatal("the store kept a reference to the caller's data")
	}

	_, err = s.StreamInfo(ctx, "order-missing")
	if !errors.Is(err, eventual.ErrStreamNotFound) {
		t.Fatalf("StreamInfo of a missing stream: err = %v, want ErrStreamNotFound", err)
	}
	if _, err := eventual.Collect(s.ReadStream(ctx, "order-missing", eventual.ReadStreamOptions{})); !errors.Is(err, eventual.ErrStreamNotFound) {
		t.Fatalf("ReadStream of a missing stream: err = %v, want ErrStreamNotFound", err)
	}
}

func testExpectedVersions(t *testing.T, b Backend) {
	s := b.open(t)
	ctx := testContext(t)
	tests := []struct {
		name     string
		existing bool // the stream holds 2 events before the append
		expected eventual.ExpectedVersion
		ok       bool
	}{
		{"any on a new stream", false, eventual.Any, true},
		{"no stream on a new stream", false, eventual.NoStream, true},
		{"exact 0 on a new stream", false, eventual.Exact(0), true},
		{"stream exists on a new stream", false, eventual.StreamExists, false},
		{"exact 1 on a new stream", false, eventual.Exact(1), false},
		{"any on an existing stream", true, eventual.Any, true},
		{"no stream on an existing stream", true, eventual.NoStream, false},
		{"exact 0 on an existing stream", true, eventual.Exact(0), false},
		{"stream exists on an existing stream", true, eventual.StreamExists, true},
		{"exact head", true, eventual.Exact(2), true},
		{"exact behind head", true, eventual.Exact(1), false},
		{"exact beyond head", true, eventual.Exact(9), false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stream := fmt.Sprintf("expect-%d", i)
			var before uint64
			if tt.existing {
				mustAppend(t, s, stream, eventual.NoStream, evs("e", 2)...)
				before = 2
			}
			res, err := s.Append(ctx, stream, tt.expected, ev("e", 1))
			if tt.ok {
				if err != nil {
					t.Fatalf("err = %v, want success", err)
				}
				if res.FirstVersion != before+1 || res.LastVersion != before+1 {
					t.Fatalf("new version %d, want %d", res.LastVersion, before+1)
				}
				return
			}
			var ce *eventual.ConflictError
			if !errors.As(err, &ce) || !errors.Is(err, eventual.ErrConflict) {
				t.Fatalf("err = %v, want a *ConflictError matching ErrConflict", err)
			}
			if ce.StreamID != stream || ce.Expected != tt.expected || ce.Actual != before || ce.Exists != tt.existing {
				t.Fatalf("conflict = %+v, want stream %q expected %s actual %d", ce, stream, tt.expected, before)
			}
			info, err := s.StreamInfo(ctx, stream)
			switch {
			case tt.existing && (err != nil || info.Version != before):
				t.Fatalf("after a failed append: %+v, %v; want version %d", info, err, before)
			case !tt.existing && !errors.Is(err, eventual.ErrStreamNotFound):
				t.Fatalf("a failed append created the stream: %+v, %v", info, err)
			}
		})
	}
}

// testConcurrentExactAppends races 50 writers on one stream, through two
// handles when the backend can share, each appending with the version it
// last saw: versions must come out 1..N without a gap, and every writer that
// lost a race must get ErrConflict.
func testConcurrentExactAppends(t *testing.T, b Backend) {
	handles := []eventual.Store{b.open(t)}
	handles = append(handles, b.share(t, handles[0]))
	s := handles[0]
	ctx := testContext(t)
	const writers = 50
	target := uint64(200)
	if b.Short {
		target = 100
	}
	var wins, conflicts atomic.Int64
	var mu sync.Mutex
	won := map[uint64]int{} // version -> writer
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		s := handles[w%len(handles)]
		wg.Go(func() {
			for {
				var v uint64
				info, err := s.StreamInfo(ctx, "race")
				switch {
				case err == nil:
					v = info.Version
				case !errors.Is(err, eventual.ErrStreamNotFound):
					errs <- err
					return
				}
				if v >= target {
					return
				}
				res, err := s.Append(ctx, "race", eventual.Exact(v), ev("raced", w))
				switch {
				case err == nil:
					wins.Add(1)
					mu.Lock()
					if other, dup := won[res.LastVersion]; dup {
						mu.Unlock()
						errs <- errors.New("two writers won the same version")
						_ = other
						return
					}
					won[res.LastVersion] = w
					mu.Unlock()
					if res.LastVersion != v+1 {
						errs <- errors.New("append with Exact(v) did not land at v+1")
						return
					}
				case errors.Is(err, eventual.ErrConflict):
					conflicts.Add(1)
				default:
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := readStream(t, s, "race", eventual.ReadStreamOptions{})
	n := uint64(len(got))
	if n < target || n > target+writers {
		t.Fatalf("stream has %d events, want about %d", n, target)
	}
	if !equalU64(versions(got), seq(1, n)) {
		t.Fatalf("versions are not 1..%d without gaps: %v", n, versions(got))
	}
	if uint64(wins.Load()) != n {
		t.Fatalf("%d appends succeeded but the stream holds %d events", wins.Load(), n)
	}
	t.Logf("%d appends won, %d lost with ErrConflict", wins.Load(), conflicts.Load())
}

// testTwoHandlesOneStream appends to one stream through two handles in
// turn: each must see the other's appends (no stale cache of versions).
func testTwoHandlesOneStream(t *testing.T, b Backend) {
	s := b.open(t)
	handles := []eventual.Store{s, b.share(t, s)}
	ctx := testContext(t)
	for i := range 40 {
		h := handles[(i/3)%2] // three appends through each in turn
		res, err := h.Append(ctx, "shared", eventual.Exact(uint64(i)), ev("e", i))
		if err != nil {
			t.Fatalf("append %d through handle %d: %v", i, (i/3)%2, err)
		}
		if res.LastVersion != uint64(i+1) {
			t.Fatalf("append %d landed at version %d", i, res.LastVersion)
		}
		// A stale version is refused through either handle.
		if i > 0 {
			if _, err := handles[i%2].Append(ctx, "shared", eventual.Exact(uint64(i)), ev("stale", i)); !errors.Is(err, eventual.ErrConflict) {
				t.Fatalf("stale append %d: %v, want ErrConflict", i, err)
			}
		}
	}
	if n := len(readStream(t, handles[1], "shared", eventual.ReadStreamOptions{})); n != 40 {
		t.Fatalf("stream holds %d events, want 40", n)
	}
}

func testIdempotentAppend(t *testing.T, b Backend) {
	s := b.open(t)
	ctx := testContext(t)
	batch := []eventual.EventData{withID(ev("a", 1)), withID(ev("b", 2))}
	mustAppend(t, s, "idem", eventual.NoStream, withID(ev("first", 0)))
	first := mustAppend(t, s, "idem", eventual.Exact(1), batch...)
	mustAppend(t, s, "idem", eventual.Exact(3), ev("later", 3))
	headBefore := head(t, s)

	for _, expected := range []eventual.ExpectedVersion{eventual.Exact(1), eventual.Any, eventual.StreamExists, eventual.NoStream, eventual.Exact(4)} {
		again, err := s.Append(ctx, "idem", expected, batch...)
		if err != nil {
			t.Fatalf("retry with expected %s: %v, want the original result", expected, err)
		}
		if again != first {
			t.Fatalf("retry with expected %s returned %+v, want the original %+v", expected, again, first)
		}
	}
	if got := readStream(t, s, "idem", eventual.ReadStreamOptions{}); len(got) != 4 {
		t.Fatalf("stream has %d events after retries, want 4", len(got))
	}
	if h := head(t, s); h != headBefore {
		t.Fatalf("head moved from %d to %d on retries", headBefore, h)
	}

	// Retrying inside AppendMulti is idempotent too.
	res, err := s.AppendMulti(ctx, eventual.AppendRequest{StreamID: "idem", Expected: eventual.Any, Events: batch})
	if err != nil || res[0] != first {
		t.Fatalf("AppendMulti retry = %+v, %v; want the original %+v", res, err, first)
	}

	bad := []struct {
		name   string
		stream string
		events []eventual.EventData
	}{
		{"some IDs stored, some new", "idem", []eventual.EventData{batch[0], withID(ev("c", 3))}},
		{"IDs in another order", "idem", []eventual.EventData{batch[1], batch[0]}},
		{"IDs stored in another stream", "other", batch},
		{"one ID stored, not as its own append", "other", []eventual.EventData{batch[1]}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Append(ctx, tt.stream, eventual.Any, tt.events...)
			if !errors.Is(err, eventual.ErrInvalidArgument) {
				t.Fatalf("err = %v, want ErrInvalidArgument", err)
			}
			if h := head(t, s); h != headBefore {
				t.Fatalf("a refused append moved the head from %d to %d", headBefore, h)
			}
		})
	}

	// Concurrent retries of one append: exactly one copy is stored.
	racy := []eventual.EventData{withID(ev("racy", 1)), withID(ev("racy", 2))}
	var wg sync.WaitGroup
	results := make([]eventual.AppendResult, 16)
	for i := range results {
		wg.Go(func() {
			r, err := s.Append(ctx, "idem-racy", eventual.Any, racy...)
			if err != nil {
				t.Errorf("concurrent retry: %v", err)
			}
			results[i] = r
		})
	}
	wg.Wait()
	for _, r := range results[1:] {
		if r != results[0] {
			t.Fatalf("concurrent retries got different results: %+v and %+v", r, results[0])
		}
	}
	if got := readStream(t, s, "idem-racy", eventual.ReadStreamOptions{}); len(got) != 2 {
		t.Fatalf("concurrent retries stored %d events, want 2", len(got))
	}
}

func testAppendMulti(t *testing.T, b Backend) {
	s := b.open(t)
	ctx := testContext(t)
	mustAppend(t, s, "m-existing", eventual.NoStream, ev("e", 1))
	res, err := s.AppendMulti(ctx,
		eventual.AppendRequest{StreamID: "m-a", Expected: eventual.NoStream, Events: evs("a", 2)},
		eventual.AppendRequest{StreamID: "m-existing", Expected: eventual.Exact(1), Events: evs("x", 1)},
		eventual.AppendRequest{StreamID: "m-b", Expected: eventual.Any, Events: evs("b", 3)},
	)
	if err != nil {
		t.Fatalf("AppendMulti: %v", err)
	}
	if len(res) != 3 || res[0].LastVersion != 2 || res[1].LastVersion != 2 || res[2].LastVersion != 3 || res[2].StreamID != "m-b" {
		t.Fatalf("results = %+v", res)
	}
	// All six events are contiguous in the log: no other commit between.
	all := readAll(t, s, eventual.ReadAllOptions{From: res[0].FirstPosition})
	if len(all) != 6 {
		t.Fatalf("log after the multi-append holds %d events, want 6", len(all))
	}

	headBefore := head(t, s)
	_, err = s.AppendMulti(ctx,
		eventual.AppendRequest{StreamID: "m-c", Expected: eventual.NoStream, Events: evs("c", 1)},
		eventual.AppendRequest{StreamID: "m-a", Expected: eventual.Exact(1), Events: evs("a", 1)}, // stale
		eventual.AppendRequest{StreamID: "m-d", Expected: eventual.Any, Events: evs("d", 1)},
	)
	var ce *eventual.ConflictError
	if !errors.As(err, &ce) || ce.StreamID != "m-a" {
		t.Fatalf("err = %v, want a conflict on m-a", err)
	}
	for _, id := range []string{"m-c", "m-d"} {
		if _, err := s.StreamInfo(ctx, id); !errors.Is(err, eventual.ErrStreamNotFound) {
			t.Fatalf("stream %s after a failed multi-append: %v, want ErrStreamNotFound", id, err)
		}
	}
	if h := head(t, s); h != headBefore {
		t.Fatalf("failed multi-append moved the head from %d to %d", headBefore, h)
	}

	// Many concurrent multi-appends with one conflicting part each never
	// leave a partial write.
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			_, err := s.AppendMulti(ctx,
				eventual.AppendRequest{StreamID: "m-ok-" + string(rune('a'+i)), Expected: eventual.NoStream, Events: evs("ok", 2)},
				eventual.AppendRequest{StreamID: "m-a", Expected: eventual.NoStream, Events: evs("bad", 1)},
			)
			if !errors.Is(err, eventual.ErrConflict) {
				t.Errorf("err = %v, want ErrConflict", err)
			}
		})
	}
	wg.Wait()
	if h := head(t, s); h != headBefore {
		t.Fatalf("failed concurrent multi-appends moved the head from %d to %d", headBefore, h)
	}

	if _, err := s.AppendMulti(ctx,
		eventual.AppendRequest{StreamID: "m-twice", Events: evs("x", 1)},
		eventual.AppendRequest{StreamID: "m-twice", Events: evs("x", 1)},
	); !errors.Is(err, eventual.ErrInvalidArgument) {
		t.Fatalf("same stream twice: err = %v, want ErrInvalidArgument", err)
	}
	if _, err := s.AppendMulti(ctx); !errors.Is(err, eventual.ErrInvalidArgument) {
		t.Fatalf("no appends: err = %v, want ErrInvalidArgument", err)
	}
}

func testBadInput(t *testing.T, b Backend) {
	s := b.open(t)
	ctx := testContext(t)
	mustAppend(t, s, "ok", eventual.NoStream, ev("e", 1))
	headBefore := head(t, s)
	dupID := withID(ev("e", 1))
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	appends := []struct {
		name   string
		ctx    context.Context
		stream string
		events []eventual.EventData
		want   error
	}{
		{"empty stream ID", ctx, "", evs("e", 1), eventual.ErrInvalidArgument},
		{"stream ID not UTF-8", ctx, "bad-\xff", evs("e", 1), eventual.ErrInvalidArgument},
		{"stream ID with NUL", ctx, "bad\x00id", evs("e", 1), eventual.ErrInvalidArgument},
		{"stream ID too long", ctx, strings.Repeat("x", eventual.MaxStreamIDLength+1), evs("e", 1), eventual.ErrInvalidArgument},
		{"no events", ctx, "bad", nil, eventual.ErrInvalidArgument},
		{"event without type", ctx, "bad", []eventual.EventData{{Data: []byte("{}")}}, eventual.ErrInvalidArgument},
		{"type not UTF-8", ctx, "bad", []eventual.EventData{{Type: "\xc3\x28"}}, eventual.ErrInvalidArgument},
		{"type too long", ctx, "bad", []eventual.EventData{{Type: strings.Repeat("t", eventual.MaxTypeLength+1)}}, eventual.ErrInvalidArgument},
		{"negative schema version", ctx, "bad", []eventual.EventData{{Type: "t", SchemaVersion: -1}}, eventual.ErrInvalidArgument},
		{"metadata with NUL", ctx, "bad", []eventual.EventData{{Type: "t", Metadata: eventual.Metadata{UserID: "a\x00b"}}}, eventual.ErrInvalidArgument},
		{"metadata empty extra key", ctx, "bad", []eventual.EventData{{Type: "t", Metadata: eventual.Metadata{Extra: map[string]string{"": "v"}}}}, eventual.ErrInvalidArgument},
		{"event over the size limit", ctx, "bad", []eventual.EventData{{Type: "t", Data: make([]byte, DefaultMaxEventSize)}}, eventual.ErrInvalidArgument},
		{"a good event with a bad one", ctx, "bad", []eventual.EventData{ev("good", 1), {Type: ""}}, eventual.ErrInvalidArgument},
		{"same event ID twice", ctx, "bad", []eventual.EventData{dupID, dupID}, eventual.ErrInvalidArgument},
		{"cancelled context", cancelled, "bad", evs("e", 1), context.Canceled},
	}
	for _, tt := range appends {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Append(tt.ctx, tt.stream, eventual.Any, tt.events...)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if err.Error() == "" || (tt.want == eventual.ErrInvalidArgument && err.Error() == eventual.ErrInvalidArgument.Error()) {
				t.Fatalf("error %q does not say what is wrong", err)
			}
			if h := head(t, s); h != headBefore {
				t.Fatalf("refused append moved the head from %d to %d", headBefore, h)
			}
			if _, err := s.StreamInfo(ctx, "bad"); !errors.Is(err, eventual.ErrStreamNotFound) {
				t.Fatalf("refused append created the stream: %v", err)
			}
		})
	}

	reads := []struct {
		name string
		err  func() error
		want error
	}{
		{"read stream with empty ID", func() error {
			_, err := eventual.Collect(s.ReadStream(ctx, "", eventual.ReadStreamOptions{}))
			return err
		}, eventual.ErrInvalidArgument},
		{"read stream with negative limit", func() error {
			_, err := eventual.Collect(s.ReadStream(ctx, "ok", eventual.ReadStreamOptions{Limit: -1}))
			return err
		}, eventual.ErrInvalidArgument},
		{"read stream with unknown direction", func() error {
			_, err := eventual.Collect(s.ReadStream(ctx, "ok", eventual.ReadStreamOptions{Direction: 7}))
			return err
		}, eventual.ErrInvalidArgument},
		{"read all with negative limit", func() error {
			_, err := eventual.Collect(s.ReadAll(ctx, eventual.ReadAllOptions{Limit: -5}))
			return err
		}, eventual.ErrInvalidArgument},
		{"read all with an empty time range", func() error {
			now := time.Now()
			_, err := eventual.Collect(s.ReadAll(ctx, eventual.ReadAllOptions{Since: now, Until: now.Add(-time.Hour)}))
			return err
		}, eventual.ErrInvalidArgument},
		{"read all with an empty type filter", func() error {
			_, err := eventual.Collect(s.ReadAll(ctx, eventual.ReadAllOptions{Filter: eventual.Filter{Types: []string{""}}}))
			return err
		}, eventual.ErrInvalidArgument},
		{"subscribe with a bad filter", func() error {
			_, err := eventual.Collect(s.Subscribe(ctx, eventual.SubscribeOptions{Filter: eventual.Filter{StreamPrefix: "\xff"}}))
			return err
		}, eventual.ErrInvalidArgument},
		{"read stream with a cancelled context", func() error {
			_, err := eventual.Collect(s.ReadStream(cancelled, "ok", eventual.ReadStreamOptions{}))
			return err
		}, context.Canceled},
		{"read all with a cancelled context", func() error {
			_, err := eventual.Collect(s.ReadAll(cancelled, eventual.ReadAllOptions{}))
			return err
		}, context.Canceled},
		{"stream info with a cancelled context", func() error {
			_, err := s.StreamInfo(cancelled, "ok")
			return err
		}, context.Canceled},
		{"stream info with empty ID", func() error {
			_, err := s.StreamInfo(ctx, "")
			return err
		}, eventual.ErrInvalidArgument},
		{"delete with empty ID", func() error { return s.DeleteStream(ctx, "", eventual.Any) }, eventual.ErrInvalidArgument},
		{"truncate with empty ID", func() error { return s.TruncateStream(ctx, "", 1) }, eventual.ErrInvalidArgument},
		{"delete with a cancelled context", func() error { return s.DeleteStream(cancelled, "ok", eventual.Any) }, context.Canceled},
	}
	for _, tt := range reads {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.err(); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if info, err := s.StreamInfo(ctx, "ok"); err != nil || info.Deleted {
		t.Fatalf("stream ok after bad calls: %+v, %v", info, err)
	}
}

// testLargeEvents checks the size limit at its edge: an event of exactly the
// limit is stored and read back whole; one byte more is refused.
func testLargeEvents(t *testing.T, b Backend) {
	const limit = 1 << 20 // 1 MiB, the default limit
	s := b.openWith(t, Options{MaxEventSize: limit})
	ctx := testContext(t)
	data := make([]byte, limit-4)
	for i := range data {
		data[i] = byte(i % 251)
	}
	fits := eventual.EventData{Type: "big!", Data: data}
	if eventual.EventSize(fits) != limit {
		t.Fatalf("test event is %d bytes, want %d", eventual.EventSize(fits), limit)
	}
	mustAppend(t, s, "big", eventual.NoStream, fits)
	got := readStream(t, s, "big", eventual.ReadStreamOptions{})
	if len(got) != 1 || !bytes.Equal(got[0].Data, fits.Data) {
		t.Fatal("the largest allowed event did not read back whole")
	}
	tooBig := eventual.EventData{Type: "big!", Data: make([]byte, 1<<20)} // a 1 MiB payload
	_, err := s.Append(ctx, "big", eventual.Any, tooBig)
	if !errors.Is(err, eventual.ErrInvalidArgument) || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("err = %v, want ErrInvalidArgument naming the limit", err)
	}
	if got := readStream(t, s, "big", eventual.ReadStreamOptions{}); len(got) != 1 {
		t.Fatalf("refused event was stored: stream has %d events", len(got))
	}
}

// testStreamIDs stores streams whose IDs hold SQL metacharacters and
// non-ASCII text, and checks they are kept apart and found by prefix
// literally.
func testStreamIDs(t *testing.T, b Backend) {
	s := b.open(t)
	ctx := testContext(t)
	ids := []string{
		"order-'; DROP TABLE events; --",
		`quote"d`,
		`back\slash`,
		"a%b",
		"a_b",
		"axb",
		"with space",
		"ünïcödé-流-🚀",
		"Ünïcödé-流-🚀", // differs in case only
		"tab\there",
		strings.Repeat("ł", eventual.MaxStreamIDLength/2), // longest, two bytes a letter
	}
	for i, id := range ids {
		res := mustAppend(t, s, id, eventual.NoStream, ev("named", i))
		if res.StreamID != id {
			t.Fatalf("result stream %q, want %q", res.StreamID, id)
		}
	}
	for i, id := range ids {
		got := readStream(t, s, id, eventual.ReadStreamOptions{})
		if len(got) != 1 || got[0].StreamID != id || string(got[0].Data) != string(ev("named", i).Data) {
			t.Fatalf("stream %q read back as %+v", id, got)
		}
		if info, err := s.StreamInfo(ctx, id); err != nil || info.StreamID != id || info.Version != 1 {
			t.Fatalf("StreamInfo(%q) = %+v, %v", id, info, err)
		}
	}
	byPrefix := func(prefix string) []string {
		var out []string
		for _, e := range readAll(t, s, eventual.ReadAllOptions{Filter: eventual.Filter{StreamPrefix: prefix}}) {
			out = append(out, e.StreamID)
		}
		return out
	}
	for _, tt := range []struct {
		prefix string
		want   []string
	}{
		{"a%", []string{"a%b"}},
		{"a_", []string{"a_b"}},
		{"ü", []string{"ünïcödé-流-🚀"}},
		{"order-'", []string{"order-'; DROP TABLE events; --"}},
		{`back\`, []string{`back\slash`}},
	} {
		if got := byPrefix(tt.prefix); strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("streams with prefix %q = %q, want %q", tt.prefix, got, tt.want)
		}
	}
}
