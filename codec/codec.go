// Package codec turns domain events into stored events and back: a
// registry of event types by name, each with a schema version, and chains
// of upcasters that bring events written by older versions up to the
// current one when they are read.
//
//	b := codec.New()
//	codec.Register[AccountOpened](b, "account.opened")
//	codec.Register[MoneyDeposited](b, "money.deposited", codec.Version(2),
//		codec.UpcastType(1, func(old DepositedV1) (MoneyDeposited, error) {
//			return MoneyDeposited{Amount: Money{old.Cents, "EUR"}}, nil
//		}))
//	reg, err := b.Build() // refuses gaps, duplicates and upcasters with no target
//
//	data, err := reg.Encode(MoneyDeposited{…}) // Type, SchemaVersion and Data set
//	event, err := reg.Decode(recorded)         // a MoneyDeposited, upcast if old
//
// Events are JSON by default (encoding/json; see docs/adr/0007 for why and
// how fast). A Registry is safe for concurrent use; a Builder is not.
package codec

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/eventual-go/eventual"
)

// Errors of the codec. Match them with errors.Is.
var (
	// ErrUnknownType means a stored event's type is not registered (and
	// the registry's policy for unknown types is to fail).
	ErrUnknownType = errors.New("codec: unknown event type")
	// ErrUnregistered means Encode was given a value of a Go type that was
	// not registered.
	ErrUnregistered = errors.New("codec: unregistered Go type")
	// ErrFutureVersion means a stored event was written by a newer schema
	// version than this registry knows: it cannot be read down.
	ErrFutureVersion = errors.New("codec: event from a newer schema version")
	// ErrNoUpcaster means a stored event's schema version is older than
	// the registered one and no upcaster chain leads from it.
	ErrNoUpcaster = errors.New("codec: no upcaster for the event's schema version")
	// ErrInvalidRegistry means Build found the registrations inconsistent.
	ErrInvalidRegistry = errors.New("codec: invalid registry")
)

// Encoding marshals event payloads. The default is JSON.
type Encoding interface {
	Marshal(v any) ([]byte, error)
	Unmarshal(data []byte, v any) error
}

// JSON is the default Encoding: encoding/json.
type JSON struct{}

// Marshal implements Encoding.
func (JSON) Marshal(v any) ([]byte, error) { return json.Marshal(v) }

// Unmarshal implements Encoding.
func (JSON) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// UnknownPolicy tells Decode what to do with an event of an unregistered
// type.
type UnknownPolicy int

const (
	// FailOnUnknown makes Decode return ErrUnknownType. The default: an
	// aggregate that meets an event it does not know should not go on as if
	// nothing happened.
	FailOnUnknown UnknownPolicy = iota
	// SkipUnknown makes Decode return a nil event and no error.
	SkipUnknown
	// RawUnknown makes Decode return a Raw holding the stored event.
	RawUnknown
)

// Raw is what Decode returns for an unregistered type under RawUnknown.
type Raw struct {
	Event eventual.RecordedEvent
}

// Option configures a Builder.
type Option func(*Builder)

// WithEncoding sets the payload encoding; the default is JSON.
func WithEncoding(e Encoding) Option {
	return func(b *Builder) { b.enc = e }
}

// OnUnknown sets the policy for events of unregistered types; the default
// is FailOnUnknown.
func OnUnknown(p UnknownPolicy) Option {
	return func(b *Builder) { b.unknown = p }
}

// Builder collects registrations. Create it with New, register types with
// Register, and call Build once.
type Builder struct {
	enc     Encoding
	unknown UnknownPolicy
	types   []*entry
	errs    []error
}

// New returns a Builder.
func New(opts ...Option) *Builder {
	b := &Builder{enc: JSON{}}
	for _, o := range opts {
		o(b)
	}
	return b
}

// upcastFunc turns a payload of one version into the next, with the
// registry's encoding at hand for typed upcasters.
type upcastFunc func(enc Encoding, data []byte) ([]byte, error)

// entry is one registered event type.
type entry struct {
	name      string
	aliases   []string
	version   int
	typ       reflect.Type
	upcasters map[int]upcastFunc // by the version they read
	decode    func(enc Encoding, data []byte) (any, error)
}

func (e *entry) addUpcaster(from int, fn upcastFunc) error {
	if _, dup := e.upcasters[from]; dup {
		return fmt.Errorf("two upcasters from version %d", from)
	}
	e.upcasters[from] = fn
	return nil
}

// TypeOption configures one registration.
type TypeOption func(*entry) error

// Version sets the type's current schema version (at least 1; default 1).
func Version(v int) TypeOption {
	return func(e *entry) error {
		if v < 1 {
			return fmt.Errorf("version %d is less than 1", v)
		}
		e.version = v
		return nil
	}
}

// Upcast adds the upcaster from schema version from to from+1, working on
// the encoded payload.
func Upcast(from int, fn func(data []byte) ([]byte, error)) TypeOption {
	return func(e *entry) error {
		if fn == nil {
			return fmt.Errorf("upcaster from version %d is nil", from)
		}
		return e.addUpcaster(from, func(_ Encoding, data []byte) ([]byte, error) { return fn(data) })
	}
}

// UpcastType adds the upcaster from schema version from to from+1 as a
// typed function: the payload is decoded as Old, converted, and encoded
// again as New, with the registry's encoding.
func UpcastType[Old, New any](from int, fn func(Old) (New, error)) TypeOption {
	return func(e *entry) error {
		if fn == nil {
			return fmt.Errorf("upcaster from version %d is nil", from)
		}
		return e.addUpcaster(from, func(enc Encoding, data []byte) ([]byte, error) {
			var old Old
			if err := enc.Unmarshal(data, &old); err != nil {
				return nil, err
			}
			n, err := fn(old)
			if err != nil {
				return nil, err
			}
			return enc.Marshal(n)
		})
	}
}

// Alias makes events stored under an older name of the type decode as
// this type (with the same schema versions and upcasters).
func Alias(oldName string) TypeOption {
	return func(e *entry) error {
		if oldName == "" {
			return errors.New("empty alias")
		}
		e.aliases = append(e.aliases, oldName)
		return nil
	}
}

// Register registers event type T under name. Encode stamps events of T
// with name and the current schema version; Decode returns values of T
// (not pointers). Mistakes are reported by Build.
func Register[T any](b *Builder, name string, opts ...TypeOption) {
	typ := reflect.TypeFor[T]()
	e := &entry{
		name: name, version: 1, typ: typ, upcasters: map[int]upcastFunc{},
		decode: func(enc Encoding, data []byte) (any, error) {
			var v T
			if err := enc.Unmarshal(data, &v); err != nil {
				return nil, err
			}
			return v, nil
		},
	}
	if typ.Kind() == reflect.Pointer {
		b.errs = append(b.errs, fmt.Errorf("type %q: register the value type %s, not a pointer", name, typ.Elem()))
		return
	}
	for _, o := range opts {
		if err := o(e); err != nil {
			b.errs = append(b.errs, fmt.Errorf("type %q: %w", name, err))
		}
	}
	b.types = append(b.types, e)
}

// Registry encodes and decodes the registered event types. Build it with
// a Builder; it is safe for concurrent use.
type Registry struct {
	enc     Encoding
	unknown UnknownPolicy
	byName  map[string]*entry
	byType  map[reflect.Type]*entry
}

// Build checks the registrations and returns the Registry. It fails, with
// an error matching ErrInvalidRegistry that lists every problem, when a
// name is empty or used twice (as a name or alias), a Go type is
// registered twice, an option was invalid, or an upcaster chain has a gap
// (an upcaster from v while none from some version between v and the
// current one), a duplicate, or no target (an upcaster from the current
// version or later, or from before version 1).
func (b *Builder) Build() (*Registry, error) {
	errs := slices.Clone(b.errs)
	r := &Registry{enc: b.enc, unknown: b.unknown, byName: map[string]*entry{}, byType: map[reflect.Type]*entry{}}
	for _, e := range b.types {
		for _, name := range append([]string{e.name}, e.aliases...) {
			if err := eventual.ValidateEventType(name); err != nil {
				errs = append(errs, fmt.Errorf("type %s: %w", e.typ, err))
				continue
			}
			if other, dup := r.byName[name]; dup {
				errs = append(errs, fmt.Errorf("name %q is used by %s and %s", name, other.typ, e.typ))
				continue
			}
			r.byName[name] = e
		}
		if other, dup := r.byType[e.typ]; dup {
			errs = append(errs, fmt.Errorf("the Go type %s is registered as %q and %q", e.typ, other.name, e.name))
		}
		r.byType[e.typ] = e
		if len(e.upcasters) == 0 {
			continue
		}
		lowest := e.version
		for from := range e.upcasters {
			if from < 1 || from >= e.version {
				errs = append(errs, fmt.Errorf("type %q: upcaster from version %d has no target: the versions are 1 to %d", e.name, from, e.version))
			}
			lowest = min(lowest, from)
		}
		for v := max(lowest, 1); v < e.version; v++ {
			if _, ok := e.upcasters[v]; !ok {
				errs = append(errs, fmt.Errorf("type %q: upcaster chain has a gap: none from version %d", e.name, v))
			}
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrInvalidRegistry, errors.Join(errs...))
	}
	return r, nil
}

// Encode encodes a registered event value (or a pointer to one) into the
// event to append: Type, SchemaVersion and Data are set, ID and Metadata
// left for the caller. Errors: ErrUnregistered, or the encoding's.
func (r *Registry) Encode(v any) (eventual.EventData, error) {
	e, err := r.entryOf(v)
	if err != nil {
		return eventual.EventData{}, err
	}
	data, err := r.enc.Marshal(v)
	if err != nil {
		return eventual.EventData{}, fmt.Errorf("codec: encode %q: %w", e.name, err)
	}
	return eventual.EventData{Type: e.name, SchemaVersion: e.version, Data: data}, nil
}

// Name returns the name v's type is registered under.
func (r *Registry) Name(v any) (string, error) {
	e, err := r.entryOf(v)
	if err != nil {
		return "", err
	}
	return e.name, nil
}

func (r *Registry) entryOf(v any) (*entry, error) {
	typ := reflect.TypeOf(v)
	if typ != nil && typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	e, ok := r.byType[typ]
	if !ok {
		return nil, fmt.Errorf("%w: %v", ErrUnregistered, typ)
	}
	return e, nil
}

// Decode decodes a stored event into a value of its registered type,
// upcast first from the schema version it was written with (0 counts as
// 1). An unregistered type is handled by the registry's UnknownPolicy: an
// error matching ErrUnknownType, a nil event (SkipUnknown), or a Raw.
// Other errors: ErrFutureVersion, ErrNoUpcaster, an upcaster's or the
// encoding's error.
func (r *Registry) Decode(ev eventual.RecordedEvent) (any, error) {
	e, ok := r.byName[ev.Type]
	if !ok {
		switch r.unknown {
		case SkipUnknown:
			return nil, nil
		case RawUnknown:
			return Raw{Event: ev}, nil
		}
		return nil, fmt.Errorf("%w: %q (stream %q, version %d)", ErrUnknownType, ev.Type, ev.StreamID, ev.Version)
	}
	data, from := ev.Data, max(ev.SchemaVersion, 1)
	if from > e.version {
		return nil, fmt.Errorf("%w: %q version %d, this registry knows up to %d (stream %q, version %d)",
			ErrFutureVersion, ev.Type, from, e.version, ev.StreamID, ev.Version)
	}
	for v := from; v < e.version; v++ {
		up, ok := e.upcasters[v]
		if !ok {
			return nil, fmt.Errorf("%w: %q from version %d (stream %q, version %d)", ErrNoUpcaster, ev.Type, v, ev.StreamID, ev.Version)
		}
		var err error
		if data, err = up(r.enc, data); err != nil {
			return nil, fmt.Errorf("codec: upcast %q from version %d (stream %q, version %d): %w", ev.Type, v, ev.StreamID, ev.Version, err)
		}
	}
	out, err := e.decode(r.enc, data)
	if err != nil {
		return nil, fmt.Errorf("codec: decode %q (stream %q, version %d): %w", ev.Type, ev.StreamID, ev.Version, err)
	}
	return out, nil
}

// DecodeAs decodes a stored event as T: an error if it decodes to another
// type (or is skipped).
func DecodeAs[T any](r *Registry, ev eventual.RecordedEvent) (T, error) {
	var zero T
	v, err := r.Decode(ev)
	if err != nil {
		return zero, err
	}
	t, ok := v.(T)
	if !ok {
		return zero, fmt.Errorf("codec: event %q decodes to %T, not %T", ev.Type, v, zero)
	}
	return t, nil
}

// TypeInfo describes a registered type.
type TypeInfo struct {
	Name      string
	Aliases   []string
	Version   int
	GoType    string
	Upcasters []int // the versions upcasters read, ascending
}

// Types lists the registered types by name.
func (r *Registry) Types() []TypeInfo {
	var out []TypeInfo
	seen := map[*entry]bool{}
	for _, e := range r.byName {
		if seen[e] {
			continue
		}
		seen[e] = true
		var ups []int
		for from := range e.upcasters {
			ups = append(ups, from)
		}
		slices.Sort(ups)
		out = append(out, TypeInfo{Name: e.name, Aliases: slices.Clone(e.aliases), Version: e.version, GoType: e.typ.String(), Upcasters: ups})
	}
	slices.SortFunc(out, func(a, b TypeInfo) int { return strings.Compare(a.Name, b.Name) })
	return out
}
