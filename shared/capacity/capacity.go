// Package capacity holds DynamoDB's published rules for what a request
// costs, in read and write request units, so that a sale's cost can be
// counted from what the functions send: DynamoDB Local reports
// ConsumedCapacity but gets transactions wrong (two puts in a
// TransactWriteItems report 2 units where DynamoDB charges 4), and cannot
// throttle. The rules, and the worked examples of the DynamoDB Developer
// Guide that the tests hold them to:
//
//   - An item's size is the sum of its attribute names' and values' sizes
//     ("DynamoDB item sizes and formats").
//   - A write of up to 1 KB is one write unit, each further KB another; a
//     transactional write costs two per KB; a write whose condition fails
//     is charged all the same.
//   - A strongly consistent read of up to 4 KB is one read unit, an
//     eventually consistent one half, a transactional one two; a Query is
//     charged for the sum of the items it read, rounded up once; a
//     BatchGetItem for each item, each rounded up alone.
package capacity

import (
	"math"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Units are request units of DynamoDB on-demand: reads and writes.
type Units struct {
	Read  float64 `json:"read"`
	Write float64 `json:"write"`
}

// Add is u plus v.
func (u Units) Add(v Units) Units { return Units{Read: u.Read + v.Read, Write: u.Write + v.Write} }

// Read consistencies and their price per 4 KB.
type Read float64

const (
	Eventual      Read = 0.5
	Strong        Read = 1
	Transactional Read = 2
)

// WriteUnits is what a write of an item of size bytes costs; transactional
// writes cost twice. An empty item still costs one unit.
func WriteUnits(size int, transactional bool) float64 {
	u := math.Max(1, math.Ceil(float64(size)/1024))
	if transactional {
		u *= 2
	}
	return u
}

// ReadUnits is what reading one item of size bytes costs.
func ReadUnits(size int, r Read) float64 {
	return math.Max(1, math.Ceil(float64(size)/4096)) * float64(r)
}

// QueryUnits is what a Query (or one page of it) that read items of these
// sizes costs: their sum, rounded up to 4 KB once. A Query that reads
// nothing still costs a unit.
func QueryUnits(sizes []int, r Read) float64 {
	sum := 0
	for _, s := range sizes {
		sum += s
	}
	return ReadUnits(sum, r)
}

// ItemSize is an item's size in bytes: each attribute's name and value.
func ItemSize(item map[string]types.AttributeValue) int {
	n := 0
	for name, v := range item {
		n += len(name) + valueSize(v)
	}
	return n
}

func valueSize(v types.AttributeValue) int {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		return numberSize(v.Value)
	case *types.AttributeValueMemberB:
		return len(v.Value)
	case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
		return 1
	case *types.AttributeValueMemberSS:
		n := 0
		for _, s := range v.Value {
			n += len(s)
		}
		return n
	case *types.AttributeValueMemberNS:
		n := 0
		for _, s := range v.Value {
			n += numberSize(s)
		}
		return n
	case *types.AttributeValueMemberBS:
		n := 0
		for _, b := range v.Value {
			n += len(b)
		}
		return n
	case *types.AttributeValueMemberL:
		n := 3
		for _, e := range v.Value {
			n += 1 + valueSize(e)
		}
		return n
	case *types.AttributeValueMemberM:
		n := 3
		for name, e := range v.Value {
			n += 1 + len(name) + valueSize(e)
		}
		return n
	}
	return 0
}

// numberSize is one byte per two significant digits, plus one: leading and
// trailing zeros, the sign, the point and an exponent do not count
// (DynamoDB stores a number normalised).
func numberSize(s string) int {
	mant, _, _ := strings.Cut(strings.ToLower(s), "e")
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, mant)
	digits = strings.Trim(digits, "0")
	return (len(digits)+1)/2 + 1
}
