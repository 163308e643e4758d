package codec_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/codec"
)

type Opened struct {
	Holder string `json:"holder"`
}

// Deposited v3: amount in minor units with a currency.
type Deposited struct {
	AmountMinor int64  `json:"amount_minor"`
	Currency    string `json:"currency"`
}

// DepositedV1 stored the amount as a float of euros; v2 as cents.
type DepositedV1 struct {
	Amount float64 `json:"amount"`
}
type DepositedV2 struct {
	Cents int64 `json:"cents"`
}

func registry(t *testing.T, opts ...codec.Option) *codec.Registry {
	t.Helper()
	b := codec.New(opts...)
	codec.Register[Opened](b, "account.opened", codec.Alias("AccountOpened"))
	codec.Register[Deposited](b, "money.deposited", codec.Version(3),
		codec.UpcastType(1, func(v DepositedV1) (DepositedV2, error) {
			return DepositedV2{Cents: int64(v.Amount*100 + 0.5)}, nil
		}),
		codec.Upcast(2, func(data []byte) ([]byte, error) {
			var v DepositedV2
			if err := json.Unmarshal(data, &v); err != nil {
				return nil, err
			}
			return json.Marshal(Deposited{AmountMinor: v.Cents, Currency: "EUR"})
		}))
	r, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestEncodeStampsNameAndVersion(t *testing.T) {
	r := registry(t)
	for _, v := range []any{Deposited{AmountMinor: 5, Currency: "EUR"}, &Deposited{AmountMinor: 5, Currency: "EUR"}} {
		ev, err := r.Encode(v)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Type != "money.deposited" || ev.SchemaVersion != 3 || string(ev.Data) != `{"amount_minor":5,"currency":"EUR"}` {
			t.Fatalf("Encode(%T) = %+v", v, ev)
		}
	}
	if _, err := r.Encode(struct{ X int }{}); !errors.Is(err, codec.ErrUnregistered) {
		t.Fatalf("unregistered type: %v", err)
	}
}

func TestDecodeUpcastsEveryOldVersion(t *testing.T) {
	r := registry(t)
	want := Deposited{AmountMinor: 1250, Currency: "EUR"}
	tests := []struct {
		name    string
		version int
		data    string
	}{
		{"unversioned counts as v1", 0, `{"amount":12.5}`},
		{"v1 through two upcasters", 1, `{"amount":12.5}`},
		{"v2 through one", 2, `{"cents":1250}`},
		{"current", 3, `{"amount_minor":1250,"currency":"EUR"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := codec.DecodeAs[Deposited](r, eventual.RecordedEvent{Type: "money.deposited", SchemaVersion: tt.version, Data: []byte(tt.data)})
			if err != nil || got != want {
				t.Fatalf("got %+v, %v; want %+v", got, err, want)
			}
		})
	}
	if _, err := r.Decode(eventual.RecordedEvent{Type: "money.deposited", SchemaVersion: 4, Data: []byte(`{}`)}); !errors.Is(err, codec.ErrFutureVersion) {
		t.Fatalf("newer version: %v, want ErrFutureVersion", err)
	}
	old, err := r.Decode(eventual.RecordedEvent{Type: "AccountOpened", Data: []byte(`{"holder":"Ada"}`)})
	if err != nil || old != (Opened{Holder: "Ada"}) {
		t.Fatalf("alias: %v, %v", old, err)
	}
	if _, err := r.Decode(eventual.RecordedEvent{Type: "money.deposited", SchemaVersion: 1, Data: []byte(`{"amount":"x"}`)}); err == nil || !strings.Contains(err.Error(), "upcast") {
		t.Fatalf("failing upcaster: %v", err)
	}
}

func TestUnknownTypes(t *testing.T) {
	ev := eventual.RecordedEvent{Type: "who.knows", StreamID: "s", Version: 3, Data: []byte(`{}`)}
	if _, err := registry(t).Decode(ev); !errors.Is(err, codec.ErrUnknownType) || !strings.Contains(err.Error(), `"who.knows"`) {
		t.Fatalf("default policy: %v", err)
	}
	if v, err := registry(t, codec.OnUnknown(codec.SkipUnknown)).Decode(ev); v != nil || err != nil {
		t.Fatalf("skip: %v, %v", v, err)
	}
	v, err := registry(t, codec.OnUnknown(codec.RawUnknown)).Decode(ev)
	if raw, ok := v.(codec.Raw); !ok || err != nil || raw.Event.Version != 3 {
		t.Fatalf("raw: %#v, %v", v, err)
	}
}

func TestBuildRefusesBadRegistrations(t *testing.T) {
	up := func(data []byte) ([]byte, error) { return data, nil }
	tests := []struct {
		name     string
		register func(b *codec.Builder)
		want     string
	}{
		{"gap in the chain", func(b *codec.Builder) {
			codec.Register[Deposited](b, "d", codec.Version(4), codec.Upcast(1, up), codec.Upcast(3, up))
		}, "gap: none from version 2"},
		{"duplicate upcaster", func(b *codec.Builder) {
			codec.Register[Deposited](b, "d", codec.Version(3), codec.Upcast(1, up), codec.Upcast(1, up), codec.Upcast(2, up))
		}, "two upcasters from version 1"},
		{"upcaster past the current version", func(b *codec.Builder) {
			codec.Register[Deposited](b, "d", codec.Version(2), codec.Upcast(1, up), codec.Upcast(2, up))
		}, "upcaster from version 2 has no target"},
		{"upcaster from version 0", func(b *codec.Builder) {
			codec.Register[Deposited](b, "d", codec.Version(2), codec.Upcast(0, up), codec.Upcast(1, up))
		}, "upcaster from version 0 has no target"},
		{"upcasters without a version", func(b *codec.Builder) {
			codec.Register[Deposited](b, "d", codec.Upcast(1, up))
		}, "no target"},
		{"version 0", func(b *codec.Builder) { codec.Register[Deposited](b, "d", codec.Version(0)) }, "version 0 is less than 1"},
		{"name used twice", func(b *codec.Builder) {
			codec.Register[Deposited](b, "d")
			codec.Register[Opened](b, "d")
		}, `name "d" is used by`},
		{"alias used as a name", func(b *codec.Builder) {
			codec.Register[Deposited](b, "d")
			codec.Register[Opened](b, "o", codec.Alias("d"))
		}, `name "d" is used by`},
		{"Go type twice", func(b *codec.Builder) {
			codec.Register[Deposited](b, "d")
			codec.Register[Deposited](b, "e")
		}, "is registered as"},
		{"empty name", func(b *codec.Builder) { codec.Register[Deposited](b, "") }, "event type is empty"},
		{"pointer type", func(b *codec.Builder) { codec.Register[*Deposited](b, "d") }, "not a pointer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := codec.New()
			tt.register(b)
			_, err := b.Build()
			if !errors.Is(err, codec.ErrInvalidRegistry) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Build() = %v, want ErrInvalidRegistry saying %q", err, tt.want)
			}
		})
	}
}

func TestTypes(t *testing.T) {
	types := registry(t).Types()
	if len(types) != 2 || types[1].Name != "money.deposited" || types[1].Version != 3 || len(types[1].Upcasters) != 2 || types[0].Aliases[0] != "AccountOpened" {
		t.Fatalf("Types() = %+v", types)
	}
}

func TestNoUpcasterFromAnOldVersion(t *testing.T) {
	b := codec.New()
	codec.Register[Deposited](b, "d", codec.Version(3), codec.Upcast(2, func(d []byte) ([]byte, error) { return d, nil }))
	r, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Decode(eventual.RecordedEvent{Type: "d", SchemaVersion: 1, Data: []byte(`{}`)}); !errors.Is(err, codec.ErrNoUpcaster) {
		t.Fatalf("v1 with upcasters from v2 only: %v, want ErrNoUpcaster", err)
	}
	if _, err := r.Decode(eventual.RecordedEvent{Type: "d", SchemaVersion: 2, Data: bytes.Clone([]byte(`{"amount_minor":1}`))}); err != nil {
		t.Fatal(err)
	}
}
