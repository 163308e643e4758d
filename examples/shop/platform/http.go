package platform

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"

	openapi "github.com/swaggest/openapi-go"
	"github.com/swaggest/openapi-go/openapi3"
)

// MaxBodyBytes bounds a request body.
const MaxBodyBytes = 1 << 20

// Router holds the API's endpoints: each registered with its handler and
// described in the OpenAPI document served at /openapi.json.
type Router struct {
	mux   *http.ServeMux
	log   *slog.Logger
	posts []func(http.Handler) http.Handler // what every POST runs behind

	mu      sync.Mutex
	spec    *openapi3.Reflector
	specErr error
	routes  []string
}

// NewRouter returns an empty router. Every POST endpoint registered on it
// runs behind posts, the first outermost (the host's: the Idempotency
// middleware), and behind those its Endpoint.Admit check, so that a
// request is routed once and refused before any of them.
func NewRouter(log *slog.Logger, posts ...func(http.Handler) http.Handler) *Router {
	ref := openapi3.NewReflector()
	ref.Spec = &openapi3.Spec{Openapi: "3.0.3"}
	ref.Spec.Info.WithTitle("Eventual shop API").WithVersion("1.0.0").
		WithDescription("Order fulfillment: customers, catalog, inventory, ordering, payments, shipping, notifications, reporting.")
	return &Router{mux: http.NewServeMux(), log: log, posts: posts, spec: ref}
}

// Endpoint describes an operation of the API.
type Endpoint struct {
	// Method and Path as in net/http patterns, parameters in braces:
	// "POST /api/orders/{id}/cancel" is Method "POST", Path
	// "/api/orders/{id}/cancel".
	Method, Path string
	// Summary says what it does; Tag groups it (the module's name).
	Summary, Tag string
	// Status is the status of success (default 200; 201 for a creation).
	Status int
	// Errors lists the error statuses it may answer with, described as
	// problem+json (400 is added for endpoints with input).
	Errors []int
	// Admit, if set, runs before anything else is done for a request
	// once it is routed (before its body is read and its Idempotency-Key
	// looked up: NewRouter's posts): a cheap check, like a bound on the work in progress,
	// whose error answers at once (ErrUnavailable: 503 with Retry-After).
	// A shop past its capacity then refuses the excess for little more than
	// reading its headers, and keeps its CPU for the requests it took. A
	// refused request has done nothing: its client retries it with the same
	// key. The handler must still check what it relies on: Admit is a fast
	// path for the API, not the use case's guard.
	Admit func() error
}

// Empty is the request or response of an endpoint without one.
type Empty struct{}

// Validator is a request that checks itself; a *ValidationError (see
// Check) becomes a 400 naming the fields.
type Validator interface{ Validate() error }

// Handle registers fn for e. Req describes the request: fields tagged
// path:"name" and query:"name" are filled from the URL, the others are
// the JSON body (unknown fields are refused); Resp is the JSON response
// (Empty: none, status 204 unless e.Status says otherwise). Both are
// described in the OpenAPI document.
func Handle[Req, Resp any](r *Router, e Endpoint, fn func(ctx context.Context, req Req) (Resp, error)) {
	if e.Status == 0 {
		e.Status = http.StatusOK
		if isEmpty[Resp]() {
			e.Status = http.StatusNoContent
		}
	}
	r.document(e, new(Req), new(Resp))
	r.handle(e.Method+" "+e.Path, e.Admit, http.HandlerFunc(func(w http.ResponseWriter, hr *http.Request) {
		var req Req
		if err := bind(hr, &req); err != nil {
			WriteError(w, hr, r.log, err)
			return
		}
		if v, ok := any(&req).(Validator); ok {
			if err := v.Validate(); err != nil {
				WriteError(w, hr, r.log, err)
				return
			}
		}
		resp, err := fn(hr.Context(), req)
		if err != nil {
			WriteError(w, hr, r.log, err)
			return
		}
		if isEmpty[Resp]() && e.Status == http.StatusNoContent {
			w.WriteHeader(e.Status)
			return
		}
		WriteJSON(w, e.Status, resp)
	}))
}

// HandleHTTP registers a plain handler for a net/http pattern, without
// documentation (for streams and the like; describe them with Document).
func (r *Router) HandleHTTP(pattern string, h http.Handler) { r.handle(pattern, nil, h) }

// handle registers h for pattern: a POST behind r's posts, then admit
// (if any) in front of everything.
func (r *Router) handle(pattern string, admit func() error, h http.Handler) {
	if strings.HasPrefix(pattern, http.MethodPost+" ") {
		for i := len(r.posts) - 1; i >= 0; i-- {
			h = r.posts[i](h)
		}
	}
	if admit != nil {
		next := h
		h = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if err := admit(); err != nil {
				WriteError(w, req, r.log, err)
				return
			}
			next.ServeHTTP(w, req)
		})
	}
	r.mu.Lock()
	r.routes = append(r.routes, pattern)
	r.mu.Unlock()
	r.mux.Handle(pattern, h)
}

// Document adds an operation to the OpenAPI document without a handler
// (for one registered with HandleHTTP). req and resp are pointers to
// structures as for Handle; contentType, when set, is the response's.
func (r *Router) Document(e Endpoint, req, resp any, contentType string) {
	r.documentAs(e, req, resp, contentType)
}

func isEmpty[T any]() bool {
	var v T
	_, ok := any(v).(Empty)
	return ok
}

// WriteJSON answers with v as JSON.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// ServeHTTP serves the endpoints and /openapi.json.
func (r *Router) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mux.ServeHTTP(w, req)
}

// OpenAPI returns the OpenAPI document as JSON. Errors: a description
// that could not be reflected.
func (r *Router) OpenAPI() ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.specErr != nil {
		return nil, r.specErr
	}
	return json.MarshalIndent(r.spec.Spec, "", "  ")
}

func (r *Router) document(e Endpoint, req, resp any) { r.documentAs(e, req, resp, "") }

func (r *Router) documentAs(e Endpoint, req, resp any, contentType string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	oc, err := r.spec.NewOperationContext(e.Method, e.Path)
	if err != nil {
		r.specErr = errors.Join(r.specErr, fmt.Errorf("%s %s: %w", e.Method, e.Path, err))
		return
	}
	oc.SetSummary(e.Summary)
	if e.Tag != "" {
		oc.SetTags(e.Tag)
	}
	oc.SetID(operationID(e))
	if _, empty := req.(*Empty); !empty && req != nil {
		oc.AddReqStructure(req)
	}
	status := e.Status
	if status == 0 {
		status = http.StatusOK
	}
	opts := []openapi.ContentOption{openapi.WithHTTPStatus(status)}
	if contentType != "" {
		opts = append(opts, openapi.WithContentType(contentType))
	}
	if _, empty := resp.(*Empty); empty || resp == nil {
		oc.AddRespStructure(nil, opts...)
	} else {
		oc.AddRespStructure(resp, opts...)
	}
	errs := append([]int(nil), e.Errors...)
	if _, empty := req.(*Empty); !empty && req != nil && !contains(errs, http.StatusBadRequest) {
		errs = append(errs, http.StatusBadRequest)
	}
	if e.Method == http.MethodPost && !contains(errs, http.StatusUnprocessableEntity) {
		errs = append(errs, http.StatusUnprocessableEntity) // Idempotency-Key reused with another body
	}
	for _, s := range errs {
		oc.AddRespStructure(new(Problem), openapi.WithHTTPStatus(s), openapi.WithContentType("application/problem+json"))
	}
	if err := r.spec.AddOperation(oc); err != nil {
		r.specErr = errors.Join(r.specErr, fmt.Errorf("%s %s: %w", e.Method, e.Path, err))
	}
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// operationID makes an ID from the method and path: "POST
// /api/orders/{id}/cancel" → "post_orders_id_cancel".
func operationID(e Endpoint) string {
	p := strings.TrimPrefix(e.Path, "/api")
	p = strings.NewReplacer("{", "", "}", "", "/", "_", "-", "_").Replace(p)
	return strings.ToLower(e.Method) + p
}

// bind fills req from the request: path and query parameters by their
// tags, the rest from the JSON body.
func bind(r *http.Request, req any) error {
	v := reflect.ValueOf(req).Elem()
	if v.Kind() != reflect.Struct {
		return nil
	}
	t := v.Type()
	var check Check
	hasBody := false
	for i := range t.NumField() {
		f := t.Field(i)
		var raw string
		var name string
		switch {
		case f.Tag.Get("path") != "":
			name = f.Tag.Get("path")
			raw = r.PathValue(name)
		case f.Tag.Get("query") != "":
			name = f.Tag.Get("query")
			raw = r.URL.Query().Get(name)
		default:
			if f.IsExported() && f.Tag.Get("json") != "-" {
				hasBody = true
			}
			continue
		}
		if raw == "" {
			continue
		}
		if err := setString(v.Field(i), raw); err != nil {
			check.Add(name, err)
		}
	}
	if hasBody && r.Body != nil && r.ContentLength != 0 {
		dec := json.NewDecoder(io.LimitReader(r.Body, MaxBodyBytes))
		dec.DisallowUnknownFields()
		if err := dec.Decode(req); err != nil && !errors.Is(err, io.EOF) {
			check.Add(bodyField(err), bodyError(err))
		}
	}
	return check.Err()
}

// setString sets a string, integer or boolean field from text.
func setString(f reflect.Value, raw string) error {
	switch f.Kind() {
	case reflect.String:
		f.SetString(raw)
	case reflect.Int, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return errors.New("must be an integer")
		}
		f.SetInt(n)
	case reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return errors.New("must be true or false")
		}
		f.SetBool(b)
	default:
		return fmt.Errorf("unsupported parameter type %s", f.Type())
	}
	return nil
}

// bodyField names the field a JSON error is about.
func bodyField(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return te.Field
	}
	if s := err.Error(); strings.HasPrefix(s, "json: unknown field ") {
		return strings.Trim(strings.TrimPrefix(s, "json: unknown field "), `"`)
	}
	return "body"
}

func bodyError(err error) error {
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &te):
		return fmt.Errorf("must be %s", te.Type)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return errors.New("is not a field of this request")
	}
	return fmt.Errorf("is not valid JSON: %v", err)
}
