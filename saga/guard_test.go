package saga_test

import (
	"context"
	"errors"
	"testing"

	"github.com/eventual-go/eventual/saga"
	"github.com/eventual-go/eventual/saga/sagatest"
	"github.com/eventual-go/eventual/transport"
)

// notes is saga data with a map, copied through JSON (it has no Clone).
type notes struct {
	Tags map[string]int `json:"tags"`
}

// tagged defines a two-step saga whose second command builder changes the
// data and then fails: the step fails, and what the builder changed is
// undone, through the map too.
func tagged[D any](t *testing.T, tags func(*D) map[string]int) *saga.Definition[D] {
	t.Helper()
	def, err := saga.Define[D]("tagged").
		Step("a").
		Command(func(_ context.Context, d *D) (transport.Message, error) {
			tags(d)["a"] = 1
			return transport.NewMessage("a.commands", "a.do", nil), nil
		}).
		OnReply("a.done", nil).
		Compensate(func(_ context.Context, d *D) (transport.Message, error) {
			return transport.NewMessage("a.commands", "a.undo", nil), nil
		}).
		OnCompensationReply("a.undone", nil).
		Step("b").
		Command(func(_ context.Context, d *D) (transport.Message, error) {
			tags(d)["b"] = 1
			return transport.Message{}, saga.Fail(errors.New("the builder fails"))
		}).
		OnReply("b.done", nil).
		Build()
	if err != nil {
		t.Fatal(err)
	}
	return def
}

func runTagged[D any](t *testing.T, data D, tags func(*D) map[string]int) {
	t.Helper()
	h := sagatest.New(t, tagged(t, tags))
	h.Start("x", data)
	h.Reply(h.ExpectCommand("a.do"), "a.done", nil)
	h.Reply(h.ExpectCommand("a.undo"), "a.undone", nil)
	in := h.ExpectStatus("x", saga.StatusFailed)
	got := tags(&in.Data)
	if got["a"] != 1 || got["b"] != 0 {
		t.Errorf("data after the failed builder: %v, want a=1 and no b", got)
	}
}

func TestFailedBuilderLeavesTheDataAsItWas(t *testing.T) {
	t.Run("json", func(t *testing.T) {
		runTagged(t, notes{Tags: map[string]int{}}, func(n *notes) map[string]int { return n.Tags })
	})
	t.Run("clone", func(t *testing.T) { // Tally implements eventual.Cloner
		runTagged(t, saga.Tally{Counts: map[string]int{}}, func(n *saga.Tally) map[string]int { return n.Counts })
	})
}
