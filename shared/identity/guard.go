package identity

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/seckill/seckill/shared/sale"
)

// Modes of customer identification (SECKILL_CUSTOMER_AUTH).
const (
	// ModeJWT: the customer is the subject of a verified token. The
	// default of every deployment.
	ModeJWT = "jwt"
	// ModeOpen: no token; the body names the customer and lists are
	// public, as in the original SecKill demo. Chosen explicitly only.
	ModeOpen = "open"
)

// Guard tells the functions who a request comes from.
type Guard struct {
	verifier *Verifier // nil in open mode
	claim    string
	scope    string // admits admins; "" admits none by token
}

// Open returns the guard of open mode, and says so in the log: a
// deployment that runs it lets anyone act as any customer.
func Open() *Guard {
	slog.Warn("customer auth is OPEN: the body names the customer and anyone may act as anyone (SECKILL_CUSTOMER_AUTH=open); never deploy this")
	return &Guard{}
}

// JWT returns the guard of token mode over v. adminScope, when set, admits
// as an admin any token that carries it.
func JWT(v *Verifier, adminScope string) *Guard {
	return &Guard{verifier: v, claim: v.claim, scope: adminScope}
}

// IsOpen says whether the guard is in open mode.
func (g *Guard) IsOpen() bool { return g.verifier == nil }

// Customer returns the customer a request comes from. In open mode it is
// "" with no error: the body names the customer. Claims a gateway verified
// are taken as they are; otherwise the bearer token is verified here.
func (g *Guard) Customer(r *http.Request) (sale.CustomerID, error) {
	if g.IsOpen() {
		return "", nil
	}
	c, err := g.claims(r)
	if err != nil {
		return "", err
	}
	customer, err := sale.ParseCustomerID(c.Subject)
	if err != nil {
		return "", fmt.Errorf("%w: the %s claim is not a customer id: %w", ErrInvalidToken, g.claim, err)
	}
	return customer, nil
}

// Owns refuses, with ErrForbidden, a request whose customer (from Customer)
// is not named: in open mode anyone owns everything.
func (g *Guard) Owns(customer, named sale.CustomerID) error {
	if g.IsOpen() || customer == named {
		return nil
	}
	return fmt.Errorf("customer %s asks for what is %s's: %w", customer, named, sale.ErrForbidden)
}

// Admin says whether the request carries a token with the admin scope. It
// is false (with the reason) when no scope admits admins.
func (g *Guard) Admin(r *http.Request) error {
	if g.IsOpen() || g.scope == "" {
		return ErrNoToken
	}
	c, err := g.claims(r)
	if err != nil {
		return err
	}
	if !c.HasScope(g.scope) {
		return fmt.Errorf("%w: the token lacks the admin scope %q", ErrInvalidToken, g.scope)
	}
	return nil
}

func (g *Guard) claims(r *http.Request) (Claims, error) {
	if c, ok := gateway(r.Context(), g.claim); ok {
		return c, nil
	}
	token, ok := Bearer(r)
	if !ok {
		return Claims{}, ErrNoToken
	}
	return g.verifier.Verify(r.Context(), token)
}
