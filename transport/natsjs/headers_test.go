package natsjs

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/nats-io/nats.go"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/transport"
)

func TestEscape(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"0190d7c4-7d5e-7cc4-b4d2-52e0bd2c7a2b", "0190d7c4-7d5e-7cc4-b4d2-52e0bd2c7a2b"},
		{"with space", "with%20space"},
		{"ünïcode", "%C3%BCn%C3%AFcode"},
		{"100%", "100%25"},
		{"a:b", "a%3Ab"},
		{"line\r\nbreak", "line%0D%0Abreak"},
		{" lead", "%20lead"},
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
	} {
		if got := escape(tc.in); got != tc.want {
			t.Errorf("escape(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if back, err := unescape(tc.want); err != nil || back != tc.in {
			t.Errorf("unescape(%q) = %q, %v, want %q", tc.want, back, err, tc.in)
		}
	}
	for _, bad := range []string{"%", "%4", "%G0", "a%2"} {
		if _, err := unescape(bad); err == nil {
			t.Errorf("unescape(%q) did not fail", bad)
		}
	}
}

func FuzzEscape(f *testing.F) {
	for _, s := range []string{"", "a b", "ü", "%%", "\x00\xff", "k: v\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := escape(s)
		for i := 0; i < len(e); i++ {
			if !plain(e[i]) && e[i] != '%' {
				t.Fatalf("escape(%q) = %q holds %q", s, e, e[i])
			}
		}
		if back, err := unescape(e); err != nil || back != s {
			t.Fatalf("unescape(escape(%q)) = %q, %v", s, back, err)
		}
	})
}

// Every field survives encode and decode, through the bytes of the NATS
// protocol's headers.
func TestEncodeDecode(t *testing.T) {
	m := transport.Message{
		ID: "id", Subject: "a.b", Type: "t y p e", Key: "ключ", Data: []byte("data"), ReplyTo: "r.s",
		Metadata: eventual.Metadata{
			CorrelationID: "c", CausationID: "d", TenantID: "\tt", UserID: "u ", TraceParent: "tp", TraceState: "k=v,l=w",
			Extra: map[string]string{"with space": "ünïcode", "": "empty key", "empty": "", "Eventual-Type": "not the type"},
		},
	}
	enc := encode(m)
	for k, vs := range enc.Header {
		for _, s := range append([]string{k}, vs...) {
			if !utf8.ValidString(s) || strings.ContainsAny(s, " \t\r\n") {
				t.Errorf("header %q: %q cannot travel", k, s)
			}
		}
	}
	// Through the wire format and back, as a subscriber reads it.
	raw := wire(t, enc)
	h, err := nats.DecodeHeadersMsg(raw)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decode("a.b", h, enc.Data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Errorf("got  %+v\nwant %+v", got, m)
	}

	// Headers of others are ignored; ours must decode.
	h["Other"] = []string{"x"}
	if _, err := decode("a.b", h, nil); err != nil {
		t.Errorf("someone else's header: %v", err)
	}
	h[HeaderKey] = []string{"%zz"}
	if _, err := decode("a.b", h, nil); err == nil {
		t.Error("a bad escape decoded")
	}
	if _, err := decode("a.b", nats.Header{HeaderType: {"t"}}, nil); err == nil {
		t.Error("a message without ID decoded")
	}
}

// wire renders the header block as NATS sends it.
func wire(t *testing.T, m *nats.Msg) []byte {
	t.Helper()
	var b strings.Builder
	b.WriteString("NATS/1.0\r\n")
	for k, vs := range m.Header {
		for _, v := range vs {
			b.WriteString(k + ": " + v + "\r\n")
		}
	}
	b.WriteString("\r\n")
	return []byte(b.String())
}

func TestAutoStreamName(t *testing.T) {
	for _, tc := range []struct{ token, want string }{
		{"orders", "EVENTUAL_ORDERS"},
		{"order-lines_2", "EVENTUAL_ORDER-LINES_2"},
		{"Orders", "EVENTUAL_ORDERS_"},
		{"ord/ers", "EVENTUAL_ORD_ERS_"},
		{"ünï", "EVENTUAL__N__"},
	} {
		got := autoStreamName("EVENTUAL_", tc.token)
		if !strings.HasPrefix(got, tc.want) || !validStreamName(got) {
			t.Errorf("autoStreamName(%q) = %q, want %q…", tc.token, got, tc.want)
		}
	}
	if a, b := autoStreamName("", "Orders"), autoStreamName("", "ORDERS"); a == b || a == autoStreamName("", "orders") {
		t.Errorf("tokens differing in case share a stream: %s %s", a, b)
	}
	if n := autoStreamName("EVENTUAL_", strings.Repeat("x", 300)); len(n) > 255 {
		t.Errorf("a long token makes a name of %d bytes", len(n))
	}
}

func TestCoversAndCollide(t *testing.T) {
	for _, tc := range []struct {
		pattern, subject string
		covers, collide  bool
	}{
		{"a.>", "a.b", true, true},
		{"a.>", "a.*", true, true},
		{"a.>", "a.>", true, true},
		{"a.>", "a", false, false},
		{"a", "a", true, true},
		{"a.*", "a.b.c", false, false},
		{"a.*", "a.>", false, true},
		{"a.b", "a.*", false, true},
		{"*.b", "a.b", true, true},
		{"*.b", "*.c", false, false},
		{">", "*.x", true, true},
		{"a.b", "c.>", false, false},
	} {
		if got := covers(tc.pattern, tc.subject); got != tc.covers {
			t.Errorf("covers(%q, %q) = %v", tc.pattern, tc.subject, got)
		}
		if got := collide(tc.pattern, tc.subject); got != tc.collide {
			t.Errorf("collide(%q, %q) = %v", tc.pattern, tc.subject, got)
		}
		if got := collide(tc.subject, tc.pattern); got != tc.collide {
			t.Errorf("collide(%q, %q) = %v", tc.subject, tc.pattern, got)
		}
	}
}
