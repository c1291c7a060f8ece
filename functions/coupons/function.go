package coupons

import (
	"context"
	"net/http"
	"time"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"

	"github.com/seckill/seckill/shared/config"
	"github.com/seckill/seckill/shared/web"
)

// init only registers; the handler is built on first use.
func init() { functions.HTTP("coupons", web.Lazy("coupons", FromEnv)) }

// FromEnv builds the coupons handler from the environment.
func FromEnv(ctx context.Context) (http.Handler, error) {
	var cfg config.Coupons
	st, err := config.Setup(ctx, &cfg)
	if err != nil {
		return nil, err
	}
	guard, err := cfg.Guard("")
	if err != nil {
		return nil, err
	}
	return cfg.Edge().Apply(New(st, time.Now, guard).Router()), nil
}
