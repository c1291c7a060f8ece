package identity

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// FuzzToken drives the token front end (the Authorization header, the
// shape check, the JWS parser, the claims) with anything: it never panics,
// every refusal is ErrNoToken or ErrInvalidToken, and nothing passes but a
// token the issuer's key signed for alice. The key is known up front, so
// the fuzzer never waits on a network.
func FuzzToken(f *testing.F) {
	key := jose.JSONWebKey{Key: mustEC(f), KeyID: "k1", Algorithm: string(jose.ES256), Use: "sig"}
	now := time.Now()
	good := sign(f, key, jose.ES256, claims{Claims: jwt.Claims{Issuer: "https://issuer.example", Subject: "alice",
		Audience: jwt.Audience{"seckill"}, Expiry: jwt.NewNumericDate(now.Add(time.Hour))}})
	for _, s := range []string{"Bearer " + good, "bearer " + good, "Bearer " + good + "x", "Bearer a.b.c", "Bearer ..", "Bearer",
		"Basic Zm9vOmJhcg==", "Bearer e30.e30.", "Bearer eyJhbGciOiJub25lIn0.e30.", "Bearer  " + good, ""} {
		f.Add(s)
	}
	c := &clock{t: now}
	f.Fuzz(func(t *testing.T, header string) {
		v, err := NewVerifier(Options{Issuer: "https://issuer.example", Audience: "seckill", Now: c.Now, Cached: 16})
		if err != nil {
			t.Fatal(err)
		}
		v.keys.keys = map[string]jose.JSONWebKey{"k1": key.Public()}
		v.keys.fetched, v.keys.tried = now, now
		g := JWT(v, "")
		r := httptest.NewRequest("POST", "/", nil)
		r.Header.Set("Authorization", header)
		who, err := g.Customer(r.WithContext(context.Background()))
		switch {
		case err == nil && who != "alice":
			t.Fatalf("%q passed as %q", header, who)
		case err != nil && !errors.Is(err, ErrNoToken) && !errors.Is(err, ErrInvalidToken):
			t.Fatalf("%q: %v is neither no token nor an invalid one", header, err)
		}
	})
}

// BenchmarkVerify is the cost of knowing who asks: a token verified for
// the first time (ES256 and RS256 signatures), and one answered from the
// cache of verified tokens, as a customer's repeated asks are.
func BenchmarkVerify(b *testing.B) {
	now := time.Now()
	for _, tc := range []struct {
		name string
		key  jose.JSONWebKey
		alg  jose.SignatureAlgorithm
	}{
		{"ES256", jose.JSONWebKey{Key: mustEC(b), KeyID: "k", Algorithm: "ES256", Use: "sig"}, jose.ES256},
		{"RS256", jose.JSONWebKey{Key: mustRSA(b), KeyID: "k", Algorithm: "RS256", Use: "sig"}, jose.RS256},
		{"EdDSA", jose.JSONWebKey{Key: mustEd(b), KeyID: "k", Algorithm: "EdDSA", Use: "sig"}, jose.EdDSA},
	} {
		tok := sign(b, tc.key, tc.alg, claims{Claims: jwt.Claims{Issuer: "https://issuer.example", Subject: "alice",
			Audience: jwt.Audience{"seckill"}, Expiry: jwt.NewNumericDate(now.Add(time.Hour))}})
		verifier := func(cached int) *Verifier {
			v, err := NewVerifier(Options{Issuer: "https://issuer.example", Audience: "seckill", Cached: cached})
			if err != nil {
				b.Fatal(err)
			}
			v.keys.keys = map[string]jose.JSONWebKey{"k": tc.key.Public()}
			v.keys.fetched, v.keys.tried = now, now
			return v
		}
		b.Run(tc.name+"/uncached", func(b *testing.B) {
			v := verifier(1)
			b.ReportAllocs()
			for b.Loop() {
				v.verified.Purge()
				if _, err := v.Verify(context.Background(), tok); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(tc.name+"/cached", func(b *testing.B) {
			v := verifier(16)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(context.Background(), tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("malformed", func(b *testing.B) {
		v, _ := NewVerifier(Options{Issuer: "https://issuer.example", Audience: "seckill"})
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.Verify(context.Background(), "not a token at all"); err == nil {
				b.Fatal("accepted")
			}
		}
	})
}

func mustEd(t testing.TB) ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
