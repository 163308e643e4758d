package flatjson

import (
	"encoding/json"
	"reflect"
	"testing"
)

var samples = []string{
	"", "plain", "a b-c_d.e/f:g", "saga/o-1/forward2", "2026-11-22T05:00:00.123456789Z",
	`quote"`, `back\slash`, "<html>&amp;", "tab\there", "line\nbreak", "\x00\x1f\x7f",
	"ünïcode", "値", "\u2028\u2029", "bad \xff utf-8", "\xed\xa0\x80",
}

func TestAppendStringIsMarshal(t *testing.T) {
	for _, s := range samples {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendString([]byte("x"), s); string(got) != "x"+string(want) {
			t.Errorf("AppendString(%q) = %s, want %s", s, got[1:], want)
		}
	}
}

func TestMarshalStringMapIsMarshal(t *testing.T) {
	maps := []map[string]string{nil, {}, {"a": "1"}, {"b": "2", "a": "1", "c": ""}}
	for _, s := range samples {
		maps = append(maps, map[string]string{s: s, "k": s})
	}
	for _, m := range maps {
		want, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if got := MarshalStringMap(m); string(got) != string(want) {
			t.Errorf("MarshalStringMap(%q) = %s, want %s", m, got, want)
		}
	}
}

func TestAppendMember(t *testing.T) {
	b := []byte{'{'}
	b = AppendMember(b, "a", "1")
	b = AppendMember(b, "b", `"`)
	b = append(b, '}')
	if want := `{"a":"1","b":"\""}`; string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
}

// unmarshalSeeds are inputs for UnmarshalStringMap: the fast path's and
// every way out of it.
var unmarshalSeeds = []string{
	`{}`, `{"a":"1"}`, `{"a":"1","b":"2"}`, `{"a":"1","a":"2"}`, `{"saga.step_key":"s/o-1/f2","t":"2026-11-22T05:00:00Z"}`,
	`null`, ``, `{`, `}`, `{"a"}`, `{"a":}`, `{"a":"1",}`, `{"a":"1"}x`, `{"a":"1"} `, ` {"a":"1"}`, `{ "a" : "1" }`,
	`{"a":1}`, `{"a":null}`, `{"a":"\u00e9"}`, `{"a":"\""}`, `{"a":"ünï"}`, `{"a":"\xff"}`, "{\"a\":\"\t\"}",
	`[]`, `"s"`, `{"a":"1"`, `{"a":"1",`, `{"a":"1"}}`,
}

func TestUnmarshalStringMapIsUnmarshal(t *testing.T) {
	for _, s := range unmarshalSeeds {
		checkUnmarshal(t, []byte(s))
	}
}

func FuzzUnmarshalStringMap(f *testing.F) {
	for _, s := range unmarshalSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(checkUnmarshal)
}

func FuzzAppendString(f *testing.F) {
	for _, s := range samples {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := AppendString(nil, s); string(got) != string(want) {
			t.Errorf("AppendString(%q) = %s, want %s", s, got, want)
		}
	})
}

func checkUnmarshal(t *testing.T, b []byte) {
	var want map[string]string
	wantErr := json.Unmarshal(b, &want)
	got, err := UnmarshalStringMap(b)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("UnmarshalStringMap(%q): error %v, json.Unmarshal's %v", b, err, wantErr)
	}
	if err == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("UnmarshalStringMap(%q) = %#v, json.Unmarshal's %#v", b, got, want)
	}
}

func BenchmarkMarshalStringMap(b *testing.B) {
	m := map[string]string{"saga.step_key": "fulfillment/ord-0192aa3c-7d1e-7c55-9a1b-2f4c9d8e1a11/forward2"}
	b.Run("flatjson", func(b *testing.B) {
		for b.Loop() {
			MarshalStringMap(m)
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		for b.Loop() {
			_, _ = json.Marshal(m)
		}
	})
}

func BenchmarkUnmarshalStringMap(b *testing.B) {
	data := []byte(`{"saga.step_key":"fulfillment/ord-0192aa3c-7d1e-7c55-9a1b-2f4c9d8e1a11/forward2"}`)
	b.Run("flatjson", func(b *testing.B) {
		for b.Loop() {
			_, _ = UnmarshalStringMap(data)
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		for b.Loop() {
			var m map[string]string
			_ = json.Unmarshal(data, &m)
		}
	})
}
