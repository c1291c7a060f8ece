package grab

import (
	"sync"
	"time"

	"github.com/seckill/seckill/shared/sale"
)

// holders maps customers to the coupon they hold. Until complete it holds
// those this instance has seen, a cache of repeat asks; once complete it is
// every holder of a sold-out promotion and answers everyone.
type holders struct {
	mu       sync.Mutex
	m        map[sale.CustomerID]sale.Coupon
	complete bool
	tried    time.Time // last enumeration that did not complete
	limit    int       // of customers remembered while incomplete
}

func (h *holders) get(customer sale.CustomerID) (c sale.Coupon, ok, complete bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c, ok = h.m[customer]
	return c, ok, h.complete
}

func (h *holders) add(customer sale.CustomerID, c sale.Coupon) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.m) < h.limit {
		h.m[customer] = c
	}
}
