// Package config reads each function's settings from the environment with
// envconfig: SECKILL_<FIELD>, or the plain name where a field says so.
package config

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/seckill/seckill/shared/store"
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

// MinAdminToken is the shortest admin token a deployed function accepts.
const MinAdminToken = 32

// Admin configures the admin function.
type Admin struct {
	Store
	HTTP
	AdminToken string `envconfig:"ADMIN_TOKEN"`
}

// Validate refuses a missing or guessable token.
func (a Admin) Validate() error {
	if len(a.AdminToken) < MinAdminToken {
		return fmt.Errorf("config: ADMIN_TOKEN must be set to at least %d characters (e.g. `openssl rand -hex 32`)", MinAdminToken)
	}
	return nil
}

// Grab configures the grab function.
type Grab struct {
	Store
	HTTP
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
	// checkpoint, which only adds to the load (README, read-model lag).
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
	// The development default is documented in the README; only the local
	// stack accepts a short token.
	AdminToken string `envconfig:"ADMIN_TOKEN" default:"dev-admin-token"`
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
