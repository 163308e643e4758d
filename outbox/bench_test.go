package outbox_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/internal/testdb"
	"github.com/eventual-go/eventual/transport"
)

// BenchmarkAdd measures messages added per second, in transactions of 1
// and of 100 messages, by one writer.
func BenchmarkAdd(b *testing.B) {
	for _, be := range testdb.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			for _, perTx := range []int{1, 100} {
				b.Run(fmt.Sprintf("tx=%d", perTx), func(b *testing.B) {
					ctx := context.Background()
					s := be.New(b)
					o := newOutbox(b, s)
					msgs := make([]transport.Message, perTx)
					for i := range msgs {
						msgs[i] = msg("bench.x", fmt.Sprint("k", i%10), i)
						msgs[i].Metadata = eventual.Metadata{CorrelationID: "c"}
					}
					n := 0
					for b.Loop() {
						if err := s.InTx(ctx, func(tx eventual.Tx) error { return o.Add(ctx, tx, msgs...) }); err != nil {
							b.Fatal(err)
						}
						n += perTx
					}
					b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
				})
			}
		})
	}
}

// BenchmarkRelay measures how many messages per second a relay publishes
// and marks sent, from a full outbox, to a publisher that does nothing and
// to the in-process transport with one subscriber. An op is one message.
func BenchmarkRelay(b *testing.B) {
	for _, be := range testdb.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			for _, to := range []string{"noop", "inproc"} {
				b.Run(to, func(b *testing.B) {
					ctx := context.Background()
					s := be.New(b)
					o := newOutbox(b, s)
					var published atomic.Int64
					var pub transport.Publisher = fakePublisher{publish: func(_ context.Context, msgs ...transport.Message) error {
						published.Add(int64(len(msgs)))
						return nil
					}}
					if to == "inproc" {
						tr := newTransport(b)
						if err := tr.Subscribe(ctx, transport.Subscription{Subject: "bench.>", Group: "bench", Concurrency: 4},
							func(context.Context, transport.Delivery) error { published.Add(1); return nil }); err != nil {
							b.Fatal(err)
						}
						pub = tr
					}
					const perTx = 500
					batch := make([]transport.Message, 0, perTx)
					for i := range b.N {
						batch = append(batch, msg("bench.x", fmt.Sprint("k", i%10), i))
						if len(batch) == perTx || i == b.N-1 {
							add(b, s, o, batch...)
							batch = batch[:0]
						}
					}
					b.ResetTimer()
					stop := startRelay(b, o, pub)
					for published.Load() < int64(b.N) {
						time.Sleep(100 * time.Microsecond)
					}
					for stats(b, o).Sent < int64(b.N) {
						time.Sleep(100 * time.Microsecond)
					}
					b.StopTimer()
					stop()
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
				})
			}
		})
	}
}
