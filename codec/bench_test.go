package codec_test

import (
	"testing"
	"time"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/codec"
)

// deposited is shaped like a typical business event: money, a reference
// and a time.
type deposited struct {
	Amount struct {
		Minor    int64  `json:"minor"`
		Currency string `json:"currency"`
	} `json:"amount"`
	Reference string    `json:"reference"`
	At        time.Time `json:"at"`
}

func benchRegistry(b *testing.B) *codec.Registry {
	reg := codec.New()
	codec.Register[deposited](reg, "money.deposited")
	r, err := reg.Build()
	if err != nil {
		b.Fatal(err)
	}
	return r
}

func BenchmarkEncode(b *testing.B) {
	r := benchRegistry(b)
	var e deposited
	e.Amount.Minor, e.Amount.Currency, e.Reference, e.At = 1250, "EUR", "salary March", time.Now()
	for b.Loop() {
		if _, err := r.Encode(e); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	r := benchRegistry(b)
	ev := eventual.RecordedEvent{Type: "money.deposited", SchemaVersion: 1,
		Data: []byte(`{"amount":{"minor":1250,"currency":"EUR"},"reference":"salary March","at":"2026-11-21T06:42:16.489625836Z"}`)}
	for b.Loop() {
		if _, err := r.Decode(ev); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeWithTwoUpcasters(b *testing.B) {
	reg := codec.New()
	codec.Register[Deposited](reg, "money.deposited", codec.Version(3),
		codec.UpcastType(1, func(v DepositedV1) (DepositedV2, error) { return DepositedV2{Cents: int64(v.Amount * 100)}, nil }),
		codec.UpcastType(2, func(v DepositedV2) (Deposited, error) { return Deposited{AmountMinor: v.Cents, Currency: "EUR"}, nil }))
	r, err := reg.Build()
	if err != nil {
		b.Fatal(err)
	}
	ev := eventual.RecordedEvent{Type: "money.deposited", SchemaVersion: 1, Data: []byte(`{"amount":12.5}`)}
	for b.Loop() {
		if _, err := r.Decode(ev); err != nil {
			b.Fatal(err)
		}
	}
}
