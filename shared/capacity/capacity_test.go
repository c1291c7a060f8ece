package capacity

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

const kb = 1024

// TestDocumentedExamples holds the rules to the worked examples of the
// DynamoDB Developer Guide ("DynamoDB read and write operations" and the
// on-demand pricing page).
func TestDocumentedExamples(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		got  float64
		want float64
	}{
		{"a 3,500-byte item, strongly consistent: as a 4 KB item", ReadUnits(3500, Strong), 1},
		{"an 8 KB item, strongly consistent", ReadUnits(8*kb, Strong), 2},
		{"an 8 KB item, eventually consistent", ReadUnits(8*kb, Eventual), 1},
		{"an 8 KB item, transactional", ReadUnits(8*kb, Transactional), 4},
		{"a 10 KB item rounds to 12 KB", ReadUnits(10*kb, Strong), 3},
		{"an item up to 4 KB, eventually consistent: half a unit", ReadUnits(100, Eventual), 0.5},
		{"BatchGetItem of 1.5 KB and 6.5 KB: 4 KB + 8 KB, each rounded alone", ReadUnits(3*kb/2, Strong) + ReadUnits(13*kb/2, Strong), 3},
		{"a Query returning 10 items of 40.8 KB together: rounded to 44 KB once", QueryUnits([]int{4178, 4178, 4178, 4178, 4178, 4178, 4178, 4178, 4178, 4178}, Strong), 11},
		{"a Query reading nothing", QueryUnits(nil, Strong), 1},
		{"a 500-byte write", WriteUnits(500, false), 1},
		{"a 3.5 KB write rounds to 4 KB", WriteUnits(7*kb/2, false), 4},
		{"a 3.5 KB write in a transaction", WriteUnits(7*kb/2, true), 8},
		{"an item up to 1 KB in a transaction: two units", WriteUnits(200, true), 2},
		{"BatchWriteItem of 500 bytes and 3.5 KB: each rounded alone", WriteUnits(500, false) + WriteUnits(7*kb/2, false), 5},
		{"a write of exactly 1 KB", WriteUnits(kb, false), 1},
		{"a write of 1 KB and a byte", WriteUnits(kb+1, false), 2},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: got %v units, want %v", tc.name, tc.got, tc.want)
		}
	}
}

// TestItemSize: names and values by type, as "DynamoDB item sizes and
// formats" counts them.
func TestItemSize(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		item map[string]types.AttributeValue
		want int
	}{
		{"a string: name and UTF-8 bytes", map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "P#1é"}}, 2 + 5},
		{"a number: a byte per two significant digits, plus one", map[string]types.AttributeValue{"n": &types.AttributeValueMemberN{Value: "12345"}}, 1 + 4},
		{"leading and trailing zeros do not count", map[string]types.AttributeValue{"n": &types.AttributeValueMemberN{Value: "-0.0100"}}, 1 + 2},
		{"nor do an integer's trailing zeros", map[string]types.AttributeValue{"n": &types.AttributeValueMemberN{Value: "1000"}}, 1 + 2},
		{"binary: raw bytes", map[string]types.AttributeValue{"b": &types.AttributeValueMemberB{Value: []byte{1, 2, 3}}}, 1 + 3},
		{"boolean and null: one byte", map[string]types.AttributeValue{"t": &types.AttributeValueMemberBOOL{Value: true}, "z": &types.AttributeValueMemberNULL{Value: true}}, 2 + 2},
		{"a list: 3 bytes, and a byte per element", map[string]types.AttributeValue{"l": &types.AttributeValueMemberL{Value: []types.AttributeValue{
			&types.AttributeValueMemberS{Value: "a"}, &types.AttributeValueMemberS{Value: "bc"}}}}, 1 + 3 + 2 + 3},
		{"an empty map: 3 bytes", map[string]types.AttributeValue{"m": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}}}, 1 + 3},
		{"a map: 3 bytes, and per element a byte, its name and value", map[string]types.AttributeValue{"m": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"x": &types.AttributeValueMemberS{Value: "y"}}}}, 1 + 3 + 1 + 1 + 1},
		{"a string set: its strings", map[string]types.AttributeValue{"ss": &types.AttributeValueMemberSS{Value: []string{"ab", "c"}}}, 2 + 3},
		{"a number set: its numbers", map[string]types.AttributeValue{"ns": &types.AttributeValueMemberNS{Value: []string{"1", "22"}}}, 2 + 2 + 2},
	} {
		if got := ItemSize(tc.item); got != tc.want {
			t.Errorf("%s: got %d bytes, want %d", tc.name, got, tc.want)
		}
	}
}
