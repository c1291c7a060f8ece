"""Describe what a deployment created, as JSON, for make deploy-check.

Reads an AWS API endpoint (a moto server here) with boto3 and prints the
tables, functions, stream mappings, routes, roles, queues and log groups it
finds, so that the Go check can hold them against the code's own sources
(store.Definitions, store.Access, the config structs, the OpenAPI routes).
"""

import ast
import json
import sys
import urllib.parse


from emulated import client, pages


def main(endpoint):
    ddb, lam, iam = client("dynamodb", endpoint), client("lambda", endpoint), client("iam", endpoint)
    out = {"tables": {}, "functions": {}, "mappings": [], "routes": {}, "guarded": {}, "authorizers": {}, "policies": {},
           "attached": {}, "queues": [], "logs": {}, "alarms": [], "dashboards": {}, "topics": []}
    for name in pages(ddb, "list_tables", "TableNames"):
        t = ddb.describe_table(TableName=name)["Table"]
        out["tables"][name] = {k: t.get(k) for k in (
            "AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "StreamSpecification", "TableArn")}
    for f in pages(lam, "list_functions", "Functions"):
        out["functions"][f["FunctionName"]] = {
            "Runtime": f.get("Runtime"), "Architectures": f.get("Architectures"), "Handler": f.get("Handler"),
            "Env": sorted((f.get("Environment") or {}).get("Variables", {}).keys()),
            "Tracing": (f.get("TracingConfig") or {}).get("Mode"),
            "Role": f.get("Role"), "Arn": f.get("FunctionArn"),
        }
    for m in pages(lam, "list_event_source_mappings", "EventSourceMappings"):
        out["mappings"].append({
            "Function": m.get("FunctionArn"), "Source": m.get("EventSourceArn"),
            "BatchSize": m.get("BatchSize"), "Retries": m.get("MaximumRetryAttempts"),
            "MaxRecordAge": m.get("MaximumRecordAgeInSeconds"), "Bisect": m.get("BisectBatchOnFunctionError"),
            "ResponseTypes": m.get("FunctionResponseTypes"),
            "Filters": [f["Pattern"] for f in (m.get("FilterCriteria") or {}).get("Filters", [])],
            "OnFailure": ((m.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination"),
        })
    try:
        gw = client("apigatewayv2", endpoint)
        for api in gw.get_apis().get("Items", []):
            integrations = {i["IntegrationId"]: i.get("IntegrationUri", "") for i in gw.get_integrations(ApiId=api["ApiId"]).get("Items", [])}
            for r in gw.get_routes(ApiId=api["ApiId"]).get("Items", []):
                uri = integrations.get(r.get("Target", "").removeprefix("integrations/"), "")
                # arn:...:function:NAME/invocations, possibly inside an invoke URI
                fn = urllib.parse.unquote(uri).split(":function:")[-1].split("/")[0]
                out["routes"][r["RouteKey"]] = fn
                if r.get("AuthorizationType", "NONE") != "NONE":
                    # moto answers get_authorizer, not get_authorizers
                    a = gw.get_authorizer(ApiId=api["ApiId"], AuthorizerId=r["AuthorizerId"])
                    jwt = a.get("JwtConfiguration") or {}
                    out["authorizers"][a["Name"]] = {"Type": a.get("AuthorizerType"), "Issuer": jwt.get("Issuer"),
                                                     "Audience": jwt.get("Audience"), "Identity": a.get("IdentitySource")}
                    out["guarded"][r["RouteKey"]] = r["AuthorizationType"] + " " + a["Name"]
    except Exception as e:  # moto may not serve API Gateway v2 for a stack
        out["routes_error"] = str(e)
    for role in pages(iam, "list_roles", "Roles"):
        name = role["RoleName"]
        statements = []
        for pol in iam.list_role_policies(RoleName=name)["PolicyNames"]:
            doc = iam.get_role_policy(RoleName=name, PolicyName=pol)["PolicyDocument"]
            if isinstance(doc, str):
                text = urllib.parse.unquote(doc)
                try:
                    doc = json.loads(text)
                except ValueError:  # moto keeps a stack's documents as Python literals
                    doc = ast.literal_eval(text)
            for s in doc.get("Statement", []):
                acts, res = s.get("Action", []), s.get("Resource", [])
                statements.append({"Action": [acts] if isinstance(acts, str) else acts,
                                   "Resource": [res] if isinstance(res, str) else res})
        out["policies"][name] = statements
        out["attached"][name] = [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]]
    sqs = client("sqs", endpoint)
    out["queues"] = [u.rsplit("/", 1)[-1] for u in sqs.list_queues().get("QueueUrls", [])]
    logs = client("logs", endpoint)
    for g in pages(logs, "describe_log_groups", "logGroups"):
        out["logs"][g["logGroupName"]] = g.get("retentionInDays")
    cw = client("cloudwatch", endpoint)
    out["alarms"] = [{"Name": a["AlarmName"], "Namespace": a.get("Namespace"), "Metric": a.get("MetricName"),
                      "Dimensions": {d["Name"]: d["Value"] for d in a.get("Dimensions", [])},
                      "Actions": a.get("AlarmActions", [])}
                     for a in pages(cw, "describe_alarms", "MetricAlarms")]
    out["dashboards"] = {d["DashboardName"]: cw.get_dashboard(DashboardName=d["DashboardName"])["DashboardBody"]
                         for d in cw.list_dashboards().get("DashboardEntries", [])}
    sns = client("sns", endpoint)
    out["topics"] = [t["TopicArn"] for t in pages(sns, "list_topics", "Topics")]
    json.dump(out, sys.stdout, indent=1, default=str)


if __name__ == "__main__":
    main(sys.argv[1])
