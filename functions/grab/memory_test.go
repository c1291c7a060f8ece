//go:build !mutation

package grab_test

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/oklog/ulid/v2"

	"github.com/seckill/seckill/functions/grab"
	"github.com/seckill/seckill/shared/sale"
	"github.com/seckill/seckill/shared/store"
)

func heapAfterGC() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestUnknownIDsOverHTTP: grabs of well-formed ids that name no promotion,
// over real HTTP against DynamoDB Local, are all 404 and leave the instance
// remembering at most grab.MaxCached of them, while a real promotion keeps
// selling beside them.
func TestUnknownIDsOverHTTP(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	p := w.promotion(50, time.Now().Add(-time.Second), time.Now().Add(time.Hour))
	const n = 3 * grab.MaxCached / 2
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= n; i = next.Add(1) {
				if a := grabOnce(t, w.url, ulid.Make().String(), customerBody("mallory")); a.status != http.StatusNotFound || a.code != "promotion-not-found" {
					t.Errorf("unknown id: got %+v, want 404 promotion-not-found", a)
					return
				}
				if i%100 == 0 {
					if a := grabOnce(t, w.url, p.ID, customerBody(fmt.Sprint("c", i))); a.status != http.StatusCreated && a.code != "sold-out" {
						t.Errorf("real promotion beside the flood: got %+v", a)
					}
				}
			}
		}()
	}
	wg.Wait()
	w.checkTotals(p, 50)
}

// notFound answers every GetItem as DynamoDB does for a key that holds no
// item: an empty output. It stands in for DynamoDB Local only where the
// question is the instance's own memory and a million round trips to a JVM
// would measure nothing more.
type notFound struct{ store.DB }

func (notFound) GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return &dynamodb.GetItemOutput{}, nil
}

// TestMillionUnknownIDs: a million grabs of ids that name no promotion leave
// the heap within a fixed bound, far below what remembering each would take.
func TestMillionUnknownIDs(t *testing.T) {
	if testing.Short() {
		t.Skip("a million grabs; run without -short")
	}
	svc := grab.NewService(store.New(notFound{}, store.Tables{Sale: "sale"}, time.Second), time.Now, grab.Options{PromotionTTL: 2 * time.Second, MaxAttempts: 8})
	ctx := context.Background()
	before := heapAfterGC()
	const n = 1_000_000
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range n / 8 {
				if _, err := svc.Grab(ctx, ulid.Make().String(), sale.CustomerID(fmt.Sprint("c", g))); err == nil {
					t.Error("a grab of an unknown id succeeded")
					return
				}
			}
		}()
	}
	wg.Wait()
	after := heapAfterGC()
	found, missing := svc.Cached()
	growth := int64(after) - int64(before)
	t.Logf("%d unknown ids: heap %d -> %d bytes (%+d), %d promotions and %d unknown ids remembered", n, before, after, growth, found, missing)
	// What MaxCached entries may take, with room for the runtime's own
	// growth; remembering every id would take well over 100 MB.
	const bound = 16 << 20
	if missing > grab.MaxCached || growth > bound {
		t.Fatalf("heap grew %d bytes (bound %d) and %d ids are remembered (bound %d)", growth, bound, missing, grab.MaxCached)
	}
	runtime.KeepAlive(svc)
}
