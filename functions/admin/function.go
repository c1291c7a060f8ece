package admin

import (
	"context"
	"net/http"
	"time"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"

	"github.com/seckill/seckill/shared/config"
	"github.com/seckill/seckill/shared/web"
)

// init only registers; the handler is built on first use so that importing
// the package (tests, the local stack) never reads the environment.
func init() { functions.HTTP("admin", web.Lazy("admin", FromEnv)) }

// FromEnv builds the admin handler from the environment. It refuses a missing
// or short token unless admins come by scope.
func FromEnv(ctx context.Context) (http.Handler, error) {
	var cfg config.Admin
	st, err := config.Setup(ctx, &cfg)
	if err != nil {
		return nil, err
	}
	scoped, err := cfg.Guard()
	if err != nil {
		return nil, err
	}
	return cfg.Edge().Apply(New(st, cfg.AdminToken, time.Now, scoped).Router()), nil
}
