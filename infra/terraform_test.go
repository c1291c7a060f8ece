package infra_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"

	"github.com/seckill/seckill/shared/contract"

	"github.com/seckill/seckill/shared/store"
)

// tfConfig is the Terraform configuration: its blocks, and the source text
// of each attribute expression for references that cannot be evaluated.
type tfConfig struct {
	blocks []*hclsyntax.Block
	src    map[string][]byte
}

func loadTerraform(t *testing.T) tfConfig {
	t.Helper()
	files, err := filepath.Glob("*.tf")
	if err != nil || len(files) == 0 {
		t.Fatalf("no .tf files: %v", err)
	}
	p := hclparse.NewParser()
	c := tfConfig{src: map[string][]byte{}}
	for _, f := range files {
		file, diags := p.ParseHCLFile(f)
		if diags.HasErrors() {
			t.Fatalf("%s: %v", f, diags)
		}
		c.src[f] = file.Bytes
		c.blocks = append(c.blocks, file.Body.(*hclsyntax.Body).Blocks...)
	}
	return c
}

// find returns the blocks of a type with the given labels.
func (c tfConfig) find(typ string, labels ...string) []*hclsyntax.Block {
	var out []*hclsyntax.Block
	for _, b := range c.blocks {
		if b.Type == typ && len(b.Labels) >= len(labels) && strings.Join(b.Labels[:len(labels)], ".") == strings.Join(labels, ".") {
			out = append(out, b)
		}
	}
	return out
}

func (c tfConfig) text(e hclsyntax.Expression) string {
	r := e.Range()
	return string(c.src[r.Filename][r.Start.Byte:r.End.Byte])
}

// locals evaluates the locals the checks need, with the references they
// make to other resources and variables standing in as plain strings.
func (c tfConfig) locals(t *testing.T) map[string]cty.Value {
	t.Helper()
	attrs := map[string]*hclsyntax.Attribute{}
	for _, b := range c.find("locals") {
		for name, a := range b.Body.Attributes {
			attrs[name] = a
		}
	}
	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{
			"var": cty.ObjectVal(map[string]cty.Value{
				"admin_token": cty.StringVal("var.admin_token"), "store_timeout": cty.StringVal("var.store_timeout"),
				"request_timeout": cty.StringVal("var.request_timeout"), "grab_reserved_concurrency": cty.NumberIntVal(200),
				"cors_origins":    cty.ListVal([]cty.Value{cty.StringVal("https://shop.example")}),
				"customer_issuer": cty.StringVal("var.customer_issuer"), "customer_audience": cty.StringVal("var.customer_audience"),
				"customer_claim": cty.StringVal("var.customer_claim"), "admin_scope": cty.StringVal("var.admin_scope"),
			}),
			"aws_dynamodb_table": cty.ObjectVal(map[string]cty.Value{
				"sale":    cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal("sale")}),
				"coupons": cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal("coupons")}),
			}),
		},
		Functions: map[string]function.Function{"merge": stdlib.MergeFunc, "join": stdlib.JoinFunc},
	}
	out := map[string]cty.Value{}
	for _, name := range []string{"tables", "http", "customers", "functions", "routes", "customer_routes"} {
		a, ok := attrs[name]
		if !ok {
			t.Fatalf("no local %q", name)
		}
		ctx.Variables["local"] = cty.ObjectVal(out)
		v, diags := a.Expr.Value(ctx)
		if diags.HasErrors() {
			t.Fatalf("local.%s: %v", name, diags)
		}
		out[name] = v
	}
	return out
}

// localText is the source text of a local's expression.
func (c tfConfig) localText(name string) string {
	for _, b := range c.find("locals") {
		if a, ok := b.Body.Attributes[name]; ok {
			return c.text(a.Expr)
		}
	}
	return ""
}

// attr is the source text of a block's attribute, "" when absent.
func (c tfConfig) attr(b *hclsyntax.Block, name string) string {
	a, ok := b.Body.Attributes[name]
	if !ok {
		return ""
	}
	return c.text(a.Expr)
}

// blockAttr is the source text of an attribute of a nested block.
func (c tfConfig) blockAttr(b *hclsyntax.Block, block, name string) string {
	for _, nb := range b.Body.Blocks {
		if nb.Type == block {
			return c.attr(nb, name)
		}
	}
	return ""
}

// filterPattern evaluates the one filter_criteria { filter { pattern } }
// of a stream mapping.
func (c tfConfig) filterPattern(t *testing.T, m *hclsyntax.Block) (string, bool) {
	t.Helper()
	var patterns []string
	for _, fc := range m.Body.Blocks {
		if fc.Type != "filter_criteria" {
			continue
		}
		for _, f := range fc.Body.Blocks {
			a, ok := f.Body.Attributes["pattern"]
			if f.Type != "filter" || !ok {
				continue
			}
			v, diags := a.Expr.Value(&hcl.EvalContext{Functions: map[string]function.Function{"jsonencode": stdlib.JSONEncodeFunc}})
			if diags.HasErrors() {
				t.Fatalf("filter pattern: %v", diags)
			}
			patterns = append(patterns, v.AsString())
		}
	}
	if len(patterns) != 1 {
		return strings.Join(patterns, " "), false
	}
	return patterns[0], true
}

func literal(t *testing.T, b *hclsyntax.Block, name string) cty.Value {
	t.Helper()
	a, ok := b.Body.Attributes[name]
	if !ok {
		return cty.NilVal
	}
	v, diags := a.Expr.Value(nil)
	if diags.HasErrors() {
		t.Fatalf("%s.%s: %v", strings.Join(b.Labels, "."), name, diags)
	}
	return v
}

func literalString(t *testing.T, b *hclsyntax.Block, name string) string {
	v := literal(t, b, name)
	if v == cty.NilVal || v.IsNull() {
		return ""
	}
	return v.AsString()
}

func TestTerraform(t *testing.T) {
	c := loadTerraform(t)
	locals := c.locals(t)

	// Every function, built from make build's bootstrap.
	got := map[string]bool{}
	for fn, v := range locals["functions"].AsValueMap() {
		got[fn] = true
		var vars []string
		for k := range v.GetAttr("environment").AsValueMap() {
			vars = append(vars, k)
		}
		checkVars(t, "infra", fn, vars)
	}
	for fn := range functions {
		if !got[fn] {
			t.Errorf("infra: no function %s", fn)
		}
	}
	if zips := c.localText("zips"); !strings.Contains(zips, "bin/lambda/${fn}.zip") {
		t.Errorf("infra: functions must come from make build's bin/lambda/<function>.zip, got %s", zips)
	}
	lambda := c.find("resource", "aws_lambda_function", "function")
	if len(lambda) != 1 || literalString(t, lambda[0], "runtime") != "provided.al2023" || c.text(lambda[0].Body.Attributes["architectures"].Expr) != `["arm64"]` {
		t.Fatal("infra: want one aws_lambda_function per function on provided.al2023, arm64")
	}
	// The locals checked above are what the resources use.
	if c.attr(lambda[0], "for_each") != "local.functions" || c.blockAttr(lambda[0], "environment", "variables") != "each.value.environment" {
		t.Error("infra: the Lambda functions must be one per local.functions, with environment { variables = each.value.environment }")
	}
	route := c.find("resource", "aws_apigatewayv2_route", "route")
	if len(route) != 1 || c.attr(route[0], "for_each") != "local.routes" || c.attr(route[0], "route_key") != "each.key" ||
		!strings.Contains(c.attr(route[0], "target"), "aws_apigatewayv2_integration.function[each.value]") {
		t.Error("infra: the routes must be one aws_apigatewayv2_route per local.routes, keyed by the route and aimed at its function's integration")
	}

	routes := map[string]string{}
	for pattern, fn := range locals["routes"].AsValueMap() {
		routes[pattern] = fn.AsString()
	}
	checkRoutes(t, "infra", routes)
	// The customer routes, and only they, go through the JWT authorizer of
	// the customers' issuer.
	var guarded []string
	for _, r := range locals["customer_routes"].AsValueSlice() {
		guarded = append(guarded, r.AsString())
	}
	if want := contract.CustomerRoutes(); !slices.Equal(guarded, want) {
		t.Errorf("infra: local.customer_routes is %q, the contract's customer routes %q", guarded, want)
	}
	if c.attr(route[0], "authorization_type") != `contains(local.customer_routes, each.key) ? "JWT" : "NONE"` ||
		c.attr(route[0], "authorizer_id") != `contains(local.customer_routes, each.key) ? aws_apigatewayv2_authorizer.customer.id : null` {
		t.Error("infra: a route must take the customer authorizer exactly when it is in local.customer_routes")
	}
	authz := c.find("resource", "aws_apigatewayv2_authorizer", "customer")
	if len(authz) != 1 || literalString(t, authz[0], "authorizer_type") != "JWT" ||
		c.blockAttr(authz[0], "jwt_configuration", "issuer") != "var.customer_issuer" ||
		c.blockAttr(authz[0], "jwt_configuration", "audience") != "[var.customer_audience]" ||
		c.attr(authz[0], "identity_sources") != `["$request.header.Authorization"]` {
		t.Error("infra: the customer authorizer must be a JWT authorizer of var.customer_issuer for var.customer_audience, reading Authorization")
	}

	for fn := range functions {
		docs := c.find("data", "aws_iam_policy_document", fn)
		if len(docs) != 1 {
			t.Errorf("infra: no aws_iam_policy_document.%s", fn)
			continue
		}
		checkAccess(t, "infra", fn, c.access(t, fn, docs[0]))
	}

	code := codeTables()
	for _, role := range []store.Table{store.SaleTable, store.CouponsTable, store.CheckpointsTable} {
		b := c.find("resource", "aws_dynamodb_table", string(role))
		if len(b) != 1 {
			t.Errorf("infra: no aws_dynamodb_table.%s", role)
			continue
		}
		if got := c.shape(t, b[0]); !equalShape(got, code[role]) {
			t.Errorf("infra: table %s has %v, the code creates %v", role, got, code[role])
		}
	}

	esm := c.find("resource", "aws_lambda_event_source_mapping")
	if len(esm) != 1 {
		t.Fatal("infra: want one aws_lambda_event_source_mapping")
	}
	m := esm[0]
	if c.text(m.Body.Attributes["function_response_types"].Expr) != `["ReportBatchItemFailures"]` ||
		literal(t, m, "bisect_batch_on_function_error") != cty.True ||
		!literal(t, m, "maximum_retry_attempts").RawEquals(cty.NumberIntVal(int64(streamMapping.Retries))) ||
		!literal(t, m, "batch_size").RawEquals(cty.NumberIntVal(int64(streamMapping.BatchSize))) ||
		!literal(t, m, "maximum_record_age_in_seconds").RawEquals(cty.NumberIntVal(int64(streamMapping.MaxRecordAge))) ||
		!strings.Contains(c.text(m.Body.Attributes["event_source_arn"].Expr), "aws_dynamodb_table.sale.stream_arn") ||
		len(m.Body.Blocks) == 0 || m.Body.Blocks[0].Type != "destination_config" {
		t.Errorf("infra: the stream mapping needs partial batch failures, bisecting, and the settings %+v, and an on-failure destination", streamMapping)
	}
	if pattern, ok := c.filterPattern(t, m); !ok || !samePattern(t, pattern) {
		t.Errorf("infra: the stream mapping's filter: got %q, want only %s", pattern, streamMapping.Pattern)
	}

	// Throttling at the gateway: defaults for every route, tighter ones for
	// the grab route; CORS from one variable, the same the functions read.
	stage := c.find("resource", "aws_apigatewayv2_stage", "default")
	if len(stage) != 1 || c.blockAttr(stage[0], "default_route_settings", "throttling_rate_limit") != "var.throttle_rate" ||
		c.blockAttr(stage[0], "default_route_settings", "throttling_burst_limit") != "var.throttle_burst" ||
		c.blockAttr(stage[0], "route_settings", "route_key") != `"POST /promotions/{promotionId}/coupons"` ||
		c.blockAttr(stage[0], "route_settings", "throttling_rate_limit") != "var.grab_throttle_rate" {
		t.Error("infra: the stage must throttle every route (var.throttle_*) and the grab route apart (var.grab_throttle_*)")
	}
	if api := c.find("resource", "aws_apigatewayv2_api", "http"); len(api) != 1 || !strings.Contains(c.text(api[0].Body.Blocks[0].Body.Blocks[0].Body.Attributes["allow_origins"].Expr), "var.cors_origins") {
		t.Error("infra: the HTTP API's CORS configuration must allow var.cors_origins")
	}

	for _, name := range []string{"region", "name_prefix", "admin_token"} {
		if len(c.find("variable", name)) != 1 {
			t.Errorf("infra: no variable %q", name)
		}
	}
	if tok := c.find("variable", "admin_token"); len(tok) == 1 && literal(t, tok[0], "sensitive") != cty.True {
		t.Error("infra: admin_token must be sensitive")
	}
	if len(c.find("output", "api_url")) != 1 {
		t.Error("infra: no api_url output")
	}
}

// access reads the DynamoDB actions of a policy document by the table each
// statement names.
func (c tfConfig) access(t *testing.T, fn string, doc *hclsyntax.Block) access {
	t.Helper()
	a := access{}
	for _, st := range doc.Body.Blocks {
		if st.Type != "statement" {
			continue
		}
		var actions []string
		for _, v := range literal(t, st, "actions").AsValueSlice() {
			actions = append(actions, v.AsString())
		}
		res := c.text(st.Body.Attributes["resources"].Expr)
		var table store.Table
		switch res {
		case "[aws_dynamodb_table.sale.arn]":
			table = store.SaleTable
		case "[aws_dynamodb_table.coupons.arn]":
			table = store.CouponsTable
		case `["${aws_dynamodb_table.sale.arn}/index/` + store.IndexByCreate + `"]`:
			table = store.SaleIndex
		}
		for _, act := range actions {
			switch {
			case strings.HasPrefix(act, "dynamodb:") && table != "":
				a.add(table, act)
			case fn == "projector" && act == "sqs:SendMessage" && res == "[aws_sqs_queue.projector_failures.arn]":
			default:
				t.Errorf("infra: %s is granted %s on %s", fn, act, res)
			}
		}
	}
	return a
}

func (c tfConfig) shape(t *testing.T, b *hclsyntax.Block) tableShape {
	s := newShape()
	s.Key = [2]string{literalString(t, b, "hash_key"), literalString(t, b, "range_key")}
	if literal(t, b, "stream_enabled") == cty.True {
		s.Stream = literalString(t, b, "stream_view_type")
	}
	for _, sub := range b.Body.Blocks {
		switch sub.Type {
		case "attribute":
			s.Attributes[literalString(t, sub, "name")] = literalString(t, sub, "type")
		case "global_secondary_index":
			s.Indexes[literalString(t, sub, "name")] = [2]string{literalString(t, sub, "hash_key"), literalString(t, sub, "range_key")}
		}
	}
	return s
}
