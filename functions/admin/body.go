package admin

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/seckill/seckill/shared/sale"
	"github.com/seckill/seckill/shared/web"
)

// promotionBody is the body of POST and PUT. Times are strings so that a bad
// one is reported with its field's name.
type promotionBody struct {
	Name         string       `json:"name"`
	Discount     float64      `json:"discount"`
	TotalCoupons int          `json:"totalCoupons"`
	PublishAt    optionalTime `json:"publishAt"`
	FinishAt     optionalTime `json:"finishAt"`
}

// optionalTime is a time field that may be left out but is never null: the
// schema has no null, and "null means now" would be a guess.
type optionalTime struct {
	set, null bool
	value     string
}

func (t *optionalTime) UnmarshalJSON(b []byte) error {
	t.set = true
	if string(b) == "null" {
		t.null = true
		return nil
	}
	return json.Unmarshal(b, &t.value)
}

func (t optionalTime) parse(field string, absent time.Time) (time.Time, error) {
	switch {
	case !t.set:
		return absent, nil
	case t.null:
		return time.Time{}, &sale.FieldError{Field: field, Reason: "must be an RFC 3339 string, not null (leave it out instead)"}
	}
	return sale.ParseTime(field, t.value)
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
	d := sale.Draft{Name: b.Name, Discount: b.Discount, TotalCoupons: b.TotalCoupons}
	var err error
	if d.PublishAt, err = b.PublishAt.parse("publishAt", now); err != nil {
		return sale.Draft{}, err
	}
	if d.FinishAt, err = b.FinishAt.parse("finishAt", time.Time{}); err != nil {
		return sale.Draft{}, err
	}
	return d, nil
}
