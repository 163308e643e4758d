package saga

import (
	"encoding/json"
	"reflect"
	"testing"
)

// historyEvent writes the data it splices in as json.Marshal would have
// written it in Data: the event decodes to the same entries and data.
func TestHistoryEventCarriesTheDataAsMarshalWould(t *testing.T) {
	type order struct {
		ID    string            `json:"id"`
		Note  string            `json:"note"`
		Lines []map[string]any  `json:"lines"`
		Tags  map[string]string `json:"tags,omitempty"`
	}
	for _, tc := range []struct {
		name    string
		data    order
		entries []historyData
		changed bool
	}{
		{"one entry, data changed", order{ID: "o-1", Note: `<a href="x">&</a> "quoted" \ é`, Lines: []map[string]any{{"sku": "p-1", "qty": 2.0}}}, []historyData{{Type: EventStarted}}, true},
		{"several entries, data changed", order{ID: "o-2", Tags: map[string]string{"b": "2", "a": "1"}}, []historyData{
			{Type: EventReplyReceived, MessageID: "m-1", ReplyType: "r"}, {Type: EventStepCompleted, Step: 1},
			{Type: EventCommandSent, Step: 2, StepName: "pay", Attempt: 1, MessageID: "m-2"}}, true},
		{"data unchanged", order{ID: "o-3"}, []historyData{{Type: EventTimedOut, Reason: "late"}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			encoded, err := json.Marshal(tc.data)
			if err != nil {
				t.Fatal(err)
			}
			st := &state[order]{name: "s", id: "i", data: tc.data, entries: tc.entries, encoded: encoded}
			if !tc.changed {
				st.recorded = encoded
			}
			e, err := st.historyEvent()
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid(e.Data) {
				t.Fatalf("history event is not JSON: %s", e.Data)
			}
			if want := tc.entries[len(tc.entries)-1].Type; e.Type != want {
				t.Errorf("type %q, want %q", e.Type, want)
			}
			// What json.Marshal makes of the same entry with Data set.
			last := tc.entries[len(tc.entries)-1]
			last.Type = ""
			if len(tc.entries) > 1 {
				last.Before = tc.entries[:len(tc.entries)-1]
			}
			if tc.changed {
				last.Data = encoded
			}
			want, err := json.Marshal(last)
			if err != nil {
				t.Fatal(err)
			}
			var got, exp historyData
			if err := json.Unmarshal(e.Data, &got); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(want, &exp); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, exp) {
				t.Errorf("history event decodes to\n%+v\nwant\n%+v\n(%s)", got, exp, e.Data)
			}
			if tc.changed && string(got.Data) != string(encoded) {
				t.Errorf("data %s, want %s", got.Data, encoded)
			}
		})
	}
}

func BenchmarkHistoryEvent(b *testing.B) {
	type line struct {
		ProductID, StoreID, Name string
		Quantity, Price          int64
	}
	type order struct {
		ID, CustomerID, PaymentID string
		Lines                     []line
		Address                   map[string]string
	}
	data := order{ID: "ord-0192aa3c-7d1e-7c55-9a1b-2f4c9d8e1a11", CustomerID: "cus-0192aa3c-7d1e-7c55-9a1b-2f4c9d8e1a12",
		Lines:   []line{{"prd-1", "st-1", "Blue widget", 2, 1999}, {"prd-2", "st-2", "Red widget", 1, 2999}},
		Address: map[string]string{"name": "A B", "line1": "Street 1", "city": "Town", "postal": "12345", "country": "DE"}}
	encoded, err := json.Marshal(data)
	if err != nil {
		b.Fatal(err)
	}
	entries := []historyData{{Type: EventReplyReceived, MessageID: "m-1", ReplyType: "r"}, {Type: EventStepCompleted, Step: 1},
		{Type: EventCommandSent, Step: 2, StepName: "pay", Attempt: 1, MessageID: "m-2"}}
	for b.Loop() {
		st := &state[order]{name: "s", id: "i", data: data, entries: entries, encoded: encoded}
		if _, err := st.historyEvent(); err != nil {
			b.Fatal(err)
		}
	}
}
