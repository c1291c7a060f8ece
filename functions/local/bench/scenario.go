package main

import (
	"fmt"
	"math/rand/v2"
)

// A scenario is a sale to run: promotions and phases of asks.
type scenario struct {
	Name       string
	Promotions []int // coupons of each
	Customers  int
	Phases     []phasePlan
}

type phasePlan struct {
	Name string
	Asks []ask
}

// ask is one grab request: a customer asking for a coupon of a promotion.
type ask struct {
	Promo    int // index into the scenario's promotions
	Customer string
}

// scenarios names the sales `make bench SCENARIO=` runs; scale shrinks
// them (for tests), 1 is the size of the figures in this folder's README.
func scenarioFor(o options, rng *rand.Rand) (scenario, error) {
	n := func(x int) int { return max(1, int(float64(x)*o.Scale)) }
	switch o.Scenario {
	case "", "sale":
		// One promotion, the C/U/K/R knobs.
		return scenario{Name: "sale", Promotions: []int{o.Coupons}, Customers: o.Customers,
			Phases: []phasePlan{{"sale", onPromotion(0, plan(o.Customers, o.Requests, rng))}}}, nil
	case "seed":
		// The seed's load test: 160 promotions of 50 coupons, 200 customers
		// each asking every promotion once: 32,000 asks, exactly 8,000 grants.
		promos, customers := n(160), n(200)
		var asks []ask
		for p := range promos {
			for c := range customers {
				asks = append(asks, ask{p, customerName(c)})
			}
		}
		shuffle(rng, asks)
		return scenario{Name: "seed", Promotions: repeat(50, promos), Customers: customers,
			Phases: []phasePlan{{"sale", asks}}}, nil
	case "stampede":
		// 5,000 coupons, 20,000 customers: every customer once (the live
		// sale), the same 20,000 again, then 200,000 asks after the
		// sell-out from them and as many newcomers.
		coupons, customers := n(5000), n(20000)
		live := onPromotion(0, names(0, customers))
		shuffle(rng, live)
		again := onPromotion(0, names(0, customers))
		shuffle(rng, again)
		after := make([]ask, n(200000))
		for i := range after {
			after[i] = ask{0, customerName(rng.IntN(2 * customers))}
		}
		return scenario{Name: "stampede", Promotions: []int{coupons}, Customers: 2 * customers,
			Phases: []phasePlan{{"live", live}, {"again", again}, {"after", after}}}, nil
	}
	return scenario{}, fmt.Errorf("unknown scenario %q: sale, seed or stampede", o.Scenario)
}

// customers lists, once each, the customers the scenario's asks name.
func (sc scenario) customers() []string {
	seen := map[string]bool{}
	var out []string
	for _, ph := range sc.Phases {
		for _, a := range ph.Asks {
			if !seen[a.Customer] {
				seen[a.Customer] = true
				out = append(out, a.Customer)
			}
		}
	}
	return out
}

// plan orders r requests from u customers: every customer asks once
// (when r allows), the rest are customers asking again, all shuffled.
func plan(u, r int, rng *rand.Rand) []string {
	if rng == nil {
		rng = rand.New(rand.NewPCG(1, 2))
	}
	out := make([]string, r)
	for i := range out {
		if i < u {
			out[i] = customerName(i)
		} else {
			out[i] = customerName(rng.IntN(u))
		}
	}
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func customerName(i int) string { return fmt.Sprintf("cust-%06d", i) }

func names(from, to int) []string {
	out := make([]string, 0, to-from)
	for i := from; i < to; i++ {
		out = append(out, customerName(i))
	}
	return out
}

func onPromotion(p int, customers []string) []ask {
	out := make([]ask, len(customers))
	for i, c := range customers {
		out[i] = ask{p, c}
	}
	return out
}

func repeat(v, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func shuffle(rng *rand.Rand, a []ask) {
	rng.Shuffle(len(a), func(i, j int) { a[i], a[j] = a[j], a[i] })
}
