// Package infra_test holds the deployment files (template.yaml, the
// Terraform here, the Dockerfile and the Knative manifest) against the code:
// none of SAM, Terraform or Docker runs on the machines that test SecKill,
// so the files are parsed and compared with what the code defines.
package infra_test

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"gopkg.in/yaml.v3"

	"github.com/seckill/seckill/shared/config"
	"github.com/seckill/seckill/shared/contract"
	"github.com/seckill/seckill/shared/store"
)

// functions are the deployable functions and their SAM resource names.
var functions = map[string]string{
	"admin": "AdminFunction", "grab": "GrabFunction", "coupons": "CouponsFunction", "projector": "ProjectorFunction",
}

// wantRoutes is the contract's route table: pattern => function, where the
// routes every function serves ("meta") may go to any of them.
func wantRoutes() map[string]contract.Function {
	out := map[string]contract.Function{}
	for r, fn := range contract.Routes() {
		out[r.Pattern()] = fn
	}
	return out
}

func checkRoutes(t *testing.T, where string, got map[string]string) {
	t.Helper()
	want := wantRoutes()
	for pattern, fn := range got {
		wfn, ok := want[pattern]
		switch {
		case !ok:
			t.Errorf("%s: route %q is not in the contract", where, pattern)
		case wfn != contract.Meta && string(wfn) != fn:
			t.Errorf("%s: route %q goes to %s, the contract says %s", where, pattern, fn, wfn)
		}
	}
	for pattern := range want {
		if _, ok := got[pattern]; !ok {
			t.Errorf("%s: route %q of the contract is missing", where, pattern)
		}
	}
}

func wantVars(t *testing.T, fn string) []string {
	t.Helper()
	vars, err := config.Vars(config.Deployed[fn])
	if err != nil {
		t.Fatal(err)
	}
	return vars
}

func checkVars(t *testing.T, where, fn string, got []string) {
	t.Helper()
	sort.Strings(got)
	if want := wantVars(t, fn); !slices.Equal(got, want) {
		t.Errorf("%s: %s sets %q, its config reads %q", where, fn, got, want)
	}
}

// tableShape is what must agree between the code and a deployment: keys,
// attribute types, indexes and the stream.
type tableShape struct {
	Attributes map[string]string    // name => type
	Key        [2]string            // hash, range
	Indexes    map[string][2]string // name => hash, range
	Stream     string
}

func newShape() tableShape {
	return tableShape{Attributes: map[string]string{}, Indexes: map[string][2]string{}}
}

func equalShape(a, b tableShape) bool { return reflect.DeepEqual(a, b) }

// keySchema reads (attribute, key type) pairs, as every format lists them,
// into hash and range.
func keySchema(pairs [][2]string) [2]string {
	var hr [2]string
	for _, p := range pairs {
		if p[1] == "HASH" {
			hr[0] = p[0]
		} else {
			hr[1] = p[0]
		}
	}
	return hr
}

// codeTables are the tables as store.Definitions creates them, by role.
func codeTables() map[store.Table]tableShape {
	defs := store.Definitions(store.Tables{Sale: "sale", Coupons: "coupons", Checkpoints: "checkpoints"})
	out := map[store.Table]tableShape{}
	for _, d := range defs {
		out[store.Table(*d.TableName)] = shapeOf(d)
	}
	return out
}

func shapeOf(d *dynamodb.CreateTableInput) tableShape {
	s := newShape()
	for _, a := range d.AttributeDefinitions {
		s.Attributes[*a.AttributeName] = string(a.AttributeType)
	}
	keys := func(ks []types.KeySchemaElement) [2]string {
		var pairs [][2]string
		for _, k := range ks {
			pairs = append(pairs, [2]string{*k.AttributeName, string(k.KeyType)})
		}
		return keySchema(pairs)
	}
	s.Key = keys(d.KeySchema)
	for _, g := range d.GlobalSecondaryIndexes {
		s.Indexes[*g.IndexName] = keys(g.KeySchema)
	}
	if d.StreamSpecification != nil {
		s.Stream = string(d.StreamSpecification.StreamViewType)
	}
	return s
}

// access is what a deployment grants one function: table role => actions.
type access map[store.Table][]string

func (a access) add(table store.Table, actions ...string) {
	a[table] = append(a[table], actions...)
	slices.Sort(a[table])
	a[table] = slices.Compact(a[table])
}

func checkAccess(t *testing.T, where, fn string, got access) {
	t.Helper()
	want := store.Access[fn]
	for table, actions := range got {
		if !slices.Equal(actions, want[table]) {
			t.Errorf("%s: %s is granted %q on %s, it needs %q", where, fn, actions, table, want[table])
		}
	}
	for table, actions := range want {
		if _, ok := got[table]; !ok {
			t.Errorf("%s: %s is not granted %q on %s", where, fn, actions, table)
		}
	}
}

// --- YAML with CloudFormation's short tags ------------------------------------

// decodeCFN turns a YAML node into plain values; a tagged value such as
// `!Ref SaleTable` becomes {"!Ref": "SaleTable"}.
func decodeCFN(n *yaml.Node) any {
	var v any
	switch n.Kind {
	case yaml.DocumentNode:
		return decodeCFN(n.Content[0])
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i < len(n.Content); i += 2 {
			m[n.Content[i].Value] = decodeCFN(n.Content[i+1])
		}
		v = m
	case yaml.SequenceNode:
		var l []any
		for _, c := range n.Content {
			l = append(l, decodeCFN(c))
		}
		v = l
	case yaml.AliasNode:
		return decodeCFN(n.Alias)
	default:
		var s any
		if err := n.Decode(&s); err != nil || custom(n.Tag) {
			s = n.Value
		}
		v = s
	}
	if custom(n.Tag) {
		return map[string]any{n.Tag: v}
	}
	return v
}

func custom(tag string) bool { return strings.HasPrefix(tag, "!") && !strings.HasPrefix(tag, "!!") }

func loadYAML(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	var docs []map[string]any
	for {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			if err.Error() == "EOF" {
				return docs
			}
			t.Fatalf("%s: %v", path, err)
		}
		m, _ := decodeCFN(&n).(map[string]any)
		docs = append(docs, m)
	}
}

// get walks m along keys; a missing key gives nil.
func get(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func str(v any) string { s, _ := v.(string); return s }

func list(v any) []any { l, _ := v.([]any); return l }

func strs(v any) []string {
	var out []string
	for _, x := range list(v) {
		out = append(out, fmt.Sprint(x))
	}
	return out
}

// streamMapping is what both deployments must set on the projector's
// stream mapping: one batch of 100, a failing record bisected out and
// retried 5 times, then sent to the on-failure queue, and only coupon
// inserts delivered.
var streamMapping = struct {
	BatchSize, Retries, MaxRecordAge int
	Pattern                          string
}{100, 5, 86400, `{"eventName":["INSERT"],"dynamodb":{"NewImage":{"kind":{"S":["coupon"]}}}}`}

// samePattern compares two event filter patterns as JSON.
func samePattern(t *testing.T, got string) bool {
	t.Helper()
	var a, b any
	if err := json.Unmarshal([]byte(got), &a); err != nil {
		t.Errorf("filter pattern %q: %v", got, err)
		return false
	}
	_ = json.Unmarshal([]byte(streamMapping.Pattern), &b)
	return reflect.DeepEqual(a, b)
}
