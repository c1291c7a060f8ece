package web

import (
	"time"

	"github.com/seckill/seckill/shared/sale"
)

// Coupon is a coupon on the wire.
type Coupon struct {
	ID          string    `json:"id"`
	PromotionID string    `json:"promotionId"`
	CustomerID  string    `json:"customerId"`
	Discount    float64   `json:"discount"`
	GrabbedAt   time.Time `json:"grabbedAt"`
}

// CouponJSON is c as the contract shows it.
func CouponJSON(c sale.Coupon) Coupon {
	return Coupon{ID: c.ID, PromotionID: c.PromotionID, CustomerID: c.CustomerID, Discount: c.Discount, GrabbedAt: c.GrabbedAt.UTC()}
}

// Promotion is a promotion on the wire, with its derived status and stock.
type Promotion struct {
	ID             string      `json:"id"`
	Name           string      `json:"name"`
	Discount       float64     `json:"discount"`
	TotalCoupons   int         `json:"totalCoupons"`
	PublishAt      time.Time   `json:"publishAt"`
	FinishAt       time.Time   `json:"finishAt"`
	Status         sale.Status `json:"status"`
	CouponsLeft    int         `json:"couponsLeft"`
	CouponsGranted int         `json:"couponsGranted"`
	CreatedAt      time.Time   `json:"createdAt"`
}

// PromotionJSON is p as the contract shows it at now with stock st.
func PromotionJSON(p sale.Promotion, st sale.Stock, now time.Time) Promotion {
	return Promotion{
		ID: p.ID, Name: p.Name, Discount: p.Discount, TotalCoupons: p.TotalCoupons,
		PublishAt: p.PublishAt.UTC(), FinishAt: p.FinishAt.UTC(),
		Status:      p.Status(now, st.Left),
		CouponsLeft: st.Left, CouponsGranted: st.Granted, CreatedAt: p.CreatedAt.UTC(),
	}
}
