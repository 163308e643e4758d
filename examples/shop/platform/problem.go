package platform

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/eventual-go/eventual"
)

// Errors the HTTP layer turns into statuses; wrap them (fmt.Errorf("%w:
// …")) to say why.
var (
	// ErrNotFound → 404.
	ErrNotFound = errors.New("not found")
	// ErrConflict → 409: the request conflicts with the current state
	// (and so does eventual.ErrConflict).
	ErrConflict = errors.New("conflict")
	// ErrUnprocessable → 422: well-formed, but it cannot be done.
	ErrUnprocessable = errors.New("unprocessable")
	// ErrUnavailable → 503 with Retry-After: the shop is at capacity;
	// the same request may succeed in a moment.
	ErrUnavailable = errors.New("unavailable")
)

// FieldError says what is wrong with one field of a request.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// ValidationError is a request that fails validation → 400, naming the
// fields.
type ValidationError struct {
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return "invalid request: " + strings.Join(parts, "; ")
}

// Check collects field errors; Err returns them as a *ValidationError, or
// nil when there are none.
//
//	var c platform.Check
//	c.Require("email", req.Email != "", "is required")
//	return c.Err()
type Check struct{ fields []FieldError }

// Require records message for field unless ok.
func (c *Check) Require(field string, ok bool, message string) {
	if !ok {
		c.fields = append(c.fields, FieldError{Field: field, Message: message})
	}
}

// Add records an error of field, if err is not nil.
func (c *Check) Add(field string, err error) {
	if err != nil {
		c.fields = append(c.fields, FieldError{Field: field, Message: err.Error()})
	}
}

// Err returns the errors recorded, or nil.
func (c *Check) Err() error {
	if len(c.fields) == 0 {
		return nil
	}
	return &ValidationError{Fields: c.fields}
}

// Problem is an RFC 9457 problem detail, the body of every error.
type Problem struct {
	Type     string       `json:"type"`
	Title    string       `json:"title"`
	Status   int          `json:"status"`
	Detail   string       `json:"detail,omitempty"`
	Instance string       `json:"instance,omitempty"`
	Errors   []FieldError `json:"errors,omitempty"`
}

// StatusOf maps an error to its HTTP status.
func StatusOf(err error) int {
	var ve *ValidationError
	switch {
	case errors.As(err, &ve), errors.Is(err, eventual.ErrInvalidArgument):
		return http.StatusBadRequest
	case errors.Is(err, ErrNotFound), errors.Is(err, eventual.ErrStreamNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrConflict), errors.Is(err, eventual.ErrConflict), errors.Is(err, eventual.ErrStreamDeleted):
		return http.StatusConflict
	case errors.Is(err, ErrUnprocessable):
		return http.StatusUnprocessableEntity
	case errors.Is(err, ErrUnavailable):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// WriteError answers with err as application/problem+json; a 500 is
// logged and its detail withheld.
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	status := StatusOf(err)
	p := Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Instance: r.URL.Path, Detail: err.Error()}
	var ve *ValidationError
	if errors.As(err, &ve) {
		p.Title, p.Errors = "Invalid request", ve.Fields
		p.Detail = fmt.Sprintf("%d invalid field(s)", len(ve.Fields))
	}
	if status == http.StatusInternalServerError {
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		p.Detail = "an internal error; it was logged"
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(p)
}
