package infra_test

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/seckill/seckill/shared/contract"
	"github.com/seckill/seckill/shared/store"
)

func TestSAMTemplate(t *testing.T) {
	tpl := loadYAML(t, "../template.yaml")[0]
	resources := get(tpl, "Resources").(map[string]any)
	makefile, err := os.ReadFile("../Makefile")
	if err != nil {
		t.Fatal(err)
	}

	routes := map[string]string{}
	for fn, name := range functions {
		res := resources[name]
		if str(get(res, "Type")) != "AWS::Serverless::Function" {
			t.Errorf("%s: no AWS::Serverless::Function %s", fn, name)
			continue
		}
		// sam build runs `make build-<Resource>` for BuildMethod makefile.
		if str(get(res, "Metadata", "BuildMethod")) != "makefile" || !strings.Contains(string(makefile), "build-"+name) {
			t.Errorf("%s: no build (BuildMethod makefile and a build-%s target)", fn, name)
		}
		var vars []string
		for k := range get(res, "Properties", "Environment", "Variables").(map[string]any) {
			vars = append(vars, k)
		}
		checkVars(t, "template.yaml", fn, vars)
		checkAccess(t, "template.yaml", fn, samAccess(t, fn, res))
		for _, ev := range get(res, "Properties", "Events").(map[string]any) {
			if str(get(ev, "Type")) != "HttpApi" {
				continue
			}
			pattern := str(get(ev, "Properties", "Method")) + " " + str(get(ev, "Properties", "Path"))
			if prev, ok := routes[pattern]; ok {
				t.Errorf("route %q is on both %s and %s", pattern, prev, fn)
			}
			routes[pattern] = fn
		}
	}
	checkRoutes(t, "template.yaml", routes)

	// The runtime every function shares.
	g := get(tpl, "Globals", "Function")
	if str(get(g, "Runtime")) != "provided.al2023" || strs(get(g, "Architectures"))[0] != "arm64" || get(g, "Layers") != nil {
		t.Errorf("Globals.Function: want provided.al2023 on arm64 without layers, got %v", g)
	}
	if p := get(tpl, "Parameters", "AdminToken"); get(p, "NoEcho") != true || get(p, "AllowedPattern") != "^(.{32,})?$" {
		t.Errorf("AdminToken parameter: want NoEcho and at least 32 characters (or none, for admins by scope), got %v", p)
	}
	// The customer routes, and only they, go through the JWT authorizer of
	// the customers' issuer.
	var guarded []string
	for fn, name := range functions {
		events, _ := get(resources[name], "Properties", "Events").(map[string]any)
		for _, ev := range events {
			if a := get(ev, "Properties", "Auth", "Authorizer"); a != nil {
				if a != "CustomerJWT" {
					t.Errorf("%s: route authorizer %v, want CustomerJWT", fn, a)
				}
				guarded = append(guarded, str(get(ev, "Properties", "Method"))+" "+str(get(ev, "Properties", "Path")))
			}
		}
	}
	slices.Sort(guarded)
	if want := contract.CustomerRoutes(); !slices.Equal(guarded, want) {
		t.Errorf("template.yaml: the authorizer guards %q, the contract's customer routes are %q", guarded, want)
	}
	jwtCfg := get(resources["HttpApi"], "Properties", "Auth", "Authorizers", "CustomerJWT", "JwtConfiguration")
	if fmt.Sprint(get(jwtCfg, "issuer")) != "map[!Ref:CustomerIssuer]" || fmt.Sprint(get(jwtCfg, "audience")) != "[map[!Ref:CustomerAudience]]" {
		t.Errorf("template.yaml: CustomerJWT must take the CustomerIssuer and CustomerAudience parameters, got %v", jwtCfg)
	}
	if get(tpl, "Outputs", "ApiUrl") == nil {
		t.Error("no ApiUrl output")
	}

	// One dashboard body for both deployments.
	sub := list(get(resources["SaleDashboard"], "Properties", "DashboardBody", "!Sub"))
	body, err := os.ReadFile("dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(sub) != 2 || strings.TrimSpace(str(sub[0])) != strings.TrimSpace(string(body)) {
		t.Error("SaleDashboard's body differs from infra/dashboard.json, which Terraform uses")
	}

	// Throttling and CORS at the gateway.
	api := get(resources["HttpApi"], "Properties")
	if get(api, "DefaultRouteSettings", "ThrottlingRateLimit", "!Ref") != "ThrottleRate" ||
		get(api, "DefaultRouteSettings", "ThrottlingBurstLimit", "!Ref") != "ThrottleBurst" ||
		get(api, "RouteSettings", "POST /promotions/{promotionId}/coupons", "ThrottlingRateLimit", "!Ref") != "GrabThrottleRate" ||
		get(api, "CorsConfiguration") == nil {
		t.Errorf("HttpApi: throttling and CORS: got %v", api)
	}

	// The stream mapping: partial failures, bisecting, bounded retries, and
	// somewhere for what still fails to go.
	var stream any
	for _, ev := range get(resources["ProjectorFunction"], "Properties", "Events").(map[string]any) {
		if str(get(ev, "Type")) == "DynamoDB" {
			stream = get(ev, "Properties")
		}
	}
	if get(stream, "Stream", "!GetAtt") != "SaleTable.StreamArn" ||
		strs(get(stream, "FunctionResponseTypes"))[0] != "ReportBatchItemFailures" ||
		get(stream, "BisectBatchOnFunctionError") != true ||
		get(stream, "MaximumRetryAttempts") != streamMapping.Retries || get(stream, "BatchSize") != streamMapping.BatchSize ||
		get(stream, "MaximumRecordAgeInSeconds") != streamMapping.MaxRecordAge ||
		get(stream, "DestinationConfig", "OnFailure", "Destination", "!GetAtt") != "ProjectorFailures.Arn" {
		t.Errorf("projector's stream event: got %v, want %+v", stream, streamMapping)
	}
	filters, _ := get(stream, "FilterCriteria", "Filters").([]any)
	if len(filters) != 1 || !samePattern(t, str(get(filters[0], "Pattern"))) {
		t.Errorf("projector's stream filter: got %v, want only %s", filters, streamMapping.Pattern)
	}

	code := codeTables()
	for role, name := range map[store.Table]string{"sale": "SaleTable", "coupons": "CouponsTable", "checkpoints": "CheckpointsTable"} {
		got := samShape(get(resources[name], "Properties"))
		if !equalShape(got, code[role]) {
			t.Errorf("%s: template.yaml has %v, the code creates %v", name, got, code[role])
		}
	}
}

// samAccess reads the DynamoDB actions of a function's inline policies.
func samAccess(t *testing.T, fn string, res any) access {
	t.Helper()
	a := access{}
	for _, pol := range list(get(res, "Properties", "Policies")) {
		stmts := list(get(pol, "Statement"))
		if stmts == nil {
			t.Errorf("%s: policy %v is not an inline statement list; managed policy templates grant more than a table's actions", fn, pol)
		}
		for _, st := range stmts {
			actions := strs(get(st, "Action"))
			table := samResource(get(st, "Resource"))
			var ddb []string
			for _, act := range actions {
				switch {
				case strings.HasPrefix(act, "dynamodb:"):
					ddb = append(ddb, act)
				case fn == "projector" && act == "sqs:SendMessage" && get(st, "Resource", "!GetAtt") == "ProjectorFailures.Arn":
				default:
					t.Errorf("%s: grants %s on %v", fn, act, get(st, "Resource"))
				}
			}
			if len(ddb) > 0 {
				if table == "" {
					t.Errorf("%s: grants %q on an unknown resource %v", fn, ddb, get(st, "Resource"))
					continue
				}
				a.add(table, ddb...)
			}
		}
	}
	return a
}

func samResource(v any) store.Table {
	switch {
	case get(v, "!GetAtt") == "SaleTable.Arn":
		return store.SaleTable
	case get(v, "!GetAtt") == "CouponsTable.Arn":
		return store.CouponsTable
	case get(v, "!Sub") == "${SaleTable.Arn}/index/"+store.IndexByCreate:
		return store.SaleIndex
	}
	return ""
}

func samShape(p any) tableShape {
	s := newShape()
	for _, a := range list(get(p, "AttributeDefinitions")) {
		s.Attributes[str(get(a, "AttributeName"))] = str(get(a, "AttributeType"))
	}
	keys := func(v any) [2]string {
		var pairs [][2]string
		for _, k := range list(v) {
			pairs = append(pairs, [2]string{str(get(k, "AttributeName")), str(get(k, "KeyType"))})
		}
		return keySchema(pairs)
	}
	s.Key = keys(get(p, "KeySchema"))
	for _, g := range list(get(p, "GlobalSecondaryIndexes")) {
		s.Indexes[str(get(g, "IndexName"))] = keys(get(g, "KeySchema"))
	}
	s.Stream = str(get(p, "StreamSpecification", "StreamViewType"))
	return s
}
