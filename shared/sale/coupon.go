package sale

import (
	"fmt"
	"strings"
	"time"
)

// Coupon is one granted coupon. It carries the discount it was granted with,
// so that later reads need not look up the promotion.
type Coupon struct {
	ID          string
	PromotionID string
	CustomerID  string
	Discount    float64
	GrabbedAt   time.Time
}

// AlreadyGrabbedError carries the coupon the customer already holds, which
// the contract returns alongside the 409.
type AlreadyGrabbedError struct {
	Coupon Coupon
}

func (e *AlreadyGrabbedError) Error() string {
	return fmt.Sprintf("customer %s already holds coupon %s of promotion %s",
		e.Coupon.CustomerID, e.Coupon.ID, e.Coupon.PromotionID)
}

func (e *AlreadyGrabbedError) Unwrap() error { return ErrAlreadyGrabbed }

// CustomerID is a validated customer identifier: 1 to 128 characters of
// A-Z a-z 0-9 . _ : @ - | (some providers' subjects read auth0|…), and not
// "." or "..", which a URL path cannot carry as a segment of
// /customers/{customerId}/coupons.
type CustomerID string

// ParseCustomerID validates s as a customer id.
func ParseCustomerID(s string) (CustomerID, error) {
	if len(s) < 1 || len(s) > MaxCustomerID {
		return "", invalid("customerId", "must be 1 to %d characters", MaxCustomerID)
	}
	for i := 0; i < len(s); i++ {
		if !customerIDByte(s[i]) {
			return "", invalid("customerId", "may hold only A-Z a-z 0-9 . _ : @ - |")
		}
	}
	if s == "." || s == ".." {
		return "", invalid("customerId", "must not be %q", s)
	}
	return CustomerID(s), nil
}

func customerIDByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("._:@-|", c) >= 0
}

// ParsePromotionID checks that s can be a promotion id: a ULID, 26
// characters of Crockford's base 32. A well-formed id may still name no
// promotion; that is the store's to say.
func ParsePromotionID(s string) (string, error) {
	if !IsULID(s) {
		return "", invalid("promotionId", "is not a promotion id")
	}
	return s, nil
}

// IsULID reports whether s is a ULID in canonical form: 26 characters of
// Crockford's base 32, upper case, whose first does not overflow 128 bits.
func IsULID(s string) bool {
	const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	if len(s) != 26 || s[0] > '7' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune(crockford, rune(s[i])) {
			return false
		}
	}
	return true
}
