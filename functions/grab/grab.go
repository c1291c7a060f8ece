package grab

import (
	"net/http"

	"github.com/seckill/seckill/shared/sale"
	"github.com/seckill/seckill/shared/web"
)

// Handler serves POST /promotions/{promotionId}/coupons.
type Handler struct {
	svc *Service
}

// New returns the grab handler over svc.
func New(svc *Service) *Handler { return &Handler{svc: svc} }

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

// ParseRequest validates a grab's promotion id and body; the fuzzer drives it.
func ParseRequest(promotionID string, body []byte) (string, sale.CustomerID, error) {
	id, err := sale.ParsePromotionID(promotionID)
	if err != nil {
		return "", "", err
	}
	var b grabBody
	if err := web.DecodeBytes(body, &b); err != nil {
		return "", "", err
	}
	customer, err := sale.ParseCustomerID(b.CustomerID)
	return id, customer, err
}

func (h *Handler) grab(w http.ResponseWriter, r *http.Request) {
	body, err := web.ReadBody(w, r)
	if err != nil {
		web.Error(w, r, err)
		return
	}
	id, customer, err := ParseRequest(r.PathValue("promotionId"), body)
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
