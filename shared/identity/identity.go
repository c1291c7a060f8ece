// Package identity tells who calls. A customer is the subject of a token
// from the deployment's OpenID Connect provider, never what a body says: the
// one-coupon-per-customer promise binds only as tightly as that. Behind
// AWS's HTTP API the gateway has verified the token and the request carries
// its claims; everywhere else the Verifier checks the token itself against
// the issuer's published keys.
package identity

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/seckill/seckill/shared/sale"
)

// Errors of identification. The HTTP edge maps them: no or bad token 401
// (with a challenge saying which), keys that cannot be fetched 503.
var (
	// ErrNoToken: the request carries no bearer token.
	ErrNoToken = fmt.Errorf("no bearer token: %w", sale.ErrUnauthorized)
	// ErrInvalidToken: a token was sent and does not verify. Errors that
	// carry it carry the reason too, for the log and never for the client.
	ErrInvalidToken = fmt.Errorf("invalid token: %w", sale.ErrUnauthorized)
	// ErrKeysUnavailable: the token's key is not known and the issuer's
	// keys cannot be fetched; the token may be good, so try again.
	ErrKeysUnavailable = errors.New("the issuer's keys cannot be fetched")
)

// MaxToken is the longest token read; a longer one is refused before it is
// parsed.
const MaxToken = 8 << 10

// Bearer returns the token of an Authorization header of the Bearer scheme,
// whose name is matched case-insensitively (RFC 9110 §11.1). ok is false
// when there is no such header or it names another scheme.
func Bearer(r *http.Request) (token string, ok bool) {
	h := r.Header.Get("Authorization")
	scheme, rest, found := strings.Cut(h, " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimLeft(rest, " ")
	return token, token != ""
}

// Claims is what a verified token says of its bearer.
type Claims struct {
	// Subject is the claim that names the customer (sub, or the one the
	// deployment chose).
	Subject string
	// Scopes are the token's scopes (scope, scp) and groups (groups,
	// cognito:groups), which admit admins.
	Scopes []string
}

// HasScope says whether the claims carry scope.
func (c Claims) HasScope(scope string) bool {
	for _, s := range c.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

type gatewayKey struct{}

type gatewayClaims struct {
	claims map[string]string
	scopes []string
}

// WithGateway marks ctx as carrying claims (and scopes) a gateway verified
// (AWS's JWT authorizer): the function then trusts them and verifies
// nothing again.
func WithGateway(ctx context.Context, claims map[string]string, scopes []string) context.Context {
	return context.WithValue(ctx, gatewayKey{}, gatewayClaims{claims, scopes})
}

// gateway returns the claims a gateway verified, if it did. API Gateway
// hands every value on as a string, arrays as "[a b]" and scope space
// separated.
func gateway(ctx context.Context, claim string) (Claims, bool) {
	g, ok := ctx.Value(gatewayKey{}).(gatewayClaims)
	if !ok {
		return Claims{}, false
	}
	c := Claims{Subject: g.claims[claim], Scopes: g.scopes}
	for _, name := range scopeClaims {
		v := strings.Trim(g.claims[name], "[]")
		c.Scopes = append(c.Scopes, strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ',' })...)
	}
	return c, true
}

// scopeClaims are the claims where providers put scopes and groups: OAuth's
// scope (a string) and scp (an array), groups (Keycloak, Okta, Dex) and
// Cognito's cognito:groups.
var scopeClaims = []string{"scope", "scp", "groups", "cognito:groups"}
