package issuer_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/seckill/seckill/functions/local/issuer"
	"github.com/seckill/seckill/shared/identity"
	"github.com/seckill/seckill/shared/web"
)

// serve serves the issuer whose key is kept in dir, on a fresh port, and
// returns its URL.
func serve(t *testing.T, dir string) (*issuer.Issuer, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String() + issuer.Path
	iss, err := issuer.Load(dir, url)
	if err != nil {
		t.Fatal(err)
	}
	rt := web.NewRouter()
	iss.Register(rt)
	srv := &http.Server{Handler: rt}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return iss, url
}

func verifier(t *testing.T, url string) *identity.Verifier {
	t.Helper()
	v, err := identity.NewVerifier(identity.Options{Issuer: url, Audience: issuer.Audience})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mint(t *testing.T, url, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url+"/token", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Token     string `json:"token"`
		ExpiresAt string `json:"expiresAt"`
		Code      string `json:"code"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode == 200 {
		exp, err := time.Parse(time.RFC3339, out.ExpiresAt)
		if err != nil || exp.Before(time.Now()) {
			t.Errorf("expiresAt %q", out.ExpiresAt)
		}
		return 200, out.Token
	}
	return resp.StatusCode, out.Code
}

// TestDevIssuer: the token endpoint mints tokens that a verifier pointed at
// the issuer's URL accepts through discovery and JWKS, for any subject;
// the key kept in the data folder outlives a restart, so the tokens do too.
func TestDevIssuer(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, url := serve(t, dir)
	status, tok := mint(t, url, `{"sub":"auth0|alice","ttl":"2h"}`)
	if status != 200 {
		t.Fatalf("mint: %d %s", status, tok)
	}
	if c, err := verifier(t, url).Verify(context.Background(), tok); err != nil || c.Subject != "auth0|alice" {
		t.Fatalf("verify: %+v %v", c, err)
	}
	for _, bad := range []string{`{}`, `{"sub":""}`, `{"sub":"a","ttl":"25h"}`, `{"sub":"a","ttl":"soon"}`, `{"sub":"a","x":1}`} {
		if status, code := mint(t, url, bad); status != 400 || code != "invalid-request" {
			t.Errorf("%s: got %d %s, want 400 invalid-request", bad, status, code)
		}
	}
	// The same folder after a restart (a new port, so a new URL, but the
	// same key): the old token's signature still verifies under the
	// restarted issuer's keys.
	again, url2 := serve(t, dir)
	_, url2tok := mint(t, url2, `{"sub":"bob"}`)
	if _, err := verifier(t, url2).Verify(context.Background(), url2tok); err != nil {
		t.Fatal(err)
	}
	fresh, _ := serve(t, t.TempDir())
	kid := func(i *issuer.Issuer) string {
		tok, _, err := i.Mint("x", time.Minute, "")
		if err != nil {
			t.Fatal(err)
		}
		var h struct{ Kid string }
		seg, _, _ := strings.Cut(tok, ".")
		raw, _ := base64URL(seg)
		_ = json.Unmarshal(raw, &h)
		return h.Kid
	}
	first, _ := issuer.Load(dir, url)
	if kid(again) != kid(first) || kid(fresh) == kid(first) {
		t.Fatalf("key ids: kept %s and %s, fresh %s; want the kept ones equal, the fresh one apart", kid(first), kid(again), kid(fresh))
	}
	// Another issuer's verifier refuses the token.
	if _, err := verifier(t, url2).Verify(context.Background(), tok); !errors.Is(err, identity.ErrInvalidToken) {
		t.Fatalf("a token of another URL: got %v, want invalid (iss differs)", err)
	}
}

func base64URL(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }
