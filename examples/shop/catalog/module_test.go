package catalog_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/eventual-go/eventual/examples/shop/catalog"
	"github.com/eventual-go/eventual/examples/shop/catalog/api"
	"github.com/eventual-go/eventual/examples/shop/kernel"
	"github.com/eventual-go/eventual/examples/shop/platform"
	"github.com/eventual-go/eventual/examples/shop/platform/platformtest"
)

type store struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	Location      string `json:"location"`
	Participating bool   `json:"participating"`
	Version       uint64 `json:"version"`
}

type product struct {
	ID          string       `json:"id"`
	StoreID     string       `json:"store_id"`
	Name        string       `json:"name"`
	Description string       `json:"description"`
	SKU         string       `json:"sku"`
	Price       kernel.Money `json:"price"`
	Removed     bool         `json:"removed"`
	Version     uint64       `json:"version"`
}

func eur(minor int64) kernel.Money { return kernel.Money{Minor: minor, Currency: "EUR"} }

func fields(p platform.Problem) string {
	var out []string
	for _, f := range p.Errors {
		out = append(out, f.Field)
	}
	return fmt.Sprint(out)
}

func TestStores(t *testing.T) {
	h := platformtest.Start(t, catalog.Module{})
	events := h.Collect(api.EventsSubjects)

	var s store
	h.Post("/api/stores", map[string]string{"name": " Tea House ", "location": "Level 1"}, &s, 201)
	if s.ID == "" || s.Name != "Tea House" || s.Location != "Level 1" || !s.Participating || s.Version != 1 {
		t.Fatalf("created %+v", s)
	}
	var got store
	h.Get("/api/stores/"+s.ID, &got, 200)
	if got != s {
		t.Errorf("GET %+v, want %+v", got, s)
	}
	h.Post("/api/stores/"+s.ID+"/rebrand", map[string]string{"name": "Tea & Co"}, &got, 200)
	h.Post("/api/stores/"+s.ID+"/rebrand", map[string]string{"name": "Tea & Co"}, &got, 200) // no change
	if got.Name != "Tea & Co" || got.Version != 2 {
		t.Errorf("rebranded %+v", got)
	}
	h.Post("/api/stores/"+s.ID+"/participation", map[string]bool{"participating": false}, &got, 200)
	if got.Participating || got.Version != 3 {
		t.Errorf("participation %+v", got)
	}

	var p platform.Problem
	for name, tt := range map[string]struct {
		path   string
		body   any
		fields string
	}{
		"no name":          {"/api/stores", map[string]string{"location": "x"}, "[name]"},
		"blank name":       {"/api/stores", map[string]string{"name": "  "}, "[name]"},
		"unknown field":    {"/api/stores", map[string]string{"name": "x", "owner": "y"}, "[owner]"},
		"rebrand no name":  {"/api/stores/" + s.ID + "/rebrand", map[string]string{}, "[name]"},
		"no participating": {"/api/stores/" + s.ID + "/participation", map[string]string{}, "[participating]"},
		"not a bool":       {"/api/stores/" + s.ID + "/participation", map[string]string{"participating": "yes"}, "[participating]"},
	} {
		t.Run(name, func(t *testing.T) {
			if status := h.Do("POST", tt.path, tt.body, &p); status != 400 || fields(p) != tt.fields {
				t.Errorf("%d %+v, want 400 naming %s", status, p, tt.fields)
			}
		})
	}
	h.Get("/api/stores/nope", nil, 404)
	if status := h.Do("POST", "/api/stores/nope/rebrand", map[string]string{"name": "x"}, &p); status != 404 {
		t.Errorf("rebrand unknown: %d", status)
	}
	if status := h.Do("POST", "/api/stores/nope/participation", map[string]bool{"participating": true}, &p); status != 404 {
		t.Errorf("participation unknown: %d", status)
	}

	// The listing, page by page.
	ids := []string{s.ID}
	for i := range 4 {
		var more store
		h.Post("/api/stores", map[string]string{"name": fmt.Sprint("Store ", i)}, &more, 201)
		ids = append(ids, more.ID)
	}
	var page platform.Page[store]
	h.Eventually("the stores listed", func() bool {
		h.Get("/api/stores?limit=500", &page, 200)
		return len(page.Items) == 5
	})
	if page.Items[0].Name != "Tea & Co" || page.Items[0].Participating {
		t.Errorf("listed %+v", page.Items[0])
	}
	var listed []string
	cursor := ""
	for {
		var pg platform.Page[store]
		h.Get("/api/stores?limit=2&cursor="+cursor, &pg, 200)
		for _, s := range pg.Items {
			listed = append(listed, s.ID)
		}
		if pg.NextCursor == "" {
			break
		}
		cursor = pg.NextCursor
	}
	if fmt.Sprint(listed) != fmt.Sprint(ids) {
		t.Errorf("pages %v, want %v", listed, ids)
	}
	if status := h.Do("GET", "/api/stores?limit=1000", nil, &p); status != 400 || fields(p) != "[limit]" {
		t.Errorf("limit: %d %+v", status, p)
	}
	if status := h.Do("GET", "/api/stores?cursor=zzz", nil, &p); status != 400 || fields(p) != "[cursor]" {
		t.Errorf("cursor: %d %+v", status, p)
	}

	h.Eventually("the integration events", func() bool { return len(events.All()) == 7 })
	want := []string{api.TypeStoreCreated, api.TypeStoreRebranded, api.TypeStoreParticipationChanged}
	for i, d := range events.All()[:3] {
		if d.Type != want[i] || d.Key != s.ID {
			t.Errorf("event %d: %s key %s, want %s", i, d.Type, d.Key, want[i])
		}
	}
	var created api.StoreCreated
	_ = json.Unmarshal(events.All()[0].Data, &created)
	if created != (api.StoreCreated{StoreID: s.ID, Name: "Tea House", Location: "Level 1"}) {
		t.Errorf("created event %+v", created)
	}
}

func TestProducts(t *testing.T) {
	h := platformtest.Start(t, catalog.Module{})
	events := h.Collect(api.EventsSubjects)
	var s, other store
	h.Post("/api/stores", map[string]string{"name": "Tea House"}, &s, 201)
	h.Post("/api/stores", map[string]string{"name": "Books"}, &other, 201)

	var p product
	h.Post("/api/stores/"+s.ID+"/products", map[string]any{"name": "Sencha", "description": "green", "sku": "TEA-1",
		"price": map[string]any{"minor": 450, "currency": "EUR"}}, &p, 201)
	if p.ID == "" || p.StoreID != s.ID || p.Name != "Sencha" || p.SKU != "TEA-1" || p.Price != eur(450) || p.Removed {
		t.Fatalf("added %+v", p)
	}
	var got product
	h.Get("/api/products/"+p.ID, &got, 200)
	if got != p {
		t.Errorf("GET %+v, want %+v", got, p)
	}
	var second, book product
	h.Post("/api/stores/"+s.ID+"/products", map[string]any{"name": "Assam", "sku": "TEA-2", "price": eur(300)}, &second, 201)
	h.Post("/api/stores/"+other.ID+"/products", map[string]any{"name": "Dune", "sku": "BK-1", "price": eur(1200)}, &book, 201)

	h.Post("/api/products/"+p.ID+"/rebrand", map[string]string{"name": "Sencha Superior", "description": "100 g"}, &got, 200)
	if got.Name != "Sencha Superior" || got.Description != "100 g" {
		t.Errorf("rebranded %+v", got)
	}
	h.Post("/api/products/"+p.ID+"/price", map[string]any{"price": eur(500)}, &got, 200)
	h.Post("/api/products/"+p.ID+"/price", map[string]any{"price": eur(500)}, &got, 200) // no change
	if got.Price != eur(500) || got.Version != 3 {
		t.Errorf("repriced %+v", got)
	}

	var pr platform.Problem
	add := "/api/stores/" + s.ID + "/products"
	for name, tt := range map[string]struct {
		path   string
		body   any
		fields string
	}{
		"empty":         {add, map[string]any{}, "[name sku price.minor price.currency]"},
		"zero price":    {add, map[string]any{"name": "x", "sku": "y", "price": eur(0)}, "[price.minor]"},
		"negative":      {add, map[string]any{"name": "x", "sku": "y", "price": eur(-1)}, "[price.minor]"},
		"bad currency":  {add, map[string]any{"name": "x", "sku": "y", "price": kernel.Money{Minor: 1, Currency: "euro"}}, "[price.currency]"},
		"amount string": {add, map[string]any{"name": "x", "sku": "y", "price": map[string]string{"minor": "1"}}, "[price.minor]"},
		"rebrand":       {"/api/products/" + p.ID + "/rebrand", map[string]string{"description": "d"}, "[name]"},
		"price":         {"/api/products/" + p.ID + "/price", map[string]any{"price": eur(0)}, "[price.minor]"},
	} {
		t.Run(name, func(t *testing.T) {
			if status := h.Do("POST", tt.path, tt.body, &pr); status != 400 || fields(pr) != tt.fields {
				t.Errorf("%d %+v, want 400 naming %s", status, pr, tt.fields)
			}
		})
	}
	if status := h.Do("POST", "/api/products/"+p.ID+"/price", map[string]any{"price": kernel.Money{Minor: 500, Currency: "USD"}}, &pr); status != 422 {
		t.Errorf("another currency: %d %+v", status, pr)
	}
	if status := h.Do("POST", "/api/stores/nope/products", map[string]any{"name": "x", "sku": "y", "price": eur(1)}, &pr); status != 404 {
		t.Errorf("unknown store: %d %+v", status, pr)
	}
	h.Get("/api/products/nope", nil, 404)
	for path, body := range map[string]any{"/rebrand": map[string]string{"name": "x"}, "/price": map[string]any{"price": eur(1)}, "/remove": nil} {
		if status := h.Do("POST", "/api/products/nope"+path, body, &pr); status != 404 {
			t.Errorf("%s of unknown: %d", path, status)
		}
	}

	// Removed: still readable, never changed again, not listed.
	h.Post("/api/products/"+second.ID+"/remove", nil, &got, 200)
	if !got.Removed {
		t.Errorf("removed %+v", got)
	}
	h.Get("/api/products/"+second.ID, &got, 200)
	if !got.Removed || got.Name != "Assam" {
		t.Errorf("GET removed %+v", got)
	}
	for path, body := range map[string]any{"/rebrand": map[string]string{"name": "x"}, "/price": map[string]any{"price": eur(1)}, "/remove": nil} {
		if status := h.Do("POST", "/api/products/"+second.ID+path, body, &pr); status != 409 {
			t.Errorf("%s of a removed product: %d %+v", path, status, pr)
		}
	}

	var page platform.Page[product]
	h.Eventually("the products listed", func() bool {
		h.Get("/api/products", &page, 200)
		return len(page.Items) == 2 && page.Items[0].Price == eur(500)
	})
	if page.Items[0].ID != p.ID || page.Items[0].Name != "Sencha Superior" || page.Items[1].ID != book.ID {
		t.Errorf("listed %+v", page.Items)
	}
	page = platform.Page[product]{}
	h.Get("/api/products?store_id="+s.ID, &page, 200)
	if len(page.Items) != 1 || page.Items[0].ID != p.ID {
		t.Errorf("store's products %+v", page.Items)
	}
	h.Get("/api/products?limit=1", &page, 200)
	if len(page.Items) != 1 || page.NextCursor == "" {
		t.Fatalf("first page %+v", page)
	}
	cursor := page.NextCursor
	page = platform.Page[product]{}
	h.Get("/api/products?limit=1&cursor="+cursor, &page, 200)
	if len(page.Items) != 1 || page.Items[0].ID != book.ID || page.NextCursor != "" {
		t.Errorf("second page %+v", page)
	}

	// The read tables are rebuilt from the log alone.
	if err := h.Host.Services("catalog").Projections.Rebuild(context.Background(), "catalog"); err != nil {
		t.Fatal(err)
	}
	page = platform.Page[product]{}
	h.Get("/api/products", &page, 200)
	if len(page.Items) != 2 || page.Items[0].ID != p.ID || page.Items[0].Price != eur(500) || page.Items[1].ID != book.ID {
		t.Errorf("listed after a rebuild %+v", page.Items)
	}

	h.Eventually("the integration events", func() bool { return len(events.Of(api.TypeProductRemoved)) == 1 })
	if n := len(events.Of(api.TypeProductAdded)); n != 3 {
		t.Errorf("%d ProductAdded", n)
	}
	changed := events.Of(api.TypeProductPriceChanged)
	var pc api.ProductPriceChanged
	if len(changed) != 1 || json.Unmarshal(changed[0].Data, &pc) != nil || changed[0].Key != p.ID ||
		pc != (api.ProductPriceChanged{ProductID: p.ID, Price: eur(500), OldPrice: eur(450)}) {
		t.Errorf("price changed %d %+v", len(changed), pc)
	}
	var added api.ProductAdded
	_ = json.Unmarshal(events.Of(api.TypeProductAdded)[0].Data, &added)
	if added != (api.ProductAdded{ProductID: p.ID, StoreID: s.ID, Name: "Sencha", Description: "green", SKU: "TEA-1", Price: eur(450)}) {
		t.Errorf("added event %+v", added)
	}
}
