//go:build deploycheck

package infra_test

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seckill/seckill/shared/contract"
	"github.com/seckill/seckill/shared/proctest"
	"github.com/seckill/seckill/shared/store"
)

// The deploy check runs the real tools over the deployment files, where the
// parse tests of this package can only read them: cfn-lint on template.yaml;
// Terraform (offline, its AWS provider from a local mirror) and the SAM
// template as a CloudFormation stack, both against a moto server, whose
// resources are then held against the code's own sources. `make
// deploy-check` runs it; it needs terraform, cfn-lint, and python3 with
// moto, aws-sam-translator and boto3.

const checkToken = "deploy-check-token-0123456789abcdef"

// tool finds name on PATH or fails, saying how to get it.
func tool(t *testing.T, name, how string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed; %s", name, how)
	}
	return p
}

// run runs a command in dir and returns its combined output, failing t
// when it exits non-zero.
func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// providerMirror finds the folder that holds registry.terraform.io/hashicorp/aws,
// wherever the machine keeps it: TF_PLUGIN_MIRROR, then the usual places.
func providerMirror(t *testing.T) string {
	t.Helper()
	const leaf = "registry.terraform.io/hashicorp/aws"
	if dir := os.Getenv("TF_PLUGIN_MIRROR"); dir != "" {
		return dir
	}
	home, _ := os.UserHomeDir()
	roots := []string{"/opt", "/usr/share", "/usr/local/share", "/usr/local/lib", "/usr/lib", "/var/lib",
		filepath.Join(home, ".terraform.d"), filepath.Join(home, ".local/share")}
	for _, root := range roots {
		var found string
		_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || found != "" {
				return fs.SkipDir
			}
			if d.IsDir() && strings.HasSuffix(path, leaf) {
				found = strings.TrimSuffix(path, "/"+leaf)
				return fs.SkipAll
			}
			if d.IsDir() && strings.Count(strings.TrimPrefix(path, root), "/") > 5 {
				return fs.SkipDir
			}
			return nil
		})
		if found != "" {
			return found
		}
	}
	t.Fatalf("no Terraform provider mirror holding %s under %v; set TF_PLUGIN_MIRROR to it", leaf, roots)
	return ""
}

// startMoto runs moto's server on a free loopback port until the test ends.
func startMoto(t *testing.T) string {
	t.Helper()
	port := proctest.FreePort(t)
	proc := proctest.StartArgs(t, "python3", []string{"-m", "moto.server", "-H", "127.0.0.1", "-p", port},
		"MOTO_IAM_LOAD_MANAGED_POLICIES=true")
	url := "http://127.0.0.1:" + port
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if resp, err := plainHTTP.Get(url + "/moto-api/"); err == nil {
			resp.Body.Close()
			return url
		}
		if time.Now().After(deadline) {
			t.Fatalf("moto did not start:\n%s", proc.Log())
		}
	}
}

var plainHTTP = &http.Client{Transport: &http.Transport{}, Timeout: 30 * time.Second}

// deployed is what infra/check/describe.py found.
type deployed struct {
	Tables map[string]struct {
		AttributeDefinitions   []struct{ AttributeName, AttributeType string }
		KeySchema              []struct{ AttributeName, KeyType string }
		GlobalSecondaryIndexes []struct {
			IndexName string
			KeySchema []struct{ AttributeName, KeyType string }
		}
		StreamSpecification *struct {
			StreamEnabled  bool
			StreamViewType string
		}
		TableArn string
	}
	Functions map[string]struct {
		Runtime       string
		Architectures []string
		Handler       string
		Env           []string
		Tracing       string
		Role          string
		Arn           string
	}
	Mappings []struct {
		Function, Source, OnFailure string
		BatchSize, Retries          int
		MaxRecordAge                int
		Bisect                      bool
		ResponseTypes, Filters      []string
	}
	Routes      map[string]string
	Guarded     map[string]string // route => "JWT <authorizer>"
	Authorizers map[string]authorizer
	Policies    map[string][]struct{ Action, Resource []string }
	Attached    map[string][]string
	Queues      []string
	Logs        map[string]int
	Alarms      []struct {
		Name, Namespace, Metric string
		Dimensions              map[string]string
		Actions                 []string
	}
	Dashboards map[string]string
	Topics     []string
}

// authorizer is a gateway authorizer as a deployment made it.
type authorizer struct {
	Type, Issuer       string
	Audience, Identity []string
}

// The customers' issuer and audience deploy-check deploys with.
const (
	checkIssuer   = "https://issuer.check.example/"
	checkAudience = "seckill-check"
)

// checkAuthorizer: the customer routes, and only they, go through one JWT
// authorizer of the customers' issuer and audience, reading Authorization.
func checkAuthorizer(t *testing.T, where string, guarded map[string]string, authorizers map[string]authorizer, issuer, audience string) {
	t.Helper()
	var routes []string
	for route, by := range guarded {
		routes = append(routes, route)
		if by != "JWT CustomerJWT" {
			t.Errorf("%s: route %s is guarded by %q, want JWT CustomerJWT", where, route, by)
		}
	}
	slices.Sort(routes)
	if want := contract.CustomerRoutes(); !slices.Equal(routes, want) {
		t.Errorf("%s: the authorizer guards %q, want exactly the customer routes %q", where, routes, want)
	}
	a, ok := authorizers["CustomerJWT"]
	if !ok || a.Type != "JWT" || a.Issuer != issuer || !slices.Equal(a.Audience, []string{audience}) ||
		!slices.Equal(a.Identity, []string{"$request.header.Authorization"}) {
		t.Errorf("%s: authorizer CustomerJWT is %+v (found: %v), want JWT of %s for %s reading Authorization", where, a, ok, issuer, audience)
	}
	t.Logf("%s: CustomerJWT (%s, %s) guards %q", where, a.Issuer, strings.Join(a.Audience, ","), routes)
}

func describe(t *testing.T, endpoint string) deployed {
	t.Helper()
	out := run(t, ".", nil, "python3", "check/describe.py", endpoint)
	var d deployed
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("describe: %v\n%s", err, out)
	}
	return d
}

// tableRole tells which of the store's tables a deployed name is.
func tableRole(name string) store.Table {
	n := strings.ToLower(name)
	for _, role := range []store.Table{store.CheckpointsTable, store.CouponsTable, store.SaleTable} {
		if strings.Contains(n, "-"+string(role)) {
			return role
		}
	}
	return ""
}

// arnRole maps a DynamoDB resource ARN to the store's table or index role.
func arnRole(arn string) store.Table {
	_, rest, ok := strings.Cut(arn, ":table/")
	if !ok {
		return ""
	}
	name, index, _ := strings.Cut(rest, "/index/")
	role := tableRole(name)
	if index != "" {
		return store.Table(string(role) + "/index/" + index)
	}
	return role
}

// functionOf tells which function a deployed name is: <prefix>-<function>.
func functionOf(name string) string {
	i := strings.LastIndex(name, "-")
	if _, ok := functions[name[i+1:]]; ok && i >= 0 {
		return name[i+1:]
	}
	return ""
}

// wantManaged are the managed policies each function's role needs: logs and
// X-Ray for all, reading the stream for the projector.
func wantManaged(fn string) []string {
	out := []string{"arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole", "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess"}
	if fn == "projector" {
		out = append(out, "arn:aws:iam::aws:policy/service-role/AWSLambdaDynamoDBExecutionRole")
	}
	return out
}

// check holds what a deployment created against the code: table shapes
// against store.Definitions, each function's environment against its
// config struct and its role against store.Access, the stream mapping
// against streamMapping. full adds what moto keeps only of resources made
// through its own APIs, not of a CloudFormation stack's: the routes against
// the OpenAPI document, architecture and tracing, managed policies.
func (d deployed) check(t *testing.T, where string, full bool) {
	t.Helper()
	code := codeTables()
	tables := map[store.Table]string{}
	for name, tb := range d.Tables {
		role := tableRole(name)
		if role == "" {
			t.Errorf("%s: table %s is none of the store's", where, name)
			continue
		}
		tables[role] = tb.TableArn
		s := newShape()
		for _, a := range tb.AttributeDefinitions {
			s.Attributes[a.AttributeName] = a.AttributeType
		}
		pairs := func(ks []struct{ AttributeName, KeyType string }) [2]string {
			var p [][2]string
			for _, k := range ks {
				p = append(p, [2]string{k.AttributeName, k.KeyType})
			}
			return keySchema(p)
		}
		s.Key = pairs(tb.KeySchema)
		for _, g := range tb.GlobalSecondaryIndexes {
			s.Indexes[g.IndexName] = pairs(g.KeySchema)
		}
		if tb.StreamSpecification != nil && tb.StreamSpecification.StreamEnabled {
			s.Stream = tb.StreamSpecification.StreamViewType
		}
		if !equalShape(s, code[role]) {
			t.Errorf("%s: table %s has %+v, store.Definitions makes %+v", where, name, s, code[role])
		}
	}
	if len(tables) != len(code) {
		t.Errorf("%s: got tables %v, want one of each of %d", where, tables, len(code))
	}

	roles := map[string]string{} // role name => function
	arns := map[string]string{}  // function => ARN
	for name, f := range d.Functions {
		fn := functionOf(name)
		if fn == "" {
			t.Errorf("%s: function %s is none of ours", where, name)
			continue
		}
		arns[fn] = f.Arn
		roles[f.Role[strings.LastIndex(f.Role, "/")+1:]] = fn
		if f.Runtime != "provided.al2023" || f.Handler != "bootstrap" ||
			full && (!slices.Equal(f.Architectures, []string{"arm64"}) || f.Tracing != "Active") {
			t.Errorf("%s: %s runs %s on %v with handler %s and tracing %s; want provided.al2023, arm64, bootstrap, Active",
				where, name, f.Runtime, f.Architectures, f.Handler, f.Tracing)
		}
		checkVars(t, where, fn, f.Env)
		if retention, ok := d.Logs["/aws/lambda/"+name]; !ok || retention != 14 {
			t.Errorf("%s: %s's log group keeps logs %d days (present: %v), want 14", where, name, retention, ok)
		}
	}
	if len(arns) != len(functions) {
		t.Errorf("%s: got functions %v, want %d", where, arns, len(functions))
	}

	for role, statements := range d.Policies {
		fn, ok := roles[role]
		if !ok {
			continue
		}
		got := access{}
		for _, s := range statements {
			for _, res := range s.Resource {
				if r := arnRole(res); r != "" {
					got.add(r, s.Action...)
				}
			}
		}
		checkAccess(t, where, fn, got)
		for _, m := range wantManaged(fn) {
			if full && !slices.Contains(d.Attached[role], m) {
				t.Errorf("%s: %s's role lacks %s (has %v)", where, fn, m, d.Attached[role])
			}
		}
	}

	if len(d.Mappings) != 1 {
		t.Fatalf("%s: got %d stream mappings, want 1", where, len(d.Mappings))
	}
	m := d.Mappings[0]
	var queue string
	for _, q := range d.Queues {
		if strings.Contains(strings.ToLower(q), "projector") {
			queue = q
		}
	}
	if m.Function != arns["projector"] || !strings.HasPrefix(m.Source, tables[store.SaleTable]+"/stream/") ||
		m.BatchSize != streamMapping.BatchSize || m.Retries != streamMapping.Retries || m.MaxRecordAge != streamMapping.MaxRecordAge ||
		!m.Bisect || !slices.Equal(m.ResponseTypes, []string{"ReportBatchItemFailures"}) ||
		queue == "" || !strings.HasSuffix(m.OnFailure, ":"+queue) {
		t.Errorf("%s: stream mapping %+v; want the projector on the sale table's stream with %+v, failures to the projector queue (%s)", where, m, streamMapping, queue)
	}
	if len(m.Filters) != 1 || !samePattern(t, m.Filters[0]) {
		t.Errorf("%s: stream filters %v, want only %s", where, m.Filters, streamMapping.Pattern)
	}

	d.checkAlarms(t, where, tables, arns, queue, full)

	if full {
		routes := map[string]string{}
		for key, name := range d.Routes {
			routes[key] = functionOf(name)
		}
		checkRoutes(t, where, routes)
		checkAuthorizer(t, where, d.Guarded, d.Authorizers, checkIssuer, checkAudience)
	}
}

// checkAlarms: an alarm, sent to the one alarms topic, watches each thing
// that can go wrong in a sale: the on-failure queue, the stream's iterator
// age, every function's errors and throttles, the sale table's throttles
// and system errors, and (where moto keeps the API) its 5xx answers; a
// dashboard shows the sale from the SecKill metrics.
func (d deployed) checkAlarms(t *testing.T, where string, tables map[store.Table]string, arns map[string]string, queue string, full bool) {
	t.Helper()
	d.checkDashboard(t, where, arns)
	if !full {
		return // moto keeps no alarms of a stack: checked in its template
	}
	sale := tables[store.SaleTable][strings.LastIndex(tables[store.SaleTable], "/")+1:]
	type watch struct{ namespace, metric, dimension, value string }
	want := []watch{
		{"AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", queue},
		{"AWS/Lambda", "IteratorAge", "FunctionName", nameOf(arns, "projector")},
		{"AWS/DynamoDB", "WriteThrottleEvents", "TableName", sale},
		{"AWS/DynamoDB", "ReadThrottleEvents", "TableName", sale},
		{"AWS/DynamoDB", "SystemErrors", "TableName", sale},
		{"SecKill", "WriteUnits", "Code", "ok"},
		{"SecKill", "ReadUnits", "Code", "sold-out"},
	}
	for fn := range functions {
		want = append(want, watch{"AWS/Lambda", "Errors", "FunctionName", nameOf(arns, fn)}, watch{"AWS/Lambda", "Throttles", "FunctionName", nameOf(arns, fn)})
	}
	want = append(want, watch{"AWS/ApiGateway", "5xx", "ApiId", ""})
	for _, w := range want {
		found := false
		for _, a := range d.Alarms {
			if a.Namespace == w.namespace && a.Metric == w.metric && (w.value == "" && a.Dimensions[w.dimension] != "" || a.Dimensions[w.dimension] == w.value) {
				found = true
				if !slices.Equal(a.Actions, d.Topics) {
					t.Errorf("%s: alarm %s notifies %v, want the alarms topic %v", where, a.Name, a.Actions, d.Topics)
				}
			}
		}
		if !found {
			t.Errorf("%s: no alarm watches %s %s of %s=%s", where, w.namespace, w.metric, w.dimension, w.value)
		}
	}
}

// nameOf is a function's name, from its ARN.
func nameOf(arns map[string]string, fn string) string {
	return arns[fn][strings.LastIndex(arns[fn], ":")+1:]
}

// checkDashboard: one alarms topic, and one dashboard of the sale.
func (d deployed) checkDashboard(t *testing.T, where string, arns map[string]string) {
	t.Helper()
	if len(d.Topics) != 1 {
		t.Fatalf("%s: got topics %v, want one for the alarms", where, d.Topics)
	}
	if len(d.Dashboards) != 1 {
		t.Fatalf("%s: got dashboards %v, want one", where, len(d.Dashboards))
	}
	for name, body := range d.Dashboards {
		for _, metric := range []string{`"SecKill", "Answers"`, `"SecKill", "Latency"`, `"SecKill", "ProjectionLag"`, nameOf(arns, "projector"),
			`MetricName=\"DynamoDBCapacityUnits\"`, `"SecKill", "WriteUnits"`} {
			if !strings.Contains(body, metric) {
				t.Errorf("%s: dashboard %s does not show %s", where, name, metric)
			}
		}
	}
}

func TestCfnLint(t *testing.T) {
	lint := tool(t, "cfn-lint", "pip install cfn-lint (1.51)")
	// Errors, warnings, and the informational checks that guard state: a
	// stateful resource without DeletionPolicy/UpdateReplacePolicy (I3011).
	out := run(t, "..", nil, lint, "template.yaml", "--include-checks", "I3011")
	if strings.TrimSpace(out) != "" {
		t.Fatalf("cfn-lint:\n%s", out)
	}
}

func TestTerraformAgainstMoto(t *testing.T) {
	terraform := tool(t, "terraform", "install Terraform 1.11 with the hashicorp/aws provider in a filesystem mirror")
	pythonModules(t, "moto", "boto3")
	zips, err := filepath.Abs("../bin/lambda")
	if err != nil {
		t.Fatal(err)
	}
	for fn := range functions {
		if _, err := os.Stat(filepath.Join(zips, fn+".zip")); err != nil {
			t.Fatalf("run `make build` first (make deploy-check does): %v", err)
		}
	}
	moto := startMoto(t)
	work := t.TempDir()
	rc := filepath.Join(work, "terraform.rc")
	if err := os.WriteFile(rc, []byte(fmt.Sprintf(`provider_installation {
  filesystem_mirror {
    path    = %q
    include = ["registry.terraform.io/hashicorp/*"]
  }
  direct {
    exclude = ["registry.terraform.io/hashicorp/*"]
  }
}
`, providerMirror(t))), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"TF_CLI_CONFIG_FILE=" + rc, "TF_IN_AUTOMATION=1", "TF_INPUT=0", "CHECKPOINT_DISABLE=1"}
	run(t, ".", env, terraform, "fmt", "-check", "-recursive", "-no-color")

	// A copy of the configuration, beside a link to the build's zips, with
	// an override file that points the provider at moto and lets destroy
	// remove what prevent_destroy guards in a real account.
	dir := filepath.Join(work, "infra")
	if err := os.MkdirAll(filepath.Join(work, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(zips, filepath.Join(work, "bin", "lambda")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("*.tf")
	files = append(files, "dashboard.json")
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var override strings.Builder
	fmt.Fprintf(&override, "provider \"aws\" {\n  region = \"us-east-1\"\n  access_key = \"test\"\n  secret_key = \"test\"\n"+
		"  skip_credentials_validation = true\n  skip_metadata_api_check = true\n  skip_requesting_account_id = true\n  endpoints {\n")
	for _, svc := range []string{"apigatewayv2", "cloudwatch", "cloudwatchlogs", "dynamodb", "iam", "lambda", "sns", "sqs", "sts"} {
		fmt.Fprintf(&override, "    %s = %q\n", svc, moto)
	}
	override.WriteString("  }\n}\n")
	for _, r := range []string{`aws_dynamodb_table" "sale`, `aws_dynamodb_table" "coupons`, `aws_dynamodb_table" "checkpoints`, `aws_sqs_queue" "projector_failures`} {
		fmt.Fprintf(&override, "resource \"%s\" {\n  lifecycle {\n    prevent_destroy = false\n  }\n}\n", r)
	}
	if err := os.WriteFile(filepath.Join(dir, "check_override.tf"), []byte(override.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	run(t, dir, env, terraform, "init", "-no-color")
	run(t, dir, env, terraform, "validate", "-no-color")
	vars := []string{"-var", "admin_token=" + checkToken, "-var", "customer_issuer=" + checkIssuer, "-var", "customer_audience=" + checkAudience}
	out := run(t, dir, env, terraform, append([]string{"apply", "-auto-approve", "-no-color"}, vars...)...)
	t.Logf("terraform apply against moto in %v: %s", time.Since(start).Round(time.Second), lastLine(out, "Apply complete"))
	describe(t, moto).check(t, "terraform", true)

	out = run(t, dir, env, terraform, append([]string{"destroy", "-auto-approve", "-no-color"}, vars...)...)
	t.Logf("terraform destroy: %s", lastLine(out, "Destroy complete"))
	if left := describe(t, moto); len(left.Tables)+len(left.Functions)+len(left.Mappings)+len(left.Queues) > 0 {
		t.Errorf("terraform destroy left %d tables, %d functions, %d mappings, %d queues", len(left.Tables), len(left.Functions), len(left.Mappings), len(left.Queues))
	}
}

func TestSAMStackAgainstMoto(t *testing.T) {
	pythonModules(t, "moto", "boto3", "samtranslator")
	moto := startMoto(t)
	start := time.Now()
	cmd := exec.Command("python3", "check/sam_stack.py", moto, "../template.yaml", "../bin/lambda", "seckill-check", checkToken, checkIssuer, checkAudience)
	out, err := cmd.Output()
	var stack struct {
		Status      string
		Failures    []string
		Transformed []string
		Resources   map[string]struct{ Type, Status string }
		Functions   map[string]struct {
			Architectures []string
			Tracing, Role string
		}
		Roles       map[string][]string
		Guarded     map[string]string
		Authorizers map[string]authorizer
		Alarms      []struct {
			Namespace, Metric string
			Dimensions        map[string]string
			Actions           []string
		}
	}
	if jerr := json.Unmarshal(out, &stack); err != nil || jerr != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("the SAM stack did not reach CREATE_COMPLETE: %v %v\n%s\n%s", err, jerr, out, stderr)
	}
	t.Logf("SAM template transformed into %d resources; stack %s in moto in %v with %d resources",
		len(stack.Transformed), stack.Status, time.Since(start).Round(time.Second), len(stack.Resources))
	// moto creates no API Gateway v2 resources from a stack (the routes are
	// held against the contract by the parse test of template.yaml), and
	// keeps neither a function's architecture and tracing nor a role's
	// managed policies: those are checked in what CloudFormation was given.
	describe(t, moto).check(t, "sam", false)
	checkAuthorizer(t, "sam", stack.Guarded, stack.Authorizers, `{"Ref": "CustomerIssuer"}`, `{"Ref": "CustomerAudience"}`)
	// The alarms, as CloudWatch is given them: each watches what it must,
	// and notifies the alarms topic.
	ref := func(name string) string { return `{"Ref": "` + name + `"}` }
	samWatch := [][3]string{
		{"AWS/SQS", "ApproximateNumberOfMessagesVisible", `{"Fn::GetAtt": ["ProjectorFailures", "QueueName"]}`},
		{"AWS/Lambda", "IteratorAge", ref("ProjectorFunction")},
		{"AWS/DynamoDB", "WriteThrottleEvents", ref("SaleTable")},
		{"AWS/DynamoDB", "ReadThrottleEvents", ref("SaleTable")},
		{"AWS/DynamoDB", "SystemErrors", ref("SaleTable")},
		{"AWS/ApiGateway", "5xx", ref("HttpApi")},
		{"SecKill", "WriteUnits", `"ok"`},
		{"SecKill", "ReadUnits", `"sold-out"`},
	}
	for _, res := range functions {
		samWatch = append(samWatch, [3]string{"AWS/Lambda", "Errors", ref(res)}, [3]string{"AWS/Lambda", "Throttles", ref(res)})
	}
	for _, w := range samWatch {
		found := false
		for _, a := range stack.Alarms {
			for _, v := range a.Dimensions {
				if a.Namespace == w[0] && a.Metric == w[1] && v == w[2] && slices.Equal(a.Actions, []string{ref("AlarmsTopic")}) {
					found = true
				}
			}
		}
		if !found {
			t.Errorf("sam: no alarm watches %s %s of %s and notifies AlarmsTopic", w[0], w[1], w[2])
		}
	}
	for fn := range functions {
		f := stack.Functions[fn]
		if !slices.Equal(f.Architectures, []string{"arm64"}) || f.Tracing != "Active" {
			t.Errorf("sam: %s is given architectures %v and tracing %q; want arm64, Active", fn, f.Architectures, f.Tracing)
		}
		for _, m := range wantManaged(fn) {
			if !slices.Contains(stack.Roles[f.Role], m) {
				t.Errorf("sam: %s's role %s is not given %s (has %v)", fn, f.Role, m, stack.Roles[f.Role])
			}
		}
	}
}

// pythonModules fails t, naming what to install, unless python3 imports
// every module.
func pythonModules(t *testing.T, modules ...string) {
	t.Helper()
	tool(t, "python3", "install Python 3.11")
	for _, m := range modules {
		if err := exec.Command("python3", "-c", "import "+m).Run(); err != nil {
			t.Fatalf("python3 cannot import %s; pip install moto[server]==5.2.1 aws-sam-translator==1.110.0 boto3", m)
		}
	}
}

func lastLine(out, prefix string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}
