// Package platform hosts the shop's modules: each gets its own store (a
// SQLite file under the data directory, or a PostgreSQL schema), an outbox
// relayed to the transport, an inbox, a projection runner, and a share of
// one HTTP API; the host starts them, serves the API and stops them
// gracefully. The same modules run in one process (the monolith, on the
// in-process transport) or in several (on NATS JetStream), only the
// Config differs.
//
// The HTTP layer gives every module the same conventions: JSON endpoints
// described in one OpenAPI document (/openapi.json) from their Go types
// (Handle); errors as application/problem+json, validation errors as 400
// naming the fields (Check, ValidationError); Idempotency-Key on every
// POST (same key and body → same response; another body → 422); cursor
// pagination (Page, EncodeCursor); server-sent events (Broadcaster,
// ServeSSE); /healthz, /readyz and Prometheus /metrics with the outbox
// backlog and projection lags of every module.
package platform
