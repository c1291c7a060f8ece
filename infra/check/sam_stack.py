"""Create template.yaml as a CloudFormation stack, for make deploy-check.

Transforms the SAM template with aws-sam-translator (what `sam deploy` does
before CloudFormation sees it), points every function at the zip `make
build` wrote (uploaded to the emulated S3), creates the stack against an AWS
API endpoint (a moto server here) and waits until it is complete. Prints the
stack's final status and its resources as JSON; exits 1 if it is not
CREATE_COMPLETE.
"""

import json
import os
import sys
import time

from samtranslator.public.translator import ManagedPolicyLoader
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

from emulated import client, pages

FUNCTIONS = {"AdminFunction": "admin", "GrabFunction": "grab", "CouponsFunction": "coupons", "ProjectorFunction": "projector"}


def main(endpoint, template_path, zips, stack, token, issuer, audience):
    # The translator resolves pseudo parameters through the default session.
    os.environ.update(AWS_DEFAULT_REGION="us-east-1", AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test")
    s3 = client("s3", endpoint)
    s3.create_bucket(Bucket="seckill-artifacts")
    with open(template_path) as f:
        template = yaml_parse(f.read())
    for resource, fn in FUNCTIONS.items():
        key = fn + ".zip"
        s3.upload_file(f"{zips}/{fn}.zip", "seckill-artifacts", key)
        props = template["Resources"][resource]["Properties"]
        props["CodeUri"] = f"s3://seckill-artifacts/{key}"
        template["Resources"][resource].pop("Metadata", None)
    loader = ManagedPolicyLoader(client("iam", endpoint))
    cfn_template = transform(template, {}, loader)
    cfn = client("cloudformation", endpoint)
    cfn.create_stack(StackName=stack, TemplateBody=json.dumps(cfn_template),
                     Parameters=[{"ParameterKey": "AdminToken", "ParameterValue": token},
                                 {"ParameterKey": "CustomerIssuer", "ParameterValue": issuer},
                                 {"ParameterKey": "CustomerAudience", "ParameterValue": audience}],
                     Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"])
    deadline = time.time() + 180
    while True:
        status = cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
        if not status.endswith("IN_PROGRESS") or time.time() > deadline:
            break
        time.sleep(1)
    resources = list(pages(cfn, "list_stack_resources", "StackResourceSummaries", StackName=stack))
    reason = [e.get("ResourceStatusReason") for e in cfn.describe_stack_events(StackName=stack)["StackEvents"]
              if e.get("ResourceStatus", "").endswith("FAILED")]
    # What moto does not keep of a stack's functions and roles, from the
    # template CloudFormation was given.
    functions = {FUNCTIONS[k]: {"Architectures": v["Properties"].get("Architectures"),
                                "Tracing": (v["Properties"].get("TracingConfig") or {}).get("Mode"),
                                "Role": v["Properties"]["Role"]["Fn::GetAtt"][0]}
                 for k, v in cfn_template["Resources"].items() if k in FUNCTIONS}
    roles = {k: v["Properties"].get("ManagedPolicyArns", []) for k, v in cfn_template["Resources"].items()
             if v["Type"] == "AWS::IAM::Role"}
    # moto creates no alarms from a stack: they are read from the template.
    alarms = [{"Namespace": v["Properties"]["Namespace"], "Metric": v["Properties"]["MetricName"],
               "Dimensions": {d["Name"]: json.dumps(d["Value"], sort_keys=True) for d in v["Properties"].get("Dimensions", [])},
               "Actions": [json.dumps(a, sort_keys=True) for a in v["Properties"].get("AlarmActions", [])]}
              for v in cfn_template["Resources"].values() if v["Type"] == "AWS::CloudWatch::Alarm"]
    # moto creates no API Gateway v2 resources from a stack either: the
    # routes' authorizers are read from the API's body as the translator
    # wrote it, which is what API Gateway imports.
    guarded, authorizers = {}, {}
    for v in cfn_template["Resources"].values():
        if v["Type"] != "AWS::ApiGatewayV2::Api":
            continue
        body = v["Properties"].get("Body", {})
        for name, scheme in body.get("components", {}).get("securitySchemes", {}).items():
            a = scheme.get("x-amazon-apigateway-authorizer", {})
            jwt = a.get("jwtConfiguration", {})
            authorizers[name] = {"Type": a.get("type", "").upper(), "Issuer": json.dumps(jwt.get("issuer"), sort_keys=True),
                                 "Audience": [json.dumps(x, sort_keys=True) for x in jwt.get("audience", [])],
                                 "Identity": [a.get("identitySource")]}
        for path, ops in body.get("paths", {}).items():
            for method, op in ops.items():
                for req in op.get("security", []) if isinstance(op, dict) else []:
                    for name in req:
                        guarded[method.upper() + " " + path] = "JWT " + name
    json.dump({"status": status, "failures": reason, "transformed": sorted(cfn_template["Resources"]),
               "functions": functions, "roles": roles, "alarms": alarms, "guarded": guarded, "authorizers": authorizers,
               "resources": {r["LogicalResourceId"]: {"type": r["ResourceType"], "status": r["ResourceStatus"]}
                             for r in resources}},
              sys.stdout, indent=1)
    sys.exit(0 if status == "CREATE_COMPLETE" else 1)


if __name__ == "__main__":
    main(*sys.argv[1:8])
