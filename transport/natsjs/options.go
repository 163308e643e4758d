package natsjs

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventual-go/eventual/transport"
)

// ErrInvalidOption is matched by the errors of bad options.
var ErrInvalidOption = errors.New("natsjs: invalid option")

// Option configures a Transport.
type Option func(*options) error

// options are the settings of a Transport.
type options struct {
	log            *slog.Logger
	prefix         string
	replicas       int
	storage        jetstream.StorageType
	retention      jetstream.RetentionPolicy
	maxAge         time.Duration
	maxBytes       int64
	duplicates     time.Duration
	streams        []streamDecl
	ackWait        time.Duration
	maxAckPending  int
	prefetch       int
	publishTimeout time.Duration
}

// streamDecl is a stream declared with WithStream.
type streamDecl struct {
	name     string
	subjects []string
}

func defaultOptions() options {
	return options{
		log:            slog.Default(),
		prefix:         "EVENTUAL_",
		replicas:       1,
		storage:        jetstream.FileStorage,
		retention:      jetstream.LimitsPolicy,
		maxAge:         7 * 24 * time.Hour,
		maxBytes:       -1,
		duplicates:     2 * time.Minute,
		ackWait:        30 * time.Second,
		maxAckPending:  1000,
		prefetch:       64,
		publishTimeout: 30 * time.Second,
	}
}

// check validates what no single option can: how they combine.
func (o *options) check() error {
	if o.maxAge > 0 && o.duplicates > o.maxAge {
		return fmt.Errorf("%w: duplicate window %v is longer than the max age %v", ErrInvalidOption, o.duplicates, o.maxAge)
	}
	return nil
}

// WithLogger sets where the transport logs the messages it terminates or
// fails to acknowledge, and its consumers' troubles. Default
// slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return fmt.Errorf("%w: nil logger", ErrInvalidOption)
		}
		o.log = l
		return nil
	}
}

// WithStreamPrefix sets the prefix of the automatic streams' names:
// letters, digits, '-' and '_', at most 64. Default "EVENTUAL_".
func WithStreamPrefix(prefix string) Option {
	return func(o *options) error {
		if len(prefix) > 64 || strings.IndexFunc(prefix, func(r rune) bool { return !nameRune(r) }) >= 0 {
			return fmt.Errorf("%w: stream prefix %q is not letters, digits, '-' and '_' (at most 64)", ErrInvalidOption, prefix)
		}
		o.prefix = prefix
		return nil
	}
}

// WithReplicas sets how many servers keep a copy of each stream the
// transport creates: 1 to 5. Default 1.
func WithReplicas(n int) Option {
	return func(o *options) error {
		if n < 1 || n > 5 {
			return fmt.Errorf("%w: %d replicas, want 1 to 5", ErrInvalidOption, n)
		}
		o.replicas = n
		return nil
	}
}

// WithStorage sets where the streams the transport creates keep their
// messages: jetstream.FileStorage (the default) or
// jetstream.MemoryStorage (lost when the server stops).
func WithStorage(s jetstream.StorageType) Option {
	return func(o *options) error {
		if s != jetstream.FileStorage && s != jetstream.MemoryStorage {
			return fmt.Errorf("%w: storage %v", ErrInvalidOption, s)
		}
		o.storage = s
		return nil
	}
}

// WithRetention sets the retention policy of the streams the transport
// creates: jetstream.LimitsPolicy (the default: messages stay until the
// max age or max bytes push them out, so a new group gets what the stream
// keeps) or jetstream.InterestPolicy (a message goes once every group of
// its subject acknowledged it; a group created later does not see it).
// jetstream.WorkQueuePolicy is refused: it allows one group per subject.
func WithRetention(p jetstream.RetentionPolicy) Option {
	return func(o *options) error {
		if p != jetstream.LimitsPolicy && p != jetstream.InterestPolicy {
			return fmt.Errorf("%w: retention %v (want limits or interest)", ErrInvalidOption, p)
		}
		o.retention = p
		return nil
	}
}

// WithMaxAge sets how long the streams the transport creates keep a
// message; zero keeps it for ever. Default 7 days.
func WithMaxAge(d time.Duration) Option {
	return func(o *options) error {
		if d < 0 || (d > 0 && d < time.Second) {
			return fmt.Errorf("%w: max age %v (want zero or at least a second)", ErrInvalidOption, d)
		}
		o.maxAge = d
		return nil
	}
}

// WithMaxBytes sets how many bytes each stream the transport creates
// keeps at most, dropping its oldest messages beyond; -1 (the default)
// sets no limit.
func WithMaxBytes(n int64) Option {
	return func(o *options) error {
		if n < 1 && n != -1 {
			return fmt.Errorf("%w: max bytes %d (want -1 or positive)", ErrInvalidOption, n)
		}
		o.maxBytes = n
		return nil
	}
}

// WithDuplicateWindow sets how long the streams the transport creates
// remember message IDs to drop duplicates: at least 100 ms and at most the
// max age. Default 2 minutes.
func WithDuplicateWindow(d time.Duration) Option {
	return func(o *options) error {
		if d < 100*time.Millisecond {
			return fmt.Errorf("%w: duplicate window %v (want at least 100ms)", ErrInvalidOption, d)
		}
		o.duplicates = d
		return nil
	}
}

// WithStream declares a stream, by name and subjects (wildcards allowed),
// and turns the automatic streams off: a message then goes to the declared
// stream that takes its subject, and a subscription consumes the one
// declared stream that takes subjects it matches; one that no declared
// stream takes, or that spans two of them, fails with an error matching
// ErrNoStream. So a subscription like "*.placed" is possible, over a
// stream of "orders.placed" and "payments.placed" say. The transport
// creates a declared stream that does not exist, with the settings of the
// other options. Use it once per stream.
func WithStream(name string, subjects ...string) Option {
	return func(o *options) error {
		if !validStreamName(name) {
			return fmt.Errorf("%w: stream name %q (want printable characters without spaces, '.', '*', '>', '/' or '\\')", ErrInvalidOption, name)
		}
		if len(subjects) == 0 {
			return fmt.Errorf("%w: stream %s has no subjects", ErrInvalidOption, name)
		}
		for _, s := range o.streams {
			if s.name == name {
				return fmt.Errorf("%w: stream %s declared twice", ErrInvalidOption, name)
			}
		}
		for _, subj := range subjects {
			// WithDefaults checks a subject with wildcards, as a
			// subscription's; the group is a placeholder.
			if _, err := (transport.Subscription{Subject: subj, Group: "x"}).WithDefaults(); err != nil {
				return fmt.Errorf("%w: stream %s: %w", ErrInvalidOption, name, err)
			}
		}
		o.streams = append(o.streams, streamDecl{name: name, subjects: append([]string(nil), subjects...)})
		return nil
	}
}

// WithAckWait sets how long JetStream waits for a group member to settle a
// message before it delivers it again (to any member): at least 100 ms.
// The transport reports messages it holds as in progress every third of
// it. It applies to the groups this transport creates or joins first.
// Default 30 s.
func WithAckWait(d time.Duration) Option {
	return func(o *options) error {
		if d < 100*time.Millisecond {
			return fmt.Errorf("%w: ack wait %v (want at least 100ms)", ErrInvalidOption, d)
		}
		o.ackWait = d
		return nil
	}
}

// WithMaxAckPending sets how many messages a group may have delivered and
// not yet settled, across all its members (messages waiting for a
// redelivery after a failure count too). Default 1000.
func WithMaxAckPending(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("%w: max ack pending %d (want positive)", ErrInvalidOption, n)
		}
		o.maxAckPending = n
		return nil
	}
}

// WithPrefetch sets how many messages a group's pull loop in this process
// fetches ahead of its handlers (twice this number at most are held:
// fetched, and queued for a handler). Default 64.
func WithPrefetch(n int) Option {
	return func(o *options) error {
		if n < 1 || n > 10_000 {
			return fmt.Errorf("%w: prefetch %d (want 1 to 10000)", ErrInvalidOption, n)
		}
		o.prefetch = n
		return nil
	}
}

// WithPublishTimeout bounds how long Publish waits for JetStream to
// acknowledge a message, whatever its context says: at least 100 ms.
// Default 30 s.
func WithPublishTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d < 100*time.Millisecond {
			return fmt.Errorf("%w: publish timeout %v (want at least 100ms)", ErrInvalidOption, d)
		}
		o.publishTimeout = d
		return nil
	}
}

// nameRune reports whether r may be in a stream name the transport makes.
func nameRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_'
}

// validStreamName reports whether JetStream accepts name as a stream's.
func validStreamName(name string) bool {
	if name == "" || len(name) > 255 {
		return false
	}
	for _, r := range name {
		if r <= ' ' || r == 0x7f || strings.ContainsRune(".*>/\\", r) {
			return false
		}
	}
	return true
}
