// Package functions_test runs every function's Lambda entry point on the
// event JSON API Gateway (HTTP API, payload 2.0) and DynamoDB Streams
// deliver, recorded under shared/entry/testdata, against DynamoDB Local:
// the Lambda mode is exercised without AWS.
package systemtest_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/oklog/ulid/v2"

	"github.com/seckill/seckill/functions/admin"
	"github.com/seckill/seckill/functions/coupons"
	"github.com/seckill/seckill/functions/grab"
	"github.com/seckill/seckill/functions/local/issuer/issuertest"
	"github.com/seckill/seckill/functions/projector"
	"github.com/seckill/seckill/shared/config"
	"github.com/seckill/seckill/shared/contract/contracttest"
	"github.com/seckill/seckill/shared/ddblocal/ddbtest"
	"github.com/seckill/seckill/shared/entry"
	"github.com/seckill/seckill/shared/sale"
	"github.com/seckill/seckill/shared/store"
)

func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	ddbtest.Main(contracttest.Runner{M: m})
}

const token = "lambda-test-token-0123456789abcdef"

// invoke feeds the recorded event name, with its {{placeholders}} filled,
// to h as the Lambda runtime would: JSON in, JSON out.
func invoke(t *testing.T, h lambda.Handler, name string, vars map[string]string) events.APIGatewayV2HTTPResponse {
	t.Helper()
	raw, err := os.ReadFile("../../shared/entry/testdata/" + name + ".json")
	if err != nil {
		t.Fatal(err)
	}
	payload := string(raw)
	for k, v := range vars {
		payload = strings.ReplaceAll(payload, "{{"+k+"}}", v)
	}
	out, err := h.Invoke(context.Background(), []byte(payload))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("%s: the answer is not an HTTP API response: %v", name, err)
	}
	checkContract(t, []byte(payload), resp)
	return resp
}

// checkContract holds a Lambda exchange against the OpenAPI document, as
// the HTTP tests' transport does, by turning the event and the answer back
// into the HTTP they stand for.
func checkContract(t *testing.T, payload []byte, resp events.APIGatewayV2HTTPResponse) {
	t.Helper()
	var ev struct {
		Version, RawPath, RawQueryString, Path, HTTPMethod, Body string
		Headers                                                  map[string]string
		QueryStringParameters                                    map[string]string
		RequestContext                                           struct{ HTTP struct{ Method string } }
	}
	if err := json.Unmarshal(payload, &ev); err != nil {
		t.Fatal(err)
	}
	method, path, query := ev.RequestContext.HTTP.Method, ev.RawPath, ev.RawQueryString
	if ev.Version != "2.0" { // REST API, payload 1.0
		method, path = ev.HTTPMethod, ev.Path
		q := url.Values{}
		for k, v := range ev.QueryStringParameters {
			q.Set(k, v)
		}
		query = q.Encode()
	}
	req, err := http.NewRequest(method, "http://lambda"+path+"?"+query, strings.NewReader(ev.Body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range ev.Headers {
		req.Header.Set(k, v)
	}
	h := http.Header{}
	for k, v := range resp.Headers {
		h.Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		h[http.CanonicalHeaderKey(k)] = vs
	}
	contracttest.Check(t, req, []byte(ev.Body), &http.Response{StatusCode: resp.StatusCode, Header: h}, []byte(resp.Body))
}

func field(t *testing.T, body, name string) any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("body %q is not JSON: %v", body, err)
	}
	return m[name]
}

// recorder notes the IAM action and table of every call a function makes,
// so the test can hold them against store.Access, which the deployment
// files grant.
type recorder struct {
	store.DB
	tables store.Tables
	mu     sync.Mutex
	seen   map[store.Table]map[string]bool
}

func (r *recorder) note(table, index string, actions ...string) {
	role := map[string]store.Table{r.tables.Sale: store.SaleTable, r.tables.Coupons: store.CouponsTable, r.tables.Checkpoints: store.CheckpointsTable}[table]
	if index != "" {
		role += store.Table("/index/" + index)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen[role] == nil {
		r.seen[role] = map[string]bool{}
	}
	for _, a := range actions {
		r.seen[role]["dynamodb:"+a] = true
	}
}

func (r *recorder) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	r.note(*in.TableName, "", "GetItem")
	return r.DB.GetItem(ctx, in, o...)
}

func (r *recorder) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	r.note(*in.TableName, "", "PutItem")
	return r.DB.PutItem(ctx, in, o...)
}

func (r *recorder) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	r.note(*in.TableName, "", "DeleteItem")
	return r.DB.DeleteItem(ctx, in, o...)
}

func (r *recorder) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	r.note(*in.TableName, aws.ToString(in.IndexName), "Query")
	return r.DB.Query(ctx, in, o...)
}

func (r *recorder) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	for table := range in.RequestItems {
		r.note(table, "", "BatchGetItem")
	}
	return r.DB.BatchGetItem(ctx, in, o...)
}

func (r *recorder) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	for table := range in.RequestItems {
		r.note(table, "", "BatchWriteItem")
	}
	return r.DB.BatchWriteItem(ctx, in, o...)
}

func (r *recorder) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	for _, it := range in.TransactItems {
		switch {
		case it.Put != nil:
			r.note(*it.Put.TableName, "", "PutItem")
		case it.Update != nil:
			r.note(*it.Update.TableName, "", "UpdateItem")
		case it.Delete != nil:
			r.note(*it.Delete.TableName, "", "DeleteItem")
		case it.ConditionCheck != nil:
			r.note(*it.ConditionCheck.TableName, "", "ConditionCheckItem")
		}
	}
	return r.DB.TransactWriteItems(ctx, in, o...)
}

func TestLambdaEntryPoints(t *testing.T) {
	st, db := ddbtest.Store(t)
	calls := map[string]*recorder{}
	storeOf := func(fn string) *store.Store {
		calls[fn] = &recorder{DB: db, tables: st.Tables(), seen: map[store.Table]map[string]bool{}}
		return store.New(calls[fn], st.Tables(), ddbtest.CallTimeout)
	}
	iss := issuertest.Start(t)
	adminH := entry.HTTPHandler(admin.New(storeOf("admin"), token, time.Now, nil).Router().SetBudget(ddbtest.TestBudget))
	grabH := entry.HTTPHandler(grab.FromConfig(storeOf("grab"), iss.Guard(t), config.Grab{PromotionTTL: time.Second, MaxAttempts: 8}).Router().SetBudget(ddbtest.TestBudget))
	couponsH := entry.HTTPHandler(coupons.New(storeOf("coupons"), time.Now, iss.Guard(t)).Router().SetBudget(ddbtest.TestBudget))
	projectorH := entry.StreamHandler(projector.New(storeOf("projector")).Handle)
	defer func() {
		// Every call each function made is one its IAM policy grants.
		for fn, r := range calls {
			for table, actions := range r.seen {
				for a := range actions {
					if !slices.Contains(store.Access[fn][table], a) {
						t.Errorf("%s called %s on %s, which store.Access (and so its IAM policy) does not grant", fn, a, table)
					}
				}
			}
		}
	}()

	runEntryPoints(t, st, iss, entryPoints{admin: adminH, grab: grabH, coupons: couponsH, projector: projectorH}, "../../shared/entry/testdata/stream/batch.json")
}

// entryPoints are the four functions as the Lambda runtime sees them: in
// process here, each its own bootstrap under the runtime emulator in make
// deploy-check.
type entryPoints struct{ admin, grab, coupons, projector lambda.Handler }

// runEntryPoints feeds every recorded event to the functions, over the
// store st shares with them, and checks each answer against the contract.
// batch is the stream batch the projector gets. The customer functions run
// in token mode with iss as their issuer: HTTP API events carry the claims
// of the gateway's JWT authorizer, which they take as verified (the token
// beside them is not one that could verify, and the issuer's keys are never
// fetched); REST API events carry a token they verify themselves.
func runEntryPoints(t *testing.T, st *store.Store, iss *issuertest.Issuer, h entryPoints, batch string) {
	t.Helper()
	adminH, grabH, couponsH, projectorH := h.admin, h.grab, h.coupons, h.projector
	now := time.Now().UTC()
	vars := map[string]string{
		"token":         token,
		"publishAt":     now.Add(time.Hour).Format(time.RFC3339),
		"finishAt":      now.Add(2 * time.Hour).Format(time.RFC3339),
		"gatewayToken":  "verified.by-the.gateway",
		"customer":      "alice",
		"customerToken": iss.Token(t, "bob"),
	}
	created := invoke(t, adminH, "http/admin-create", vars)
	if created.StatusCode != 201 || !strings.HasPrefix(created.Headers["Location"], "/admin/promotions/") {
		t.Fatalf("create: %d %v %s", created.StatusCode, created.Headers, created.Body)
	}
	vars["promotionId"] = field(t, created.Body, "id").(string)
	for _, step := range []struct {
		event  string
		status int
		check  func(body string) bool
	}{
		{"admin-list", 200, func(b string) bool { return strings.Contains(b, vars["promotionId"]) }},
		{"admin-get", 200, func(b string) bool { return field(t, b, "couponsLeft") == 3.0 }},
		{"admin-replace", 200, func(b string) bool { return field(t, b, "totalCoupons") == 4.0 }},
		{"admin-delete", 204, func(b string) bool { return b == "" }},
		{"admin-get", 404, func(b string) bool { return field(t, b, "code") == "promotion-not-found" }},
	} {
		resp := invoke(t, adminH, "http/"+step.event, vars)
		if resp.StatusCode != step.status || !step.check(resp.Body) {
			t.Fatalf("%s: got %d %s, want %d", step.event, resp.StatusCode, resp.Body, step.status)
		}
	}
	bad := map[string]string{"token": "wrong-token-of-thirty-four-chars!!", "promotionId": vars["promotionId"]}
	if resp := invoke(t, adminH, "http/admin-get", bad); resp.StatusCode != 401 || strings.Contains(resp.Body, token) {
		t.Fatalf("wrong token: got %d %s", resp.StatusCode, resp.Body)
	}

	p, err := sale.NewPromotion(ulid.Make().String(), sale.Draft{Name: "on now", Discount: 0.7, TotalCoupons: 2,
		PublishAt: now.Add(-time.Second), FinishAt: now.Add(time.Hour)}, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreatePromotion(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	vars["promotionId"] = p.ID
	first := invoke(t, grabH, "http/grab", vars)
	again := invoke(t, grabH, "http/grab", vars)
	if first.StatusCode != 201 || again.StatusCode != 409 || field(t, again.Body, "code") != "already-grabbed" ||
		first.Headers["Content-Type"] != "application/json" || again.Headers["Content-Type"] != "application/problem+json" {
		t.Fatalf("grab: got %d %s then %d %s", first.StatusCode, first.Body, again.StatusCode, again.Body)
	}

	// The recorded batch: a shard update (skipped), alice's coupon, bob's
	// with a corrupt grabbedAt, carol's, and alice's again (a redelivery).
	raw, err := os.ReadFile(batch)
	if err != nil {
		t.Fatal(err)
	}
	out, err := projectorH.Invoke(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `{"batchItemFailures":[{"itemIdentifier":"100000000000000000003"}]}` {
		t.Fatalf("projector answered %s, want bob's record alone", out)
	}
	list := invoke(t, couponsH, "http/customer-coupons", vars)
	if list.StatusCode != 200 || strings.Count(list.Body, `"id"`) != 1 || !strings.Contains(list.Body, "01JD8X5B0X4W8J2H7Q3M6K9P1A") {
		t.Fatalf("alice's coupons: got %d %s, want the one from the stream batch", list.StatusCode, list.Body)
	}
	vars["customer"] = "bob"
	if other := invoke(t, couponsH, "http/customer-coupons", vars); other.StatusCode != 403 || field(t, other.Body, "code") != "forbidden" {
		t.Fatalf("bob's coupons with alice's claims: got %d %s, want 403 forbidden", other.StatusCode, other.Body)
	}
	if n := iss.KeyFetches(); n != 0 {
		t.Fatalf("behind the gateway's authorizer the functions fetched the issuer's keys %d times, want 0", n)
	}
	if resp := invoke(t, couponsH, "http/promotions", vars); resp.StatusCode != 200 || !strings.Contains(resp.Body, p.ID) {
		t.Fatalf("promotions: got %d %s", resp.StatusCode, resp.Body)
	}
	// REST API (payload 1.0) events, as LocalStack's free edition sends them.
	if resp := invoke(t, grabH, "http-v1/grab", vars); resp.StatusCode != 201 || field(t, resp.Body, "coupon") == nil {
		t.Fatalf("REST API grab: got %d %s", resp.StatusCode, resp.Body)
	}
	if iss.KeyFetches() == 0 {
		t.Fatal("a REST API grab with no authorizer claims was granted without the issuer's keys: its token went unverified")
	}
	vars["customerToken"] = "not.a.token"
	if resp := invoke(t, grabH, "http-v1/grab", vars); resp.StatusCode != 401 || field(t, resp.Body, "code") != "unauthorized" {
		t.Fatalf("REST API grab with a bad token: got %d %s, want 401", resp.StatusCode, resp.Body)
	}
	if resp := invoke(t, couponsH, "http-v1/promotions", vars); resp.StatusCode != 200 || !strings.Contains(resp.Body, p.ID) {
		t.Fatalf("REST API promotions: got %d %s", resp.StatusCode, resp.Body)
	}
	for _, h := range []lambda.Handler{adminH, grabH, couponsH} {
		if resp := invoke(t, h, "http/healthz", vars); resp.StatusCode != 200 || resp.Body != "{\"status\":\"ok\"}\n" {
			t.Fatalf("healthz: got %d %q", resp.StatusCode, resp.Body)
		}
		if resp := invoke(t, h, "http/openapi", vars); resp.StatusCode != 200 || field(t, resp.Body, "openapi") != "3.0.3" {
			t.Fatalf("openapi: got %d", resp.StatusCode)
		}
	}
}
