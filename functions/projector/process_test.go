//go:build !mutation

package projector_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/seckill/seckill/shared/ddblocal/ddbtest"
	"github.com/seckill/seckill/shared/proctest"
	"github.com/seckill/seckill/shared/sale"
)

// recordsDelivered sums the records a projector process logged as handed
// over, batch by batch.
func recordsDelivered(t *testing.T, log string) int {
	t.Helper()
	n := 0
	sc := bufio.NewScanner(strings.NewReader(log))
	for sc.Scan() {
		var line struct {
			Msg     string `json:"msg"`
			Records int    `json:"records"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "stream batch projected" {
			n += line.Records
		}
	}
	return n
}

// TestProjectorProcessStops runs the projector's real binary in its
// stream-reading mode. SIGTERM: it exits 0 with its checkpoint saved, and
// the next start reads exactly the records written while it was down, not
// one more. SIGKILL: the next start loses nothing and the read model holds
// every coupon once.
func TestProjectorProcessStops(t *testing.T) {
	t.Parallel()
	s, db := ddbtest.Store(t)
	ctx := context.Background()
	tables := s.Tables()
	bin := proctest.Build(t, "./cmd")
	start := func() *proctest.Process {
		return proctest.Start(t, bin,
			"AWS_ENDPOINT_URL_DYNAMODB="+ddbtest.Endpoint(t),
			"SECKILL_SALE_TABLE="+tables.Sale,
			"SECKILL_COUPONS_TABLE="+tables.Coupons,
			"SECKILL_CHECKPOINTS_TABLE="+tables.Checkpoints,
			"SECKILL_STREAM_POLL=50ms",
		)
	}
	p := activePromotion(t, s, 1000)
	granted := 0
	grant := func(n int) {
		for range n {
			c := sale.Coupon{ID: ulid.Make().String(), PromotionID: p.ID, CustomerID: fmt.Sprintf("c-%04d", granted), Discount: p.Discount, GrabbedAt: time.Now().Truncate(time.Millisecond).UTC()}
			if err := grabUntil(ctx, s, p, granted%p.Shards, c); err != nil {
				t.Fatal(err)
			}
			granted++
		}
	}

	first := start()
	grant(40)
	waitForCount(t, db, tables.Coupons, 40)
	// Every record so far handed over (the promotion, its shards, and two per
	// grant), so that what the next start reads is exactly what came later.
	for want, deadline := 1+p.Shards+2*40, time.Now().Add(20*time.Second); recordsDelivered(t, first.Log()) < want; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the first projector handed over %d records, want %d", recordsDelivered(t, first.Log()), want)
		}
	}
	if err := first.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := first.Wait(t, 20*time.Second); err != nil {
		t.Fatalf("SIGTERM: exit %v\n%s", err, first.Log())
	}

	grant(30) // while no projector runs
	second := start()
	waitForCount(t, db, tables.Coupons, 70)
	time.Sleep(300 * time.Millisecond) // a few idle polls: nothing more may come
	// Each grant writes two records: the shard's decrement and the coupon.
	if got := recordsDelivered(t, second.Log()); got != 2*30 {
		t.Errorf("after SIGTERM the next start read %d records, want exactly the %d written while it was down", got, 2*30)
	}

	grant(30)
	if err := second.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = second.Wait(t, 10*time.Second)
	grant(20)
	start()
	waitForCount(t, db, tables.Coupons, granted)
	time.Sleep(300 * time.Millisecond)
	items := scanReadModel(t, db, tables.Coupons)
	if len(items) != granted {
		t.Fatalf("read model holds %d items, want %d", len(items), granted)
	}
	t.Logf("SIGTERM then restart: %d records read after the stop; SIGKILL then restart: %d coupons, each once", recordsDelivered(t, second.Log()), len(items))
}
