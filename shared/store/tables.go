package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Tables names the tables the store works on. Tests give every test its own
// names; deployments set them through configuration.
type Tables struct {
	// Sale holds promotions, inventory shards and coupons. Its stream feeds
	// the projector.
	Sale string
	// Coupons is the read model: a customer's coupons, newest first.
	Coupons string
	// Checkpoints records how far the local stream runner has read.
	Checkpoints string
}

// TablesWithPrefix names the three tables prefix-sale, prefix-coupons and
// prefix-checkpoints.
func TablesWithPrefix(prefix string) Tables {
	return Tables{Sale: prefix + "-sale", Coupons: prefix + "-coupons", Checkpoints: prefix + "-checkpoints"}
}

// Key and index names. template.yaml and infra/ are checked against these.
const (
	attrPK        = "pk"
	attrSK        = "sk"
	attrListPK    = "listPk"
	attrID        = "id"
	IndexByCreate = "promotions-by-id"
)

// Definitions returns the CreateTable input of every table: the one place
// where keys, indexes and streams are defined, for the local stack, the tests
// and the checks of the deployment templates.
func Definitions(t Tables) []*dynamodb.CreateTableInput {
	str := types.ScalarAttributeTypeS
	return []*dynamodb.CreateTableInput{
		{
			TableName:   aws.String(t.Sale),
			BillingMode: types.BillingModePayPerRequest,
			AttributeDefinitions: []types.AttributeDefinition{
				{AttributeName: aws.String(attrPK), AttributeType: str},
				{AttributeName: aws.String(attrSK), AttributeType: str},
				{AttributeName: aws.String(attrListPK), AttributeType: str},
				{AttributeName: aws.String(attrID), AttributeType: str},
			},
			// The sort key lets one partition (a bucket of a promotion's
			// coupons) hold many items; promotions and shards use a fixed one.
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String(attrPK), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String(attrSK), KeyType: types.KeyTypeRange},
			},
			// A sparse index: only promotion items carry listPk, so listing
			// promotions never reads coupons or shards.
			GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
				IndexName: aws.String(IndexByCreate),
				KeySchema: []types.KeySchemaElement{
					{AttributeName: aws.String(attrListPK), KeyType: types.KeyTypeHash},
					{AttributeName: aws.String(attrID), KeyType: types.KeyTypeRange},
				},
				Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
			}},
			StreamSpecification: &types.StreamSpecification{
				StreamEnabled:  aws.Bool(true),
				StreamViewType: types.StreamViewTypeNewAndOldImages,
			},
		},
		{
			TableName:   aws.String(t.Coupons),
			BillingMode: types.BillingModePayPerRequest,
			AttributeDefinitions: []types.AttributeDefinition{
				{AttributeName: aws.String(attrPK), AttributeType: str},
				{AttributeName: aws.String(attrSK), AttributeType: str},
			},
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String(attrPK), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String(attrSK), KeyType: types.KeyTypeRange},
			},
		},
		{
			TableName:   aws.String(t.Checkpoints),
			BillingMode: types.BillingModePayPerRequest,
			AttributeDefinitions: []types.AttributeDefinition{
				{AttributeName: aws.String(attrPK), AttributeType: str},
			},
			KeySchema: []types.KeySchemaElement{{AttributeName: aws.String(attrPK), KeyType: types.KeyTypeHash}},
		},
	}
}

// TableAdmin is the part of the DynamoDB API that creating tables needs.
type TableAdmin interface {
	CreateTable(context.Context, *dynamodb.CreateTableInput, ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	DescribeTable(context.Context, *dynamodb.DescribeTableInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
}

// CreateTables creates every table that does not exist yet and waits until
// all are active. Running it again is harmless.
func CreateTables(ctx context.Context, db TableAdmin, t Tables) error {
	for _, def := range Definitions(t) {
		_, err := db.CreateTable(ctx, def)
		var inUse *types.ResourceInUseException
		if err != nil && !errors.As(err, &inUse) {
			return fmt.Errorf("create table %s: %w", *def.TableName, err)
		}
	}
	for _, def := range Definitions(t) {
		w := dynamodb.NewTableExistsWaiter(db, func(o *dynamodb.TableExistsWaiterOptions) {
			o.MinDelay = 50 * time.Millisecond
			o.MaxDelay = time.Second
		})
		out, err := w.WaitForOutput(ctx, &dynamodb.DescribeTableInput{TableName: def.TableName}, 2*time.Minute)
		if err != nil {
			return fmt.Errorf("wait for table %s: %w", *def.TableName, err)
		}
		// A table kept from an older layout (make run's .data) would fail
		// every request in ways that hide the cause; say it at start.
		if got := keyNames(out.Table.KeySchema); got != keyNames(def.KeySchema) {
			return fmt.Errorf("table %s has key %s, this version needs %s: remove the old data (make clean) or use other table names",
				*def.TableName, got, keyNames(def.KeySchema))
		}
	}
	return nil
}

func keyNames(ks []types.KeySchemaElement) string {
	var b strings.Builder
	for i, k := range ks {
		if i > 0 {
			b.WriteString("+")
		}
		b.WriteString(aws.ToString(k.AttributeName))
	}
	return b.String()
}
