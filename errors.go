package eventual

import (
	"errors"
	"fmt"
)

// Sentinel errors. Match them with [errors.Is]; the errors the store returns
// wrap them with details.
var (
	// ErrConflict means an append's expected version did not hold. The
	// error is a *[ConflictError]. Reload the stream and decide again.
	ErrConflict = errors.New("eventual: version conflict")
	// ErrStreamNotFound means the stream does not exist.
	ErrStreamNotFound = errors.New("eventual: stream not found")
	// ErrStreamDeleted means the stream was deleted; it can no longer be
	// appended to or read.
	ErrStreamDeleted = errors.New("eventual: stream deleted")
	// ErrInvalidArgument means a call was given bad input (an empty stream
	// ID, an oversized event, …). Nothing was written. Retrying the same
	// call fails the same way.
	ErrInvalidArgument = errors.New("eventual: invalid argument")
	// ErrClosed means the store was closed.
	ErrClosed = errors.New("eventual: store closed")
	// ErrUnsupported means the backend cannot do what was asked (for
	// example SQL statements in a transaction of the in-memory store).
	ErrUnsupported = errors.ErrUnsupported
)

// ConflictError is the error of an append whose expected version did not
// hold. It matches [ErrConflict].
type ConflictError struct {
	// StreamID is the stream whose version did not match.
	StreamID string
	// Expected is what the append expected.
	Expected ExpectedVersion
	// Actual is the stream's version when the append was tried; 0 when the
	// stream did not exist.
	Actual uint64
	// Exists tells whether the stream existed.
	Exists bool
}

// Error implements error.
func (e *ConflictError) Error() string {
	actual := "no stream"
	if e.Exists {
		actual = fmt.Sprintf("version %d", e.Actual)
	}
	return fmt.Sprintf("eventual: version conflict on stream %q: expected %s, found %s", e.StreamID, e.Expected, actual)
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// invalid returns an error wrapping ErrInvalidArgument.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidArgument}, args...)...)
}
