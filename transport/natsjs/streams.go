package natsjs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrNoStream means no stream takes a subject: it was not covered by a
// stream declared with WithStream, or (for a subscription) its first
// token is a wildcard. Publish wraps it with transport.ErrInvalidMessage,
// Subscribe with transport.ErrInvalidSubscription.
var ErrNoStream = errors.New("natsjs: no stream for the subject")

// streamSpec is the stream a subject goes to.
type streamSpec struct {
	name     string
	subjects []string
}

// streamFor returns the stream that holds subject, which may have
// wildcards (a subscription's). With declared streams, a literal subject
// goes to the one that matches it, and a subscription takes the one stream
// that holds subjects it matches (JetStream lets its streams share no
// subject, so that stream holds all of them). Otherwise it is the
// automatic stream of the first token.
func (t *Transport) streamFor(subject string) (streamSpec, error) {
	if len(t.opts.streams) > 0 {
		var found []streamSpec
		for _, s := range t.opts.streams {
			if slices.ContainsFunc(s.subjects, func(p string) bool { return collide(p, subject) }) {
				found = append(found, streamSpec(s))
			}
		}
		switch len(found) {
		case 0:
			return streamSpec{}, fmt.Errorf("%w: no declared stream takes %q", ErrNoStream, subject)
		case 1:
			return found[0], nil
		}
		return streamSpec{}, fmt.Errorf("%w: %q spans the declared streams %s and %s", ErrNoStream, subject, found[0].name, found[1].name)
	}
	first, _, _ := strings.Cut(subject, ".")
	if first == "*" || first == ">" {
		return streamSpec{}, fmt.Errorf("%w: %q starts with a wildcard, so it spans the automatic streams (declare streams with WithStream)", ErrNoStream, subject)
	}
	return streamSpec{name: autoStreamName(t.opts.prefix, first), subjects: []string{first, first + ".>"}}, nil
}

// autoStreamName names the stream of a first token: the prefix and the
// token in upper case, with a hash of the token if it is not a lower-case
// name of letters, digits, '-' and '_' (so that "Orders", "orders" and
// "ord ers" get streams of their own), or if it is very long.
func autoStreamName(prefix, token string) string {
	var b strings.Builder
	b.WriteString(prefix)
	exact := true
	for _, r := range token {
		switch {
		case r >= 'a' && r <= 'z':
			b.WriteRune(r - 'a' + 'A')
		case r >= '0' && r <= '9' || r == '-' || r == '_':
			b.WriteRune(r)
		case r >= 'A' && r <= 'Z':
			exact = false
			b.WriteRune(r)
		default:
			exact = false
			b.WriteByte('_')
		}
	}
	name := b.String()
	if exact && len(name) <= 200 {
		return name
	}
	sum := sha256.Sum256([]byte(token))
	return name[:min(len(name), 200)] + "_" + hex.EncodeToString(sum[:4])
}

// covers reports whether the pattern of a stream's subject takes every
// subject that subject (which may have wildcards) matches.
func covers(pattern, subject string) bool {
	p, s := strings.Split(pattern, "."), strings.Split(subject, ".")
	for i, pt := range p {
		switch {
		case pt == ">":
			return i < len(s)
		case i >= len(s), s[i] == ">":
			return false
		case pt == "*":
		case pt != s[i]: // a literal does not cover '*' either
			return false
		}
	}
	return len(p) == len(s)
}

// collide reports whether some subject matches both a and b (which may
// have wildcards).
func collide(a, b string) bool {
	x, y := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; ; i++ {
		if i == len(x) || i == len(y) {
			return len(x) == len(y)
		}
		switch {
		case x[i] == ">" || y[i] == ">":
			return true
		case x[i] != "*" && y[i] != "*" && x[i] != y[i]:
			return false
		}
	}
}

// ensureStream makes sure the stream exists, creating it with the
// transport's settings if not; it remembers the streams it made sure of.
// A stream that exists keeps its settings, but must cover the subjects.
func (t *Transport) ensureStream(ctx context.Context, spec streamSpec) error {
	t.mu.Lock()
	ok := t.streams[spec.name]
	t.mu.Unlock()
	if ok {
		return nil
	}
	cfg := jetstream.StreamConfig{
		Name:        spec.name,
		Description: "eventual transport",
		Subjects:    spec.subjects,
		Retention:   t.opts.retention,
		MaxAge:      t.opts.maxAge,
		MaxBytes:    t.opts.maxBytes,
		MaxMsgs:     -1,
		Storage:     t.opts.storage,
		Replicas:    t.opts.replicas,
		Duplicates:  t.opts.duplicates,
		Discard:     jetstream.DiscardOld,
	}
	_, err := t.js.CreateStream(ctx, cfg)
	if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		// It exists, with other settings: keep them, if it takes our
		// subjects.
		var s jetstream.Stream
		if s, err = t.js.Stream(ctx, spec.name); err == nil {
			have := s.CachedInfo().Config.Subjects
			for _, want := range spec.subjects {
				if !slices.ContainsFunc(have, func(p string) bool { return covers(p, want) }) {
					return fmt.Errorf("natsjs: stream %s exists with subjects %v, which do not cover %q", spec.name, have, want)
				}
			}
		}
	}
	if err != nil {
		return fmt.Errorf("natsjs: create stream %s for %v: %w", spec.name, spec.subjects, err)
	}
	t.mu.Lock()
	t.streams[spec.name] = true
	t.mu.Unlock()
	return nil
}

// forgetStream drops a stream from those made sure of, so that the next
// use creates it again (after someone deleted it).
func (t *Transport) forgetStream(name string) {
	t.mu.Lock()
	delete(t.streams, name)
	t.mu.Unlock()
}
