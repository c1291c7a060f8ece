package grab

import (
	"context"
	"net/http"
	"time"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"

	"github.com/seckill/seckill/shared/config"
	"github.com/seckill/seckill/shared/identity"
	"github.com/seckill/seckill/shared/store"
	"github.com/seckill/seckill/shared/web"
)

// init only registers; the handler is built on first use.
func init() { functions.HTTP("grab", web.Lazy("grab", FromEnv)) }

// FromEnv builds the grab handler from the environment.
func FromEnv(ctx context.Context) (http.Handler, error) {
	var cfg config.Grab
	st, err := config.Setup(ctx, &cfg)
	if err != nil {
		return nil, err
	}
	guard, err := cfg.Guard("")
	if err != nil {
		return nil, err
	}
	return cfg.Edge().Apply(FromConfig(st, guard, cfg).Router()), nil
}

// FromConfig builds the grab handler over s with cfg's tuning; guard tells
// who grabs.
func FromConfig(s *store.Store, guard *identity.Guard, cfg config.Grab) *Handler {
	return New(NewService(s, time.Now, Options{
		PromotionTTL: cfg.PromotionTTL, MaxAttempts: cfg.MaxAttempts, InFlight: cfg.InFlight, MaxHolders: cfg.MaxHolders,
	}), guard)
}
