// Package web holds the HTTP edge shared by every function: problem
// responses (RFC 9457), JSON bodies, the router, request logs and the
// server's timeouts.
package web

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync"

	"github.com/seckill/seckill/shared/identity"
	"github.com/seckill/seckill/shared/sale"
)

// Problem is an RFC 9457 problem document with SecKill's stable code.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Code   string `json:"code"`
	Detail string `json:"detail,omitempty"`
	// Field names the request field at fault, for invalid-request.
	Field string `json:"field,omitempty"`
	// Coupon is the coupon already held, for already-grabbed.
	Coupon any `json:"coupon,omitempty"`
	// challenge is the WWW-Authenticate of a 401.
	challenge string
}

// Codes of the contract.
const (
	CodeInvalidRequest   = "invalid-request"
	CodeUnauthorized     = "unauthorized"
	CodeForbidden        = "forbidden"
	CodePromotionMissing = "promotion-not-found"
	CodePromotionStarted = "promotion-started"
	CodePreconditionFail = "precondition-failed"
	CodeAlreadyGrabbed   = "already-grabbed"
	CodeSoldOut          = "sold-out"
	CodeNotStarted       = "not-started"
	CodeFinished         = "finished"
	CodeTryAgain         = "try-again"
	CodeInternal         = "internal"
	CodeNotFound         = "not-found"
	CodeMethodNotAllowed = "method-not-allowed"
)

var titles = map[string]string{
	CodeInvalidRequest:   "Invalid request",
	CodeUnauthorized:     "Unauthorized",
	CodeForbidden:        "Forbidden",
	CodePromotionMissing: "Promotion not found",
	CodePromotionStarted: "Promotion already started",
	CodePreconditionFail: "Precondition failed",
	CodeAlreadyGrabbed:   "Coupon already grabbed",
	CodeSoldOut:          "Sold out",
	CodeNotStarted:       "Promotion not started",
	CodeFinished:         "Promotion finished",
	CodeTryAgain:         "Try again",
	CodeInternal:         "Internal error",
	CodeNotFound:         "Not found",
	CodeMethodNotAllowed: "Method not allowed",
}

// NewProblem builds a problem of the given status and code.
func NewProblem(status int, code, detail string) *Problem {
	return &Problem{Type: "/problems/" + code, Title: titles[code], Status: status, Code: code, Detail: detail}
}

// RetryAfterSeconds is what try-again answers tell clients to wait.
const RetryAfterSeconds = 1

// ProblemFor maps an error to its problem: the one place where errors become
// HTTP statuses and codes. The detail of domain errors is their own text,
// which never holds SDK messages; anything unrecognised becomes a bare
// internal error.
func ProblemFor(err error) *Problem {
	var field *sale.FieldError
	var held *sale.AlreadyGrabbedError
	var p *Problem
	switch {
	case errors.As(err, &p):
		return p
	case errors.As(err, &field):
		pr := NewProblem(http.StatusBadRequest, CodeInvalidRequest, field.Error())
		pr.Field = field.Field
		return pr
	case errors.Is(err, identity.ErrKeysUnavailable):
		return NewProblem(http.StatusServiceUnavailable, CodeTryAgain,
			"the identity provider's keys could not be fetched to check the token; retry")
	case errors.Is(err, sale.ErrUnauthorized):
		pr := NewProblem(http.StatusUnauthorized, CodeUnauthorized, "a valid bearer token is required")
		pr.challenge = `Bearer realm="seckill"`
		if errors.Is(err, identity.ErrInvalidToken) {
			pr.Detail = "the bearer token is not valid here"
			pr.challenge += `, error="invalid_token"`
		}
		return pr
	case errors.Is(err, sale.ErrForbidden):
		return NewProblem(http.StatusForbidden, CodeForbidden, "the token's customer may act only as themselves")
	case errors.Is(err, sale.ErrInvalid):
		return NewProblem(http.StatusBadRequest, CodeInvalidRequest, "the request is malformed")
	case errors.As(err, &held):
		pr := NewProblem(http.StatusConflict, CodeAlreadyGrabbed, held.Error())
		pr.Coupon = CouponJSON(held.Coupon)
		return pr
	case errors.Is(err, sale.ErrPromotionNotFound):
		return NewProblem(http.StatusNotFound, CodePromotionMissing, "no such promotion")
	case errors.Is(err, sale.ErrPromotionStarted):
		return NewProblem(http.StatusConflict, CodePromotionStarted, "a promotion that starts within a second, has started or has granted a coupon cannot be changed or deleted")
	case errors.Is(err, sale.ErrPreconditionFailed):
		return NewProblem(http.StatusPreconditionFailed, CodePreconditionFail, "the promotion is no longer at the version If-Match names; read it again")
	case errors.Is(err, sale.ErrSoldOut):
		return NewProblem(http.StatusConflict, CodeSoldOut, "the promotion has no coupons left")
	case errors.Is(err, sale.ErrNotStarted):
		return NewProblem(http.StatusConflict, CodeNotStarted, "the promotion has not started yet")
	case errors.Is(err, sale.ErrFinished):
		return NewProblem(http.StatusConflict, CodeFinished, "the promotion has finished")
	case errors.Is(err, sale.ErrThrottled):
		return NewProblem(http.StatusTooManyRequests, CodeTryAgain,
			"the store is over capacity; the request may or may not have taken effect, retry to learn which")
	case errors.Is(err, sale.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return NewProblem(http.StatusServiceUnavailable, CodeTryAgain,
			"the store did not answer in time; the request may or may not have taken effect, retry to learn which")
	}
	return NewProblem(http.StatusInternalServerError, CodeInternal, "an internal error occurred")
}

// Error writes the problem for err. Internal errors are logged with their
// full text, which never reaches the client.
func Error(w http.ResponseWriter, r *http.Request, err error) {
	p := ProblemFor(err)
	switch {
	case p.Status >= 500:
		slog.ErrorContext(r.Context(), "request failed", "err", err, "status", p.Status, "code", p.Code)
	case p.Status == http.StatusUnauthorized, p.Status == http.StatusForbidden:
		// Why a token failed is for the operator, never the client.
		slog.InfoContext(r.Context(), "refused", "reason", err, "status", p.Status, "request_id", RequestID(r.Context()))
	}
	WriteProblem(w, p)
}

// WriteProblem writes p as application/problem+json.
func WriteProblem(w http.ResponseWriter, p *Problem) {
	// The router counts answers by code.
	if n, ok := w.(interface{ noteCode(string) }); ok {
		n.noteCode(p.Code)
	}
	if p.Code == CodeTryAgain {
		w.Header().Set("Retry-After", strconv.Itoa(RetryAfterSeconds))
	}
	if p.challenge != "" {
		w.Header().Set("WWW-Authenticate", p.challenge)
	}
	h := w.Header()
	h["Content-Type"] = problemType
	h["Cache-Control"] = noStore
	w.WriteHeader(p.Status)
	_, _ = w.Write(encoded(p))
}

// Header values every problem carries, shared rather than built per answer.
var (
	problemType = []string{"application/problem+json"}
	noStore     = []string{"no-store"}
)

// bodies keeps the encoding of the rejections a stampede answers by the
// thousand, whose text ProblemFor fixes (nothing of the request is in
// them, so the map stays as small as that list), so that they are encoded
// once, not per answer.
var bodies sync.Map // staticKey → []byte

var cached = map[string]bool{CodeSoldOut: true, CodeNotStarted: true, CodeFinished: true, CodeTryAgain: true, CodePromotionMissing: true}

type staticKey struct {
	status                   int
	typ, code, title, detail string
}

func encoded(p *Problem) []byte {
	static := cached[p.Code] && p.Field == "" && p.Coupon == nil
	key := staticKey{p.Status, p.Type, p.Code, p.Title, p.Detail}
	if static {
		if b, ok := bodies.Load(key); ok {
			return b.([]byte)
		}
	}
	b, err := json.Marshal(p)
	if err != nil {
		b = []byte(`{"type":"/problems/internal","title":"Internal error","status":500,"code":"internal"}`)
	}
	b = append(b, '\n')
	if static {
		bodies.Store(key, b)
	}
	return b
}

func (p *Problem) Error() string { return p.Code + ": " + p.Detail }
