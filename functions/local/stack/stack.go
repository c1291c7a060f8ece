// Package stack is the whole of SecKill in one process: DynamoDB Local
// (unless AWS_ENDPOINT_URL_DYNAMODB points elsewhere), the tables, every HTTP
// function behind one router, and the stream runner that feeds the
// projector. `make run` serves it; `make bench` sells against it.
package stack

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/seckill/seckill/functions/admin"
	"github.com/seckill/seckill/functions/coupons"
	"github.com/seckill/seckill/functions/grab"
	"github.com/seckill/seckill/functions/local/issuer"
	"github.com/seckill/seckill/functions/projector"
	"github.com/seckill/seckill/shared/config"
	"github.com/seckill/seckill/shared/ddblocal"
	"github.com/seckill/seckill/shared/entry"
	"github.com/seckill/seckill/shared/identity"
	"github.com/seckill/seckill/shared/sale"
	"github.com/seckill/seckill/shared/store"
	"github.com/seckill/seckill/shared/streams"
	"github.com/seckill/seckill/shared/web"
)

// Stack is a running stack, as Run hands it to its caller.
type Stack struct {
	URL      string // the API's base URL
	Endpoint string // DynamoDB's
	DB       *dynamodb.Client
	Store    *store.Store
}

// Hooks let the benchmark watch the functions from inside: every DynamoDB
// call each function makes, the size of every batch grab commits, and every
// coupon the projector writes.
type Hooks struct {
	// Meter counts what each function's calls cost by DynamoDB's rules; nil
	// gets one that keeps no state per key (store.NewLiveMeter). Either way
	// the functions' metrics carry its units: DynamoDB Local's own figures
	// are wrong, and the stack does not ask for them (store.NotAsked).
	Meter *store.Meter
	// Client adds options to the stack's DynamoDB client (the bench asks
	// DynamoDB Local about a sample of calls, store.Sampled).
	Client []store.ClientOption
	// WrapDB wraps the DynamoDB client of each function ("admin", "grab",
	// "coupons", "projector"), over the meter; nil leaves them as they are.
	WrapDB  func(function string, db store.DB) store.DB
	OnBatch func(grants int)
	// OnProjected is told of the coupons the projector wrote, batch by
	// batch.
	OnProjected func([]sale.Coupon)
}

// Run starts the stack, calls ready once it serves, and runs until ctx
// ends; then it stops accepting, finishes in-flight requests, lets the
// stream runner save its checkpoint, and stops DynamoDB Local.
func Run(ctx context.Context, cfg config.Local, ready func(Stack)) error {
	return RunWith(ctx, cfg, Hooks{}, ready)
}

// RunWith is Run with hooks.
func RunWith(ctx context.Context, cfg config.Local, hooks Hooks, ready func(Stack)) error {
	endpoint := os.Getenv("AWS_ENDPOINT_URL_DYNAMODB")
	if endpoint == "" {
		jvm := ddblocal.Throughput
		if cfg.DynamoDBLocalJVM != "" {
			jvm = strings.Fields(cfg.DynamoDBLocalJVM)
		}
		ddb, err := ddblocal.Start(ctx, ddblocal.Options{DataDir: cfg.DataDir, JVM: jvm})
		if err != nil {
			return err
		}
		defer ddb.Stop()
		endpoint = ddb.Endpoint()
		slog.Info("DynamoDB Local started", "endpoint", endpoint, "data", cfg.DataDir)
	}
	db, err := store.NewClient(ctx, endpoint, hooks.Client...)
	if err != nil {
		return err
	}
	tables := cfg.Tables()
	tables.Checkpoints = cfg.CheckpointsTable
	if err := store.CreateTables(ctx, db, tables); err != nil {
		return err
	}
	st := store.New(db, tables, cfg.StoreTimeout)

	streamsClient, err := store.NewStreamsClient(ctx, endpoint)
	if err != nil {
		return err
	}
	meter := hooks.Meter
	if meter == nil {
		meter = store.NewLiveMeter()
	}
	dbOf := func(function string) store.DB {
		metered := meter.Wrap(function, db)
		if hooks.WrapDB == nil {
			return metered
		}
		return hooks.WrapDB(function, metered)
	}
	projectStore := store.New(dbOf("projector"), tables, cfg.StreamWriteTimeout)
	proj := projector.New(projectStore)
	proj.OnProjected(hooks.OnProjected)
	if cfg.ProjectTransacted {
		proj.Writes(store.Transacted)
	}
	runner := streams.New(db, streamsClient, tables.Sale, tables.Checkpoints, proj.Handle,
		streams.Options{Poll: cfg.StreamPoll, BatchSize: cfg.StreamBatch, EventTime: store.GrantTime})
	runCtx, stopRunner := context.WithCancel(ctx)
	runnerDone := make(chan error, 1)
	go func() { runnerDone <- runner.Run(runCtx) }()
	defer func() { stopRunner(); <-runnerDone }()

	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", cfg.Port))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	url := "http://" + l.Addr().String()
	iss, err := issuer.Load(cfg.DataDir, url+issuer.Path)
	if err != nil {
		return err
	}
	customers, admins, err := guards(cfg, iss)
	if err != nil {
		return err
	}
	slog.Info("SecKill is serving", "url", url, "admin_token_default", cfg.AdminToken == "dev-admin-token",
		"customer_auth", cfg.CustomerAuth, "dev_issuer", iss.URL())
	if ready != nil {
		ready(Stack{URL: url, Endpoint: endpoint, DB: db, Store: st})
	}
	stores := functionStores{
		admin:   store.New(dbOf("admin"), tables, cfg.StoreTimeout),
		grab:    store.New(dbOf("grab"), tables, cfg.StoreTimeout),
		coupons: store.New(dbOf("coupons"), tables, cfg.StoreTimeout),
	}
	return web.Serve(ctx, l, entry.WithMetrics(router(stores, cfg, customers, admins, iss, hooks.OnBatch)))
}

// guards tell the functions who calls. Unless the configuration names
// another issuer, customers carry tokens of the stack's own development
// issuer, verified as any deployment outside AWS's gateway verifies its
// provider's: discovery and JWKS over HTTP, from the issuer's URL.
func guards(cfg config.Local, iss *issuer.Issuer) (customers, admins *identity.Guard, err error) {
	c := cfg.Customers
	if c.CustomerIssuer == "" {
		c.CustomerIssuer, c.CustomerAudience = iss.URL(), issuer.Audience
	}
	if customers, err = c.Guard(""); err != nil {
		return nil, nil, err
	}
	if cfg.AdminScope != "" {
		admins, err = c.Guard(cfg.AdminScope)
	}
	return customers, admins, err
}

// Router serves the whole API from one process, as the gateway does in the
// cloud, with the development issuer's routes beside it.
func Router(st *store.Store, cfg config.Local, customers *identity.Guard, iss *issuer.Issuer) *web.Router {
	return router(functionStores{st, st, st}, cfg, customers, nil, iss, nil)
}

// functionStores are the HTTP functions' stores, each over its own client.
type functionStores struct{ admin, grab, coupons *store.Store }

func router(st functionStores, cfg config.Local, customers, admins *identity.Guard, iss *issuer.Issuer, onBatch func(int)) *web.Router {
	rt := web.NewRouter().SetBudget(cfg.RequestTimeout).SetCORS(cfg.CORSOrigins)
	admin.New(st.admin, cfg.AdminToken, time.Now, admins).Register(rt)
	g := grab.FromConfig(st.grab, customers, cfg.Grab)
	g.Service().OnBatch(onBatch)
	g.Register(rt)
	coupons.New(st.coupons, time.Now, customers).Register(rt)
	iss.Register(rt)
	return rt
}
