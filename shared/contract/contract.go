// Package contract holds the HTTP contract as an OpenAPI 3.0.3 document: the
// one source for the routes every function serves, for what /openapi.json
// answers, and for the route tables that template.yaml and infra/ are
// checked against.
package contract

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// YAML is the document as written.
//
//go:embed openapi.yaml
var YAML []byte

var parsed = sync.OnceValues(func() (map[string]any, error) {
	var doc map[string]any
	if err := yaml.Unmarshal(YAML, &doc); err != nil {
		return nil, fmt.Errorf("contract: %w", err)
	}
	return doc, nil
})

// JSON is the document as JSON, the form clients and API Gateway import.
var JSON = sync.OnceValue(func() []byte {
	doc, err := parsed()
	if err != nil {
		panic(err) // the embedded document is checked by the package's tests
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		panic(err)
	}
	return b
})

// Route is one operation of the contract.
type Route struct {
	Method string
	Path   string // with {parameters}, as in the document
}

// Pattern is the route as an http.ServeMux pattern, "GET /promotions".
func (r Route) Pattern() string { return r.Method + " " + r.Path }

// Function names which function serves the route; the document's tags say so.
// Routes tagged meta are served by every function.
type Function string

// Routes returns every operation of the API with the function that serves
// it (its first tag): what a deployment routes. The development issuer's
// routes (tag dev) are the local stack's own and not among them.
func Routes() map[Route]Function {
	out := map[Route]Function{}
	for r, fn := range operations() {
		if fn != Dev {
			out[r] = fn
		}
	}
	return out
}

// DevRoutes returns the patterns of the development issuer's routes, which
// only the local stack serves, sorted.
func DevRoutes() []string {
	var out []string
	for r, fn := range operations() {
		if fn == Dev {
			out = append(out, r.Pattern())
		}
	}
	sort.Strings(out)
	return out
}

// Dev tags the development issuer's routes.
const Dev Function = "dev"

func operations() map[Route]Function {
	doc, err := parsed()
	if err != nil {
		panic(err)
	}
	out := map[Route]Function{}
	paths, _ := doc["paths"].(map[string]any)
	for path, item := range paths {
		ops, _ := item.(map[string]any)
		for method, op := range ops {
			m := strings.ToUpper(method)
			if !isMethod(m) {
				continue // parameters, summary
			}
			fields, _ := op.(map[string]any)
			tags, _ := fields["tags"].([]any)
			var fn Function
			if len(tags) > 0 {
				fn = Function(fmt.Sprint(tags[0]))
			}
			out[Route{Method: m, Path: path}] = fn
		}
	}
	return out
}

// CustomerRoutes returns the patterns of the routes that take a customer's
// token (security scheme "customer"), sorted: the routes a gateway's JWT
// authorizer must guard, and only those.
func CustomerRoutes() []string {
	doc, err := parsed()
	if err != nil {
		panic(err)
	}
	var out []string
	paths, _ := doc["paths"].(map[string]any)
	for path, item := range paths {
		ops, _ := item.(map[string]any)
		for method, op := range ops {
			fields, _ := op.(map[string]any)
			security, _ := fields["security"].([]any)
			for _, req := range security {
				if r, _ := req.(map[string]any); r != nil && r["customer"] != nil {
					out = append(out, strings.ToUpper(method)+" "+path)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// Patterns returns the ServeMux patterns of the routes served by fn,
// including those every function serves, sorted.
func Patterns(fn Function) []string {
	var out []string
	for r, f := range Routes() {
		if f == fn || f == Meta {
			out = append(out, r.Pattern())
		}
	}
	sort.Strings(out)
	return out
}

// Meta tags the routes every function serves.
const Meta Function = "meta"

func isMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodHead, http.MethodOptions:
		return true
	}
	return false
}

// Handler serves the document as JSON.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(JSON())
	})
}
