package projection_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/internal/crashtest"
	"github.com/eventual-go/eventual/internal/testdb"
	"github.com/eventual-go/eventual/projection"
	"github.com/eventual-go/eventual/store/postgres"
	"github.com/eventual-go/eventual/store/sqlite"
)

const crashEnv = "EVENTUAL_PROJECTION_CRASH"

// TestCrash kills a process that appends and projects (SIGKILL, three
// times), then checks that the read model holds each event exactly once.
func TestCrash(t *testing.T) {
	if loc := os.Getenv(crashEnv); loc != "" {
		crashChild(t, loc)
		return
	}
	for _, b := range []string{"sqlite", "postgres"} {
		t.Run(b, func(t *testing.T) {
			var loc string
			if b == "sqlite" {
				loc = "sqlite:" + t.TempDir() + "/events.db"
			} else {
				loc = "postgres:" + testdb.FreshSchema(t)
			}
			crashtest.Kill(t, 3, []string{crashEnv + "=" + loc}, 600*time.Millisecond, 1200*time.Millisecond)
			s := openAt(t, loc)
			r := start(t, s, []projection.Projection{balances()})
			head, err := s.HeadPosition(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			waitFor(t, r, "balances", head)
			want := map[string]balance{}
			for e, err := range s.ReadAll(t.Context(), eventual.ReadAllOptions{}) {
				if err != nil {
					t.Fatal(err)
				}
				n, _ := strconv.Atoi(string(e.Data))
				b := want[e.StreamID]
				b.n++
				b.total += int64(n)
				want[e.StreamID] = b
			}
			got := read(t, s)
			if len(want) == 0 {
				t.Fatal("the child appended nothing")
			}
			var events int64
			for acc, w := range want {
				events += w.n
				if got[acc] != w {
					t.Errorf("%s: read model %+v, log %+v", acc, got[acc], w)
				}
			}
			t.Logf("%d events, each projected once", events)
		})
	}
}

func openAt(t testing.TB, loc string) testdb.Store {
	t.Helper()
	var s testdb.Store
	var err error
	if path, ok := cut(loc, "sqlite:"); ok {
		s, err = sqlite.Open(context.Background(), path)
	} else {
		schema, _ := cut(loc, "postgres:")
		s, err = postgres.Open(context.Background(), testdb.DSN(t), postgres.WithSchema(schema))
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func cut(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && s[:len(prefix)] == prefix {
		return s[len(prefix):], true
	}
	return "", false
}

// crashChild appends and projects until it is killed.
func crashChild(t *testing.T, loc string) {
	s := openAt(t, loc)
	r, err := projection.NewRunner(s, projection.WithLogger(quiet), projection.WithBatchSize(16, 100))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Add(balances()); err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		evs := make([]eventual.EventData, 1+i%3)
		for j := range evs {
			evs[j] = eventual.EventData{Type: "deposited", Data: []byte(strconv.Itoa(1 + rand.IntN(9)))}
		}
		if _, err := s.Append(context.Background(), fmt.Sprintf("acc-%d", i%7), eventual.Any, evs...); err != nil {
			t.Fatal(err)
		}
	}
}
