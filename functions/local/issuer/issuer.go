// Package issuer is the local stack's development OpenID Connect issuer:
// a discovery document, its JWKS, and a token endpoint that mints a token
// for any subject. It exists so that `make run` verifies customers through
// the very code a deployment outside AWS's gateway runs (shared/identity),
// and it is served only by the local stack: a token it mints proves
// nothing anywhere else.
package issuer

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/seckill/seckill/shared/sale"
	"github.com/seckill/seckill/shared/web"
)

// Audience is the aud of every token the issuer mints.
const Audience = "seckill"

// Path is where the local stack serves the issuer.
const Path = "/dev"

// Longest lifetime a minted token may ask for.
const (
	DefaultTTL = time.Hour
	MaxTTL     = 24 * time.Hour
)

// Issuer signs tokens with one ES256 key.
type Issuer struct {
	url    string
	key    jose.JSONWebKey // private
	signer jose.Signer
	now    func() time.Time
}

// KeyFile is the name of the signing key in the data folder.
const KeyFile = "dev-issuer.jwk"

// Load returns the issuer at url (the stack's base URL + Path) whose key is
// kept in dir, made on first use, so that tokens outlive a restart; dir ""
// keeps a fresh key in memory only.
func Load(dir, url string) (*Issuer, error) {
	if dir == "" {
		return newIssuer(url, newKey())
	}
	path := filepath.Join(dir, KeyFile)
	raw, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		key := newKey()
		if raw, err = key.MarshalJSON(); err != nil {
			return nil, fmt.Errorf("issuer: %w", err)
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("issuer: %w", err)
		}
		if err := os.WriteFile(path, raw, 0o600); err != nil {
			return nil, fmt.Errorf("issuer: %w", err)
		}
		return newIssuer(url, key)
	case err != nil:
		return nil, fmt.Errorf("issuer: %w", err)
	}
	var key jose.JSONWebKey
	if err := key.UnmarshalJSON(raw); err != nil || key.IsPublic() {
		return nil, fmt.Errorf("issuer: %s holds no private key (remove it to make a new one): %v", path, err)
	}
	return newIssuer(url, key)
}

func newKey() jose.JSONWebKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	id := make([]byte, 8)
	_, _ = rand.Read(id)
	return jose.JSONWebKey{Key: k, KeyID: hex.EncodeToString(id), Algorithm: string(jose.ES256), Use: "sig"}
}

func newIssuer(url string, key jose.JSONWebKey) (*Issuer, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, fmt.Errorf("issuer: %w", err)
	}
	return &Issuer{url: url, key: key, signer: signer, now: time.Now}, nil
}

// URL is the issuer's iss.
func (i *Issuer) URL() string { return i.url }

// Mint signs a token for sub, valid for ttl, carrying scope if not "".
func (i *Issuer) Mint(sub string, ttl time.Duration, scope string) (string, time.Time, error) {
	now := i.now()
	exp := now.Add(ttl)
	claims := struct {
		jwt.Claims
		Scope string `json:"scope,omitempty"`
	}{jwt.Claims{
		Issuer: i.url, Subject: sub, Audience: jwt.Audience{Audience},
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(exp),
	}, scope}
	token, err := jwt.Signed(i.signer).Claims(claims).Serialize()
	return token, exp, err
}

// Register adds the issuer's routes under Path to rt.
func (i *Issuer) Register(rt *web.Router) {
	rt.HandleFunc("GET "+Path+"/.well-known/openid-configuration", i.discovery)
	rt.HandleFunc("GET "+Path+"/jwks.json", i.jwks)
	rt.HandleFunc("POST "+Path+"/token", i.token)
}

func (i *Issuer) discovery(w http.ResponseWriter, r *http.Request) {
	web.JSON(w, http.StatusOK, map[string]any{
		"issuer":                                i.url,
		"jwks_uri":                              i.url + "/jwks.json",
		"token_endpoint":                        i.url + "/token",
		"response_types_supported":              []string{"token"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{string(jose.ES256)},
	})
}

func (i *Issuer) jwks(w http.ResponseWriter, r *http.Request) {
	web.JSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{i.key.Public()}})
}

type tokenBody struct {
	Sub   string `json:"sub"`
	TTL   string `json:"ttl"`
	Scope string `json:"scope"`
}

// MaxSubject bounds what a subject may be: longer than any customer id, so
// that a test can mint one the functions must refuse.
const MaxSubject = 1024

func (i *Issuer) token(w http.ResponseWriter, r *http.Request) {
	var b tokenBody
	if err := web.Decode(w, r, &b); err != nil {
		web.Error(w, r, err)
		return
	}
	if b.Sub == "" || len(b.Sub) > MaxSubject {
		web.Error(w, r, &sale.FieldError{Field: "sub", Reason: fmt.Sprintf("must be 1 to %d bytes", MaxSubject)})
		return
	}
	ttl := DefaultTTL
	if b.TTL != "" {
		d, err := time.ParseDuration(b.TTL)
		if err != nil || d <= 0 || d > MaxTTL {
			web.Error(w, r, &sale.FieldError{Field: "ttl", Reason: "must be a duration such as 1h, at most 24h"})
			return
		}
		ttl = d
	}
	token, exp, err := i.Mint(b.Sub, ttl, b.Scope)
	if err != nil {
		web.Error(w, r, err)
		return
	}
	web.JSON(w, http.StatusOK, map[string]string{"token": token, "expiresAt": exp.UTC().Format(time.RFC3339)})
}
