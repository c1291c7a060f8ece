package main

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"
)

// Invariant is one check, after the sale, of the invariants that
// functions/grab/README.md lists.
type Invariant struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// OK says whether every invariant held.
func (r *Report) OK() bool {
	for _, i := range r.Invariants {
		if !i.OK {
			return false
		}
	}
	return len(r.Invariants) > 0
}

// check holds the outcome against the invariants, from the answers, the
// admin view of the stock and the read model.
func (r *Report) check(ctx context.Context, c *client, rec *recorder, sc scenario, promos []promotion, o options) error {
	add := func(name string, ok bool, format string, args ...any) {
		r.Invariants = append(r.Invariants, Invariant{name, ok, fmt.Sprintf(format, args...)})
	}
	// Grants first, then what already-grabbed answers said: both must name
	// one coupon per customer and promotion.
	winners := map[ask]string{} // => coupon
	twice, wrong := 0, 0
	for _, pass := range []struct {
		outcome string
		count   *int
	}{{"granted", &twice}, {"already-grabbed", &wrong}} {
		for a, answers := range rec.answers {
			for _, ans := range answers {
				if ans.Outcome() != pass.outcome {
					continue
				}
				if prev, ok := winners[a]; ok && prev != ans.Coupon.ID {
					*pass.count++
				}
				winners[a] = ans.Coupon.ID
			}
		}
	}
	asked := make([]int, len(promos))
	for a, answers := range rec.answers {
		asked[a.Promo]++
		for _, ans := range answers {
			if ans.Outcome() == "sold-out" && winners[a] != "" {
				wrong++ // a holder must hear already-grabbed, with the coupon
			}
		}
	}
	want := 0
	for i, n := range asked {
		want += min(sc.Promotions[i], n)
	}
	add("granted == Σ min(C, customers who asked)", len(winners) == want, "%d coupons held, want %d over %d promotions", len(winners), want, len(promos))
	add("no customer twice", twice == 0 && wrong == 0, "%d customers granted twice, %d answers contradicting a held coupon", twice, wrong)
	other := 0
	for _, p := range r.Phases {
		other += p.Outcomes["other"]
	}
	add("every answer is in the contract", other == 0, "%d answers outside the contract", other)

	holders := make([]int, len(promos))
	for a := range winners {
		holders[a.Promo]++
	}
	var mu sync.Mutex
	bad, left, granted := []string{}, 0, 0
	var ferr error
	forEach(16, len(promos), func(i int) {
		p, err := c.promotion(ctx, promos[i].ID)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			ferr = err
			return
		}
		left += p.CouponsLeft
		granted += p.CouponsGranted
		if p.CouponsLeft+p.CouponsGranted != p.TotalCoupons || p.CouponsGranted != holders[i] {
			bad = append(bad, fmt.Sprintf("%s: left %d + granted %d of %d, %d holders", p.ID, p.CouponsLeft, p.CouponsGranted, p.TotalCoupons, holders[i]))
		}
	})
	if ferr != nil {
		return ferr
	}
	add("left + granted == total", len(bad) == 0, "left %d + granted %d = %d of %d; %d holders; %d promotions off %v",
		left, granted, left+granted, r.Coupons, len(winners), len(bad), bad[:min(3, len(bad))])

	converged, mismatched, failed := r.readModel(ctx, c, rec, promos, winners, o.Concurrency)
	r.ConvergedSeconds = converged.Seconds()
	add("read model == grants", mismatched == 0 && failed == 0,
		"%d customers' lists differ from their grants, %d unreadable", mismatched, failed)
	return nil
}

// readModel polls every customer's list until each holds exactly the
// coupons granted in this run (or a minute passes): it returns how long
// that took after the sale, and the customers whose lists still differ or
// could not be read.
func (r *Report) readModel(ctx context.Context, c *client, rec *recorder, promos []promotion, winners map[ask]string, k int) (time.Duration, int, int) {
	ours := map[string]bool{}
	for _, p := range promos {
		ours[p.ID] = true
	}
	want := map[string][]string{} // customer => coupons, sorted
	for a := range rec.answers {
		if _, ok := want[a.Customer]; !ok {
			want[a.Customer] = nil
		}
		if id := winners[a]; id != "" {
			want[a.Customer] = append(want[a.Customer], id)
		}
	}
	pending := make([]string, 0, len(want))
	for customer, ids := range want {
		slices.Sort(ids)
		pending = append(pending, customer)
	}
	sort.Strings(pending)
	start := time.Now()
	failed := 0
	for len(pending) > 0 && time.Since(start) < time.Minute {
		var mu sync.Mutex
		var still []string
		failed = 0
		forEach(k, len(pending), func(i int) {
			got, err := c.allCoupons(ctx, pending[i])
			var ids []string
			for _, x := range got {
				if ours[x.PromotionID] {
					ids = append(ids, x.ID)
				}
			}
			slices.Sort(ids)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed++
			}
			if err != nil || !slices.Equal(ids, want[pending[i]]) {
				still = append(still, pending[i])
			}
		})
		pending = still
		if len(pending) > 0 {
			time.Sleep(pollEvery)
		}
	}
	return time.Since(start), len(pending), failed
}
