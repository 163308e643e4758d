package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/store/sqlite"
	"github.com/eventual-go/eventual/store/storetest"
)

// openStore opens a store in a new file of the test's temporary
// directory, closed when the test ends.
func openStore(t testing.TB, opts ...sqlite.Option) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "events.db"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Backend{
		New: func(t *testing.T, o storetest.Options) eventual.Store {
			s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "events.db"), sqlite.WithMaxEventSize(o.MaxEventSize))
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		Share: func(t *testing.T, s eventual.Store) eventual.Store {
			s2, err := sqlite.Open(context.Background(), s.(*sqlite.Store).Path(), sqlite.WithMaxEventSize(storetest.DefaultMaxEventSize))
			if err != nil {
				t.Fatal(err)
			}
			return s2
		},
		Short: testing.Short() || raceEnabled,
	})
}

func TestCrash(t *testing.T) {
	storetest.RunCrash(t, storetest.CrashBackend{
		Location: func(t *testing.T) string { return filepath.Join(t.TempDir(), "events.db") },
		Open: func(ctx context.Context, path string) (eventual.Store, error) {
			return sqlite.Open(ctx, path)
		},
	})
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) eventual.Store { return openStore(b) })
}
