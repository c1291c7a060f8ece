package grab_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/seckill/seckill/functions/grab"
	"github.com/seckill/seckill/shared/sale"
	"github.com/seckill/seckill/shared/web"
)

// FuzzParseRequest: any path id and body is either a valid grab request or a
// 400 invalid-request problem (403 forbidden when the token's customer
// differs from the body's). In open mode (who "") the body names the
// customer exactly once; with a token it may name none, or the same one.
func FuzzParseRequest(f *testing.F) {
	f.Add("01ARZ3NDEKTSV4RRFFQ69G5FAV", []byte(`{"customerId":"alice"}`), false)
	f.Add("01ARZ3NDEKTSV4RRFFQ69G5FAV", []byte(`{"customerId":"a@b.c:_-."}`), false)
	f.Add("01ARZ3NDEKTSV4RRFFQ69G5FAV", []byte(`{"customerId":"auth0|5f7c"}`), false)
	f.Add("8ZZZZZZZZZZZZZZZZZZZZZZZZZ", []byte(`{"customerId":""}`), true)
	f.Add("", []byte(`null`), false)
	f.Add("01ARZ3NDEKTSV4RRFFQ69G5FAV", []byte(`{"CUSTOMERID":"alice"}`), false)
	f.Add("01ARZ3NDEKTSV4RRFFQ69G5FAV", []byte(`{"customerId":"a","customerId":"b"}`), false)
	f.Add("01ARZ3NDEKTSV4RRFFQ69G5FAV", []byte(`{"customerId":".."}`), false)
	f.Add("01ARZ3NDEKTSV4RRFFQ69G5FAV", []byte(`{"customerId":"."} {}`), false)
	f.Add("01ARZ3NDEKTSV4RRFFQ69G5FAV", []byte(``), true)
	f.Add("01ARZ3NDEKTSV4RRFFQ69G5FAV", []byte(`{}`), true)
	f.Add("01ARZ3NDEKTSV4RRFFQ69G5FAV", []byte(`{"customerId":"mallory"}`), true)
	f.Fuzz(func(t *testing.T, id string, body []byte, token bool) {
		var who sale.CustomerID
		if token {
			who = "alice"
		}
		gotID, customer, err := grab.ParseRequest(id, body, who)
		if err != nil {
			p := web.ProblemFor(err)
			if p.Status != 400 && !(token && p.Status == 403) || p.Code != web.CodeInvalidRequest && p.Code != web.CodeForbidden {
				t.Fatalf("(%q, %q, %q): got %d %s, want 400 invalid-request or, with a token, 403", id, body, who, p.Status, p.Code)
			}
			return
		}
		if gotID != id || len(customer) == 0 || len(customer) > 128 || customer == "." || customer == ".." {
			t.Fatalf("(%q, %q): accepted %q %q", id, body, gotID, customer)
		}
		if token && customer != who {
			t.Fatalf("(%q, %q): with alice's token, granted to %q", id, body, customer)
		}
		var exact struct {
			CustomerID *string `json:"customerId"`
		}
		named := json.Unmarshal(body, &exact) == nil && exact.CustomerID != nil && *exact.CustomerID == string(customer) &&
			bytes.Count(body, []byte(`"customerId"`)) == 1
		if !named && !token {
			t.Fatalf("(%q, %q): accepted a body that does not name customerId exactly once", id, body)
		}
	})
}

// FuzzQuickBody: whenever the fast reading of a grab body accepts it, the
// strict decoder accepts it too and reads the same customer id.
func FuzzQuickBody(f *testing.F) {
	for _, b := range []string{`{"customerId":"alice"}`, ` { "customerId" : "a b" } `, `{"customerId":"a\u0041"}`,
		`{"customerId":"é"}`, `{"customerId":"a"} x`, `{"customerId":"a","x":1}`, `{"customerId":"\t"}`, `{"customerId":""}`} {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		quick, ok := grab.QuickBody(body)
		if !ok {
			return
		}
		var strict struct {
			CustomerID string `json:"customerId"`
		}
		if err := web.DecodeBytes(body, &strict); err != nil || strict.CustomerID != quick {
			t.Fatalf("%q: quick read %q, strict read %q (%v)", body, quick, strict.CustomerID, err)
		}
	})
}
