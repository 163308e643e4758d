// Package e2e tests the shop as its users meet it: the real binary,
// started on a free port with a temporary data directory, driven over its
// HTTP API; killed and restarted where the test is about crashes.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
)

// binary is the shop built once for every test.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "shop-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "shop")
	build := exec.Command("go", "build", "-o", binary, "github.com/eventual-go/eventual/examples/shop/cmd/shop")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the shop:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// shop is a running shop process.
type shop struct {
	t    *testing.T
	base string
	data string
	env  []string
	cmd  *exec.Cmd
	log  *syncBuffer
	done chan error
}

// timing makes the saga's step timeout short, so that payment timeouts
// end in seconds.
var timing = []string{"SHOP_SAGA_STEP_TIMEOUT=1s", "SHOP_SAGA_ATTEMPTS=2", "SHOP_SAGA_BACKOFF=100ms"}

// startShop starts the binary on a free port and a new data directory.
func startShop(t *testing.T, env ...string) *shop {
	t.Helper()
	s := &shop{t: t, data: t.TempDir(), env: append(append([]string{}, timing...), env...)}
	s.start()
	t.Cleanup(func() { s.stop() })
	return s
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// start runs the process (again) on the same data directory.
func (s *shop) start() {
	s.t.Helper()
	addr := freePort(s.t)
	s.base = "http://" + addr
	s.log = &syncBuffer{}
	s.cmd = exec.Command(binary)
	s.cmd.Env = append(os.Environ(), append([]string{"SHOP_DATA_DIR=" + s.data, "SHOP_HTTP_ADDR=" + addr, "SHOP_LOG_LEVEL=warn"}, s.env...)...)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.done = make(chan error, 1)
	go func() { s.done <- s.cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		select {
		case err := <-s.done:
			s.t.Fatalf("the shop exited: %v\n%s", err, s.log.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the shop is not ready after 30 s\n%s", s.log.String())
		}
	}
}

// stop asks the process to stop (SIGTERM) and wants a clean exit.
func (s *shop) stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		if err != nil {
			s.t.Errorf("the shop did not stop cleanly: %v\n%s", err, s.log.String())
		}
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		s.t.Errorf("the shop did not stop in 30 s\n%s", s.log.String())
	}
	s.cmd = nil
}

// kill kills the process without warning.
func (s *shop) kill() {
	_ = s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// do calls the API; body as JSON, the response into out; it returns the
// status.
func (s *shop) do(method, path string, body, out any, headers ...string) int {
	s.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			s.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.base+path, r)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if _, raw := out.(*json.RawMessage); out != nil && len(b) > 0 && resp.StatusCode >= 300 && !raw {
		_ = json.Unmarshal(b, out) // a problem, if out has its fields
	} else if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			s.t.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, b, err)
		}
	}
	return resp.StatusCode
}

// must calls the API and wants status want.
func (s *shop) must(method, path string, body, out any, want int) {
	s.t.Helper()
	var raw json.RawMessage
	got := s.do(method, path, body, &raw)
	if got != want {
		s.t.Fatalf("%s %s: status %d, want %d: %s", method, path, got, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			s.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

// eventually waits up to 20 s for cond.
func (s *shop) eventually(what string, cond func() bool) {
	s.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			s.t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func id() string { return uuid.Must(uuid.NewV7()).String() }

// world is what the scenarios share: a customer, a store and products.
type world struct {
	customer string
	store    string
	tea      string // 100 in stock, 4.50 EUR
	cups     string // 3 in stock, 12.00 EUR
}

func money(minor int64) map[string]any { return map[string]any{"minor": minor, "currency": "EUR"} }

var paris = map[string]string{"name": "Ada Lovelace", "street": "1 Rue de la Paix", "city": "Paris", "postal_code": "75002", "country": "FR"}

// setUp creates the world through the API and waits until ordering can
// sell its products.
func setUp(s *shop) world {
	s.t.Helper()
	var w world
	var x struct {
		ID string `json:"id"`
	}
	s.must("POST", "/api/customers", map[string]string{"name": "Ada Lovelace", "email": "ada@example.com", "sms_number": "+33612345678"}, &x, 201)
	w.customer = x.ID
	s.must("POST", "/api/stores", map[string]string{"name": "Tea House", "location": "Level 2"}, &x, 201)
	w.store = x.ID
	s.must("POST", "/api/stores/"+w.store+"/products", map[string]any{"name": "Oolong tea", "description": "A half-oxidized tea from Taiwan", "sku": "TEA-1", "price": money(450)}, &x, 201)
	w.tea = x.ID
	s.must("POST", "/api/stores/"+w.store+"/products", map[string]any{"name": "Tea cup", "description": "Porcelain cup", "sku": "CUP-1", "price": money(1200)}, &x, 201)
	w.cups = x.ID
	s.must("POST", "/api/stock/"+w.tea+"/receive", map[string]any{"quantity": 100}, nil, 200)
	s.must("POST", "/api/stock/"+w.cups+"/receive", map[string]any{"quantity": 3}, nil, 200)
	// Ordering learns the products from the catalog's events.
	s.eventually("ordering knows the products", func() bool {
		var b struct {
			ID string `json:"id"`
		}
		s.must("POST", "/api/baskets", map[string]string{"customer_id": w.customer}, &b, 201)
		return s.do("POST", "/api/baskets/"+b.ID+"/items", map[string]any{"product_id": w.tea, "quantity": 1}, nil) == 200 &&
			s.do("POST", "/api/baskets/"+b.ID+"/items", map[string]any{"product_id": w.cups, "quantity": 1}, nil) == 200
	})
	return w
}

type orderView struct {
	ID             string `json:"id"`
	Status         string `json:"status"`
	Reason         string `json:"reason"`
	TrackingNumber string `json:"tracking_number"`
	Total          struct {
		Minor int64 `json:"minor"`
	} `json:"total"`
}

// placeOrder places an order in one call.
func placeOrder(s *shop, w world, token string, address map[string]string, lines ...any) orderView {
	s.t.Helper()
	var o orderView
	s.must("POST", "/api/orders", map[string]any{"customer_id": w.customer, "lines": lines, "shipping_address": address, "payment_token": token}, &o, 201)
	if o.Status != "placed" {
		s.t.Fatalf("new order %+v", o)
	}
	return o
}

func line(product string, n int) map[string]any {
	return map[string]any{"product_id": product, "quantity": n}
}

// settled waits until the order leaves "placed" and returns it.
func settled(s *shop, orderID string) orderView {
	s.t.Helper()
	var o orderView
	s.eventually("order "+orderID+" settles", func() bool {
		s.must("GET", "/api/orders/"+orderID, nil, &o, 200)
		return o.Status != "placed"
	})
	return o
}

type stock struct {
	OnHand    int64 `json:"on_hand"`
	Reserved  int64 `json:"reserved"`
	Available int64 `json:"available"`
}

func stockOf(s *shop, product string) stock {
	s.t.Helper()
	var st stock
	s.must("GET", "/api/stock/"+product, nil, &st, 200)
	return st
}

type payment struct {
	Status string `json:"status"`
	Amount struct {
		Minor int64 `json:"minor"`
	} `json:"amount"`
}

func paymentOf(s *shop, orderID string) (payment, int) {
	var p payment
	return p, s.do("GET", "/api/payments/"+orderID, nil, &p)
}

// sagaDone waits until the order's fulfillment saga finished and returns
// its status.
func sagaDone(s *shop, name, orderID string) string {
	s.t.Helper()
	var sg struct {
		Status string `json:"status"`
	}
	s.eventually(name+" saga of "+orderID+" finishes", func() bool {
		return s.do("GET", "/api/sagas/"+name+"/"+orderID, nil, &sg) == 200 && (sg.Status == "done" || sg.Status == "failed")
	})
	return sg.Status
}

// openStream follows the order status stream; the returned function
// returns the statuses seen for an order so far.
func openStream(s *shop, path string) func(orderID string) []string {
	s.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s.t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", s.base+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		s.t.Fatalf("stream %s: %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var mu sync.Mutex
	seen := map[string][]string{}
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			data, ok := strings.CutPrefix(sc.Text(), "data:")
			if !ok {
				continue
			}
			var e struct {
				OrderID string `json:"order_id"`
				Status  string `json:"status"`
			}
			if json.Unmarshal([]byte(strings.TrimSpace(data)), &e) == nil {
				mu.Lock()
				seen[e.OrderID] = append(seen[e.OrderID], e.Status)
				mu.Unlock()
			}
		}
	}()
	return func(orderID string) []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen[orderID]...)
	}
}

func httpGet(url string) (string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}
