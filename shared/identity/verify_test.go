package identity

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// provider is an OpenID Connect provider as far as verification sees one:
// a discovery document and a JWKS over real HTTP, with keys the test makes,
// rotates and takes away, and an outage it can switch on.
type provider struct {
	t       testing.TB
	srv     *httptest.Server
	mu      sync.Mutex
	keys    []jose.JSONWebKey // private
	down    atomic.Bool
	fetches atomic.Int64 // of the JWKS
}

func newProvider(t testing.TB) *provider {
	p := &provider{t: t}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		if p.down.Load() {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": p.srv.URL, "jwks_uri": p.srv.URL + "/jwks"})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		p.fetches.Add(1)
		if p.down.Load() {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		p.mu.Lock()
		var set jose.JSONWebKeySet
		for _, k := range p.keys {
			set.Keys = append(set.Keys, k.Public())
		}
		p.mu.Unlock()
		_ = json.NewEncoder(w).Encode(set)
	})
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

// rsaKey adds an RS256 key named kid to the JWKS and returns it.
func (p *provider) rsaKey(kid string) jose.JSONWebKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		p.t.Fatal(err)
	}
	return p.add(jose.JSONWebKey{Key: k, KeyID: kid, Algorithm: string(jose.RS256), Use: "sig"})
}

// ecKey adds an ES256 key named kid.
func (p *provider) ecKey(kid string) jose.JSONWebKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		p.t.Fatal(err)
	}
	return p.add(jose.JSONWebKey{Key: k, KeyID: kid, Algorithm: string(jose.ES256), Use: "sig"})
}

func (p *provider) add(k jose.JSONWebKey) jose.JSONWebKey {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keys = append(p.keys, k)
	return k
}

// rotate replaces every key by k.
func (p *provider) rotate(k jose.JSONWebKey) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keys = []jose.JSONWebKey{k}
}

type claims struct {
	jwt.Claims
	Scope string `json:"scope,omitempty"`
	Email string `json:"email,omitempty"`
}

// good is a valid claim set for sub at now.
func (p *provider) good(sub string, now time.Time) claims {
	return claims{Claims: jwt.Claims{Issuer: p.srv.URL, Subject: sub, Audience: jwt.Audience{"seckill", "other"},
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(time.Hour))}}
}

func sign(t testing.TB, key jose.JSONWebKey, alg jose.SignatureAlgorithm, c any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(signer).Claims(c).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (p *provider) verifier(t testing.TB, c *clock, claim string) *Verifier {
	t.Helper()
	v, err := NewVerifier(Options{Issuer: p.srv.URL, Audience: "seckill", Claim: claim, Now: c.Now, Cached: 64})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// TestVerify: every way a token can be wrong is refused as an invalid
// token, and only a token of the issuer's key, issuer, audience and time
// passes.
func TestVerify(t *testing.T) {
	t.Parallel()
	p := newProvider(t)
	rs := p.rsaKey("rs1")
	es := p.ecKey("es1")
	c := &clock{t: time.Now()}
	now := c.Now()
	v := p.verifier(t, c, "")
	ctx := context.Background()

	pubDER, err := x509.MarshalPKIXPublicKey(rs.Public().Key)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	hs := func(secret []byte) string {
		return sign(t, jose.JSONWebKey{Key: secret, KeyID: "rs1"}, jose.HS256, p.good("alice", now))
	}
	with := func(change func(*claims)) claims {
		cl := p.good("alice", now)
		change(&cl)
		return cl
	}
	payload, _ := json.Marshal(p.good("alice", now))
	for _, tc := range []struct {
		name  string
		token string
		want  string // "" for a pass as alice
	}{
		{"RS256", sign(t, rs, jose.RS256, p.good("alice", now)), ""},
		{"ES256", sign(t, es, jose.ES256, p.good("alice", now)), ""},
		{"exp within the leeway", sign(t, rs, jose.RS256, with(func(c *claims) {
			c.Expiry = jwt.NewNumericDate(now.Add(-59 * time.Second))
			c.IssuedAt, c.NotBefore = nil, nil
		})), ""},
		{"nbf within the leeway", sign(t, rs, jose.RS256, with(func(c *claims) {
			c.NotBefore, c.IssuedAt = jwt.NewNumericDate(now.Add(59*time.Second)), nil
		})), ""},
		{"expired", sign(t, rs, jose.RS256, with(func(c *claims) {
			c.Expiry = jwt.NewNumericDate(now.Add(-61 * time.Second))
			c.IssuedAt, c.NotBefore = nil, nil
		})), "expired"},
		{"not yet valid", sign(t, rs, jose.RS256, with(func(c *claims) {
			c.NotBefore, c.IssuedAt = jwt.NewNumericDate(now.Add(61*time.Second)), nil
		})), "not valid yet"},
		{"no exp", sign(t, rs, jose.RS256, with(func(c *claims) { c.Expiry = nil })), "no exp"},
		{"wrong issuer", sign(t, rs, jose.RS256, with(func(c *claims) { c.Issuer = p.srv.URL + "/" })), "issuer"},
		{"wrong audience", sign(t, rs, jose.RS256, with(func(c *claims) { c.Audience = jwt.Audience{"seckill-admin"} })), "audience"},
		{"alg none", b64(`{"alg":"none","typ":"JWT"}`) + "." + b64(string(payload)) + ".", "three segments"},
		{"alg none with a signature", b64(`{"alg":"none","kid":"rs1"}`) + "." + b64(string(payload)) + "." + b64("x"), "algorithm"},
		{"HS256 keyed with the public key (PEM)", hs(pubPEM), "algorithm"},
		{"HS256 keyed with the public key (DER)", hs(pubDER), "algorithm"},
		{"ES256 header on the RSA key", sign(t, jose.JSONWebKey{Key: es.Key, KeyID: "rs1"}, jose.ES256, p.good("alice", now)), "is for RS256"},
		{"signed by a stranger's key", sign(t, jose.JSONWebKey{Key: mustRSA(t), KeyID: "rs1"}, jose.RS256, p.good("alice", now)), "cryptographic primitive"},
		{"over 8 KiB", sign(t, rs, jose.RS256, with(func(c *claims) { c.Email = strings.Repeat("x", 9<<10) })), "over 8192 bytes"},
		{"not base64", "a.b.c!", "base64url"},
		{"two segments", "abc.def", "three segments"},
		{"empty", "", "three segments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := v.Verify(ctx, tc.token)
			switch {
			case tc.want == "" && (err != nil || got.Subject != "alice"):
				t.Fatalf("got %+v %v, want alice", got, err)
			case tc.want != "" && (!errors.Is(err, ErrInvalidToken) || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("got %+v %v, want ErrInvalidToken saying %q", got, err, tc.want)
			}
		})
	}
}

func mustRSA(t testing.TB) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestSubjects: the customer is the configured claim, and must be a valid
// customer id; the guard refuses a subject that is missing, empty or too
// long, and takes one with a "|".
func TestSubjects(t *testing.T) {
	t.Parallel()
	p := newProvider(t)
	rs := p.rsaKey("rs1")
	c := &clock{t: time.Now()}
	g := JWT(p.verifier(t, c, ""), "")
	byEmail := JWT(p.verifier(t, c, "email"), "")
	ask := func(g *Guard, tok string) (string, error) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", "bearer "+tok) // the scheme's case does not matter
		who, err := g.Customer(r)
		return string(who), err
	}
	for _, tc := range []struct {
		name, sub string
		ok        bool
	}{
		{"auth0 style", "auth0|5f7c8ec7c33c6c004bbafe82", true},
		{"empty", "", false},
		{"over 128", strings.Repeat("a", 129), false},
		{"a dot-dot", "..", false},
		{"a slash", "a/b", false},
	} {
		cl := p.good(tc.sub, c.Now())
		who, err := ask(g, sign(t, rs, jose.RS256, cl))
		if tc.ok != (err == nil) || tc.ok && who != tc.sub || !tc.ok && !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: got %q %v, ok %v", tc.name, who, err, tc.ok)
		}
	}
	cl := p.good("alice", c.Now())
	cl.Email = "alice@example.com"
	if who, err := ask(byEmail, sign(t, rs, jose.RS256, cl)); who != "alice@example.com" || err != nil {
		t.Errorf("claim email: got %q %v", who, err)
	}
	cl.Email = ""
	if who, err := ask(byEmail, sign(t, rs, jose.RS256, cl)); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("claim email missing: got %q %v, want invalid", who, err)
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	if _, err := g.Customer(r); !errors.Is(err, ErrNoToken) {
		t.Errorf("no Authorization: got %v, want ErrNoToken", err)
	}
	r.Header.Set("Authorization", "Basic YWxpY2U6cHc=")
	if _, err := g.Customer(r); !errors.Is(err, ErrNoToken) {
		t.Errorf("Basic: got %v, want ErrNoToken", err)
	}
}

// TestKeyRotation: a token under a kid the verifier has not seen fetches
// the keys again and passes once the provider publishes it; a flood of
// made-up kids costs at most one fetch per 10 s.
func TestKeyRotation(t *testing.T) {
	t.Parallel()
	p := newProvider(t)
	old := p.rsaKey("2026-11")
	c := &clock{t: time.Now()}
	v := p.verifier(t, c, "")
	ctx := context.Background()
	if _, err := v.Verify(ctx, sign(t, old, jose.RS256, p.good("alice", c.Now()))); err != nil {
		t.Fatal(err)
	}
	if n := p.fetches.Load(); n != 1 {
		t.Fatalf("first token: %d fetches, want 1", n)
	}
	for i := range 500 {
		stranger := jose.JSONWebKey{Key: old.Key, KeyID: fmt.Sprintf("made-up-%d", i)}
		if _, err := v.Verify(ctx, sign(t, stranger, jose.RS256, p.good(fmt.Sprintf("c%d", i), c.Now()))); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("made-up kid: got %v, want ErrInvalidToken", err)
		}
	}
	if n := p.fetches.Load(); n != 1 {
		t.Fatalf("500 made-up kids within 10 s: %d fetches, want 1 (the first token's)", n)
	}
	c.add(10 * time.Second)
	next := p.ecKey("2026-12")
	p.rotate(next)
	if got, err := v.Verify(ctx, sign(t, next, jose.ES256, p.good("bob", c.Now()))); err != nil || got.Subject != "bob" {
		t.Fatalf("rotated key, 10 s on: got %+v %v", got, err)
	}
	if n := p.fetches.Load(); n != 2 {
		t.Fatalf("after the rotation: %d fetches, want 2", n)
	}
	// The old key left the JWKS: its new tokens stop passing.
	if _, err := v.Verify(ctx, sign(t, old, jose.RS256, p.good("carol", c.Now()))); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("retired key: got %v, want ErrInvalidToken", err)
	}
}

// TestProviderOutage: while the JWKS cannot be fetched, tokens under keys
// already known still pass (a provider's blip must not stop a sale), and a
// token whose key is unknown is ErrKeysUnavailable, which is try-again, not
// a verdict on the token. A cold start during the outage knows no key.
func TestProviderOutage(t *testing.T) {
	t.Parallel()
	p := newProvider(t)
	known := p.rsaKey("known")
	c := &clock{t: time.Now()}
	v := p.verifier(t, c, "")
	ctx := context.Background()
	if _, err := v.Verify(ctx, sign(t, known, jose.RS256, p.good("alice", c.Now()))); err != nil {
		t.Fatal(err)
	}
	p.down.Store(true)
	c.add(2 * time.Hour) // past the keys' max age: the background refresh fails
	for i := range 3 {
		if got, err := v.Verify(ctx, sign(t, known, jose.RS256, p.good(fmt.Sprintf("b%d", i), c.Now()))); err != nil {
			t.Fatalf("known key during the outage: got %+v %v", got, err)
		}
	}
	unknown := p.rsaKey("unknown")
	if _, err := v.Verify(ctx, sign(t, unknown, jose.RS256, p.good("carol", c.Now()))); !errors.Is(err, ErrKeysUnavailable) || errors.Is(err, ErrInvalidToken) {
		t.Fatalf("unknown key during the outage: got %v, want ErrKeysUnavailable", err)
	}
	cold := p.verifier(t, c, "")
	if _, err := cold.Verify(ctx, sign(t, known, jose.RS256, p.good("dave", c.Now()))); !errors.Is(err, ErrKeysUnavailable) {
		t.Fatalf("cold start during the outage: got %v, want ErrKeysUnavailable", err)
	}
	p.down.Store(false)
	c.add(10 * time.Second)
	if _, err := v.Verify(ctx, sign(t, unknown, jose.RS256, p.good("carol", c.Now()))); err != nil {
		t.Fatalf("unknown key after the outage: %v", err)
	}
}

// TestCache: a token that verified is answered from memory until it
// expires, then refused; tokens that fail are never kept.
func TestCache(t *testing.T) {
	t.Parallel()
	p := newProvider(t)
	rs := p.rsaKey("rs1")
	c := &clock{t: time.Now()}
	v := p.verifier(t, c, "")
	ctx := context.Background()
	tok := sign(t, rs, jose.RS256, p.good("alice", c.Now()))
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}
	// Taking the key away shows the second answer comes from memory.
	p.rotate(p.ecKey("other"))
	c.add(30 * time.Minute)
	if got, err := v.Verify(ctx, tok); err != nil || got.Subject != "alice" {
		t.Fatalf("cached token: got %+v %v", got, err)
	}
	c.add(31*time.Minute + Leeway)
	if _, err := v.Verify(ctx, tok); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("cached token past exp: got %v, want invalid", err)
	}
	bad := 0
	for i := range 200 {
		stranger := jose.JSONWebKey{Key: mustEC(t), KeyID: "other"}
		if _, err := v.Verify(ctx, sign(t, stranger, jose.ES256, p.good(fmt.Sprintf("m%d", i), c.Now()))); err != nil {
			bad++
		}
	}
	if bad != 200 || v.verified.Len() != 0 {
		t.Fatalf("200 forged tokens: %d refused, %d remembered; want 200 and 0", bad, v.verified.Len())
	}
}

func mustEC(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestAdminScope: an admin is a token carrying the scope, as a space
// separated scope, an scp array or a group; a gateway's claims count the
// same.
func TestAdminScope(t *testing.T) {
	t.Parallel()
	p := newProvider(t)
	rs := p.rsaKey("rs1")
	c := &clock{t: time.Now()}
	g := JWT(p.verifier(t, c, ""), "seckill:admin")
	ask := func(cl any) error {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", "Bearer "+sign(t, rs, jose.RS256, cl))
		return g.Admin(r)
	}
	cl := p.good("ops", c.Now())
	cl.Scope = "openid seckill:admin"
	if err := ask(cl); err != nil {
		t.Errorf("scope: %v", err)
	}
	groups := struct {
		claims
		Groups []string `json:"groups"`
	}{p.good("ops", c.Now()), []string{"staff", "seckill:admin"}}
	if err := ask(groups); err != nil {
		t.Errorf("groups: %v", err)
	}
	cl.Scope = "openid seckill:admins"
	if err := ask(cl); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("another scope: got %v, want invalid", err)
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r = r.WithContext(WithGateway(r.Context(), map[string]string{"sub": "ops"}, []string{"seckill:admin"}))
	if err := g.Admin(r); err != nil {
		t.Errorf("gateway scopes: %v", err)
	}
	r = r.WithContext(WithGateway(r.Context(), map[string]string{"sub": "ops", "cognito:groups": "[staff seckill:admin]"}, nil))
	if err := g.Admin(r); err != nil {
		t.Errorf("gateway groups: %v", err)
	}
	r = r.WithContext(WithGateway(r.Context(), map[string]string{"sub": "ops", "scope": "openid"}, nil))
	if err := g.Admin(r); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("gateway without the scope: got %v, want invalid", err)
	}
}

// TestGatewayClaims: claims a gateway verified are taken as they are, with
// no key fetched.
func TestGatewayClaims(t *testing.T) {
	t.Parallel()
	p := newProvider(t)
	p.rsaKey("rs1")
	g := JWT(p.verifier(t, &clock{t: time.Now()}, ""), "")
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "Bearer not.a.token")
	r = r.WithContext(WithGateway(r.Context(), map[string]string{"sub": "auth0|alice"}, nil))
	if who, err := g.Customer(r); who != "auth0|alice" || err != nil {
		t.Fatalf("got %q %v", who, err)
	}
	if n := p.fetches.Load(); n != 0 {
		t.Fatalf("%d key fetches, want 0", n)
	}
}
