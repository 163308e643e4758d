// Package flatjson encodes and decodes the flat JSON objects of strings
// that hold events' and messages' metadata, byte for byte as
// encoding/json does, at a fraction of its cost: they are written and
// read for every event and message, and encoding/json's reflection and
// validation pass were a few percent of the shop's CPU.
//
// Only the common case takes the fast path: strings of printable ASCII
// that need no escaping. Anything else (escapes, non-ASCII text,
// whitespace, null) goes to encoding/json, so the results never differ.
package flatjson

import (
	"encoding/json"
	"slices"
	"unicode/utf8"
)

// plain[c] tells whether encoding/json writes the ASCII byte c as it is
// inside a string (it escapes controls, '"', '\\' and, for HTML, '<',
// '>' and '&').
var plain = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// AppendString appends s as a JSON string, as json.Marshal writes it.
func AppendString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || !plain[c] {
			b, _ := json.Marshal(s) // a string always encodes
			return append(dst, b...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// AppendMember appends the member key: value to dst, an object being
// written ('{' and any earlier members), with a comma if one is needed.
// key must need no escaping (a field name).
func AppendMember(dst []byte, key, value string) []byte {
	if len(dst) > 0 && dst[len(dst)-1] != '{' {
		dst = append(dst, ',')
	}
	dst = append(dst, '"')
	dst = append(dst, key...)
	dst = append(dst, '"', ':')
	return AppendString(dst, value)
}

// AppendStringMap appends m as json.Marshal writes it: null for a nil
// map, else an object with the keys sorted.
func AppendStringMap(dst []byte, m map[string]string) []byte {
	if m == nil {
		return append(dst, "null"...)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendString(dst, k)
		dst = append(dst, ':')
		dst = AppendString(dst, m[k])
	}
	return append(dst, '}')
}

// MarshalStringMap is json.Marshal(m).
func MarshalStringMap(m map[string]string) []byte {
	return AppendStringMap(make([]byte, 0, 64), m)
}

// UnmarshalStringMap decodes b into a new map as json.Unmarshal does into
// a nil map[string]string: the same map, or the same error.
func UnmarshalStringMap(b []byte) (map[string]string, error) {
	if m, ok := decodePlain(b); ok {
		return m, nil
	}
	var m map[string]string
	err := json.Unmarshal(b, &m)
	return m, err
}

// decodePlain decodes b if it is a compact object whose keys and values
// are strings of plain printable ASCII without escapes; ok is false for
// anything else.
func decodePlain(b []byte) (m map[string]string, ok bool) {
	if len(b) < 2 || b[0] != '{' {
		return nil, false
	}
	m = map[string]string{}
	i := 1
	if b[i] == '}' {
		return m, i == len(b)-1
	}
	for {
		k, next, ok := plainString(b, i)
		if !ok || next >= len(b) || b[next] != ':' {
			return nil, false
		}
		v, next, ok := plainString(b, next+1)
		if !ok || next >= len(b) {
			return nil, false
		}
		m[k] = v
		switch b[next] {
		case ',':
			i = next + 1
		case '}':
			return m, next == len(b)-1
		default:
			return nil, false
		}
	}
}

// plainString reads the string starting at b[i] ('"'), made of bytes
// that stand for themselves (printable ASCII but '"' and '\\'); it
// returns the string and the index after its closing quote.
func plainString(b []byte, i int) (s string, next int, ok bool) {
	if i >= len(b) || b[i] != '"' {
		return "", 0, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return string(b[i+1 : j]), j + 1, true
		case c < 0x20 || c >= utf8.RuneSelf || c == '\\':
			return "", 0, false
		}
	}
	return "", 0, false
}
