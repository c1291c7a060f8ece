// Package sale holds the flash-sale domain: promotions, coupons, the rules
// that govern them and the errors they produce. It imports only the standard
// library so that the rules can be read and tested without any cloud in sight.
package sale

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits of a promotion, fixed by the HTTP contract.
const (
	MaxNameLength   = 200
	MaxTotalCoupons = 10_000_000
	MaxCustomerID   = 128
	// MinDiscount and DiscountDecimals: the smallest factor a customer may
	// pay, and the most digits after the decimal point a discount may have.
	MinDiscount      = 0.0001
	DiscountDecimals = 4
)

// ChangeFreeze is how long before publishAt a promotion stops accepting
// changes, so that customers never see it change as it opens and a change
// in flight has a second to land before the first grant may.
const ChangeFreeze = time.Second

// Sentinel errors. Adapters wrap them with %w; the HTTP edge maps them to a
// status and a problem code in exactly one place.
var (
	ErrInvalid           = errors.New("invalid request")
	ErrPromotionNotFound = errors.New("promotion not found")
	ErrPromotionStarted  = errors.New("promotion already started")
	// ErrPreconditionFailed: the change named a version (If-Match) that is
	// no longer the stored one.
	ErrPreconditionFailed = errors.New("promotion version does not match")
	ErrSoldOut            = errors.New("sold out")
	ErrNotStarted         = errors.New("promotion not started")
	ErrFinished           = errors.New("promotion finished")
	ErrAlreadyGrabbed     = errors.New("coupon already grabbed")
	// ErrUnauthorized: the caller did not prove who they are.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden: the caller is known, and asks for what is another's.
	ErrForbidden = errors.New("forbidden")
	// ErrUnavailable means the store could not give an answer in time: the
	// operation may or may not have happened, and retrying is how to learn.
	ErrUnavailable = errors.New("store unavailable")
	// ErrThrottled is the store saying it is over capacity; errors carrying
	// it carry ErrUnavailable too.
	ErrThrottled = errors.New("store throttled")
)

// FieldError says which field of a request is wrong and why. It unwraps to
// ErrInvalid.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }
func (e *FieldError) Unwrap() error { return ErrInvalid }

func invalid(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Status is derived from the clock and the stock; it is never stored.
type Status string

const (
	StatusUpcoming Status = "upcoming"
	StatusActive   Status = "active"
	StatusSoldOut  Status = "sold-out"
	StatusFinished Status = "finished"
)

// Draft is what an admin asks for when creating or replacing a promotion.
type Draft struct {
	Name         string
	Discount     float64
	TotalCoupons int
	PublishAt    time.Time
	FinishAt     time.Time
}

// Validate checks a draft against the contract at time now. It names the
// first bad field so that a client can fix its request.
func (d Draft) Validate(now time.Time) error {
	if !utf8.ValidString(d.Name) {
		return invalid("name", "must be valid UTF-8")
	}
	// A JSON decoder turns invalid UTF-8 and lone surrogates into U+FFFD,
	// so the replacement character is refused as the invalid bytes it
	// stands for.
	if strings.ContainsRune(d.Name, utf8.RuneError) {
		return invalid("name", "must be valid UTF-8 (U+FFFD is refused too)")
	}
	if i := strings.IndexFunc(d.Name, unsafeInName); i >= 0 {
		return invalid("name", "must not hold control or bidirectional-override characters (found %U)", []rune(d.Name[i:])[0])
	}
	if n := utf8.RuneCountInString(d.Name); n < 1 || n > MaxNameLength {
		return invalid("name", "must be 1 to %d characters, got %d", MaxNameLength, n)
	}
	if err := validDiscount(d.Discount); err != nil {
		return err
	}
	if d.TotalCoupons < 1 || d.TotalCoupons > MaxTotalCoupons {
		return invalid("totalCoupons", "must be a whole number from 1 to %d", MaxTotalCoupons)
	}
	if d.FinishAt.IsZero() {
		return invalid("finishAt", "is required")
	}
	if d.PublishAt.Before(minTime) || d.PublishAt.After(maxTime) {
		return invalid("publishAt", "must lie between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z")
	}
	if d.FinishAt.After(maxTime) {
		return invalid("finishAt", "must lie between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z")
	}
	if !d.FinishAt.After(d.PublishAt) {
		return invalid("finishAt", "must be after publishAt")
	}
	if !d.FinishAt.After(now) {
		return invalid("finishAt", "must be in the future")
	}
	return nil
}

// validDiscount admits 0.0001 ≤ d ≤ 1 with at most four decimals. The
// shortest decimal form that reads back as d is what a client wrote (or
// could have), so counting its digits is exact where float arithmetic is not.
func validDiscount(d float64) error {
	// The negated form also rejects NaN.
	if !(d >= MinDiscount && d <= 1) {
		return invalid("discount", "must be from %g to 1", MinDiscount)
	}
	text := strconv.FormatFloat(d, 'f', -1, 64)
	if _, frac, ok := strings.Cut(text, "."); ok && len(frac) > DiscountDecimals {
		return invalid("discount", "may have at most %d digits after the decimal point", DiscountDecimals)
	}
	return nil
}

// truncate keeps times to the millisecond, the precision they are stored
// and compared with, so that what a client reads back is what is enforced.
func (d Draft) truncate() Draft {
	d.PublishAt = d.PublishAt.Truncate(time.Millisecond).UTC()
	d.FinishAt = d.FinishAt.Truncate(time.Millisecond).UTC()
	return d
}

// Promotion is a stored promotion. Stock counters live beside it in inventory
// shards; Stock carries their sum when a view needs it.
type Promotion struct {
	ID           string
	Name         string
	Discount     float64
	TotalCoupons int
	PublishAt    time.Time
	FinishAt     time.Time
	CreatedAt    time.Time
	// Version grows by one on every change, so that a grab working from a
	// cached copy can prove its copy is still the current one.
	Version int
	// Shards is the number of inventory shards the stock is split into.
	Shards int
}

// NewPromotion validates d and builds the promotion an admin creates.
func NewPromotion(id string, d Draft, now time.Time) (Promotion, error) {
	d = d.truncate()
	if err := d.Validate(now); err != nil {
		return Promotion{}, err
	}
	return Promotion{
		ID:           id,
		Name:         d.Name,
		Discount:     d.Discount,
		TotalCoupons: d.TotalCoupons,
		PublishAt:    d.PublishAt,
		FinishAt:     d.FinishAt,
		CreatedAt:    now.Truncate(time.Millisecond).UTC(),
		Version:      1,
		Shards:       ShardCount(d.TotalCoupons),
	}, nil
}

// Replace applies d to an upcoming promotion. From ChangeFreeze before
// publishAt on, a promotion is frozen. The store checks the same rule again
// with the clock read for each write, and checks on every inventory shard
// that nothing has been granted, so a replace racing the start either lands
// before the first grant or is refused.
func (p Promotion) Replace(d Draft, now time.Time) (Promotion, error) {
	if err := p.CheckChange(now); err != nil {
		return Promotion{}, err
	}
	d = d.truncate()
	if err := d.Validate(now); err != nil {
		return Promotion{}, err
	}
	p.Name, p.Discount, p.TotalCoupons = d.Name, d.Discount, d.TotalCoupons
	p.PublishAt, p.FinishAt = d.PublishAt, d.FinishAt
	p.Version++
	p.Shards = ShardCount(d.TotalCoupons)
	return p, nil
}

// CheckChange tells whether the promotion may still be changed or deleted at
// now: not within ChangeFreeze of publishAt, nor after it.
func (p Promotion) CheckChange(now time.Time) error {
	if p.Frozen(now) {
		return fmt.Errorf("promotion %s: %w", p.ID, ErrPromotionStarted)
	}
	return nil
}

// Frozen reports whether now is within ChangeFreeze of publishAt or past it.
func (p Promotion) Frozen(now time.Time) bool {
	return !now.Before(p.PublishAt.Add(-ChangeFreeze))
}

// Started reports whether the promotion's publishAt has passed; from then on
// it can neither change nor disappear.
func (p Promotion) Started(now time.Time) bool { return !now.Before(p.PublishAt) }

// CheckWindow tells whether a coupon may be granted at now: publishAt ≤ now < finishAt.
func (p Promotion) CheckWindow(now time.Time) error {
	switch {
	case now.Before(p.PublishAt):
		return fmt.Errorf("promotion %s starts at %s: %w", p.ID, p.PublishAt.Format(time.RFC3339), ErrNotStarted)
	case !now.Before(p.FinishAt):
		return fmt.Errorf("promotion %s finished at %s: %w", p.ID, p.FinishAt.Format(time.RFC3339), ErrFinished)
	}
	return nil
}

// Status derives the promotion's status at now given the coupons left.
func (p Promotion) Status(now time.Time, left int) Status {
	if now.Before(p.PublishAt) {
		return StatusUpcoming
	}
	if !now.Before(p.FinishAt) {
		return StatusFinished
	}
	if left <= 0 {
		return StatusSoldOut
	}
	return StatusActive
}

// Stock is the sum of a promotion's inventory shards, read consistently.
type Stock struct {
	Left    int
	Granted int
}

// unsafeInName says whether r may not appear in a name shown to customers:
// control characters, and the bidirectional embeddings, overrides and
// isolates (U+202A–U+202E, U+2066–U+2069) that make a name read otherwise
// than it is stored.
func unsafeInName(r rune) bool {
	return unicode.IsControl(r) || 0x202A <= r && r <= 0x202E || 0x2066 <= r && r <= 0x2069
}
