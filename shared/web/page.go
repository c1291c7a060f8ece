package web

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"

	"github.com/seckill/seckill/shared/sale"
)

// PageQuery reads ?limit= and ?cursor= of a list request. A cursor is opaque
// to clients: the id of the last item a page carried, encoded, so that only
// a cursor this API gave out is accepted.
func PageQuery(r *http.Request) (sale.PageQuery, error) {
	q := r.URL.Query()
	limit, err := sale.ParseLimit(q.Get("limit"))
	if err != nil {
		return sale.PageQuery{}, err
	}
	after, err := parseCursor(q.Get("cursor"))
	if err != nil {
		return sale.PageQuery{}, err
	}
	return sale.PageQuery{Limit: limit, After: after}, nil
}

func parseCursor(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || !sale.IsULID(string(raw)) {
		return "", &sale.FieldError{Field: "cursor", Reason: "is not a cursor this API gave out"}
	}
	return string(raw), nil
}

// Page writes a list under name with the cursor of the next page, when
// there is one; lists are never null.
func Page[T any](w http.ResponseWriter, name string, items []T, next string) {
	if items == nil {
		items = []T{}
	}
	body := map[string]any{name: items}
	if next != "" {
		body["next"] = base64.RawURLEncoding.EncodeToString([]byte(next))
	}
	JSON(w, http.StatusOK, body)
}

// ETag is a promotion version as a strong entity tag.
func ETag(version int) string { return `"` + strconv.Itoa(version) + `"` }

// IfMatch reads the versions If-Match admits. Absent or "*" admits any; a
// list admits each strong tag it names (RFC 9110 §13.1.1: any one that
// matches passes); a list that names none of ours matches nothing.
func IfMatch(r *http.Request) (sale.Versions, error) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" || h == "*" {
		return sale.AnyVersion, nil
	}
	var out sale.Versions
	for tag := range strings.SplitSeq(h, ",") {
		v, ok := strings.CutPrefix(strings.TrimSpace(tag), `"`)
		v, closed := strings.CutSuffix(v, `"`)
		if n, err := strconv.Atoi(v); ok && closed && err == nil && n > 0 {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return nil, sale.ErrPreconditionFailed
	}
	return out, nil
}
