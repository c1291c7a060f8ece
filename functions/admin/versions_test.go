package admin_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seckill/seckill/shared/contract/contracttest"
)

// send is do with extra request headers.
func (c *client) send(method, path, body string, hdr map[string]string) (int, http.Header, map[string]any) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.url+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := contracttest.Client(c.t, nil).Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			c.t.Fatalf("%s %s: body is not JSON: %q", method, path, raw)
		}
	}
	return resp.StatusCode, resp.Header, out
}

func TestETagAndIfMatch(t *testing.T) {
	t.Parallel()
	c := newServer(t)
	now := time.Now()
	body := promo("v", now.Add(time.Hour), now.Add(2*time.Hour), 10)
	status, hdr, p := c.do("POST", "/admin/promotions", body, true)
	if status != http.StatusCreated || hdr.Get("ETag") != `"1"` {
		t.Fatalf("create: got %d ETag %q, want 201 \"1\"", status, hdr.Get("ETag"))
	}
	path := "/admin/promotions/" + p["id"].(string)
	if _, hdr, _ := c.do("GET", path, "", true); hdr.Get("ETag") != `"1"` {
		t.Fatalf("get: ETag %q, want \"1\"", hdr.Get("ETag"))
	}
	for _, tc := range []struct {
		name, method, ifMatch string
		status                int
		etag                  string
	}{
		{"put at the current version", "PUT", `"1"`, 200, `"2"`},
		{"put at an old version", "PUT", `"1"`, 412, ""},
		{"put with a weak tag", "PUT", `W/"2"`, 412, ""},
		{"put with a tag of no version", "PUT", `"abc"`, 412, ""},
		{"put with a list naming the version", "PUT", `"2", "9"`, 200, `"3"`},
		{"put with a list whose later tag matches", "PUT", `"1", "3"`, 200, `"4"`},
		{"put with a list naming none", "PUT", `"1", W/"4", "x"`, 412, ""},
		{"put with any version", "PUT", `*`, 200, `"5"`},
		{"put without If-Match", "PUT", "", 200, `"6"`},
		{"delete at an old version", "DELETE", `"5"`, 412, ""},
		{"delete with a list whose later tag matches", "DELETE", `"5","6"`, 204, ""},
		{"delete when gone", "DELETE", `"6"`, 404, ""},
	} {
		hdrs := map[string]string{}
		if tc.ifMatch != "" {
			hdrs["If-Match"] = tc.ifMatch
		}
		b := body
		if tc.method == "DELETE" {
			b = ""
		}
		status, hdr, prob := c.send(tc.method, path, b, hdrs)
		if status != tc.status || hdr.Get("ETag") != tc.etag {
			t.Errorf("%s: got %d ETag %q %v, want %d ETag %q", tc.name, status, hdr.Get("ETag"), prob, tc.status, tc.etag)
		}
		if status == 412 && prob["code"] != "precondition-failed" {
			t.Errorf("%s: got code %v, want precondition-failed", tc.name, prob["code"])
		}
	}
}

// TestConcurrentPutsAllLand: without If-Match the last writer wins, and
// every one of many simultaneous writers lands, none is told to try again.
func TestConcurrentPutsAllLand(t *testing.T) {
	t.Parallel()
	c := newServer(t)
	now := time.Now()
	_, _, p := c.do("POST", "/admin/promotions", promo("v", now.Add(time.Hour), now.Add(2*time.Hour), 10), true)
	path := "/admin/promotions/" + p["id"].(string)
	const writers = 32
	var wg sync.WaitGroup
	statuses := make([]int, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i], _, _ = c.send("PUT", path, promo(fmt.Sprint("w", i), now.Add(time.Hour), now.Add(2*time.Hour), 10+i), nil)
		}()
	}
	wg.Wait()
	for i, s := range statuses {
		if s != http.StatusOK {
			t.Errorf("writer %d: got %d, want 200", i, s)
		}
	}
	_, hdr, got := c.do("GET", path, "", true)
	if hdr.Get("ETag") != fmt.Sprintf(`"%d"`, writers+1) || got["couponsLeft"] != got["totalCoupons"] {
		t.Fatalf("after %d writers: ETag %q, %v", writers, hdr.Get("ETag"), got)
	}
}

// TestPaging: every list walks through all its items with limit and
// cursor, newest first, each once, and the last page has no next.
func TestPaging(t *testing.T) {
	t.Parallel()
	c := newServer(t)
	now := time.Now()
	var ids []string
	for i := range 7 {
		publish := now.Add(time.Hour)
		if i%2 == 0 {
			publish = now.Add(-time.Minute)
		}
		_, _, p := c.do("POST", "/admin/promotions", promo(fmt.Sprint("p", i), publish, now.Add(2*time.Hour), 10), true)
		ids = append([]string{p["id"].(string)}, ids...)
	}
	for _, tc := range []struct {
		query string
		limit int
		want  []string
	}{
		{"", 3, ids},
		{"status=active&", 2, []string{ids[0], ids[2], ids[4], ids[6]}},
		{"status=upcoming&", 1, []string{ids[1], ids[3], ids[5]}},
		{"status=finished&", 2, nil},
		{"", 100, ids},
	} {
		var got []string
		cursor := ""
		for page := 0; ; page++ {
			if page > 10 {
				t.Fatalf("%s: more than 10 pages", tc.query)
			}
			q := fmt.Sprintf("/admin/promotions?%slimit=%d", tc.query, tc.limit)
			if cursor != "" {
				q += "&cursor=" + cursor
			}
			status, _, list := c.do("GET", q, "", true)
			if status != 200 {
				t.Fatalf("%s: got %d %v", q, status, list)
			}
			items := list["promotions"].([]any)
			if len(items) > tc.limit {
				t.Fatalf("%s: %d items, over the limit", q, len(items))
			}
			for _, it := range items {
				got = append(got, it.(map[string]any)["id"].(string))
			}
			next, _ := list["next"].(string)
			if next == "" {
				break
			}
			cursor = next
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%s limit %d: got %v, want %v", tc.query, tc.limit, got, tc.want)
		}
	}
}

// TestReadsAreSnapshots: while PUTs change a promotion's stock (and so its
// number of shards), every read of it, alone or in a list, shows
// couponsLeft + couponsGranted == totalCoupons.
func TestReadsAreSnapshots(t *testing.T) {
	t.Parallel()
	c := newServer(t)
	now := time.Now()
	publish, finish := now.Add(time.Hour), now.Add(2*time.Hour)
	_, _, p := c.do("POST", "/admin/promotions", promo("v", publish, finish, 10), true)
	path := "/admin/promotions/" + p["id"].(string)
	stop := make(chan struct{})
	var writers sync.WaitGroup
	for w := range 2 {
		writers.Add(1)
		go func() {
			defer writers.Done()
			totals := []int{10, 250, 3300, 99}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				c.send("PUT", path, promo("v", publish, finish, totals[(i+w)%len(totals)]), nil)
			}
		}()
	}
	reads, broken := 0, 0
	check := func(p map[string]any) {
		reads++
		if p["couponsLeft"].(float64)+p["couponsGranted"].(float64) != p["totalCoupons"].(float64) {
			broken++
		}
	}
	for range 40 {
		if status, _, got := c.do("GET", path, "", true); status == 200 {
			check(got)
		}
		if status, _, list := c.do("GET", "/admin/promotions", "", true); status == 200 {
			for _, it := range list["promotions"].([]any) {
				check(it.(map[string]any))
			}
		}
	}
	close(stop)
	writers.Wait()
	// Reads may answer try-again while the changes keep coming; enough of
	// them must land to have watched the changes.
	if broken > 0 || reads < 20 {
		t.Fatalf("%d of %d reads broke left + granted == total (want 0 of at least 20)", broken, reads)
	}
	t.Logf("%d reads during changes, all whole", reads)
}
