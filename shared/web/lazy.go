package web

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
)

// Lazy is what a function registers with the Functions Framework: the
// handler is built from the environment on the first request, once, so that
// importing a function's package (tests, the local stack) reads nothing and
// a cold start pays only for what it uses.
func Lazy(function string, build func(context.Context) (http.Handler, error)) http.HandlerFunc {
	built := sync.OnceValues(func() (http.Handler, error) { return build(context.Background()) })
	return func(w http.ResponseWriter, r *http.Request) {
		h, err := built()
		if err != nil {
			slog.Error("function misconfigured", "function", function, "err", err)
			WriteProblem(w, NewProblem(http.StatusInternalServerError, CodeInternal, "the function is misconfigured"))
			return
		}
		h.ServeHTTP(w, r)
	}
}
