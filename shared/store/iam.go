package store

// A Table is one of the tables a function may touch, by its role.
type Table string

// The tables, and the sale table's promotions index, as IAM resources.
const (
	SaleTable        Table = "sale"
	SaleIndex        Table = "sale/index/" + IndexByCreate
	CouponsTable     Table = "coupons"
	CheckpointsTable Table = "checkpoints"
)

// Access lists, per function, the DynamoDB IAM actions it needs on each
// table: the least privilege its role is granted in template.yaml and
// infra/, which tests hold against this list, and which the Lambda tests
// hold against the calls each function really makes. A transaction needs
// the actions of its items (PutItem, UpdateItem, DeleteItem), not an action
// of its own.
var Access = map[string]map[Table][]string{
	"admin": {
		SaleTable: {"dynamodb:BatchGetItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem"},
		SaleIndex: {"dynamodb:Query"},
	},
	"grab": {
		SaleTable: {"dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"},
	},
	"coupons": {
		SaleTable:    {"dynamodb:BatchGetItem"},
		SaleIndex:    {"dynamodb:Query"},
		CouponsTable: {"dynamodb:Query"},
	},
	// The projector's stream reads are the event source mapping's, granted
	// by the managed stream-execution policy SAM and Terraform attach.
	"projector": {
		CouponsTable: {"dynamodb:BatchWriteItem"},
	},
}
