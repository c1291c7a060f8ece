package sale_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/seckill/seckill/shared/sale"
)

var t0 = time.Date(2026, 11, 11, 0, 0, 0, 0, time.UTC)

func draft(mod func(*sale.Draft)) sale.Draft {
	d := sale.Draft{Name: "Double 11", Discount: 0.7, TotalCoupons: 1000, PublishAt: t0.Add(time.Hour), FinishAt: t0.Add(2 * time.Hour)}
	if mod != nil {
		mod(&d)
	}
	return d
}

func fieldOf(err error) string {
	var fe *sale.FieldError
	if errors.As(err, &fe) {
		return fe.Field
	}
	return ""
}

func TestDraftValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		mod   func(*sale.Draft)
		field string // "" means valid
	}{
		{"valid", nil, ""},
		{"name of one", func(d *sale.Draft) { d.Name = "x" }, ""},
		{"name of 200 runes", func(d *sale.Draft) { d.Name = strings.Repeat("é", 200) }, ""},
		{"empty name", func(d *sale.Draft) { d.Name = "" }, "name"},
		{"name of 201 runes", func(d *sale.Draft) { d.Name = strings.Repeat("é", 201) }, "name"},
		{"name not UTF-8", func(d *sale.Draft) { d.Name = "\xff" }, "name"},
		{"discount 1", func(d *sale.Draft) { d.Discount = 1 }, ""},
		{"discount 0.0001", func(d *sale.Draft) { d.Discount = 0.0001 }, ""},
		{"discount 0.1234", func(d *sale.Draft) { d.Discount = 0.1234 }, ""},
		{"discount 0.85", func(d *sale.Draft) { d.Discount = 0.85 }, ""},
		{"discount 0", func(d *sale.Draft) { d.Discount = 0 }, "discount"},
		{"discount below the minimum", func(d *sale.Draft) { d.Discount = 0.00009 }, "discount"},
		{"discount 1e-300", func(d *sale.Draft) { d.Discount = 1e-300 }, "discount"},
		{"discount above 1", func(d *sale.Draft) { d.Discount = 1.0001 }, "discount"},
		{"discount negative", func(d *sale.Draft) { d.Discount = -0.5 }, "discount"},
		{"discount of five decimals", func(d *sale.Draft) { d.Discount = 0.12345 }, "discount"},
		{"discount nearly 0.7", func(d *sale.Draft) { d.Discount = 0.70000000001 }, "discount"},
		{"coupons 1", func(d *sale.Draft) { d.TotalCoupons = 1 }, ""},
		{"coupons 10M", func(d *sale.Draft) { d.TotalCoupons = sale.MaxTotalCoupons }, ""},
		{"coupons 0", func(d *sale.Draft) { d.TotalCoupons = 0 }, "totalCoupons"},
		{"coupons 10M+1", func(d *sale.Draft) { d.TotalCoupons = sale.MaxTotalCoupons + 1 }, "totalCoupons"},
		{"no finish", func(d *sale.Draft) { d.FinishAt = time.Time{} }, "finishAt"},
		{"finish at publish", func(d *sale.Draft) { d.FinishAt = d.PublishAt }, "finishAt"},
		{"finish a millisecond after publish", func(d *sale.Draft) { d.FinishAt = d.PublishAt.Add(time.Millisecond) }, ""},
		{"finish now", func(d *sale.Draft) { d.PublishAt, d.FinishAt = t0.Add(-time.Hour), t0 }, "finishAt"},
		{"finish just after now", func(d *sale.Draft) { d.PublishAt, d.FinishAt = t0.Add(-time.Hour), t0.Add(time.Nanosecond) }, ""},
		{"publish in the past", func(d *sale.Draft) { d.PublishAt = t0.Add(-time.Hour) }, ""},
		{"publish before 1970", func(d *sale.Draft) { d.PublishAt = time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC) }, "publishAt"},
		{"finish past 9999", func(d *sale.Draft) { d.FinishAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, "finishAt"},
		{"finish at the last second", func(d *sale.Draft) { d.FinishAt = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC) }, ""},
	} {
		err := draft(tc.mod).Validate(t0)
		if got := fieldOf(err); got != tc.field || (tc.field == "") != (err == nil) {
			t.Errorf("%s: got %v (field %q), want field %q", tc.name, err, got, tc.field)
		}
		if err != nil && !errors.Is(err, sale.ErrInvalid) {
			t.Errorf("%s: %v does not unwrap to ErrInvalid", tc.name, err)
		}
	}
}

func TestParseTime(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want time.Time // zero means refused
	}{
		{"2026-11-11T00:00:00Z", t0},
		{"2026-11-11t00:00:00z", t0},
		{"2026-11-11T08:00:00+08:00", t0},
		{"2026-11-10T16:00:00-08:00", t0},
		{"2026-11-11T00:00:00.5Z", t0.Add(500 * time.Millisecond)},
		{"2026-11-11T23:59:00+23:59", t0},
		{"2026-11-11T09:59:00+09:59", t0},
		{"2026-11-10T14:01:00-09:59", t0},
		{"2027-01-01T00:00:00+a1:00", time.Time{}},
		{"2027-01-01T00:00:00+1a:00", time.Time{}},
		{"2027-01-01T00:00:00+01:a0", time.Time{}},
		{"2027-01-01T00:00:00+01:0a", time.Time{}},
		{"2027-01-01T00:00:00+01-00", time.Time{}},
		{"2027-01-01T00:00:00*01:00", time.Time{}},
		{"2027-01-01T00:00:00+01:000", time.Time{}},
		{"2027-01-01T00:00:00.123456789Z", time.Date(2027, 1, 1, 0, 0, 0, 123456789, time.UTC)},
		{"2027-01-01T00:00:00.0Z", time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"2027-01-01T00:30:00+00:30", time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"2027-01-01T00:00:00.123", time.Time{}},
		{"2027-01-01X00:00:00Z", time.Time{}},
		{"2027/01-01T00:00:00Z", time.Time{}},
		{"2027-01-01T00:00:00", time.Time{}},
		{"2027-01-01T00:00:0", time.Time{}},
		{"1970-01-01T00:00:00Z", time.Unix(0, 0).UTC()},
		{"9999-12-31T23:59:59Z", time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)},
		{"9999-12-31T23:59:59+01:00", time.Date(9999, 12, 31, 22, 59, 59, 0, time.UTC)},
		{"9999-12-31T23:59:59-23:59", time.Time{}}, // year 10000 in UTC
		{"9999-12-31T23:59:59.001Z", time.Time{}},
		{"1970-01-01T00:00:00+00:01", time.Time{}}, // 1969 in UTC
		{"1969-12-31T23:00:00-01:00", time.Unix(0, 0).UTC()},
		{"2027-01-01T00:00:00,5Z", time.Time{}},
		{"2027-01-01T00:00:00+24:00", time.Time{}},
		{"2027-01-01T00:00:00+23:60", time.Time{}},
		{"2027-01-01T00:00:00.Z", time.Time{}},
		{"2027-01-01T00:00:00", time.Time{}},
		{"2027-01-01 00:00:00Z", time.Time{}},
		{"2027-1-01T00:00:00Z", time.Time{}},
		{"2027-13-01T00:00:00Z", time.Time{}},
		{"2027-02-30T00:00:00Z", time.Time{}},
		{"2027-01-01T24:00:00Z", time.Time{}},
		{"2027-01-01T00:00:60Z", time.Time{}},
		{"2027-01-01T00:00:00+0100", time.Time{}},
		{"2027-01-01T00:00:00UTC", time.Time{}},
		{"+2027-01-01T00:00:00Z", time.Time{}},
		{"tomorrow", time.Time{}},
		{"", time.Time{}},
	} {
		got, err := sale.ParseTime("finishAt", tc.in)
		switch {
		case tc.want.IsZero() && err == nil:
			t.Errorf("%q: got %v, want refused", tc.in, got)
		case tc.want.IsZero() && fieldOf(err) != "finishAt":
			t.Errorf("%q: got %v, want a finishAt field error", tc.in, err)
		case !tc.want.IsZero() && (err != nil || !got.Equal(tc.want) || got.Location() != time.UTC):
			t.Errorf("%q: got %v %v, want %v in UTC", tc.in, got, err, tc.want)
		}
	}
}

func TestParseCustomerID(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"alice", true}, {"a@b.c:_-", true}, {"a", true}, {"azAZ09", true}, {"z", true}, {"Z", true}, {"0", true}, {"9", true}, {"...", true}, {".a", true}, {"a.", true},
		{strings.Repeat("x", 128), true},
		{"", false}, {".", false}, {"..", false}, {strings.Repeat("x", 129), false},
		{"a b", false}, {"a/b", false}, {"ü", false}, {"a%2F", false}, {"a?b", false},
	} {
		_, err := sale.ParseCustomerID(tc.in)
		if (err == nil) != tc.ok || (err != nil && fieldOf(err) != "customerId") {
			t.Errorf("%q: got %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
}

func TestParsePromotionID(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"01JD8X3Q4M7C2V9K5T6N0B1R2S", true}, {"7ZZZZZZZZZZZZZZZZZZZZZZZZZ", true},
		{"8ZZZZZZZZZZZZZZZZZZZZZZZZZ", false}, {"01JD8X3Q4M7C2V9K5T6N0B1R2", false}, {"01JD8X3Q4M7C2V9K5T6N0B1R2SS", false},
		{"01jd8x3q4m7c2v9k5t6n0b1r2s", false}, {"01JD8X3Q4M7C2V9K5T6N0B1R2I", false}, {"01JD8X3Q4M7C2V9K5T6N0B1R2U", false},
		{"", false},
	} {
		_, err := sale.ParsePromotionID(tc.in)
		if (err == nil) != tc.ok || (err != nil && fieldOf(err) != "promotionId") {
			t.Errorf("%q: got %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
}

func TestParseLimitAndFilter(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int{"": 100, "1": 1, "100": 100, "42": 42, "0": 0, "101": 0, "-1": 0, "01": 0, "1.0": 0, "x": 0, " 1": 0} {
		got, err := sale.ParseLimit(in)
		if want == 0 && (err == nil || fieldOf(err) != "limit") || want != 0 && (err != nil || got != want) {
			t.Errorf("limit %q: got %d %v, want %d", in, got, err, want)
		}
	}
	for in, want := range map[string]sale.Filter{"": sale.FilterAll, "all": sale.FilterAll, "active": sale.FilterActive, "upcoming": sale.FilterUpcoming, "finished": sale.FilterFinished, "open": "", "ACTIVE": "", "sold-out": ""} {
		got, err := sale.ParseFilter(in)
		if want == "" && (err == nil || fieldOf(err) != "status") || want != "" && (err != nil || got != want) {
			t.Errorf("status %q: got %q %v, want %q", in, got, err, want)
		}
	}
}

func TestWindowStatusAndFilters(t *testing.T) {
	t.Parallel()
	p, err := sale.NewPromotion("01JD8X3Q4M7C2V9K5T6N0B1R2S", draft(nil), t0)
	if err != nil {
		t.Fatal(err)
	}
	ms := time.Millisecond
	for _, tc := range []struct {
		name      string
		now       time.Time
		left      int
		window    error
		status    sale.Status
		frozen    bool
		started   bool
		matchOpen bool
		match     []sale.Filter
	}{
		{"long before", t0, 5, sale.ErrNotStarted, sale.StatusUpcoming, false, false, true, []sale.Filter{sale.FilterUpcoming}},
		{"just before the freeze", p.PublishAt.Add(-sale.ChangeFreeze - ms), 5, sale.ErrNotStarted, sale.StatusUpcoming, false, false, true, []sale.Filter{sale.FilterUpcoming}},
		{"at the freeze", p.PublishAt.Add(-sale.ChangeFreeze), 5, sale.ErrNotStarted, sale.StatusUpcoming, true, false, true, []sale.Filter{sale.FilterUpcoming}},
		{"just before publish", p.PublishAt.Add(-ms), 5, sale.ErrNotStarted, sale.StatusUpcoming, true, false, true, []sale.Filter{sale.FilterUpcoming}},
		{"at publish", p.PublishAt, 5, nil, sale.StatusActive, true, true, true, []sale.Filter{sale.FilterActive}},
		{"sold out", p.PublishAt.Add(time.Minute), 0, nil, sale.StatusSoldOut, true, true, true, []sale.Filter{sale.FilterActive}},
		{"just before finish", p.FinishAt.Add(-ms), 1, nil, sale.StatusActive, true, true, true, []sale.Filter{sale.FilterActive}},
		{"at finish", p.FinishAt, 1, sale.ErrFinished, sale.StatusFinished, true, true, false, []sale.Filter{sale.FilterFinished}},
		{"finished and sold out", p.FinishAt.Add(time.Hour), 0, sale.ErrFinished, sale.StatusFinished, true, true, false, []sale.Filter{sale.FilterFinished}},
	} {
		if err := p.CheckWindow(tc.now); !errors.Is(err, tc.window) || (tc.window == nil) != (err == nil) {
			t.Errorf("%s: window got %v, want %v", tc.name, err, tc.window)
		}
		if got := p.Status(tc.now, tc.left); got != tc.status {
			t.Errorf("%s: status got %q, want %q", tc.name, got, tc.status)
		}
		if got := p.Frozen(tc.now); got != tc.frozen {
			t.Errorf("%s: frozen got %v, want %v", tc.name, got, tc.frozen)
		}
		if err := p.CheckChange(tc.now); (err != nil) != tc.frozen || (err != nil && !errors.Is(err, sale.ErrPromotionStarted)) {
			t.Errorf("%s: CheckChange got %v, want frozen=%v", tc.name, err, tc.frozen)
		}
		if got := p.Started(tc.now); got != tc.started {
			t.Errorf("%s: started got %v, want %v", tc.name, got, tc.started)
		}
		if got := sale.FilterOpen.Match(p, tc.now); got != tc.matchOpen {
			t.Errorf("%s: open got %v, want %v", tc.name, got, tc.matchOpen)
		}
		if !sale.FilterAll.Match(p, tc.now) {
			t.Errorf("%s: all does not match", tc.name)
		}
		for _, f := range []sale.Filter{sale.FilterActive, sale.FilterUpcoming, sale.FilterFinished} {
			want := false
			for _, m := range tc.match {
				want = want || m == f
			}
			if got := f.Match(p, tc.now); got != want {
				t.Errorf("%s: filter %s got %v, want %v", tc.name, f, got, want)
			}
		}
	}
}

func TestNewAndReplace(t *testing.T) {
	t.Parallel()
	d := draft(func(d *sale.Draft) { d.PublishAt = d.PublishAt.Add(1500 * time.Microsecond) })
	p, err := sale.NewPromotion("01JD8X3Q4M7C2V9K5T6N0B1R2S", d, t0.Add(123456*time.Nanosecond))
	if err != nil {
		t.Fatal(err)
	}
	if p.Version != 1 || p.Shards != sale.ShardCount(1000) || !p.PublishAt.Equal(t0.Add(time.Hour+time.Millisecond)) || !p.CreatedAt.Equal(t0) {
		t.Fatalf("new: got %+v, want version 1, %d shards, times to the millisecond", p, sale.ShardCount(1000))
	}
	if _, err := sale.NewPromotion("x", draft(func(d *sale.Draft) { d.Name = "" }), t0); fieldOf(err) != "name" {
		t.Fatalf("new with a bad draft: got %v", err)
	}
	next, err := p.Replace(draft(func(d *sale.Draft) { d.TotalCoupons = 50; d.Name = "B" }), t0)
	if err != nil || next.Version != 2 || next.TotalCoupons != 50 || next.Shards != 1 || next.Name != "B" || next.ID != p.ID || !next.CreatedAt.Equal(p.CreatedAt) {
		t.Fatalf("replace: got %+v %v", next, err)
	}
	if _, err := p.Replace(draft(nil), p.PublishAt.Add(-sale.ChangeFreeze)); !errors.Is(err, sale.ErrPromotionStarted) {
		t.Fatalf("replace in the freeze: got %v, want ErrPromotionStarted", err)
	}
	if _, err := p.Replace(draft(func(d *sale.Draft) { d.Discount = 2 }), t0); fieldOf(err) != "discount" {
		t.Fatalf("replace with a bad draft: got %v", err)
	}
}

func TestShards(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ total, shards int }{
		{1, 1}, {100, 1}, {101, 2}, {200, 2}, {201, 3}, {3200, 32}, {3201, 32}, {sale.MaxTotalCoupons, sale.MaxShards},
	} {
		if got := sale.ShardCount(tc.total); got != tc.shards {
			t.Errorf("ShardCount(%d): got %d, want %d", tc.total, got, tc.shards)
		}
	}
	for _, tc := range []struct {
		total, n int
		want     []int
	}{
		{5, 1, []int{5}}, {5, 2, []int{3, 2}}, {7, 3, []int{3, 2, 2}}, {2, 3, []int{1, 1, 0}}, {9, 3, []int{3, 3, 3}},
	} {
		got := sale.SplitStock(tc.total, tc.n)
		if len(got) != len(tc.want) {
			t.Errorf("SplitStock(%d, %d): got %v, want %v", tc.total, tc.n, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("SplitStock(%d, %d): got %v, want %v", tc.total, tc.n, got, tc.want)
				break
			}
		}
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	held := &sale.AlreadyGrabbedError{Coupon: sale.Coupon{ID: "c", PromotionID: "p", CustomerID: "alice"}}
	if !errors.Is(held, sale.ErrAlreadyGrabbed) || !strings.Contains(held.Error(), "alice") {
		t.Fatalf("already grabbed: got %v", held)
	}
	fe := &sale.FieldError{Field: "name", Reason: "is bad"}
	if !errors.Is(fe, sale.ErrInvalid) || fe.Error() != "name: is bad" {
		t.Fatalf("field error: got %v", fe)
	}
}

// TestVersionsAdmit: no versions (no If-Match) admit any; a list admits
// each version it names and no other.
func TestVersionsAdmit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		v       sale.Versions
		version int
		want    bool
	}{
		{sale.AnyVersion, 7, true},
		{sale.Versions{1, 3}, 3, true},
		{sale.Versions{1, 3}, 1, true},
		{sale.Versions{1, 3}, 2, false},
		{sale.Versions{4}, 5, false},
	} {
		if got := tc.v.Admit(tc.version); got != tc.want {
			t.Errorf("%v admits %d: got %v, want %v", tc.v, tc.version, got, tc.want)
		}
	}
}
