package natsjs_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/transport"
	"github.com/eventual-go/eventual/transport/natsjs"
)

// benchMessages returns n messages of 200 bytes with the metadata of a
// typical integration event, spread over keys (none if keys is 0).
func benchMessages(subject string, n, keys int) []transport.Message {
	data := make([]byte, 200)
	for i := range data {
		data[i] = 'a' + byte(i%26)
	}
	msgs := make([]transport.Message, n)
	for i := range msgs {
		m := transport.NewMessage(subject, "order.placed", data)
		if keys > 0 {
			m.Key = fmt.Sprintf("order-%d", i%keys)
		}
		m.Metadata = eventual.Metadata{CorrelationID: m.ID, CausationID: m.ID, TenantID: "tenant-1", UserID: "user-1"}
		msgs[i] = m
	}
	return msgs
}

// publishAll publishes msgs in batches of 100, as an outbox relay would.
func publishAll(b *testing.B, pub transport.Publisher, msgs []transport.Message) {
	ctx := context.Background()
	for len(msgs) > 0 {
		n := min(len(msgs), 100)
		if err := pub.Publish(ctx, msgs[:n]...); err != nil {
			b.Fatal(err)
		}
		msgs = msgs[n:]
	}
}

// BenchmarkPublish: one op is one message, published in batches of 100
// (asynchronously within a batch) to a file stream of the embedded server.
// "raw" is the limit to compare with: the same messages, already encoded,
// published with jetstream.PublishMsgAsync and waited for in batches of
// 100.
func BenchmarkPublish(b *testing.B) {
	b.Run("transport", func(b *testing.B) {
		tr := open(b, shared)
		msgs := benchMessages(prefix()+".bench", b.N, 0)
		publishAll(b, tr, msgs[:min(len(msgs), 100)]) // creates the stream
		b.ResetTimer()
		start := time.Now()
		publishAll(b, tr, msgs)
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	})
	b.Run("raw", func(b *testing.B) {
		tr := open(b, shared)
		subject := prefix() + ".bench"
		publishAll(b, tr, benchMessages(subject, 1, 0)) // creates the stream
		js, err := jetstream.New(connect(b, shared))
		if err != nil {
			b.Fatal(err)
		}
		msgs := make([]*nats.Msg, b.N)
		for i, m := range benchMessages(subject, b.N, 0) {
			h := nats.Header{}
			h.Set(jetstream.MsgIDHeader, m.ID)
			h.Set(natsjs.HeaderType, m.Type)
			h.Set(natsjs.HeaderCorrelationID, m.Metadata.CorrelationID)
			h.Set(natsjs.HeaderCausationID, m.Metadata.CausationID)
			h.Set(natsjs.HeaderTenantID, m.Metadata.TenantID)
			h.Set(natsjs.HeaderUserID, m.Metadata.UserID)
			msgs[i] = &nats.Msg{Subject: subject, Header: h, Data: m.Data}
		}
		b.ResetTimer()
		start := time.Now()
		for len(msgs) > 0 {
			n := min(len(msgs), 100)
			futures := make([]jetstream.PubAckFuture, n)
			for i, m := range msgs[:n] {
				if futures[i], err = js.PublishMsgAsync(m); err != nil {
					b.Fatal(err)
				}
			}
			for _, f := range futures {
				select {
				case <-f.Ok():
				case err := <-f.Err():
					b.Fatal(err)
				}
			}
			msgs = msgs[n:]
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	})
}

// BenchmarkPublishConsume: one op is one message published (in batches of
// 100) and handled by a group on another connection, end to end.
func BenchmarkPublishConsume(b *testing.B) {
	for _, bc := range []struct {
		name              string
		concurrency, keys int
	}{
		{"concurrency=1", 1, 0},
		{"concurrency=8/keys=16", 8, 16},
	} {
		b.Run(bc.name, func(b *testing.B) {
			pub, sub := open(b, shared), open(b, shared)
			subject := prefix() + ".bench"
			var handled atomic.Int64
			done := make(chan struct{})
			n := int64(b.N)
			if err := sub.Subscribe(context.Background(), transport.Subscription{Subject: subject, Group: "bench", Concurrency: bc.concurrency},
				func(context.Context, transport.Delivery) error {
					if handled.Add(1) == n {
						close(done)
					}
					return nil
				}); err != nil {
				b.Fatal(err)
			}
			msgs := benchMessages(subject, b.N, bc.keys)
			b.ResetTimer()
			start := time.Now()
			publishAll(b, pub, msgs)
			select {
			case <-done:
			case <-time.After(time.Minute):
				b.Fatalf("%d of %d handled", handled.Load(), b.N)
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
		})
	}
}
