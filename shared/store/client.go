package store

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/smithy-go/middleware"

	"github.com/seckill/seckill/shared/metrics"
)

// ClientOption changes what NewClient builds.
type ClientOption func(*clientOptions)

type clientOptions struct {
	capacity Capacity
}

// WithCapacity says what the client does about consumed capacity, in place
// of the default: Reported against DynamoDB, NotAsked against any other
// endpoint.
func WithCapacity(c Capacity) ClientOption {
	return func(o *clientOptions) { o.capacity = c }
}

// NewClient builds a DynamoDB client from the standard AWS configuration
// chain. The SDK itself reads AWS_ENDPOINT_URL_DYNAMODB, so the same code
// talks to DynamoDB, LocalStack or DynamoDB Local; endpoint, when not empty,
// overrides it (the local stack passes the address of the DynamoDB Local it
// started).
func NewClient(ctx context.Context, endpoint string, opts ...ClientOption) (*dynamodb.Client, error) {
	cfg, endpoint, err := loadConfig(ctx, endpoint)
	if err != nil {
		return nil, err
	}
	co := clientOptions{capacity: Reported}
	if endpoint != "" {
		co.capacity = NotAsked
	}
	for _, o := range opts {
		o(&co)
	}
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, countAttempts)
		if mw := co.capacity.middleware(); mw != nil {
			o.APIOptions = append(o.APIOptions, mw)
		}
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
			// DynamoDB Local answers conditional-check failures with a body
			// whose CRC does not match; real DynamoDB never does.
			o.DisableValidateResponseChecksum = true
		}
	}), nil
}

// countAttempts notes every attempt the SDK makes of a call (it sits after
// the SDK's retry step), so that a request's metrics tell its retries.
func countAttempts(stack *middleware.Stack) error {
	return stack.Finalize.Insert(middleware.FinalizeMiddlewareFunc("SecKillCountAttempts",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			metrics.CountAttempt(ctx)
			return next.HandleFinalize(ctx, in)
		}), "Retry", middleware.After)
}

// NewStreamsClient builds a DynamoDB Streams client the same way; DynamoDB
// Local serves streams on its own endpoint.
func NewStreamsClient(ctx context.Context, endpoint string) (*dynamodbstreams.Client, error) {
	cfg, endpoint, err := loadConfig(ctx, endpoint)
	if err != nil {
		return nil, err
	}
	return dynamodbstreams.NewFromConfig(cfg, func(o *dynamodbstreams.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	}), nil
}

func loadConfig(ctx context.Context, endpoint string) (aws.Config, string, error) {
	// The SDK reads these too; naming the endpoint here also turns off what
	// only real DynamoDB gets right (see NewClient). AWS_ENDPOINT_URL is
	// what LocalStack sets inside the Lambdas it runs.
	for _, k := range []string{"AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL"} {
		if endpoint == "" {
			endpoint = os.Getenv(k)
		}
	}
	// The SDK's own retries stay short and unthrottled: every call already
	// runs under a deadline and the callers retry on their own terms. Its
	// default retry quota, drained by a burst of errors in a stampede, would
	// fail healthy calls for a while after the store came back.
	opts := []func(*awsconfig.LoadOptions) error{awsconfig.WithRetryer(func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.RateLimiter = ratelimit.None
			o.MaxBackoff = 200 * time.Millisecond
		})
	})}
	if endpoint != "" {
		// Local endpoints accept any credentials; supplying fixed ones keeps a
		// laptop without an AWS profile working and never reaches a real
		// account's keys. A region is needed only to sign.
		opts = append(opts, awsconfig.WithRegion(regionOr("us-east-1")))
		if os.Getenv("AWS_ACCESS_KEY_ID") == "" {
			opts = append(opts, awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")))
		}
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, "", fmt.Errorf("load AWS configuration: %w", err)
	}
	return cfg, endpoint, nil
}

func regionOr(def string) string {
	for _, k := range []string{"AWS_REGION", "AWS_DEFAULT_REGION"} {
		if v := os.Getenv(k); v != "" {
			return v
		}
	}
	return def
}
