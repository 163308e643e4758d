package storetest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eventual-go/eventual"
)

// CrashBackend tells RunCrash how to reach one store from two processes.
type CrashBackend struct {
	// Location returns a new place for a store (a file path, a schema
	// name, …) that the test and its child process share.
	Location func(t *testing.T) string
	// Open opens the store at location, in the test and in the child.
	Open func(ctx context.Context, location string) (eventual.Store, error)
}

// RunCrash is the crash test: it re-runs the test binary as a child process
// that appends from 8 goroutines and reports every append the store
// acknowledged, kills it with SIGKILL in the middle of its work, reopens the
// store, and checks what survived: every acknowledged append, whole
// multi-event and multi-stream appends only, versions without gaps, a
// consistent global log — and a store that works on.
//
// Call it from a top-level test function of its own; in the child process
// it runs the writer instead of the test.
func RunCrash(t *testing.T, b CrashBackend) {
	if loc := os.Getenv(crashEnv); loc != "" {
		cycle, _ := strconv.Atoi(os.Getenv(crashCycleEnv))
		crashChild(t, b, loc, cycle)
		return
	}
	if strings.Contains(t.Name(), "/") {
		t.Fatal("RunCrash must be called from a top-level test")
	}
	loc := b.Location(t)
	acks := map[string]uint64{} // stream -> highest acknowledged version
	for cycle := range 3 {
		n := crashOnce(t, loc, cycle, 200+rand.IntN(400), acks)
		ctx := testContext(t)
		s, err := b.Open(ctx, loc)
		if err != nil {
			t.Fatalf("reopen after crash %d: %v", cycle+1, err)
		}
		checkAfterCrash(t, s, acks)
		s.Close()
		t.Logf("crash %d: killed the writer after %d acknowledged appends; all of them survived", cycle+1, n)
	}
}

// crashEnv carries the store's location to the child process, and
// crashCycleEnv the number of the crash.
const (
	crashEnv      = "EVENTUAL_STORETEST_CRASH_LOCATION"
	crashCycleEnv = "EVENTUAL_STORETEST_CRASH_CYCLE"
)

// crashOnce runs the writer child until it acknowledged want appends, and
// kills it. It adds the acknowledgements to acks.
func crashOnce(t *testing.T, loc string, cycle, want int, acks map[string]uint64) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+loc, crashCycleEnv+"="+strconv.Itoa(cycle))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	deadline := time.After(30 * time.Second)
	n := 0
read:
	for n < want {
		select {
		case line, ok := <-lines:
			if !ok {
				break read
			}
			var stream string
			var v uint64
			if _, err := fmt.Sscanf(line, "ack %s %d", &stream, &v); err == nil {
				acks[stream] = max(acks[stream], v)
				n++
			}
		case <-deadline:
			break read
		}
	}
	_ = cmd.Process.Kill() // SIGKILL: no clean-up, no deferred calls
	go func() {
		for range lines { // drain what the child wrote before it died
		}
	}()
	_ = cmd.Wait()
	if n < want {
		t.Fatalf("the writer acknowledged %d appends before it stopped, want %d", n, want)
	}
	return n
}

// crashEvent is the payload the child writes: which append an event
// belongs to, so the test can tell a whole append from a torn one.
type crashEvent struct {
	Writer int `json:"w"`
	Seq    int `json:"seq"` // the writer's append number
	Of     int `json:"of"`  // events in that append (per stream)
}

// crashChild is the writer: 8 goroutines, each appending to its stream in
// turn one event, three events, and one event to each of a pair of streams
// in one AppendMulti, printing an ack for every acknowledged append.
func crashChild(t *testing.T, b CrashBackend, loc string, cycle int) {
	ctx := context.Background()
	s, err := b.Open(ctx, loc)
	if err != nil {
		t.Fatalf("child: open: %v", err)
	}
	headOf := func(stream string) uint64 {
		info, err := s.StreamInfo(ctx, stream)
		if err != nil && !errors.Is(err, eventual.ErrStreamNotFound) {
			fmt.Fprintf(os.Stderr, "child: %v\n", err)
			os.Exit(3)
		}
		return info.Version
	}
	var mu sync.Mutex
	ack := func(stream string, v uint64) {
		mu.Lock()
		fmt.Printf("ack %s %d\n", stream, v)
		mu.Unlock()
	}
	payload := func(w, seq, of int) []eventual.EventData {
		out := make([]eventual.EventData, of)
		for i := range out {
			data, _ := json.Marshal(crashEvent{Writer: w, Seq: seq, Of: of})
			out[i] = eventual.EventData{Type: "crash", Data: data}
		}
		return out
	}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			single, pairA, pairB := fmt.Sprintf("crash-%d", w), fmt.Sprintf("pair-a-%d", w), fmt.Sprintf("pair-b-%d", w)
			v, pv := headOf(single), headOf(pairA)
			for seq := cycle * 1_000_000; ; seq++ {
				switch seq % 3 {
				case 0, 1:
					of := 1 + 2*(seq%3) // 1 or 3 events
					res, err := s.Append(ctx, single, eventual.Exact(v), payload(w, seq, of)...)
					if err != nil {
						fmt.Fprintf(os.Stderr, "child: append: %v\n", err)
						os.Exit(3)
					}
					v = res.LastVersion
					ack(single, v)
				case 2:
					res, err := s.AppendMulti(ctx,
						eventual.AppendRequest{StreamID: pairA, Expected: eventual.Exact(pv), Events: payload(w, seq, 1)},
						eventual.AppendRequest{StreamID: pairB, Expected: eventual.Exact(pv), Events: payload(w, seq, 1)})
					if err != nil {
						fmt.Fprintf(os.Stderr, "child: append multi: %v\n", err)
						os.Exit(3)
					}
					pv = res[0].LastVersion
					ack(pairA, pv)
					ack(pairB, pv)
				}
			}
		})
	}
	wg.Wait() // never: the parent kills this process
}

func checkAfterCrash(t *testing.T, s eventual.Store, acks map[string]uint64) {
	t.Helper()
	ctx := testContext(t)
	seqs := map[string]map[int]int{} // stream -> seq -> events seen
	heads := map[string]uint64{}
	for w := range 8 {
		for _, stream := range []string{fmt.Sprintf("crash-%d", w), fmt.Sprintf("pair-a-%d", w), fmt.Sprintf("pair-b-%d", w)} {
			evs, err := eventual.Collect(s.ReadStream(ctx, stream, eventual.ReadStreamOptions{}))
			if err != nil && acks[stream] > 0 {
				t.Fatalf("stream %s with acknowledged appends: %v", stream, err)
			}
			seqs[stream] = map[int]int{}
			for i, e := range evs {
				if e.Version != uint64(i+1) {
					t.Fatalf("stream %s: version %d at index %d: a gap", stream, e.Version, i)
				}
				if e.Type != "crash" {
					continue // the probe appended after an earlier crash
				}
				var ce crashEvent
				if err := json.Unmarshal(e.Data, &ce); err != nil {
					t.Fatalf("stream %s v%d: %v", stream, e.Version, err)
				}
				seqs[stream][ce.Seq]++
				if seqs[stream][ce.Seq] > ce.Of {
					t.Fatalf("stream %s: append %d has more than its %d events", stream, ce.Seq, ce.Of)
				}
			}
			heads[stream] = uint64(len(evs))
			if heads[stream] < acks[stream] {
				t.Fatalf("stream %s: acknowledged up to version %d, only %d survived", stream, acks[stream], heads[stream])
			}
		}
	}
	for stream, bySeq := range seqs {
		for seq, got := range bySeq {
			want := 1
			if strings.HasPrefix(stream, "crash-") && seq%3 == 1 {
				want = 3
			}
			if got != want {
				t.Fatalf("stream %s: append %d survived with %d of its %d events", stream, seq, got, want)
			}
		}
	}
	for w := range 8 {
		a, b := seqs[fmt.Sprintf("pair-a-%d", w)], seqs[fmt.Sprintf("pair-b-%d", w)]
		if len(a) != len(b) {
			t.Fatalf("writer %d: the multi-stream appends survived in one stream (%d) but not the other (%d)", w, len(a), len(b))
		}
		for seq := range a {
			if b[seq] == 0 {
				t.Fatalf("writer %d: multi-stream append %d survived in one stream only", w, seq)
			}
		}
	}
	log, err := eventual.Collect(s.ReadAll(ctx, eventual.ReadAllOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	var total uint64
	for _, h := range heads {
		total += h
	}
	if uint64(len(log)) != total {
		t.Fatalf("the global log holds %d events, the streams %d", len(log), total)
	}
	for i := 1; i < len(log); i++ {
		if log[i].Position <= log[i-1].Position {
			t.Fatalf("global log positions %d then %d", log[i-1].Position, log[i].Position)
		}
	}
	// The store works on after the crash.
	if _, err := s.Append(ctx, "crash-0", eventual.Exact(heads["crash-0"]), ev("after", 1)); err != nil {
		t.Fatalf("append after the crash: %v", err)
	}
	acks["crash-0"] = heads["crash-0"] + 1
}
