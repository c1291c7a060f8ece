//go:build deploycheck

package systemtest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/oklog/ulid/v2"

	"github.com/seckill/seckill/functions/local/issuer/issuertest"
	"github.com/seckill/seckill/shared/ddblocal/ddbtest"
	"github.com/seckill/seckill/shared/proctest"
	"github.com/seckill/seckill/shared/sale"
	"github.com/seckill/seckill/shared/store"
	"github.com/seckill/seckill/shared/streams"
)

// rie is one function's bootstrap running under the AWS Lambda Runtime
// Interface Emulator: the real runtime loop, fed one event per Invoke.
type rie struct {
	url  string
	proc *proctest.Process
}

func (r rie) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url+"/2015-03-31/functions/function/invocations", bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	resp, err := rieClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("emulator answered %d %s: %v", resp.StatusCode, out, err)
	}
	return out, nil
}

var _ lambda.Handler = rie{}

// startRIE runs bin/linux-<arch>/<fn>/bootstrap (from make build) under the
// emulator with env, and returns it once the emulator listens.
func startRIE(t *testing.T, emulator, fn string, env ...string) rie {
	t.Helper()
	bootstrap, err := filepath.Abs(filepath.Join("..", "..", "bin", "linux-"+runtime.GOARCH, fn, "bootstrap"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bootstrap); err != nil {
		t.Fatalf("%s: run `make build` first (make deploy-check does): %v", bootstrap, err)
	}
	api, addr := "127.0.0.1:"+proctest.FreePort(t), "127.0.0.1:"+proctest.FreePort(t)
	proc := proctest.StartArgs(t, emulator, []string{"--runtime-api-address", api, "--runtime-interface-emulator-address", addr, bootstrap}, env...)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := rieClient.Get("http://" + addr + "/"); err == nil {
			c.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the emulator for %s never listened on %s:\n%s", fn, addr, proc.Log())
		}
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s under the emulator logged:\n%s", fn, proc.Log())
		}
	})
	return rie{url: "http://" + addr, proc: proc}
}

// TestBootstrapsUnderTheRuntimeEmulator runs every function's bootstrap, as
// make build ships it, under the Lambda Runtime Interface Emulator against
// DynamoDB Local: the recorded API Gateway events (HTTP API 2.0 and REST 1.0)
// answer as the contract says, the recorded stream batch gets its partial
// failure, and real stream records of real grants, read from DynamoDB
// Local's stream, reach the read model through the projector's bootstrap.
func TestBootstrapsUnderTheRuntimeEmulator(t *testing.T) {
	emulator := os.Getenv("SECKILL_RIE")
	if emulator == "" {
		var err error
		if emulator, err = exec.LookPath("aws-lambda-rie"); err != nil {
			t.Fatal("aws-lambda-rie is not installed: make deploy-check installs it (go install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d)")
		}
	}
	st, db := ddbtest.Store(t)
	tables := st.Tables()
	env := []string{
		"AWS_ENDPOINT_URL_DYNAMODB=" + ddbtest.Endpoint(t), "AWS_REGION=us-east-1",
		// The same keys as the test's own client: DynamoDB Local keeps
		// tables per key and region.
		"AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local",
		"SECKILL_SALE_TABLE=" + tables.Sale, "SECKILL_COUPONS_TABLE=" + tables.Coupons,
		"SECKILL_ADMIN_TOKEN=" + token, "SECKILL_REQUEST_TIMEOUT=30s", "SECKILL_STORE_TIMEOUT=20s",
	}
	iss := issuertest.Start(t)
	env = append(env, iss.Env()...)
	h := entryPoints{
		admin:     startRIE(t, emulator, "admin", env...),
		grab:      startRIE(t, emulator, "grab", env...),
		coupons:   startRIE(t, emulator, "coupons", env...),
		projector: startRIE(t, emulator, "projector", env...),
	}
	runEntryPoints(t, st, iss, h, "../../shared/entry/testdata/stream/batch.json")

	// Real grants, their records read from the stream as Lambda's event
	// source mapping would, handed to the projector's bootstrap.
	now := time.Now()
	p, err := sale.NewPromotion(ulid.Make().String(), sale.Draft{Name: "stream", Discount: 0.6, TotalCoupons: 5,
		PublishAt: now.Add(-time.Second), FinishAt: now.Add(time.Hour)}, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreatePromotion(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	var granted []sale.Coupon
	for i := range 3 {
		c := sale.Coupon{ID: ulid.Make().String(), PromotionID: p.ID, CustomerID: fmt.Sprint("rie-", i), Discount: p.Discount, GrabbedAt: time.Now().Truncate(time.Millisecond).UTC()}
		if err := ddbtest.Grab(context.Background(), st, p, i%p.Shards, c, time.Now()); err != nil {
			t.Fatal(err)
		}
		granted = append(granted, c)
	}
	sc, err := store.NewStreamsClient(context.Background(), ddbtest.Endpoint(t))
	if err != nil {
		t.Fatal(err)
	}
	delivered := 0
	forward := func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		payload, err := json.Marshal(ev)
		if err != nil {
			return events.DynamoDBEventResponse{}, err
		}
		out, err := h.projector.Invoke(ctx, payload)
		if err != nil {
			return events.DynamoDBEventResponse{}, err
		}
		var resp events.DynamoDBEventResponse
		if err := json.Unmarshal(out, &resp); err != nil {
			return resp, fmt.Errorf("projector answered %s: %w", out, err)
		}
		if len(resp.BatchItemFailures) > 0 {
			t.Errorf("projector failed records of a real batch: %s", out)
		}
		delivered += len(ev.Records)
		return resp, nil
	}
	runner := streams.New(db, sc, tables.Sale, tables.Checkpoints, forward, streams.Options{Poll: 50 * time.Millisecond})
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if _, err := runner.Poll(context.Background()); err != nil {
			t.Fatal(err)
		}
		cs, _, err := st.CustomerCoupons(context.Background(), "rie-2", sale.PageQuery{Limit: 10})
		if err == nil && len(cs) == 1 && cs[0].ID == granted[2].ID {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the projector's bootstrap never projected the real grants (%d records delivered)", delivered)
		}
	}
	for _, c := range granted {
		cs, _, err := st.CustomerCoupons(context.Background(), sale.CustomerID(c.CustomerID), sale.PageQuery{Limit: 10})
		if err != nil || len(cs) != 1 || cs[0].ID != c.ID {
			t.Errorf("%s: read model holds %+v (%v), want coupon %s", c.CustomerID, cs, err, c.ID)
		}
	}
	t.Logf("%d real stream records delivered through the projector's bootstrap; every event answered as the contract says", delivered)
}

// rieClient talks to the emulator itself, which is no part of the contract:
// the exchanges inside its events are checked one by one instead.
var rieClient = &http.Client{Transport: &http.Transport{}, Timeout: time.Minute}
