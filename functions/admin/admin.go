// Package admin is the admin function: it creates, lists, reads, replaces and
// deletes promotions behind a bearer token.
package admin

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"hash/maphash"
	"net/http"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/seckill/seckill/shared/identity"
	"github.com/seckill/seckill/shared/sale"
	"github.com/seckill/seckill/shared/store"
	"github.com/seckill/seckill/shared/web"
)

// Handler serves the admin routes.
type Handler struct {
	store     *store.Store
	tokenHash [sha256.Size]byte
	hasToken  bool
	scoped    *identity.Guard // admits tokens carrying the admin scope; nil: none
	now       func() time.Time
	turns     turns
}

// New returns the admin handler. Admins carry token ("" admits nobody by
// it) or, when scoped is not nil, a token it admits (an OIDC token with the
// admin scope). now is the clock (time.Now in production).
func New(s *store.Store, token string, now func() time.Time, scoped *identity.Guard) *Handler {
	return &Handler{store: s, tokenHash: sha256.Sum256([]byte(token)), hasToken: token != "", scoped: scoped, now: now, turns: newTurns()}
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

// auth admits requests that carry the admin token, or a token with the
// admin scope. Comparing digests of equal length in constant time reveals
// neither the token nor its length.
func (h *Handler) auth(next func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h.admit(r); err != nil {
			web.Error(w, r, err)
			return
		}
		if err := next(w, r); err != nil {
			web.Error(w, r, err)
		}
	})
}

func (h *Handler) admit(r *http.Request) error {
	got, ok := identity.Bearer(r)
	gotHash := sha256.Sum256([]byte(got))
	if subtle.ConstantTimeCompare(gotHash[:], h.tokenHash[:]) == 1 && ok && h.hasToken {
		return nil
	}
	if h.scoped != nil {
		return h.scoped.Admin(r)
	}
	if !ok {
		return identity.ErrNoToken
	}
	return fmt.Errorf("%w: not the admin token", identity.ErrInvalidToken)
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
	writePromotion(w, http.StatusCreated, store.View{Promotion: p, Stock: sale.Stock{Left: p.TotalCoupons}}, now)
	return nil
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request) error {
	filter, err := sale.ParseFilter(r.URL.Query().Get("status"))
	if err != nil {
		return err
	}
	q, err := web.PageQuery(r)
	if err != nil {
		return err
	}
	now := h.now()
	promos, next, err := h.store.PromotionsPage(r.Context(), filter, now, q)
	if err != nil {
		return err
	}
	views, err := h.store.Views(r.Context(), promos, now)
	if err != nil {
		return err
	}
	out := make([]web.Promotion, 0, len(views))
	for _, v := range views {
		out = append(out, web.PromotionJSON(v.Promotion, v.Stock, now))
	}
	web.Page(w, "promotions", out, next)
	return nil
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request) error {
	id, err := sale.ParsePromotionID(r.PathValue("promotionId"))
	if err != nil {
		return err
	}
	v, err := h.store.PromotionView(r.Context(), id)
	if err != nil {
		return err
	}
	writePromotion(w, http.StatusOK, v, h.now())
	return nil
}

// target reads what a PUT or DELETE changes: the promotion, and the
// version If-Match requires of it.
func target(r *http.Request) (string, sale.Versions, error) {
	id, err := sale.ParsePromotionID(r.PathValue("promotionId"))
	if err != nil {
		return "", nil, err
	}
	expect, err := web.IfMatch(r)
	return id, expect, err
}

func (h *Handler) replace(w http.ResponseWriter, r *http.Request) error {
	id, expect, err := target(r)
	if err != nil {
		return err
	}
	// The body is read before taking the promotion's turn, so that a slow
	// client never holds up other changes.
	draft, err := decodeDraft(w, r, h.now())
	if err != nil {
		return err
	}
	done, err := h.turns.take(r.Context(), id)
	if err != nil {
		return err
	}
	defer done()
	var at time.Time
	p, err := h.store.UpdatePromotion(r.Context(), id, expect, h.now, func(old sale.Promotion, now time.Time) (sale.Promotion, error) {
		at = now
		return old.Replace(draft, now)
	})
	if err != nil {
		return err
	}
	// The write landed only while every shard had granted nothing, so the
	// new stock is whole.
	writePromotion(w, http.StatusOK, store.View{Promotion: p, Stock: sale.Stock{Left: p.TotalCoupons}}, at)
	return nil
}

func (h *Handler) delete(w http.ResponseWriter, r *http.Request) error {
	id, expect, err := target(r)
	if err != nil {
		return err
	}
	done, err := h.turns.take(r.Context(), id)
	if err != nil {
		return err
	}
	defer done()
	if err := h.store.DeletePromotion(r.Context(), id, expect, h.now); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func writePromotion(w http.ResponseWriter, status int, v store.View, now time.Time) {
	w.Header().Set("ETag", web.ETag(v.Promotion.Version))
	web.JSON(w, status, web.PromotionJSON(v.Promotion, v.Stock, now))
}

// turns lets changes of one promotion take turns within an instance. Every
// change is optimistic and safe without it; with it, concurrent PUTs that
// reach one instance land one after another instead of failing each other's
// conditions and backing off. Promotions share a fixed set of turns by
// hash, so memory stays the same whatever ids clients send.
type turns struct {
	seed  maphash.Seed
	slots [64]chan struct{}
}

func newTurns() turns {
	t := turns{seed: maphash.MakeSeed()}
	for i := range t.slots {
		t.slots[i] = make(chan struct{}, 1)
	}
	return t
}

// take waits for id's turn, or for ctx to end.
func (t *turns) take(ctx context.Context, id string) (func(), error) {
	slot := t.slots[maphash.String(t.seed, id)%uint64(len(t.slots))]
	select {
	case slot <- struct{}{}:
		return func() { <-slot }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for another change of promotion %s: %w: %w", id, sale.ErrUnavailable, ctx.Err())
	}
}
