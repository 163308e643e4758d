package memory_test

import (
	"testing"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/store/memory"
	"github.com/eventual-go/eventual/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Backend{
		New: func(t *testing.T, o storetest.Options) eventual.Store {
			s, err := memory.New(memory.WithMaxEventSize(o.MaxEventSize))
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
	})
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) eventual.Store {
		s, err := memory.New()
		if err != nil {
			b.Fatal(err)
		}
		return s
	})
}
