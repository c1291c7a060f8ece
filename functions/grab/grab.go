package grab

import (
	"fmt"
	"net/http"

	"github.com/seckill/seckill/shared/identity"
	"github.com/seckill/seckill/shared/sale"
	"github.com/seckill/seckill/shared/web"
)

// Handler serves POST /promotions/{promotionId}/coupons.
type Handler struct {
	svc   *Service
	guard *identity.Guard
}

// New returns the grab handler over svc; guard tells who grabs.
func New(svc *Service, guard *identity.Guard) *Handler { return &Handler{svc: svc, guard: guard} }

// Service is the service the handler serves.
func (h *Handler) Service() *Service { return h.svc }

// Register adds the grab route to rt.
func (h *Handler) Register(rt *web.Router) {
	rt.HandleFunc("POST /promotions/{promotionId}/coupons", h.grab)
}

// Router returns a router serving only the grab function.
func (h *Handler) Router() *web.Router {
	rt := web.NewRouter()
	h.Register(rt)
	return rt
}

type grabBody struct {
	CustomerID string `json:"customerId"`
}

// ParseRequest validates a grab's promotion id and body; the fuzzer drives
// it. who is the customer the token names, or "" in open mode, where the
// body must name one. With a token the body may be empty or {}, and a
// customer it names must be who.
func ParseRequest(promotionID string, body []byte, who sale.CustomerID) (string, sale.CustomerID, error) {
	id, err := sale.ParsePromotionID(promotionID)
	if err != nil {
		return "", "", err
	}
	if who != "" && len(body) == 0 {
		return id, who, nil
	}
	raw, ok := QuickBody(body)
	if !ok {
		var b grabBody
		if err := web.DecodeBytes(body, &b); err != nil {
			return "", "", err
		}
		raw = b.CustomerID
	}
	if who != "" && raw == "" {
		return id, who, nil
	}
	customer, err := sale.ParseCustomerID(raw)
	if err != nil {
		return "", "", err
	}
	if who != "" && customer != who {
		return "", "", fmt.Errorf("the body names %s, the token %s: %w", customer, who, sale.ErrForbidden)
	}
	return id, customer, nil
}

// QuickBody reads the body nearly every client sends, {"customerId":"…"}
// with optional white space and a value of printable ASCII without quotes
// or escapes, without the strict decoder, which was the largest cost of an
// answer from memory (functions/local/bench/README.md). Such a value decodes to
// itself, so the strict decoder would read the same; anything else is not
// ok and goes to it. FuzzQuickBody holds the two to agreement.
func QuickBody(body []byte) (customer string, ok bool) {
	const key = `"customerId"`
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return "", false
	}
	i = skipSpace(body, i+1)
	if len(body)-i < len(key) || string(body[i:i+len(key)]) != key {
		return "", false
	}
	i = skipSpace(body, i+len(key))
	if i >= len(body) || body[i] != ':' {
		return "", false
	}
	i = skipSpace(body, i+1)
	if i >= len(body) || body[i] != '"' {
		return "", false
	}
	start := i + 1
	for i = start; i < len(body) && body[i] != '"'; i++ {
		if c := body[i]; c < 0x20 || c > 0x7e || c == '\\' {
			return "", false
		}
	}
	if i >= len(body) {
		return "", false
	}
	value := body[start:i]
	i = skipSpace(body, i+1)
	if i >= len(body) || body[i] != '}' || skipSpace(body, i+1) != len(body) {
		return "", false
	}
	return string(value), true
}

// skipSpace skips JSON white space from i.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

func (h *Handler) grab(w http.ResponseWriter, r *http.Request) {
	who, err := h.guard.Customer(r)
	if err != nil {
		web.Error(w, r, err)
		return
	}
	body, err := web.ReadBody(w, r)
	if err != nil {
		web.Error(w, r, err)
		return
	}
	id, customer, err := ParseRequest(r.PathValue("promotionId"), body, who)
	if err != nil {
		web.Error(w, r, err)
		return
	}
	c, err := h.svc.Grab(r.Context(), id, customer)
	if err != nil {
		web.Error(w, r, err)
		return
	}
	web.JSON(w, http.StatusCreated, map[string]any{"coupon": web.CouponJSON(c)})
}
