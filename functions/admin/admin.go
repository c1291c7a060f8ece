// Package admin is the admin function: it creates, lists, reads, replaces and
// deletes promotions behind a bearer token.
package admin

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/seckill/seckill/shared/sale"
	"github.com/seckill/seckill/shared/store"
	"github.com/seckill/seckill/shared/web"
)

// Handler serves the admin routes.
type Handler struct {
	store     *store.Store
	tokenHash [sha256.Size]byte
	now       func() time.Time
}

// New returns the admin handler. now is the clock (time.Now in production).
func New(s *store.Store, token string, now func() time.Time) *Handler {
	return &Handler{store: s, tokenHash: sha256.Sum256([]byte(token)), now: now}
}

// Register adds the admin routes to rt.
func (h *Handler) Register(rt *web.Router) {
	rt.Handle("POST /admin/promotions", h.auth(h.create))
	rt.Handle("GET /admin/promotions", h.auth(h.list))
	rt.Handle("GET /admin/promotions/{promotionId}", h.auth(h.get))
	rt.Handle("PUT /admin/promotions/{promotionId}", h.auth(h.replace))
	rt.Handle("DELETE /admin/promotions/{promotionId}", h.auth(h.delete))
}

// Router returns a router serving only the admin function.
func (h *Handler) Router() *web.Router {
	rt := web.NewRouter()
	h.Register(rt)
	return rt
}

// auth admits requests that carry the admin token. Comparing digests of equal
// length in constant time reveals neither the token nor its length.
func (h *Handler) auth(next func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		gotHash := sha256.Sum256([]byte(got))
		if subtle.ConstantTimeCompare(gotHash[:], h.tokenHash[:]) != 1 || !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="seckill-admin"`)
			web.WriteProblem(w, web.NewProblem(http.StatusUnauthorized, web.CodeUnauthorized, "a valid admin bearer token is required"))
			return
		}
		if err := next(w, r); err != nil {
			web.Error(w, r, err)
		}
	})
}

func (h *Handler) create(w http.ResponseWriter, r *http.Request) error {
	now := h.now()
	draft, err := decodeDraft(w, r, now)
	if err != nil {
		return err
	}
	p, err := sale.NewPromotion(ulid.Make().String(), draft, now)
	if err != nil {
		return err
	}
	if err := h.store.CreatePromotion(r.Context(), p); err != nil {
		return err
	}
	w.Header().Set("Location", "/admin/promotions/"+p.ID)
	web.JSON(w, http.StatusCreated, web.PromotionJSON(p, sale.Stock{Left: p.TotalCoupons}, now))
	return nil
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request) error {
	filter, err := sale.ParseFilter(r.URL.Query().Get("status"))
	if err != nil {
		return err
	}
	now := h.now()
	all, err := h.store.Promotions(r.Context())
	if err != nil {
		return err
	}
	picked := make([]sale.Promotion, 0, len(all))
	for _, p := range all {
		if filter.Match(p, now) {
			picked = append(picked, p)
		}
	}
	stock, err := h.store.Stock(r.Context(), picked...)
	if err != nil {
		return err
	}
	out := make([]web.Promotion, 0, len(picked))
	for _, p := range picked {
		out = append(out, web.PromotionJSON(p, stock[p.ID], now))
	}
	web.JSON(w, http.StatusOK, map[string]any{"promotions": out})
	return nil
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request) error {
	id, err := sale.ParsePromotionID(r.PathValue("promotionId"))
	if err != nil {
		return err
	}
	p, err := h.store.Promotion(r.Context(), id)
	if err != nil {
		return err
	}
	return h.writePromotion(w, r, http.StatusOK, p)
}

func (h *Handler) replace(w http.ResponseWriter, r *http.Request) error {
	id, err := sale.ParsePromotionID(r.PathValue("promotionId"))
	if err != nil {
		return err
	}
	now := h.now()
	draft, err := decodeDraft(w, r, now)
	if err != nil {
		return err
	}
	p, err := h.store.UpdatePromotion(r.Context(), id, now, func(old sale.Promotion) (sale.Promotion, error) {
		return old.Replace(draft, now)
	})
	if err != nil {
		return err
	}
	// Nothing can be granted before publishAt, so the new stock is whole.
	web.JSON(w, http.StatusOK, web.PromotionJSON(p, sale.Stock{Left: p.TotalCoupons}, now))
	return nil
}

func (h *Handler) delete(w http.ResponseWriter, r *http.Request) error {
	id, err := sale.ParsePromotionID(r.PathValue("promotionId"))
	if err != nil {
		return err
	}
	if err := h.store.DeletePromotion(r.Context(), id, h.now()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) writePromotion(w http.ResponseWriter, r *http.Request, status int, p sale.Promotion) error {
	stock, err := h.store.Stock(r.Context(), p)
	if err != nil {
		return err
	}
	web.JSON(w, status, web.PromotionJSON(p, stock[p.ID], h.now()))
	return nil
}
