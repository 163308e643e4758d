package postgres

import (
	"testing"

	"github.com/eventual-go/eventual/store/internal/plan"
)

// TestHeadCacheKeepsOneGeneration checks that the cache never mixes heads
// read at different generations of stream_changes: append_batch skips the
// check of a known head when the generation sent is current, so a head
// read before a deletion must not pass as read after it.
func TestHeadCacheKeepsOneGeneration(t *testing.T) {
	c := headCache{gen: unknownGeneration}
	exists := func(v uint64) *plan.Stream { return &plan.Stream{Exists: true, Version: v} }

	c.put(map[string]*plan.Stream{"a": exists(3)}, 5)
	if v, ok := c.get("a"); !ok || v != 3 || c.generation() != 5 {
		t.Fatalf("after a put at generation 5: head %d %v, generation %d", v, ok, c.generation())
	}
	// Read before a change the cache has seen (another writer's batch
	// reported generation 5 first): dropped.
	c.put(map[string]*plan.Stream{"b": exists(1)}, 4)
	if _, ok := c.get("b"); ok {
		t.Fatal("a head read at an older generation was cached")
	}
	// A newer generation: the heads read before it may be stale.
	c.put(map[string]*plan.Stream{"c": exists(2)}, 6)
	if _, ok := c.get("a"); ok {
		t.Fatal("a head read before the generation moved was kept")
	}
	if v, ok := c.get("c"); !ok || v != 2 || c.generation() != 6 {
		t.Fatalf("after a put at generation 6: head %d %v, generation %d", v, ok, c.generation())
	}
	// Deleted streams are forgotten, whatever the generation.
	c.put(map[string]*plan.Stream{"c": {Exists: true, Deleted: true, Version: 2}}, 6)
	if _, ok := c.get("c"); ok {
		t.Fatal("a deleted stream's head was kept")
	}
}
