package web

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"

	"github.com/seckill/seckill/shared/sale"
	"github.com/seckill/seckill/shared/store"
)

// PageQuery reads ?limit= and ?cursor= of a list request. A cursor is opaque
// to clients: the id of the last item a page carried, encoded, so that only
// a cursor this API gave out is accepted.
func PageQuery(r *http.Request) (store.PageQuery, error) {
	q := r.URL.Query()
	limit, err := sale.ParseLimit(q.Get("limit"))
	if err != nil {
		return store.PageQuery{}, err
	}
	after, err := parseCursor(q.Get("cursor"))
	if err != nil {
		return store.PageQuery{}, err
	}
	return store.PageQuery{Limit: limit, After: after}, nil
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

// IfMatch reads the version an If-Match header requires, or
// store.AnyVersion without one. "*" matches any stored promotion. A tag
// that is no version of ours can match nothing: the change is refused with
// 412 like any other mismatch.
func IfMatch(r *http.Request) (int, error) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" || h == "*" {
		return store.AnyVersion, nil
	}
	for tag := range strings.SplitSeq(h, ",") {
		tag = strings.TrimSpace(tag)
		if v, ok := strings.CutPrefix(tag, `"`); ok {
			if n, err := strconv.Atoi(strings.TrimSuffix(v, `"`)); err == nil && n > 0 && strings.HasSuffix(v, `"`) {
				return n, nil
			}
		}
	}
	return 0, sale.ErrPreconditionFailed
}
