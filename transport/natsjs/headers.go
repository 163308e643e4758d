package natsjs

import (
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventual-go/eventual/transport"
)

// The headers a message's fields travel in (see the package doc).
const (
	HeaderID            = jetstream.MsgIDHeader // "Nats-Msg-Id"
	HeaderType          = "Eventual-Type"
	HeaderKey           = "Eventual-Key"
	HeaderReplyTo       = "Eventual-Reply-To"
	HeaderCorrelationID = "Eventual-Correlation-Id"
	HeaderCausationID   = "Eventual-Causation-Id"
	HeaderTenantID      = "Eventual-Tenant-Id"
	HeaderUserID        = "Eventual-User-Id"
	HeaderTraceParent   = "traceparent"
	HeaderTraceState    = "tracestate"
	// HeaderExtraPrefix precedes the (encoded) key of each
	// Metadata.Extra entry.
	HeaderExtraPrefix = "Eventual-Extra-"
)

// encode turns m into the NATS message that carries it.
func encode(m transport.Message) *nats.Msg {
	h := nats.Header{}
	set := func(k, v string) {
		if v != "" {
			h[k] = []string{escape(v)}
		}
	}
	set(HeaderID, m.ID)
	set(HeaderType, m.Type)
	set(HeaderKey, m.Key)
	set(HeaderReplyTo, m.ReplyTo)
	md := m.Metadata
	set(HeaderCorrelationID, md.CorrelationID)
	set(HeaderCausationID, md.CausationID)
	set(HeaderTenantID, md.TenantID)
	set(HeaderUserID, md.UserID)
	set(HeaderTraceParent, md.TraceParent)
	set(HeaderTraceState, md.TraceState)
	for k, v := range md.Extra {
		h[HeaderExtraPrefix+escape(k)] = []string{escape(v)} // an empty value too
	}
	return &nats.Msg{Subject: m.Subject, Header: h, Data: m.Data}
}

// size is about how many bytes msg takes against the server's max
// payload.
func size(msg *nats.Msg) int {
	n := len(msg.Data) + len("NATS/1.0\r\n\r\n")
	for k, vs := range msg.Header {
		for _, v := range vs {
			n += len(k) + len(": \r\n") + len(v)
		}
	}
	return n
}

// errNotOurs is matched by the errors of messages that this transport did
// not publish (or that were mangled on the way).
var errNotOurs = errors.New("not a message of this transport")

// decode turns the headers and data of a NATS message back into the
// message it carries.
func decode(subject string, h nats.Header, data []byte) (transport.Message, error) {
	m := transport.Message{Subject: subject, Data: data}
	for k, vs := range h {
		if len(vs) == 0 {
			continue
		}
		var field *string
		switch k {
		case HeaderID:
			field = &m.ID
		case HeaderType:
			field = &m.Type
		case HeaderKey:
			field = &m.Key
		case HeaderReplyTo:
			field = &m.ReplyTo
		case HeaderCorrelationID:
			field = &m.Metadata.CorrelationID
		case HeaderCausationID:
			field = &m.Metadata.CausationID
		case HeaderTenantID:
			field = &m.Metadata.TenantID
		case HeaderUserID:
			field = &m.Metadata.UserID
		case HeaderTraceParent:
			field = &m.Metadata.TraceParent
		case HeaderTraceState:
			field = &m.Metadata.TraceState
		default:
			ek, ok := strings.CutPrefix(k, HeaderExtraPrefix)
			if !ok {
				continue // someone else's header
			}
			key, err := unescape(ek)
			if err != nil {
				return m, fmt.Errorf("%w: header %q: %w", errNotOurs, k, err)
			}
			v, err := unescape(vs[0])
			if err != nil {
				return m, fmt.Errorf("%w: header %q: %w", errNotOurs, k, err)
			}
			if m.Metadata.Extra == nil {
				m.Metadata.Extra = map[string]string{}
			}
			m.Metadata.Extra[key] = v
			continue
		}
		v, err := unescape(vs[0])
		if err != nil {
			return m, fmt.Errorf("%w: header %q: %w", errNotOurs, k, err)
		}
		*field = v
	}
	if m.ID == "" || m.Type == "" {
		return m, fmt.Errorf("%w: no %s or %s header", errNotOurs, HeaderID, HeaderType)
	}
	return m, nil
}

const hexDigits = "0123456789ABCDEF"

// plain reports whether c travels in a header as it is: printable ASCII
// but '%' (the escape) and ':' (which ends a header's name).
func plain(c byte) bool { return c > ' ' && c < 0x7f && c != '%' && c != ':' }

// escape percent-encodes the bytes of s that are not plain, so that any
// string (any UTF-8, spaces, CR and LF, leading blanks that NATS would
// trim) survives as a header name or value.
func escape(s string) string {
	i := 0
	for i < len(s) && plain(s[i]) {
		i++
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
		if c := s[i]; plain(c) {
			b.WriteByte(c)
		} else {
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}

// unescape undoes escape.
func unescape(s string) (string, error) {
	if strings.IndexByte(s, '%') < 0 {
		return s, nil
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b = append(b, s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", fmt.Errorf("truncated escape in %q", s)
		}
		hi, lo := unhex(s[i+1]), unhex(s[i+2])
		if hi < 0 || lo < 0 {
			return "", fmt.Errorf("bad escape %q in %q", s[i:i+3], s)
		}
		b = append(b, byte(hi<<4|lo))
		i += 2
	}
	return string(b), nil
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	}
	return -1
}
