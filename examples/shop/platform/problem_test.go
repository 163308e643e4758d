package platform_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/examples/shop/platform"
)

func TestWriteErrorStatuses(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	for _, c := range []struct {
		err        error
		status     int
		retryAfter string
	}{
		{fmt.Errorf("%w: order o-1", platform.ErrNotFound), 404, ""},
		{fmt.Errorf("%w: exists", platform.ErrConflict), 409, ""},
		{eventual.ErrConflict, 409, ""},
		{fmt.Errorf("%w: bad", eventual.ErrInvalidArgument), 400, ""},
		{fmt.Errorf("%w: no stock", platform.ErrUnprocessable), 422, ""},
		{fmt.Errorf("%w: busy", platform.ErrUnavailable), 503, "1"},
		{fmt.Errorf("boom"), 500, ""},
	} {
		w := httptest.NewRecorder()
		platform.WriteError(w, httptest.NewRequest(http.MethodPost, "/api/x", nil), log, c.err)
		var p platform.Problem
		if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
			t.Fatal(err)
		}
		if w.Code != c.status || p.Status != c.status || w.Header().Get("Content-Type") != "application/problem+json" ||
			w.Header().Get("Retry-After") != c.retryAfter {
			t.Errorf("%v: %d %+v %v, want %d (Retry-After %q)", c.err, w.Code, p, w.Header(), c.status, c.retryAfter)
		}
	}
}
