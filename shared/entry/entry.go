// Package entry is how a function's binary starts. One binary per function
// runs in either mode, chosen by the environment:
//
//   - AWS Lambda (provided.al2023): AWS_LAMBDA_RUNTIME_API is set by the
//     runtime. HTTP functions take API Gateway events (HTTP API payload
//     2.0, REST API payload 1.0, function URLs) through an adapter; the
//     projector takes the stream event source mapping's batches and answers
//     partial batch failures.
//   - Anywhere else (Cloud Run, Knative, a laptop, a container): HTTP
//     functions serve on $PORT with the timeouts of web.NewServer; the
//     projector reads the table's stream itself, checkpointing in DynamoDB.
//
// FUNCTION_TARGET, the Functions Framework's name for what to serve, must
// name the binary's function when it is set, so a mis-wired deployment stops
// at once instead of serving the wrong routes.
package entry

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/seckill/seckill/shared/config"
	"github.com/seckill/seckill/shared/identity"
	"github.com/seckill/seckill/shared/metrics"
	"github.com/seckill/seckill/shared/store"
	"github.com/seckill/seckill/shared/streams"
	"github.com/seckill/seckill/shared/web"
)

// InLambda says whether the process runs under the Lambda runtime.
func InLambda() bool { return os.Getenv("AWS_LAMBDA_RUNTIME_API") != "" }

// HTTPHandler is h as a Lambda handler of HTTP events: payload 2.0 (API
// Gateway HTTP APIs, function URLs) and payload 1.0 (REST APIs, which is
// what LocalStack's free edition offers).
func HTTPHandler(h http.Handler) lambda.Handler {
	h = gatewayClaims(h)
	return httpEvents{v1: httpadapter.New(h), v2: httpadapter.NewV2(h)}
}

// gatewayClaims hands the claims of an HTTP API's JWT authorizer, which
// has verified the token, to the functions (identity.WithGateway), so that
// they verify nothing again and a cold start fetches no keys. A request
// through a route without the authorizer (or a function URL) carries no
// claims, and the function verifies the token itself.
func gatewayClaims(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rc, ok := core.GetAPIGatewayV2ContextFromContext(r.Context()); ok && rc.Authorizer != nil && rc.Authorizer.JWT != nil {
			r = r.WithContext(identity.WithGateway(r.Context(), rc.Authorizer.JWT.Claims, rc.Authorizer.JWT.Scopes))
		}
		h.ServeHTTP(w, r)
	})
}

type httpEvents struct {
	v1 *httpadapter.HandlerAdapter
	v2 *httpadapter.HandlerAdapterV2
}

// Invoke tells the payload versions apart by the fields only each has.
func (e httpEvents) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var probe struct {
		Version    string `json:"version"`
		HTTPMethod string `json:"httpMethod"`
	}
	if err := json.Unmarshal(payload, &probe); err != nil {
		return nil, fmt.Errorf("not an HTTP event: %w", err)
	}
	switch {
	case probe.Version == "2.0":
		return proxy(ctx, payload, "HTTP API", e.v2.ProxyWithContext)
	case probe.HTTPMethod != "":
		return proxy(ctx, payload, "REST API", e.v1.ProxyWithContext)
	}
	return nil, fmt.Errorf("not an API Gateway or function URL event (version %q)", probe.Version)
}

// proxy decodes payload as an Event, hands it to the adapter and encodes
// the answer: the same steps for either payload version.
func proxy[Event, Response any](ctx context.Context, payload []byte, kind string, adapt func(context.Context, Event) (Response, error)) ([]byte, error) {
	var ev Event
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, fmt.Errorf("%s event: %w", kind, err)
	}
	resp, err := adapt(ctx, ev)
	if err != nil {
		return nil, err
	}
	return json.Marshal(resp)
}

// StreamHandler is f as a Lambda handler of DynamoDB stream events.
func StreamHandler(f streams.Handler) lambda.Handler {
	return lambda.NewHandler(func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		return f(ctx, ev)
	})
}

// HTTP is the main of an HTTP function: JSON logs, the handler built from
// the environment (a bad configuration stops the start), then Lambda or a
// server on $PORT until SIGINT or SIGTERM, finishing in-flight requests.
func HTTP(function string, build func(context.Context) (http.Handler, error)) {
	main(function, func(ctx context.Context) error {
		h, err := build(ctx)
		if err != nil {
			return err
		}
		if InLambda() {
			metrics.Use(metrics.EMF{})
			lambda.StartWithOptions(HTTPHandler(h), lambda.WithContext(ctx))
			return nil
		}
		var srv config.Server
		if err := config.Load(&srv); err != nil {
			return err
		}
		l, err := net.Listen("tcp", fmt.Sprintf(":%d", srv.Port))
		if err != nil {
			return fmt.Errorf("listen: %w", err)
		}
		slog.Info("listening", "addr", l.Addr().String())
		return web.Serve(ctx, l, WithMetrics(h))
	})
}

// Stream is the main of a stream function: under Lambda the handler of the
// event source mapping; elsewhere a runner that polls the sale table's
// stream and hands build's function the same batches.
func Stream(function string, build func(*store.Store) streams.Handler) {
	main(function, func(ctx context.Context) error {
		if InLambda() {
			// The event source mapping reads the stream: only the tables matter.
			var cfg config.Store
			if err := config.Load(&cfg); err != nil {
				return err
			}
			st, err := cfg.Open(ctx)
			if err != nil {
				return err
			}
			metrics.Use(metrics.EMF{})
			lambda.StartWithOptions(StreamHandler(build(st)), lambda.WithContext(ctx))
			return nil
		}
		var cfg config.Projector
		if err := config.Load(&cfg); err != nil {
			return err
		}
		db, err := store.NewClient(ctx, "")
		if err != nil {
			return err
		}
		f := build(store.New(db, cfg.Tables(), cfg.StreamWriteTimeout))
		sc, err := store.NewStreamsClient(ctx, "")
		if err != nil {
			return err
		}
		slog.Info("reading the stream", "table", cfg.SaleTable, "checkpoints", cfg.CheckpointsTable)
		return streams.New(db, sc, cfg.SaleTable, cfg.CheckpointsTable, f,
			streams.Options{Poll: cfg.StreamPoll, BatchSize: cfg.StreamBatch, EventTime: store.GrantTime}).Run(ctx)
	})
}

// WithMetrics serves the process's Prometheus registry at GET /metrics
// beside h: an operator's endpoint, outside the API contract (behind an API
// gateway, only the contract's routes are routed).
func WithMetrics(h http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics.DefaultPrometheus().Handler())
	mux.Handle("/", h)
	return mux
}

func main(function string, run func(context.Context) error) {
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("function", function))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := checkTarget(function)
	if err == nil {
		err = run(ctx)
	}
	stop()
	if err != nil {
		slog.Error("stopped", "err", err)
		os.Exit(1)
	}
	slog.Info("stopped")
}

func checkTarget(function string) error {
	if t := os.Getenv("FUNCTION_TARGET"); t != "" && t != function {
		return fmt.Errorf("FUNCTION_TARGET is %q but this binary is the %q function", t, function)
	}
	return nil
}
