// Package config reads each function's settings from the environment with
// envconfig: SECKILL_<FIELD>, or the plain name where a field says so.
package config

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/seckill/seckill/shared/identity"
	"github.com/seckill/seckill/shared/store"
	"github.com/seckill/seckill/shared/web"
)

// Prefix of every variable: SECKILL_SALE_TABLE and so on.
const Prefix = "seckill"

// Store locates the tables. The endpoint is not here: the AWS SDK reads
// AWS_ENDPOINT_URL_DYNAMODB and AWS_REGION itself.
type Store struct {
	SaleTable    string        `envconfig:"SALE_TABLE" default:"seckill-sale"`
	CouponsTable string        `envconfig:"COUPONS_TABLE" default:"seckill-coupons"`
	StoreTimeout time.Duration `envconfig:"STORE_TIMEOUT" default:"2s"`
}

// HTTP configures what every HTTP function shares.
type HTTP struct {
	// RequestTimeout bounds a request's whole wait on the store, retries
	// included; past it the client hears 503 try-again.
	RequestTimeout time.Duration `envconfig:"REQUEST_TIMEOUT" default:"2500ms"`
	// CORSOrigins are the browser origins that may call the API, comma
	// separated: "https://shop.example", "http://localhost:*" (any port) or
	// "*". Empty: no CORS headers at all.
	CORSOrigins []string `envconfig:"CORS_ORIGINS"`
}

// Function is what every HTTP function's configuration holds: its tables,
// its edge, and a check of its own.
type Function interface {
	Storage() Store
	Edge() HTTP
	Validate() error
}

// Storage is the tables' part of a function's configuration.
func (s Store) Storage() Store { return s }

// Edge is the HTTP part of a function's configuration.
func (h HTTP) Edge() HTTP { return h }

// Apply gives rt the request budget and the CORS origins.
func (h HTTP) Apply(rt *web.Router) *web.Router {
	return rt.SetBudget(h.RequestTimeout).SetCORS(h.CORSOrigins)
}

// Setup is how every HTTP function starts: cfg read from the environment
// and checked (a bad configuration stops the start), then its store opened.
func Setup(ctx context.Context, cfg Function) (*store.Store, error) {
	if err := Load(cfg); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg.Storage().Open(ctx)
}

// Tables names the tables the store works on.
func (s Store) Tables() store.Tables {
	return store.Tables{Sale: s.SaleTable, Coupons: s.CouponsTable}
}

// Open connects to DynamoDB through the standard AWS configuration and
// returns the store over the configured tables; every function starts so.
func (s Store) Open(ctx context.Context) (*store.Store, error) {
	db, err := store.NewClient(ctx, "")
	if err != nil {
		return nil, err
	}
	return store.New(db, s.Tables(), s.StoreTimeout), nil
}

// Customers says how a function knows who calls (API.md, "Customers and
// tokens"): the subject of a token of CustomerIssuer for CustomerAudience,
// unless open mode is chosen explicitly.
type Customers struct {
	CustomerAuth     string `envconfig:"CUSTOMER_AUTH" default:"jwt"`
	CustomerIssuer   string `envconfig:"CUSTOMER_ISSUER"`
	CustomerAudience string `envconfig:"CUSTOMER_AUDIENCE"`
	// CustomerClaim is the claim that names the customer.
	CustomerClaim string `envconfig:"CUSTOMER_CLAIM" default:"sub"`
	// CustomerTokens bounds the verified tokens an instance remembers.
	CustomerTokens int `envconfig:"CUSTOMER_TOKENS" default:"100000"`
}

// Validate refuses a mode without what it needs: token mode an issuer and
// an audience.
func (c Customers) Validate() error {
	switch c.CustomerAuth {
	case identity.ModeOpen:
		return nil
	case identity.ModeJWT:
		if c.CustomerIssuer == "" || c.CustomerAudience == "" {
			return fmt.Errorf("config: CUSTOMER_AUTH=%s needs CUSTOMER_ISSUER and CUSTOMER_AUDIENCE (or CUSTOMER_AUTH=%s, for demos only)", identity.ModeJWT, identity.ModeOpen)
		}
		return nil
	}
	return fmt.Errorf("config: CUSTOMER_AUTH is %q; it must be %q or %q", c.CustomerAuth, identity.ModeJWT, identity.ModeOpen)
}

// Guard returns the guard of the configured mode (see Validate).
// adminScope, when set, admits admins by token.
func (c Customers) Guard(adminScope string) (*identity.Guard, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.CustomerAuth == identity.ModeOpen {
		if adminScope != "" {
			return nil, errors.New("config: ADMIN_SCOPE needs CUSTOMER_AUTH=jwt")
		}
		return identity.Open(), nil
	}
	v, err := identity.NewVerifier(identity.Options{
		Issuer: c.CustomerIssuer, Audience: c.CustomerAudience, Claim: c.CustomerClaim, Cached: c.CustomerTokens,
	})
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return identity.JWT(v, adminScope), nil
}

// MinAdminToken is the shortest admin token a deployed function accepts.
const MinAdminToken = 32

// Admin configures the admin function.
type Admin struct {
	Store
	HTTP
	Customers
	AdminToken string `envconfig:"ADMIN_TOKEN"`
	// AdminScope admits as an admin any token of the customers' issuer
	// that carries this scope or group; then no shared secret is needed.
	AdminScope string `envconfig:"ADMIN_SCOPE"`
}

// Validate refuses a guessable token, and a missing one unless admins come
// by scope, which needs the customers' issuer.
func (a Admin) Validate() error {
	if a.AdminScope != "" {
		if err := a.Customers.Validate(); err != nil {
			return err
		}
		if a.AdminToken == "" {
			return nil
		}
	}
	if len(a.AdminToken) < MinAdminToken {
		return fmt.Errorf("config: ADMIN_TOKEN must be set to at least %d characters (e.g. `openssl rand -hex 32`), or ADMIN_SCOPE must admit admins by token", MinAdminToken)
	}
	return nil
}

// Guard returns the admins' guard: none (nil) unless a scope admits them.
func (a Admin) Guard() (*identity.Guard, error) {
	if a.AdminScope == "" {
		return nil, nil
	}
	return a.Customers.Guard(a.AdminScope)
}

// Grab configures the grab function.
type Grab struct {
	Store
	HTTP
	Customers
	// PromotionTTL is how long an instance trusts its copy of a promotion.
	// A stale copy is harmless (every grant checks the version on the shard
	// it writes); the TTL only bounds how long a deleted promotion is
	// answered from memory.
	PromotionTTL time.Duration `envconfig:"PROMOTION_TTL" default:"2s"`
	// MaxAttempts bounds the transactions one grab may try across shards
	// before answering try-again.
	MaxAttempts int `envconfig:"GRAB_MAX_ATTEMPTS" default:"8"`
	// InFlight bounds the grant transactions one instance has in flight;
	// grants arriving meanwhile queue and go together in the next one.
	InFlight int `envconfig:"GRAB_IN_FLIGHT" default:"2"`
	// MaxHolders bounds the holders of one sold-out promotion an instance
	// keeps in memory to answer from; a larger promotion costs one read per
	// sold-out answer instead.
	MaxHolders int `envconfig:"GRAB_MAX_HOLDERS" default:"200000"`
}

// Coupons configures the coupons function.
type Coupons struct {
	Store
	HTTP
	Customers
}

// Server is where an HTTP function listens.
type Server struct {
	Port int `envconfig:"PORT" default:"8080"`
}

// Stream configures a stream runner, which reads the sale table's stream
// where no Lambda event source mapping does (the local stack, containers).
type Stream struct {
	CheckpointsTable string `envconfig:"CHECKPOINTS_TABLE" default:"seckill-checkpoints"`
	// How often the runner reads an idle stream, and its batch size: the
	// most GetRecords returns, since a sale's records come by the thousand
	// and each poll costs the same whatever it carries.
	StreamPoll  time.Duration `envconfig:"STREAM_POLL" default:"100ms"`
	StreamBatch int32         `envconfig:"STREAM_BATCH" default:"1000"`
	// StreamWriteTimeout bounds each write the projector makes for the
	// runner, in place of StoreTimeout: nobody waits on it, and a write
	// given up while DynamoDB is saturated is done again from the
	// checkpoint, which only adds to the load (functions/projector/README.md).
	StreamWriteTimeout time.Duration `envconfig:"STREAM_WRITE_TIMEOUT" default:"8s"`
}

// Projector configures the projector. Under Lambda only Store is read; the
// event source mapping does the stream's work.
type Projector struct {
	Store
	Stream
}

// Tables names the tables, checkpoints included.
func (p Projector) Tables() store.Tables {
	t := p.Store.Tables()
	t.Checkpoints = p.CheckpointsTable
	return t
}

// Local configures the whole local stack of `make run`.
type Local struct {
	Grab
	Server
	Stream
	// The development default is documented in functions/local/README.md; only the local
	// stack accepts a short token.
	AdminToken string `envconfig:"ADMIN_TOKEN" default:"dev-admin-token"`
	// AdminScope admits admins by a token carrying it, too.
	AdminScope string `envconfig:"ADMIN_SCOPE"`
	DataDir    string `envconfig:"DATA_DIR" default:".data"`
	// DynamoDBLocalJVM replaces the Java options of the DynamoDB Local the
	// stack starts, space separated; empty means ddblocal.Throughput.
	DynamoDBLocalJVM string `envconfig:"DYNAMODB_LOCAL_JVM"`
	// ProjectTransacted has the projector write 100 coupons to a
	// transaction instead of 25 to a BatchWriteItem: DynamoDB Local keeps
	// up with a sale on disk only so (store.Transacted).
	ProjectTransacted bool `envconfig:"PROJECT_TRANSACTED" default:"true"`
	// A storefront served from any local port may call the local stack.
	CORSOrigins []string `envconfig:"CORS_ORIGINS" default:"http://localhost:*,http://127.0.0.1:*"`
}

// Load fills cfg from the environment.
func Load(cfg any) error {
	if err := envconfig.Process(Prefix, cfg); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return nil
}

// Vars lists the environment variables spec reads, as the deployment files
// must set them (SECKILL_SALE_TABLE, …), sorted.
func Vars(spec any) ([]string, error) {
	var b strings.Builder
	if err := envconfig.Usagef(Prefix, spec, &b, "{{range .}}{{usage_key .}}\n{{end}}"); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	vars := strings.Fields(b.String())
	slices.Sort(vars)
	return slices.Compact(vars), nil
}

// Deployed names the configuration each function reads when deployed as a
// serverless function (under Lambda, the projector reads only the tables).
var Deployed = map[string]any{
	"admin":     &Admin{},
	"grab":      &Grab{},
	"coupons":   &Coupons{},
	"projector": &Store{},
}
