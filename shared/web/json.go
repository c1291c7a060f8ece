package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/seckill/seckill/shared/sale"
)

// MaxBody caps request bodies, as the contract says.
const MaxBody = 64 << 10

// Decode reads a JSON object from r's body into v: at most MaxBody bytes, no
// unknown fields, no trailing data. Every failure is a problem a client can
// act on, naming the field when there is one.
func Decode(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := ReadBody(w, r)
	if err != nil {
		return err
	}
	return DecodeBytes(body, v)
}

// ReadBody reads at most MaxBody bytes of r's body; a larger one is a 413.
// A body must be application/json, with no parameter but charset=utf-8,
// else 415: so a cross-site form or text/plain POST, which a browser sends
// without asking the API first (CORS preflight), is never served. An empty
// body needs no Content-Type.
func ReadBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	ct := r.Header.Get("Content-Type")
	if ct != "" {
		if err := checkJSON(ct); err != nil {
			return nil, err
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, NewProblem(http.StatusRequestEntityTooLarge, CodeInvalidRequest, fmt.Sprintf("the body exceeds %d bytes", MaxBody))
	}
	if err != nil {
		return nil, NewProblem(http.StatusBadRequest, CodeInvalidRequest, "the body could not be read")
	}
	if len(body) > 0 && ct == "" {
		return nil, checkJSON(ct)
	}
	return body, nil
}

// checkJSON refuses a Content-Type that is not JSON in UTF-8.
func checkJSON(ct string) error {
	mt, params, err := mime.ParseMediaType(ct)
	if err == nil && mt == "application/json" {
		cs, hasCharset := params["charset"]
		if len(params) == 0 || len(params) == 1 && hasCharset && strings.EqualFold(cs, "utf-8") {
			return nil
		}
	}
	return NewProblem(http.StatusUnsupportedMediaType, CodeInvalidRequest, "the body must be application/json (charset utf-8)")
}

// DecodeBytes is Decode's parsing half, kept apart for the fuzzers. Beyond
// what encoding/json checks, member names must match a field exactly (it
// matches case-insensitively) and appear once (it lets the last one win).
func DecodeBytes(body []byte, v any) error {
	if err := checkMembers(body, v); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeProblem(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalidBody("the body must hold exactly one JSON object")
	}
	return nil
}

// checkMembers walks the members of a top-level object. Anything that is not
// a well-formed object is left to the decoder, which explains it.
func checkMembers(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil
	}
	known := fieldNames(reflect.TypeOf(v))
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		name, _ := tok.(string)
		switch {
		case seen[name]:
			return &sale.FieldError{Field: name, Reason: "is given more than once"}
		case known != nil && !known[name]:
			return &sale.FieldError{Field: name, Reason: "is not a field of this request (names are case-sensitive)"}
		}
		seen[name] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil
		}
	}
	return nil
}

var fieldCache sync.Map // reflect.Type → map[string]bool

// fieldNames gives the JSON names of a struct's fields (v points to it), or
// nil for anything else, whose members are not checked by name.
func fieldNames(t reflect.Type) map[string]bool {
	if t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return nil
	}
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]bool)
	}
	m := map[string]bool{}
	for f := range t.Elem().Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[name] = true
	}
	fieldCache.Store(t, m)
	return m
}

func decodeProblem(err error) error {
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	var timeErr *time.ParseError
	switch {
	case errors.Is(err, io.EOF):
		return invalidBody("the body is empty; a JSON object is expected")
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return invalidBody("the body is not valid JSON")
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return invalidBody("the body must be a JSON object")
		}
		return &sale.FieldError{Field: typeErr.Field, Reason: "has the wrong type; expected " + jsonKind(typeErr.Type.Kind().String())}
	case errors.As(err, &timeErr):
		return invalidBody("a time is not in RFC 3339 format, e.g. 2026-11-11T00:00:00Z")
	}
	var field *sale.FieldError
	if errors.As(err, &field) {
		return field
	}
	if msg := err.Error(); len(msg) > len("json: unknown field ") && msg[:len("json: unknown field ")] == "json: unknown field " {
		return invalidBody("unknown field " + msg[len("json: unknown field "):])
	}
	return invalidBody("the body could not be decoded")
}

func jsonKind(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "int", "int64":
		return "a whole number"
	case "float64":
		return "a number"
	case "struct":
		return "an RFC 3339 string"
	}
	return kind
}

func invalidBody(detail string) error {
	return NewProblem(http.StatusBadRequest, CodeInvalidRequest, detail)
}

// JSON writes v with the given status.
func JSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
