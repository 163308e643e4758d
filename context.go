package eventual

import (
	"context"
	"maps"
)

type metadataKey struct{}

// ContextWithMetadata returns a context that carries m, merged over the
// metadata ctx already carries: the non-empty fields of m win, and Extra
// is merged key by key. Whatever records events or sends messages under
// that context (aggregate repositories, transports) stamps them with it.
//
//	ctx = eventual.ContextWithMetadata(ctx, eventual.Metadata{
//		CorrelationID: requestID, UserID: user, TenantID: tenant})
func ContextWithMetadata(ctx context.Context, m Metadata) context.Context {
	merged := MetadataFromContext(ctx)
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&merged.CorrelationID, m.CorrelationID)
	set(&merged.CausationID, m.CausationID)
	set(&merged.TenantID, m.TenantID)
	set(&merged.UserID, m.UserID)
	set(&merged.TraceParent, m.TraceParent)
	set(&merged.TraceState, m.TraceState)
	if len(m.Extra) > 0 {
		extra := maps.Clone(merged.Extra)
		if extra == nil {
			extra = make(map[string]string, len(m.Extra))
		}
		maps.Copy(extra, m.Extra)
		merged.Extra = extra
	}
	return context.WithValue(ctx, metadataKey{}, merged)
}

// MetadataFromContext returns the metadata ctx carries, or the zero
// Metadata. Its Extra map is the caller's to change.
func MetadataFromContext(ctx context.Context) Metadata {
	m, _ := ctx.Value(metadataKey{}).(Metadata)
	m.Extra = maps.Clone(m.Extra)
	return m
}
