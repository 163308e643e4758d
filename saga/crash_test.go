package saga_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/eventual-go/eventual/internal/crashtest"
	"github.com/eventual-go/eventual/internal/testdb"
	"github.com/eventual-go/eventual/saga"
	"github.com/eventual-go/eventual/store/postgres"
	"github.com/eventual-go/eventual/store/sqlite"
)

const crashEnv = "EVENTUAL_SAGA_CRASH"

// crashDef is the test saga with short timeouts, so that commands and
// replies lost with a killed process are sent again soon.
func crashDef(t testing.TB) *saga.Definition[order] {
	return fulfillmentTimed(t, 500*time.Millisecond, 20, 50*time.Millisecond)
}

// TestCrash kills a process running sagas (SIGKILL, three times, at
// random moments: between any two steps, or in the middle of one), then
// runs the sagas to their end in a new process: every saga finishes as its
// order says, none is stuck or lost, and every command took effect once —
// none of a done saga was compensated.
func TestCrash(t *testing.T) {
	if loc := os.Getenv(crashEnv); loc != "" {
		crashChild(t, loc, crashtest.Cycle())
		return
	}
	for _, b := range []string{"sqlite", "postgres"} {
		t.Run(b, func(t *testing.T) {
			var loc string
			if b == "sqlite" {
				loc = "sqlite:" + t.TempDir() + "/sagas.db"
			} else {
				loc = "postgres:" + testdb.FreshSchema(t)
			}
			crashtest.Kill(t, 3, []string{crashEnv + "=" + loc}, 700*time.Millisecond, 1500*time.Millisecond)
			s := openAt(t, loc)
			o := systemOf(t, s, crashDef(t), false)
			started, err := o.Counts(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			total := 0
			for _, n := range started {
				total += n
			}
			if total == 0 {
				t.Fatal("the child started no saga")
			}
			counts := waitFinished(t, o, total)
			all, err := o.List(context.Background(), saga.ListOptions{Limit: 100_000})
			if err != nil {
				t.Fatal(err)
			}
			eff := effects(t, s)
			declined := 0
			for _, in := range all {
				want, status := "[inventory.reserve ordering.confirm payments.authorize shipping.create]", saga.StatusDone
				if strings.Contains(in.ID, "decline") {
					want, status = "[inventory.release inventory.reserve]", saga.StatusFailed
					declined++
				}
				if in.Status != status || fmt.Sprint(eff[in.ID]) != want {
					t.Errorf("%s: %s (%s) with effects %v; want %s with %s", in.ID, in.Status, in.Error, eff[in.ID], status, want)
				}
			}
			t.Logf("%d sagas across 3 kills: %v (%d declined on purpose)", total, counts, declined)
		})
	}
}

func openAt(t testing.TB, loc string) testdb.Store {
	t.Helper()
	var s testdb.Store
	var err error
	if path, ok := strings.CutPrefix(loc, "sqlite:"); ok {
		s, err = sqlite.Open(context.Background(), path)
	} else {
		schema, _ := strings.CutPrefix(loc, "postgres:")
		s, err = postgres.Open(context.Background(), testdb.DSN(t), postgres.WithSchema(schema))
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// crashChild runs sagas, starting new ones, until it is killed.
func crashChild(t *testing.T, loc string, cycle int) {
	s := openAt(t, loc)
	o := systemOf(t, s, crashDef(t), false)
	for i := 0; ; i++ {
		id := fmt.Sprintf("c%d-%d", cycle, i)
		if i%7 == 0 {
			id += "-decline"
		}
		if _, err := o.Start(context.Background(), id, order{ID: id}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
