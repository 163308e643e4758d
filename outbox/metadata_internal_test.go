package outbox

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/eventual-go/eventual"
)

// encodeMetadata writes what json.Marshal wrote before it (stored rows
// stay readable both ways), and decodeMetadata reads it back.
func TestEncodeMetadataIsMarshal(t *testing.T) {
	for _, m := range []eventual.Metadata{
		{CorrelationID: "c"},
		{UserID: "u", Extra: map[string]string{"k": "v"}},
		{Extra: map[string]string{"b": "2", "a": `<"&">`}},
		{CorrelationID: "c-1", CausationID: "c-2", TenantID: "t", UserID: "ü", TraceParent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
			TraceState: "k=v", Extra: map[string]string{"saga.step_key": "s/o-1/forward2", "\n": "値"}},
	} {
		got := encodeMetadata(m)
		want, err := json.Marshal(metadataJSON(m))
		if err != nil {
			t.Fatal(err)
		}
		if got != string(want) {
			t.Errorf("encodeMetadata(%+v) = %s, want %s", m, got, want)
		}
		back, err := decodeMetadata(got)
		if err != nil || !reflect.DeepEqual(back, m) {
			t.Errorf("decodeMetadata(%s) = %+v, %v; want %+v", got, back, err, m)
		}
	}
	if got := encodeMetadata(eventual.Metadata{}); got != "" {
		t.Errorf("encodeMetadata of nothing = %q; want the empty string", got)
	}
}
