package eventual

import "strconv"

// ExpectedVersion is the optimistic-concurrency condition of an append: what
// the caller believes the stream's current version to be. Build one with
// [Exact] or use [Any], [NoStream] or [StreamExists].
//
// The zero value is [Any].
type ExpectedVersion struct {
	kind    expectKind
	version uint64
}

type expectKind uint8

const (
	expectAny expectKind = iota
	expectNoStream
	expectStreamExists
	expectExact
)

var (
	// Any appends whatever the stream's version is, creating the stream
	// if it does not exist.
	Any = ExpectedVersion{kind: expectAny}
	// NoStream appends only if the stream does not exist yet.
	NoStream = ExpectedVersion{kind: expectNoStream}
	// StreamExists appends only if the stream exists.
	StreamExists = ExpectedVersion{kind: expectStreamExists}
)

// Exact appends only if the stream's current version is v. Exact(0) is the
// same as [NoStream], so an aggregate loaded from an empty stream can save
// with the version it saw.
func Exact(v uint64) ExpectedVersion {
	if v == 0 {
		return NoStream
	}
	return ExpectedVersion{kind: expectExact, version: v}
}

// Version returns the version that [Exact] was given and true, or 0 and
// false for [Any], [NoStream] and [StreamExists].
func (e ExpectedVersion) Version() (uint64, bool) {
	return e.version, e.kind == expectExact
}

// IsAny reports whether e is [Any].
func (e ExpectedVersion) IsAny() bool { return e.kind == expectAny }

// Check reports whether a stream whose current version is current
// (exists tells whether it exists at all) satisfies e.
func (e ExpectedVersion) Check(current uint64, exists bool) bool {
	switch e.kind {
	case expectNoStream:
		return !exists
	case expectStreamExists:
		return exists
	case expectExact:
		return exists && current == e.version
	default:
		return true
	}
}

// String returns "any", "no stream", "stream exists" or the exact version.
func (e ExpectedVersion) String() string {
	switch e.kind {
	case expectNoStream:
		return "no stream"
	case expectStreamExists:
		return "stream exists"
	case expectExact:
		return strconv.FormatUint(e.version, 10)
	default:
		return "any"
	}
}
