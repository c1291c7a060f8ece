package identity

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	lru "github.com/hashicorp/golang-lru/v2"
)

// Options configure a Verifier; zero values take the defaults below.
type Options struct {
	Issuer   string // iss, exactly; discovery starts from it
	Audience string // must be among aud
	// Claim names the customer: "sub" unless the deployment says otherwise.
	Claim string
	// Cached bounds the verified tokens remembered, so that a customer's
	// repeated asks pay one signature check.
	Cached     int
	Client     *http.Client
	Now        func() time.Time
	MinRefresh time.Duration // between two key fetches
	MaxKeyAge  time.Duration // keys are fetched again, in the background, past it
}

// Defaults of Options.
const (
	DefaultCached     = 100_000
	DefaultMinRefresh = 10 * time.Second
	DefaultMaxKeyAge  = time.Hour
	// Leeway is the clock skew allowed on exp, nbf and iat.
	Leeway = time.Minute
)

// Algorithms are the signature algorithms accepted: asymmetric only, so
// that neither "none" nor an HMAC keyed with a public key can pass.
var Algorithms = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA,
}

// Verifier checks tokens of one issuer and audience.
type Verifier struct {
	issuer, audience, claim string
	now                     func() time.Time
	keys                    *keySet
	// Tokens that verified, by digest (a fixed 32 bytes whatever the
	// token's size), until they expire. Tokens that did not verify are
	// never kept: made-up tokens cannot grow memory.
	verified *lru.Cache[[sha256.Size]byte, verified]
}

type verified struct {
	claims Claims
	expiry time.Time
}

// NewVerifier returns a verifier; it fetches nothing until a token needs a
// key, so a cold start costs no call to the provider.
func NewVerifier(o Options) (*Verifier, error) {
	if o.Issuer == "" || o.Audience == "" {
		return nil, errors.New("identity: an issuer and an audience are required")
	}
	if !strings.HasPrefix(o.Issuer, "https://") && !strings.HasPrefix(o.Issuer, "http://") {
		return nil, fmt.Errorf("identity: the issuer %q is not an http(s) URL", o.Issuer)
	}
	if o.Claim == "" {
		o.Claim = "sub"
	}
	if o.Cached <= 0 {
		o.Cached = DefaultCached
	}
	if o.Client == nil {
		// A transport of its own: the provider's connections are not the
		// API's, and no other user of http.DefaultTransport sees them.
		o.Client = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
			Proxy: http.ProxyFromEnvironment, MaxIdleConnsPerHost: 2, IdleConnTimeout: time.Minute,
			TLSHandshakeTimeout: 5 * time.Second, ResponseHeaderTimeout: 5 * time.Second,
		}}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MinRefresh <= 0 {
		o.MinRefresh = DefaultMinRefresh
	}
	if o.MaxKeyAge <= 0 {
		o.MaxKeyAge = DefaultMaxKeyAge
	}
	cache, err := lru.New[[sha256.Size]byte, verified](o.Cached)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	return &Verifier{
		issuer: o.Issuer, audience: o.Audience, claim: o.Claim, now: o.Now, verified: cache,
		keys: &keySet{issuer: o.Issuer, client: o.Client, now: o.Now,
			minRefresh: o.MinRefresh, maxAge: o.MaxKeyAge, timeout: 5 * time.Second},
	}, nil
}

// Verify returns the claims of a token that verifies: its signature under
// one of the issuer's keys with an asymmetric algorithm, iss exactly, aud
// holding the audience, and exp (required) and nbf within Leeway. Errors
// carry ErrInvalidToken with the reason, or ErrKeysUnavailable.
func (v *Verifier) Verify(ctx context.Context, token string) (Claims, error) {
	if len(token) > MaxToken {
		return Claims{}, fmt.Errorf("%w: over %d bytes", ErrInvalidToken, MaxToken)
	}
	now := v.now()
	// A token in the cache was whole when it verified: its repeats skip
	// even the shape check, the largest cost left on this path.
	digest := sha256.Sum256([]byte(token))
	if hit, ok := v.verified.Get(digest); ok {
		if now.Add(-Leeway).After(hit.expiry) {
			v.verified.Remove(digest)
			return Claims{}, fmt.Errorf("%w: %w", ErrInvalidToken, jwt.ErrExpired)
		}
		return hit.claims, nil
	}
	if err := wellFormed(token); err != nil {
		return Claims{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	tok, err := jwt.ParseSigned(token, Algorithms)
	if err != nil {
		return Claims{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	header := tok.Headers[0]
	key, err := v.keys.key(ctx, header.KeyID)
	if err != nil {
		return Claims{}, err
	}
	if key.Algorithm != "" && key.Algorithm != header.Algorithm {
		return Claims{}, fmt.Errorf("%w: key %q is for %s, the token says %s", ErrInvalidToken, header.KeyID, key.Algorithm, header.Algorithm)
	}
	var std jwt.Claims
	var extra map[string]any
	if err := tok.Claims(key.Key, &std, &extra); err != nil {
		return Claims{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if std.Expiry == nil {
		return Claims{}, fmt.Errorf("%w: no exp", ErrInvalidToken)
	}
	expected := jwt.Expected{Issuer: v.issuer, AnyAudience: jwt.Audience{v.audience}, Time: now}
	if err := std.ValidateWithLeeway(expected, Leeway); err != nil {
		return Claims{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	claims := Claims{Subject: std.Subject, Scopes: scopes(extra)}
	if v.claim != "sub" {
		claims.Subject, _ = extra[v.claim].(string)
	}
	v.verified.Add(digest, verified{claims: claims, expiry: std.Expiry.Time()})
	return claims, nil
}

// wellFormed refuses, before any parsing or crypto, what cannot be a signed
// JWT: not three base64url segments, or no signature (as "alg": "none"
// tokens have).
func wellFormed(token string) error {
	dots := 0
	last := -1
	for i := 0; i < len(token); i++ {
		c := token[i]
		switch {
		case c == '.':
			if i == last+1 {
				return errors.New("an empty segment")
			}
			dots++
			last = i
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return errors.New("not base64url")
		}
	}
	if dots != 2 || last == len(token)-1 {
		return errors.New("not three segments")
	}
	return nil
}

// scopes gathers scope (space separated), scp, groups and cognito:groups
// (arrays, or one string).
func scopes(claims map[string]any) []string {
	var out []string
	for _, name := range scopeClaims {
		switch v := claims[name].(type) {
		case string:
			out = append(out, strings.Fields(v)...)
		case []any:
			for _, s := range v {
				if s, ok := s.(string); ok {
					out = append(out, s)
				}
			}
		}
	}
	return out
}
