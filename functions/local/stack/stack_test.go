package stack

import (
	"slices"
	"testing"

	"github.com/seckill/seckill/functions/admin"
	"github.com/seckill/seckill/functions/coupons"
	"github.com/seckill/seckill/functions/grab"
	"github.com/seckill/seckill/functions/local/issuer"
	"github.com/seckill/seckill/shared/config"
	"github.com/seckill/seckill/shared/contract"
	"github.com/seckill/seckill/shared/identity"
)

// TestRoutesMatchContract holds each function's router, and the local
// stack's, against the OpenAPI document: a route in one and not the other
// fails.
func TestRoutesMatchContract(t *testing.T) {
	var all []string
	for r := range contract.Routes() {
		all = append(all, r.Pattern())
	}
	slices.Sort(all)
	for _, tc := range []struct {
		fn  contract.Function
		got []string
	}{
		{"admin", admin.New(nil, "", nil, nil).Router().Patterns()},
		{"grab", grab.FromConfig(nil, identity.Open(), config.Grab{}).Router().Patterns()},
		{"coupons", coupons.New(nil, nil, identity.Open()).Router().Patterns()},
	} {
		if want := contract.Patterns(tc.fn); !slices.Equal(tc.got, want) {
			t.Errorf("%s serves %q, the contract says %q", tc.fn, tc.got, want)
		}
	}
	iss, err := issuer.Load("", "http://127.0.0.1:1/dev")
	if err != nil {
		t.Fatal(err)
	}
	// The development issuer's routes are the local stack's own.
	all = append(all, contract.DevRoutes()...)
	slices.Sort(all)
	if got := Router(nil, config.Local{}, identity.Open(), iss).Patterns(); !slices.Equal(got, all) {
		t.Errorf("make run serves %q, the contract and the dev issuer say %q", got, all)
	}
}
