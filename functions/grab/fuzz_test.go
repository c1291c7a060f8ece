package grab_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/seckill/seckill/functions/grab"
	"github.com/seckill/seckill/shared/web"
)

// FuzzParseRequest: any path id and body is either a valid grab request or a
// 400 invalid-request problem.
func FuzzParseRequest(f *testing.F) {
	f.Add("01ARZ3NDEKTSV4RRFFQ69G5FAV", []byte(`{"customerId":"alice"}`))
	f.Add("01ARZ3NDEKTSV4RRFFQ69G5FAV", []byte(`{"customerId":"a@b.c:_-."}`))
	f.Add("8ZZZZZZZZZZZZZZZZZZZZZZZZZ", []byte(`{"customerId":""}`))
	f.Add("", []byte(`null`))
	f.Add("01ARZ3NDEKTSV4RRFFQ69G5FAV", []byte(`{"CUSTOMERID":"alice"}`))
	f.Add("01ARZ3NDEKTSV4RRFFQ69G5FAV", []byte(`{"customerId":"a","customerId":"b"}`))
	f.Add("01ARZ3NDEKTSV4RRFFQ69G5FAV", []byte(`{"customerId":".."}`))
	f.Add("01ARZ3NDEKTSV4RRFFQ69G5FAV", []byte(`{"customerId":"."} {}`))
	f.Fuzz(func(t *testing.T, id string, body []byte) {
		gotID, customer, err := grab.ParseRequest(id, body)
		if err != nil {
			if p := web.ProblemFor(err); p.Status != 400 || p.Code != web.CodeInvalidRequest {
				t.Fatalf("(%q, %q): got %d %s, want 400 invalid-request", id, body, p.Status, p.Code)
			}
			return
		}
		if gotID != id || len(customer) == 0 || len(customer) > 128 || customer == "." || customer == ".." {
			t.Fatalf("(%q, %q): accepted %q %q", id, body, gotID, customer)
		}
		var exact struct {
			CustomerID *string `json:"customerId"`
		}
		if json.Unmarshal(body, &exact) != nil || exact.CustomerID == nil || *exact.CustomerID != string(customer) ||
			bytes.Count(body, []byte(`"customerId"`)) != 1 {
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
