package postgres

import (
	"testing"

	"github.com/eventual-go/eventual/store/internal/plan"
)

// TestHeadCacheKeepsEachHeadsGeneration checks that every cached head
// keeps the generation of stream_changes it was read at: append_batch
// skips the check of a known head only when that generation is current,
// so a head read before a deletion must never pass as read after it, and
// heads read at different generations may sit side by side.
func TestHeadCacheKeepsEachHeadsGeneration(t *testing.T) {
	var c headCache
	exists := func(v uint64) *plan.Stream { return &plan.Stream{Exists: true, Version: v} }

	c.put(map[string]*plan.Stream{"a": exists(3)}, 5)
	c.put(map[string]*plan.Stream{"b": exists(1)}, 4) // read earlier, stored later
	c.put(map[string]*plan.Stream{"c": exists(2)}, 6)
	for id, want := range map[string]cachedHead{"a": {3, 5}, "b": {1, 4}, "c": {2, 6}} {
		if h, ok := c.get(id); !ok || h != want {
			t.Errorf("head of %s: %+v %v, want %+v", id, h, ok, want)
		}
	}
	c.put(map[string]*plan.Stream{"a": exists(4)}, 7)
	if h, _ := c.get("a"); h != (cachedHead{4, 7}) {
		t.Errorf("head of a after a newer write: %+v, want {4 7}", h)
	}
	c.put(map[string]*plan.Stream{"c": {Exists: true, Deleted: true, Version: 2}}, 7)
	if _, ok := c.get("c"); ok {
		t.Error("a deleted stream's head was kept")
	}
}
