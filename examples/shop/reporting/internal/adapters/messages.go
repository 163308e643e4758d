// Package adapters connects the reporting context to the outside: it
// ingests other contexts' integration events into reporting's own event
// log, projects that log into read tables, and serves them over HTTP.
package adapters

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/eventual-go/eventual"
	catalog "github.com/eventual-go/eventual/examples/shop/catalog/api"
	customers "github.com/eventual-go/eventual/examples/shop/customers/api"
	fulfillment "github.com/eventual-go/eventual/examples/shop/fulfillment/api"
	ordering "github.com/eventual-go/eventual/examples/shop/ordering/api"
	payments "github.com/eventual-go/eventual/examples/shop/payments/api"
	"github.com/eventual-go/eventual/examples/shop/platform"
	shipping "github.com/eventual-go/eventual/examples/shop/shipping/api"
	"github.com/eventual-go/eventual/transport"
)

// Metadata keys of an ingested event.
const (
	// MetaMessageID is the ID of the message the event came in.
	MetaMessageID = "message_id"
	// MetaMessageTime is when the source published it (RFC 3339, from the
	// message's UUIDv7 ID; absent when the ID is not a UUIDv7).
	MetaMessageTime = "message_time"
	// MetaSubject is the subject it was published on.
	MetaSubject = "subject"
)

// Stream prefixes of reporting's log: one stream per order, customer,
// store and product.
const (
	OrderStream    = "order-"
	CustomerStream = "customer-"
	StoreStream    = "store-"
	ProductStream  = "product-"
)

// Subjects are the other contexts' events reporting ingests.
var Subjects = []string{
	ordering.EventsSubjects,
	catalog.EventsSubjects,
	customers.EventsSubjects,
	payments.EventsSubjects,
	shipping.EventsSubjects,
	fulfillment.EventsSubjects,
}

// Group is the consumer group of subject: "reporting-<context>". One
// group "reporting" cannot consume several subjects (on the in-process
// transport a group consumes one subject, and group names are global).
func Group(subject string) string {
	ctxName, _, _ := strings.Cut(subject, ".")
	return "reporting-" + ctxName
}

// Subscribe ingests the events of Subjects: each is appended to
// reporting's own log, and nothing else happens there — the projections
// take it from the log.
//
// Ingestion needs no inbox: an event's ID is derived from its message's
// (Ingest), and the store writes nothing for an append whose IDs the
// stream holds already, so a message delivered twice is stored once. The
// appends are the store's own (not in a transaction of the handler's):
// those that arrive together share a commit through the store's group
// commit, and no inbox row is written, read or cleaned up for them.
func Subscribe(ctx context.Context, s *platform.Services) error {
	// The transport runs handlers on the publisher's goroutines (in
	// process): label the work as reporting's, as platform.HandleEvents
	// does for the other modules.
	labels := pprof.Labels("module", "reporting")
	h := func(ctx context.Context, d transport.Delivery) (err error) {
		pprof.Do(ctx, labels, func(ctx context.Context) { err = Ingest(platform.Context(ctx, d), s.Store, d) })
		return err
	}
	for _, subject := range Subjects {
		err := s.Transport.Subscribe(ctx, transport.Subscription{Subject: subject, Group: Group(subject), Concurrency: 256},
			transport.Chain(h, transport.DeadLetter(s.Transport, "deadletter.reporting", 5)))
		if err != nil {
			return fmt.Errorf("reporting: subscribe %s: %w", subject, err)
		}
	}
	return nil
}

// keys are the IDs an integration event may be about.
type keys struct {
	OrderID    string `json:"order_id"`
	CustomerID string `json:"customer_id"`
	StoreID    string `json:"store_id"`
	ProductID  string `json:"product_id"`
}

// StreamOf returns the stream of reporting's log that an event belongs
// to. Errors: a terminal one for data that does not decode or lacks the
// ID.
func StreamOf(d transport.Delivery) (string, error) {
	var k keys
	if err := json.Unmarshal(d.Data, &k); err != nil {
		return "", transport.Terminate(fmt.Errorf("reporting: decode %s %s: %w", d.Type, d.ID, err))
	}
	var stream string
	switch {
	case strings.HasPrefix(d.Type, "customers."):
		stream = prefixed(CustomerStream, k.CustomerID)
	case strings.HasPrefix(d.Type, "catalog.store_"):
		stream = prefixed(StoreStream, k.StoreID)
	case strings.HasPrefix(d.Type, "catalog."):
		stream = prefixed(ProductStream, k.ProductID)
	default: // ordering, payments, shipping, fulfillment: about an order
		stream = prefixed(OrderStream, k.OrderID)
	}
	if stream == "" {
		return "", transport.Terminate(fmt.Errorf("reporting: %s %s names no order, customer, store or product", d.Type, d.ID))
	}
	return stream, nil
}

func prefixed(prefix, id string) string {
	if id == "" {
		return ""
	}
	return prefix + id
}

// Appender appends to streams: the event store, or a transaction.
type Appender interface {
	Append(ctx context.Context, streamID string, expected eventual.ExpectedVersion, events ...eventual.EventData) (eventual.AppendResult, error)
}

// Ingest appends d to reporting's log with to: the message's type and
// data as they are, its ID as the event's (a UUID derived from it when
// it is not one), so that appending it again writes nothing; any expected
// version, since events arrive in no particular order. Errors: terminal
// (transport.Terminate) for a message that cannot be stored however often
// it is delivered.
func Ingest(ctx context.Context, to Appender, d transport.Delivery) error {
	stream, err := StreamOf(d)
	if err != nil {
		return err
	}
	id, err := uuid.Parse(d.ID)
	if err != nil {
		id = uuid.NewSHA1(uuid.NameSpaceOID, []byte("reporting:"+d.ID))
	}
	md := eventual.MetadataFromContext(ctx)
	md.Extra = map[string]string{MetaMessageID: d.ID, MetaSubject: d.Subject}
	if at, ok := MessageTime(d.ID); ok {
		md.Extra[MetaMessageTime] = at.Format(time.RFC3339Nano)
	}
	_, err = to.Append(ctx, stream, eventual.Any, eventual.EventData{ID: id, Type: d.Type, Data: d.Data, Metadata: md})
	if errors.Is(err, eventual.ErrInvalidArgument) {
		// An event the store refuses (too large, its ID stored in another
		// stream, …) is refused again: set it aside at once.
		return transport.Terminate(fmt.Errorf("reporting: ingest %s %s: %w", d.Type, d.ID, err))
	}
	return err
}

// MessageTime is when a message was published, read from its UUIDv7 ID.
func MessageTime(id string) (time.Time, bool) {
	u, err := uuid.Parse(id)
	if err != nil || u.Version() != 7 {
		return time.Time{}, false
	}
	sec, nsec := u.Time().UnixTime()
	return time.Unix(sec, nsec).UTC(), true
}

// eventTime is the source time of an ingested event in Unix µs: the
// message's, else when reporting recorded it.
func eventTime(e eventual.RecordedEvent) int64 {
	if s := e.Metadata.Extra[MetaMessageTime]; s != "" {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t.UnixMicro()
		}
	}
	return e.RecordedAt.UnixMicro()
}
