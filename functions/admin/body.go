package admin

import (
	"net/http"
	"time"

	"github.com/seckill/seckill/shared/sale"
	"github.com/seckill/seckill/shared/web"
)

// promotionBody is the body of POST and PUT. Times are strings so that a bad
// one is reported with its field's name.
type promotionBody struct {
	Name         string  `json:"name"`
	Discount     float64 `json:"discount"`
	TotalCoupons int     `json:"totalCoupons"`
	PublishAt    *string `json:"publishAt"`
	FinishAt     *string `json:"finishAt"`
}

func decodeDraft(w http.ResponseWriter, r *http.Request, now time.Time) (sale.Draft, error) {
	var b promotionBody
	if err := web.Decode(w, r, &b); err != nil {
		return sale.Draft{}, err
	}
	return b.draft(now)
}

// ParseDraft turns a request body into a draft, not yet validated against
// the domain's rules; it is what the fuzzer drives.
func ParseDraft(body []byte, now time.Time) (sale.Draft, error) {
	var b promotionBody
	if err := web.DecodeBytes(body, &b); err != nil {
		return sale.Draft{}, err
	}
	return b.draft(now)
}

func (b promotionBody) draft(now time.Time) (sale.Draft, error) {
	d := sale.Draft{Name: b.Name, Discount: b.Discount, TotalCoupons: b.TotalCoupons, PublishAt: now}
	var err error
	if b.PublishAt != nil {
		if d.PublishAt, err = sale.ParseTime("publishAt", *b.PublishAt); err != nil {
			return sale.Draft{}, err
		}
	}
	if b.FinishAt != nil {
		if d.FinishAt, err = sale.ParseTime("finishAt", *b.FinishAt); err != nil {
			return sale.Draft{}, err
		}
	}
	return d, nil
}
