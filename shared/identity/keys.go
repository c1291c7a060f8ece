package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// keySet holds an issuer's signing keys, found by OIDC discovery. It is
// built for an identity provider that blips during a sale: keys once
// fetched keep working while the provider is down, and fetches are rate
// limited, so a flood of tokens naming made-up key ids costs at most one
// fetch per minRefresh.
type keySet struct {
	issuer     string
	client     *http.Client
	now        func() time.Time
	minRefresh time.Duration // between two fetches, whatever asks
	maxAge     time.Duration // keys older than this are fetched again, in the background
	timeout    time.Duration // of one fetch (discovery and JWKS)

	mu      sync.Mutex
	keys    map[string]jose.JSONWebKey // by kid
	jwksURI string
	fetched time.Time     // last fetch that worked
	tried   time.Time     // last fetch begun
	lastErr error         // of the last fetch, nil if it worked
	done    chan struct{} // of the fetch under way, nil if none
}

// maxDocument bounds what a discovery document or a JWKS may weigh.
const maxDocument = 1 << 20

// key returns the public key kid names. An unknown kid waits for the fetch
// under way, or starts one unless one began less than minRefresh ago; kid
// "" is accepted only from an issuer with one key.
func (k *keySet) key(ctx context.Context, kid string) (jose.JSONWebKey, error) {
	k.mu.Lock()
	now := k.now()
	key, ok := k.find(kid)
	due := now.Sub(k.tried) >= k.minRefresh
	var wait chan struct{}
	switch {
	case ok:
		if due && now.Sub(k.fetched) >= k.maxAge {
			k.refresh() // in the background; the key serves meanwhile
		}
		k.mu.Unlock()
		return key, nil
	case k.done != nil:
		wait = k.done
	case due:
		wait = k.refresh()
	case k.lastErr != nil:
		err := k.lastErr
		k.mu.Unlock()
		return key, fmt.Errorf("%w: %w", ErrKeysUnavailable, err)
	default:
		k.mu.Unlock()
		return key, fmt.Errorf("%w: no key %q (keys fetched %s ago)", ErrInvalidToken, kid, now.Sub(k.fetched).Round(time.Second))
	}
	k.mu.Unlock()
	select {
	case <-wait:
	case <-ctx.Done():
		return key, fmt.Errorf("%w: %w", ErrKeysUnavailable, ctx.Err())
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if key, ok = k.find(kid); ok {
		return key, nil
	}
	if k.lastErr != nil {
		return key, fmt.Errorf("%w: %w", ErrKeysUnavailable, k.lastErr)
	}
	return key, fmt.Errorf("%w: the issuer has no key %q", ErrInvalidToken, kid)
}

// find looks kid up; the caller holds mu.
func (k *keySet) find(kid string) (jose.JSONWebKey, bool) {
	if kid == "" && len(k.keys) == 1 {
		for _, only := range k.keys {
			return only, true
		}
	}
	if kid == "" {
		return jose.JSONWebKey{}, false
	}
	key, ok := k.keys[kid]
	return key, ok
}

// refresh starts a fetch, unless one is under way, and returns the channel
// its end closes; the caller holds mu.
func (k *keySet) refresh() chan struct{} {
	if k.done == nil {
		k.done = make(chan struct{})
		k.tried = k.now()
		go k.fetch(k.jwksURI, k.done)
	}
	return k.done
}

// fetch reads the discovery document (once) and the JWKS, and replaces the
// keys with the signing keys it finds. A failure keeps the keys known.
func (k *keySet) fetch(uri string, done chan struct{}) {
	ctx, cancel := context.WithTimeout(context.Background(), k.timeout)
	defer cancel()
	keys, uri, err := k.read(ctx, uri)
	k.mu.Lock()
	defer k.mu.Unlock()
	k.lastErr, k.done = err, nil
	if err == nil {
		k.keys, k.jwksURI, k.fetched = keys, uri, k.now()
	}
	close(done)
}

func (k *keySet) read(ctx context.Context, uri string) (map[string]jose.JSONWebKey, string, error) {
	if uri == "" {
		var doc struct {
			Issuer  string `json:"issuer"`
			JWKSURI string `json:"jwks_uri"`
		}
		if err := k.get(ctx, strings.TrimSuffix(k.issuer, "/")+"/.well-known/openid-configuration", &doc); err != nil {
			return nil, "", fmt.Errorf("discovery: %w", err)
		}
		// OpenID Connect Discovery §4.3: the document must name the issuer
		// it was asked of, exactly.
		if doc.Issuer != k.issuer {
			return nil, "", fmt.Errorf("discovery: the document names issuer %q, not %q", doc.Issuer, k.issuer)
		}
		if doc.JWKSURI == "" {
			return nil, "", errors.New("discovery: no jwks_uri")
		}
		uri = doc.JWKSURI
	}
	var set jose.JSONWebKeySet
	if err := k.get(ctx, uri, &set); err != nil {
		return nil, "", fmt.Errorf("jwks: %w", err)
	}
	keys := map[string]jose.JSONWebKey{}
	for _, key := range set.Keys {
		if key.Use != "" && key.Use != "sig" || !key.IsPublic() || !key.Valid() {
			continue
		}
		keys[key.KeyID] = key
	}
	if len(keys) == 0 {
		return nil, "", errors.New("jwks: no public signing key")
	}
	return keys, uri, nil
}

func (k *keySet) get(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := k.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocument+1))
	if err != nil {
		return err
	}
	if len(body) > maxDocument {
		return fmt.Errorf("GET %s: over %d bytes", url, maxDocument)
	}
	return json.Unmarshal(body, v)
}
