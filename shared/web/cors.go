package web

import (
	"net/http"
	"net/url"
	"strings"
)

// CORS says which browser origins may call the API, for storefronts served
// from another origin. A pattern is an origin ("https://shop.example"),
// an origin with any port ("http://localhost:*"), or "*" for any origin.
type CORS struct {
	patterns []string
}

// NewCORS builds the policy from patterns; none means no origin is allowed
// and no CORS header is ever sent.
func NewCORS(patterns []string) CORS {
	var out []string
	for _, p := range patterns {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, strings.TrimSuffix(p, "/"))
		}
	}
	return CORS{patterns: out}
}

// What a preflight allows: the contract's methods, and the request headers
// its clients send.
const (
	corsMethods = "GET, POST, PUT, DELETE"
	corsHeaders = "Authorization, Content-Type, If-Match"
	// Headers the contract answers with that a browser script may read.
	corsExpose = "Location, Retry-After, X-Request-Id, ETag"
	corsMaxAge = "600"
)

// Allowed reports whether origin may call the API.
func (c CORS) Allowed(origin string) bool {
	if origin == "" {
		return false
	}
	u, err := url.Parse(origin)
	if err != nil || u.Scheme == "" || u.Host == "" || u.Path != "" || u.RawQuery != "" {
		return false
	}
	for _, p := range c.patterns {
		switch {
		case p == "*", p == origin:
			return true
		case strings.HasSuffix(p, ":*"):
			if u.Scheme+"://"+strings.TrimSuffix(u.Host, ":"+u.Port()) == strings.TrimSuffix(p, ":*") {
				return true
			}
		}
	}
	return false
}

// apply adds the CORS headers an answer to origin carries, and answers a
// preflight itself. It reports whether the request was a preflight.
func (c CORS) apply(w http.ResponseWriter, r *http.Request) bool {
	if len(c.patterns) == 0 {
		return false
	}
	origin := r.Header.Get("Origin")
	h := w.Header()
	h.Add("Vary", "Origin")
	preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
	if !c.Allowed(origin) {
		if preflight {
			// No allow headers: the browser refuses the call it asked about.
			w.WriteHeader(http.StatusNoContent)
		}
		return preflight
	}
	h.Set("Access-Control-Allow-Origin", origin)
	if preflight {
		h.Set("Access-Control-Allow-Methods", corsMethods)
		h.Set("Access-Control-Allow-Headers", corsHeaders)
		h.Set("Access-Control-Max-Age", corsMaxAge)
		w.WriteHeader(http.StatusNoContent)
		return true
	}
	h.Set("Access-Control-Expose-Headers", corsExpose)
	return false
}
