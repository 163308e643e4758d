package bench

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/eventual-go/eventual"
)

// EventType is the type of every event the benchmark writes.
const EventType = "bench.event"

// makePayload returns a JSON object of exactly size bytes (at least
// MinPayloadBytes) that names its writer and is padded with hex digits.
func makePayload(size, writer int) []byte {
	const hex = "0123456789abcdef"
	head := `{"writer":` + strconv.Itoa(writer) + `,"pad":"`
	const tail = `"}`
	pad := max(size-len(head)-len(tail), 0)
	rng := rand.New(rand.NewPCG(uint64(writer), 0x5eed))
	b := make([]byte, 0, len(head)+pad+len(tail))
	b = append(b, head...)
	for range pad {
		b = append(b, hex[rng.IntN(len(hex))])
	}
	return append(b, tail...)
}

// newMetadata returns the metadata of one append: a fresh correlation ID
// and causation ID, as a command handler would set them.
func newMetadata() eventual.Metadata {
	return eventual.Metadata{CorrelationID: newID().String(), CausationID: newID().String()}
}

// newID returns a UUIDv7, or a random UUID in the unlikely case that the
// clock or the random source fails.
func newID() uuid.UUID {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.New()
	}
	return id
}

// streamName returns the ID of a writer's n-th stream in a case.
func streamName(tag string, writer, n int) string {
	return fmt.Sprintf("bench-%s-w%d-s%d", tag, writer, n)
}

// rawRow is one row of the raw-insert baseline: the shape of a stored
// event.
type rawRow struct {
	position      int64 // PostgreSQL only: SQLite numbers rows itself
	streamNo      int64
	streamID      string
	version       int64
	eventID       uuid.UUID
	correlationID string
	causationID   string
	recordedAt    time.Time
}

// rowSource produces the rows of the raw baseline: streams of streamLength
// events (one endless stream when 0), like the append cases write.
type rowSource struct {
	streamLength int64
	n            int64 // rows produced
	streamNo     int64
	streamID     string
}

func (s *rowSource) next() rawRow {
	s.n++
	no, version := int64(1), s.n
	if s.streamLength > 0 {
		no, version = (s.n-1)/s.streamLength+1, (s.n-1)%s.streamLength+1
	}
	if no != s.streamNo {
		s.streamNo, s.streamID = no, "bench-raw-s"+strconv.FormatInt(no, 10)
	}
	id := newID()
	return rawRow{
		position: s.n, streamNo: no, streamID: s.streamID, version: version, eventID: id,
		correlationID: id.String(), causationID: newID().String(),
		recordedAt: time.Now().UTC().Truncate(time.Microsecond),
	}
}

// percentile returns the nearest-rank p-quantile (0 < p ≤ 1) of sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	// ceil(n·p), forgiving the rounding error of n·p (0.99·100 is not 99).
	rank := int(math.Ceil(float64(len(sorted))*p-1e-9)) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}

// latencies holds the p50, p99 and p99.9 of a set of durations.
type latencies struct{ p50, p99, p999 time.Duration }

// summarize sorts d in place and returns its percentiles.
func summarize(d []time.Duration) latencies {
	slices.Sort(d)
	return latencies{percentile(d, 0.50), percentile(d, 0.99), percentile(d, 0.999)}
}

// ms converts a duration to float milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
