package sqlite

import "sync"

// maxCachedStreams bounds the stream cache; it is emptied when full.
const maxCachedStreams = 100_000

// streamCache remembers the streams the group commit wrote or read, so a
// batch need not read them again. It is valid only while no other
// connection commits: the writer checks PRAGMA data_version at the start of
// every batch and empties the cache when it changed. Writes through this
// store's own connection that do not go through the cache (InTx, delete,
// truncate) drop what they touch.
type streamCache struct {
	mu      sync.Mutex
	version int64 // the data_version the entries are valid for
	m       map[string]cachedStream
}

type cachedStream struct {
	no      int64
	version uint64
	deleted bool
}

func newStreamCache() *streamCache {
	return &streamCache{version: -1, m: map[string]cachedStream{}}
}

// validate empties the cache unless dataVersion is the one it is valid for.
func (c *streamCache) validate(dataVersion int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.version != dataVersion {
		clear(c.m)
		c.version = dataVersion
	}
}

func (c *streamCache) get(id string) (cachedStream, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.m[id]
	return s, ok
}

// put records a stream the group commit appended to.
func (c *streamCache) put(id string, no int64, version uint64) {
	c.set(id, cachedStream{no: no, version: version})
}

// putStored records a stream as read from its row.
func (c *streamCache) putStored(st storedStream) {
	c.set(st.id, cachedStream{no: st.no, version: st.version, deleted: st.deleted})
}

func (c *streamCache) set(id string, s cachedStream) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxCachedStreams {
		clear(c.m)
	}
	c.m[id] = s
}

// drop forgets one stream.
func (c *streamCache) drop(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, id)
}

// clear forgets every stream.
func (c *streamCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.m)
	c.version = -1
}
