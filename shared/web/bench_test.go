package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/seckill/seckill/shared/metrics"
	"github.com/seckill/seckill/shared/web"
)

// BenchmarkMetrics is what measuring costs a request: a router answering a
// problem (as a sold-out grab does) with no sink, with Prometheus (server
// mode) and with EMF fields on the request's JSON log line (Lambda).
func BenchmarkMetrics(b *testing.B) {
	old := slog.Default()
	defer slog.SetDefault(old)
	slog.SetDefault(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	for _, tc := range []struct {
		name string
		sink metrics.Sink
	}{{"none", metrics.Nop{}}, {"prometheus", metrics.NewPrometheus()}, {"emf", metrics.EMF{}}} {
		b.Run(tc.name, func(b *testing.B) {
			rt := web.NewRouter().SetMetrics(tc.sink)
			rt.HandleFunc("POST /promotions/{promotionId}/coupons", func(w http.ResponseWriter, r *http.Request) {
				web.WriteProblem(w, web.NewProblem(http.StatusConflict, web.CodeSoldOut, "the promotion has no coupons left"))
			})
			req := httptest.NewRequestWithContext(context.Background(), http.MethodPost, "/promotions/01JD8X3Q4M7C2V9K5T6N0B1R2S/coupons", nil)
			b.ReportAllocs()
			for b.Loop() {
				rt.ServeHTTP(httptest.NewRecorder(), req)
			}
		})
	}
}
