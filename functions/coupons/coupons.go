// Package coupons is the coupons function: the query side. It answers from
// the read model that the projector maintains, never from the grab path's
// items.
package coupons

import (
	"net/http"
	"time"

	"github.com/seckill/seckill/shared/identity"
	"github.com/seckill/seckill/shared/sale"
	"github.com/seckill/seckill/shared/store"
	"github.com/seckill/seckill/shared/web"
)

// Handler serves a customer's coupons and the promotions on offer.
type Handler struct {
	store *store.Store
	now   func() time.Time
	guard *identity.Guard
}

// New returns the coupons handler; guard tells whose coupons a caller may
// read.
func New(s *store.Store, now func() time.Time, guard *identity.Guard) *Handler {
	return &Handler{store: s, now: now, guard: guard}
}

// Register adds the coupons routes to rt.
func (h *Handler) Register(rt *web.Router) {
	rt.HandleFunc("GET /customers/{customerId}/coupons", h.coupons)
	rt.HandleFunc("GET /promotions", h.promotions)
}

// Router returns a router serving only the coupons function.
func (h *Handler) Router() *web.Router {
	rt := web.NewRouter()
	h.Register(rt)
	return rt
}

func (h *Handler) coupons(w http.ResponseWriter, r *http.Request) {
	who, err := h.guard.Customer(r)
	if err != nil {
		web.Error(w, r, err)
		return
	}
	customer, err := sale.ParseCustomerID(r.PathValue("customerId"))
	if err != nil {
		web.Error(w, r, err)
		return
	}
	if err := h.guard.Owns(who, customer); err != nil {
		web.Error(w, r, err)
		return
	}
	q, err := web.PageQuery(r)
	if err != nil {
		web.Error(w, r, err)
		return
	}
	cs, next, err := h.store.CustomerCoupons(r.Context(), customer, q)
	if err != nil {
		web.Error(w, r, err)
		return
	}
	out := make([]web.Coupon, 0, len(cs))
	for _, c := range cs {
		out = append(out, web.CouponJSON(c))
	}
	web.Page(w, "coupons", out, next)
}

// promotions lists what a customer may still grab or wait for: upcoming,
// active and sold-out promotions.
func (h *Handler) promotions(w http.ResponseWriter, r *http.Request) {
	q, err := web.PageQuery(r)
	if err != nil {
		web.Error(w, r, err)
		return
	}
	now := h.now()
	open, next, err := h.store.PromotionsPage(r.Context(), sale.FilterOpen, now, q)
	if err != nil {
		web.Error(w, r, err)
		return
	}
	views, err := h.store.Views(r.Context(), open, now)
	if err != nil {
		web.Error(w, r, err)
		return
	}
	out := make([]web.Promotion, 0, len(views))
	for _, v := range views {
		out = append(out, web.PromotionJSON(v.Promotion, v.Stock, now))
	}
	web.Page(w, "promotions", out, next)
}
