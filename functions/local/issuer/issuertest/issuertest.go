// Package issuertest serves a development issuer to tests, so that they
// grab with real tokens verified by the code a deployment runs. Only tests
// import it.
package issuertest

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seckill/seckill/functions/local/issuer"
	"github.com/seckill/seckill/shared/identity"
	"github.com/seckill/seckill/shared/web"
)

// Issuer is a development issuer served on loopback for one test.
type Issuer struct {
	*issuer.Issuer
	jwks atomic.Int64
}

// KeyFetches counts the reads of the issuer's JWKS: a function behind a
// gateway that verified the token must make none.
func (i *Issuer) KeyFetches() int64 { return i.jwks.Load() }

// Start serves a fresh issuer until the test ends.
func Start(t testing.TB) *Issuer {
	t.Helper()
	iss, l, err := listen()
	if err != nil {
		t.Fatal(err)
	}
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: router(iss)}}
	srv.Start()
	t.Cleanup(srv.Close)
	return iss
}

func listen() (*Issuer, net.Listener, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	iss, err := issuer.Load("", "http://"+l.Addr().String()+issuer.Path)
	if err != nil {
		return nil, nil, err
	}
	return &Issuer{Issuer: iss}, l, nil
}

func router(iss *Issuer) http.Handler {
	rt := web.NewRouter()
	iss.Register(rt)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == issuer.Path+"/jwks.json" {
			iss.jwks.Add(1)
		}
		rt.ServeHTTP(w, r)
	})
}

// Env is what a function's process needs to verify this issuer's tokens.
func (i *Issuer) Env() []string {
	return []string{"SECKILL_CUSTOMER_AUTH=jwt", "SECKILL_CUSTOMER_ISSUER=" + i.URL(), "SECKILL_CUSTOMER_AUDIENCE=" + issuer.Audience}
}

// SharedGuard returns a token-mode guard that trusts the shared issuer.
func SharedGuard(t testing.TB) *identity.Guard { return Shared().Guard(t) }

// Guard returns a token-mode guard that trusts this issuer.
func (i *Issuer) Guard(t testing.TB) *identity.Guard {
	t.Helper()
	v, err := identity.NewVerifier(identity.Options{Issuer: i.URL(), Audience: issuer.Audience})
	if err != nil {
		t.Fatal(err)
	}
	return identity.JWT(v, "")
}

// Token mints an hour's token for sub.
func (i *Issuer) Token(t testing.TB, sub string) string {
	t.Helper()
	tok, _, err := i.Mint(sub, time.Hour, "")
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// shared is one issuer for a whole test binary, served until it exits.
var shared = sync.OnceValue(func() *Issuer {
	iss, l, err := listen()
	if err != nil {
		panic(err)
	}
	go func() { _ = http.Serve(l, router(iss)) }()
	return iss
})

// Shared returns the test binary's issuer, for helpers that have no test
// of their own to serve one for.
func Shared() *Issuer { return shared() }

var tokens sync.Map // customer → token of the shared issuer

// TokenFor returns a token of the shared issuer for sub, the same one each
// time, as a customer's app keeps the token it logged in with.
func TokenFor(sub string) string {
	if tok, ok := tokens.Load(sub); ok {
		return tok.(string)
	}
	tok, _, err := Shared().Mint(sub, 2*time.Hour, "")
	if err != nil {
		panic(err)
	}
	tokens.Store(sub, tok)
	return tok
}
