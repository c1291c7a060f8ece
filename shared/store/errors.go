package store

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/aws/smithy-go"

	"github.com/seckill/seckill/shared/sale"
)

// Errors of one grab attempt that the caller handles by trying again
// elsewhere; they never reach a client.
var (
	// ErrShort: the chosen inventory shard had less stock than the batch
	// asked of it.
	ErrShort = errors.New("inventory shard short")
	// ErrCancelled: a grant's batch was cancelled because of its other
	// grants; nothing was written for this one.
	ErrCancelled = errors.New("cancelled with its batch")
	// ErrStale: the promotion the caller worked from is no longer the stored
	// one (changed or deleted); reload it.
	ErrStale = errors.New("promotion changed since it was read")
	// ErrConflict: another transaction touched the same item at the same
	// moment; another shard will likely do.
	ErrConflict = errors.New("transaction conflict")
)

// Codes DynamoDB uses when it is overloaded or momentarily unable to answer.
var retryableCodes = map[string]bool{
	"InternalServerError":            true,
	"ServiceUnavailable":             true,
	"TransactionConflictException":   true,
	"TransactionInProgressException": true,
	"LimitExceededException":         true,
}

// Codes DynamoDB uses when a table or account is over its throughput.
var throttleCodes = map[string]bool{
	"ProvisionedThroughputExceededException": true,
	"ThrottlingException":                    true,
	"RequestLimitExceeded":                   true,
}

// classify wraps an SDK error for the layers above: when the store is slow,
// unreachable or throttling, sale.ErrUnavailable (the client should try
// again); anything else is a fault of ours and stays internal. The SDK text
// is kept for the log only; the HTTP edge never sends it.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	var apiErr smithy.APIError
	var netErr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return fmt.Errorf("%s: %w: %w", op, sale.ErrUnavailable, err)
	case errors.As(err, &apiErr) && throttleCodes[apiErr.ErrorCode()]:
		return fmt.Errorf("%s: %w: %w: %w", op, sale.ErrThrottled, sale.ErrUnavailable, err)
	case errors.As(err, &apiErr):
		if retryableCodes[apiErr.ErrorCode()] || apiErr.ErrorFault() == smithy.FaultServer {
			return fmt.Errorf("%s: %w: %w", op, sale.ErrUnavailable, err)
		}
		return fmt.Errorf("%s: %w", op, err)
	case errors.As(err, &netErr):
		return fmt.Errorf("%s: %w: %w", op, sale.ErrUnavailable, err)
	}
	// Connection resets, refused dials and truncated bodies reach us wrapped
	// in SDK types that do not all expose net.Error; none of them is a bug of
	// ours, so the client is told to retry.
	return fmt.Errorf("%s: %w: %w", op, sale.ErrUnavailable, err)
}
