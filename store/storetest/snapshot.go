package storetest

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/eventual-go/eventual"
)

func testSnapshots(t *testing.T, b Backend) {
	s, ok := b.open(t).(eventual.SnapshotStore)
	if !ok {
		t.Log("the backend is not an eventual.SnapshotStore: nothing to test")
		return
	}
	ctx := testContext(t)
	if _, err := s.LoadSnapshot(ctx, "none"); !errors.Is(err, eventual.ErrSnapshotNotFound) {
		t.Fatalf("missing snapshot: %v, want ErrSnapshotNotFound", err)
	}
	taken := time.Now().Add(-time.Minute).Truncate(time.Microsecond)
	v5 := eventual.Snapshot{StreamID: "acc-1", Version: 5, SchemaVersion: 2, Data: []byte(`{"balance":500}`), TakenAt: taken}
	if err := s.SaveSnapshot(ctx, v5); err != nil {
		t.Fatal(err)
	}
	got, err := s.LoadSnapshot(ctx, "acc-1")
	if err != nil || got.StreamID != "acc-1" || got.Version != 5 || got.SchemaVersion != 2 ||
		!bytes.Equal(got.Data, v5.Data) || !got.TakenAt.Equal(taken) || got.TakenAt.Location() != time.UTC {
		t.Fatalf("LoadSnapshot = %+v, %v; want %+v", got, err, v5)
	}

	// A newer snapshot replaces it; an older one does not.
	v9 := v5
	v9.Version, v9.Data = 9, []byte(`{"balance":900}`)
	if err := s.SaveSnapshot(ctx, v9); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveSnapshot(ctx, v5); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.LoadSnapshot(ctx, "acc-1"); got.Version != 9 || string(got.Data) != `{"balance":900}` {
		t.Fatalf("after an older save: version %d %s, want 9", got.Version, got.Data)
	}
	// The same version again replaces it (a new encoding of the same state).
	v9b := v9
	v9b.SchemaVersion, v9b.Data = 3, []byte(`{"b":900}`)
	if err := s.SaveSnapshot(ctx, v9b); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.LoadSnapshot(ctx, "acc-1"); got.SchemaVersion != 3 {
		t.Fatalf("same version, new encoding: schema %d, want 3", got.SchemaVersion)
	}

	for name, bad := range map[string]eventual.Snapshot{
		"empty stream ID": {Version: 1, Data: []byte("x")},
		"version 0":       {StreamID: "s", Data: []byte("x")},
		"no data":         {StreamID: "s", Version: 1},
		"negative schema": {StreamID: "s", Version: 1, SchemaVersion: -1, Data: []byte("x")},
	} {
		if err := s.SaveSnapshot(ctx, bad); !errors.Is(err, eventual.ErrInvalidArgument) {
			t.Errorf("%s: %v, want ErrInvalidArgument", name, err)
		}
	}
	if _, err := s.LoadSnapshot(ctx, ""); !errors.Is(err, eventual.ErrInvalidArgument) {
		t.Errorf("empty stream ID: %v, want ErrInvalidArgument", err)
	}
}
