// Package sqltext keeps the SQL statements that are built from a count —
// multi-row INSERTs, IN lists — to a few sizes, built once each.
//
// SQLite prepares a statement per distinct text, and a connection keeps
// the last 64 prepared. A text per row count would be prepared anew for
// most batches and push the connection's other statements out; with the
// sizes this package picks (powers of two, and a few small counts exact)
// there are a handful per statement, and they stay prepared.
package sqltext

import (
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// maxTexts bounds the texts a Cache keeps; past it, texts are built and
// not kept (keys built from caller data must not grow the cache forever).
const maxTexts = 4096

// Cache holds statement texts by key, each built once. The zero value is
// ready to use.
type Cache[K comparable] struct {
	m sync.Map // K → string
	n atomic.Int64
}

// Get returns the text of key k, calling build to make it the first time.
func (c *Cache[K]) Get(k K, build func(K) string) string {
	if q, ok := c.m.Load(k); ok {
		return q.(string)
	}
	q := build(k)
	if c.n.Add(1) <= maxTexts {
		c.m.Store(k, q)
	}
	return q
}

// Params returns "$first, $first+1, …", n numbered placeholders: an IN
// list or a row of VALUES.
func Params(first, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(first + i))
	}
	return b.String()
}

// Padded returns n rounded up to a power of two (0 for 0): the size of an
// IN list of n values, padded by repeating one of them, which changes
// nothing.
func Padded(n int) int {
	if n <= 0 {
		return 0
	}
	p := 1
	for p < n {
		p *= 2
	}
	return p
}

// AppendPadded appends vals to args as n values, n being at least
// len(vals) (Padded's size), the last of vals repeated to fill: the
// arguments of a padded IN list.
func AppendPadded[T any](args []any, vals []T, n int) []any {
	for i := range n {
		args = append(args, vals[min(i, len(vals)-1)])
	}
	return args
}

// Chunk returns how many of n rows the next statement writes: all of them
// when they are at most exact, else the largest power of two not above n
// nor most.
func Chunk(n, most, exact int) int {
	if n <= exact {
		return n
	}
	c := 1
	for c*2 <= min(n, most) {
		c *= 2
	}
	return c
}
