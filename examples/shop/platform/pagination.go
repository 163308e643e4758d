package platform

import (
	"encoding/base64"
	"encoding/json"
	"errors"
)

// Page is one page of a listing: its items and the cursor of the next
// page (empty on the last).
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// DefaultPageSize and MaxPageSize bound a page's length.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// PageSize returns the page length to use for a requested one (0: the
// default), or a validation error for field "limit".
func PageSize(requested int) (int, error) {
	switch {
	case requested == 0:
		return DefaultPageSize, nil
	case requested < 0 || requested > MaxPageSize:
		return 0, &ValidationError{Fields: []FieldError{{Field: "limit", Message: "must be between 1 and 500"}}}
	}
	return requested, nil
}

// EncodeCursor makes an opaque cursor of the sort key of the last item of
// a page.
func EncodeCursor(key ...string) string {
	b, _ := json.Marshal(key)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor returns the sort key a cursor holds (none for ""), or a
// validation error for field "cursor".
func DecodeCursor(cursor string, parts int) ([]string, error) {
	if cursor == "" {
		return nil, nil
	}
	bad := &ValidationError{Fields: []FieldError{{Field: "cursor", Message: "is not a cursor of this listing"}}}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return nil, bad
	}
	var key []string
	if err := json.Unmarshal(b, &key); err != nil || len(key) != parts {
		return nil, errors.Join(bad)
	}
	return key, nil
}
