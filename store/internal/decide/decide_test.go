package decide

import (
	"errors"
	"testing"

	"github.com/eventual-go/eventual"
	"github.com/google/uuid"
)

func TestAppend(t *testing.T) {
	ev := func() eventual.EventData { return eventual.EventData{ID: uuid.Must(uuid.NewV7()), Type: "t"} }
	two := eventual.AppendRequest{StreamID: "s", Expected: eventual.Exact(1), Events: []eventual.EventData{ev(), ev()}}
	at := func(stream string, v, p uint64) *Stored { return &Stored{StreamID: stream, Version: v, Position: p} }
	tests := []struct {
		name    string
		st      Stream
		stored  []*Stored
		want    Outcome
		wantRes eventual.AppendResult
		wantErr error
	}{
		{name: "fresh append at expected version", st: Stream{Exists: true, Version: 1}, want: Write},
		{name: "stale expected version", st: Stream{Exists: true, Version: 2}, wantErr: eventual.ErrConflict},
		{name: "no stream but exact expected", st: Stream{}, wantErr: eventual.ErrConflict},
		{name: "deleted stream", st: Stream{Exists: true, Version: 1, Deleted: true}, wantErr: eventual.ErrStreamDeleted},
		{
			name: "retry of a stored append ignores the expected version", st: Stream{Exists: true, Version: 9},
			stored: []*Stored{at("s", 2, 10), at("s", 3, 11)}, want: Done,
			wantRes: eventual.AppendResult{StreamID: "s", FirstVersion: 2, LastVersion: 3, FirstPosition: 10, LastPosition: 11},
		},
		{name: "IDs stored in another stream", st: Stream{Exists: true, Version: 1}, stored: []*Stored{at("x", 2, 10), at("x", 3, 11)}, wantErr: eventual.ErrInvalidArgument},
		{name: "only some IDs stored", st: Stream{Exists: true, Version: 1}, stored: []*Stored{at("s", 2, 10), nil}, wantErr: eventual.ErrInvalidArgument},
		{name: "only the second ID stored", st: Stream{Exists: true, Version: 1}, stored: []*Stored{nil, at("s", 2, 10)}, wantErr: eventual.ErrInvalidArgument},
		{name: "IDs stored out of order", st: Stream{Exists: true, Version: 3}, stored: []*Stored{at("s", 3, 11), at("s", 2, 10)}, wantErr: eventual.ErrInvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, res, err := Append(two, tt.st, tt.stored)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want || res != tt.wantRes {
				t.Fatalf("got %v %+v, want %v %+v", got, res, tt.want, tt.wantRes)
			}
		})
	}
}
