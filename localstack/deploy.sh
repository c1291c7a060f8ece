#!/usr/bin/env bash
# Deploys SecKill into a running LocalStack with free-edition features only:
# the four functions as provided.al2023 Lambdas (no layers), a REST API
# (payload 1.0; HTTP APIs are a paid LocalStack feature, and the functions
# take both payloads) whose routes come from the OpenAPI document, and the
# stream event source mapping. Prints the API's base URL.
# Needs: go, the aws CLI, zip. Run through `make localstack-deploy`.
set -euo pipefail
cd "$(dirname "$0")/.."

export AWS_ENDPOINT_URL="${AWS_ENDPOINT_URL:-http://localhost:4566}"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
prefix="${SECKILL_PREFIX:-seckill}"
token="${ADMIN_TOKEN:-$(openssl rand -hex 32)}"
arch="$(go env GOARCH)" # LocalStack runs Lambda containers on the host's architecture
lambda_arch=$([ "$arch" = arm64 ] && echo arm64 || echo x86_64)

# The tables, from the code's own definition (the init hook makes the same).
AWS_ENDPOINT_URL_DYNAMODB="$AWS_ENDPOINT_URL" go run ./localstack/tables -prefix "$prefix"

role_arn=$(aws iam create-role --role-name "$prefix-lambda" \
  --assume-role-policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}' \
  --query Role.Arn --output text 2>/dev/null || aws iam get-role --role-name "$prefix-lambda" --query Role.Arn --output text)

# Customers are who their tokens say; the REST API of the free edition has
# no JWT authorizer, so the functions verify the tokens themselves, against a
# provider the Lambda containers can reach. CUSTOMER_AUTH=open is for demos.
customer_auth="${CUSTOMER_AUTH:-jwt}"
if [ "$customer_auth" = jwt ] && { [ -z "${CUSTOMER_ISSUER:-}" ] || [ -z "${CUSTOMER_AUDIENCE:-}" ]; }; then
  echo "set CUSTOMER_ISSUER and CUSTOMER_AUDIENCE (your OpenID Connect provider's), or CUSTOMER_AUTH=open for a demo without tokens" >&2
  exit 1
fi
customers="SECKILL_CUSTOMER_AUTH=$customer_auth,SECKILL_CUSTOMER_ISSUER=${CUSTOMER_ISSUER:-},SECKILL_CUSTOMER_AUDIENCE=${CUSTOMER_AUDIENCE:-},SECKILL_CUSTOMER_CLAIM=${CUSTOMER_CLAIM:-sub},SECKILL_CUSTOMER_TOKENS=100000"

env_vars="SECKILL_SALE_TABLE=$prefix-sale,SECKILL_COUPONS_TABLE=$prefix-coupons,SECKILL_STORE_TIMEOUT=2s"
for fn in admin grab coupons projector; do
  out="bin/localstack/$fn"
  mkdir -p "$out"
  CGO_ENABLED=0 GOOS=linux GOARCH="$arch" go build -tags lambda.norpc -trimpath -ldflags='-s -w' -o "$out/bootstrap" "./functions/$fn/cmd"
  (cd "$out" && rm -f function.zip && zip -q function.zip bootstrap)
  vars="$env_vars"
  case "$fn" in
    admin) vars="$vars,SECKILL_REQUEST_TIMEOUT=2500ms,SECKILL_ADMIN_TOKEN=$token,SECKILL_ADMIN_SCOPE=,$customers" ;;
    grab) vars="$vars,SECKILL_REQUEST_TIMEOUT=2500ms,SECKILL_PROMOTION_TTL=2s,SECKILL_GRAB_MAX_ATTEMPTS=8,SECKILL_GRAB_IN_FLIGHT=2,SECKILL_GRAB_MAX_HOLDERS=200000,$customers" ;;
    coupons) vars="$vars,SECKILL_REQUEST_TIMEOUT=2500ms,$customers" ;;
  esac
  aws lambda delete-function --function-name "$prefix-$fn" >/dev/null 2>&1 || true
  aws lambda create-function --function-name "$prefix-$fn" --runtime provided.al2023 --handler bootstrap \
    --architectures "$lambda_arch" --role "$role_arn" --zip-file "fileb://$out/function.zip" \
    --timeout 10 --memory-size 256 --environment "Variables={$vars}" >/dev/null
  aws lambda wait function-active-v2 --function-name "$prefix-$fn"
done

# The gateway: one REST API, a resource per path, each route proxied to its
# function. Routes come from the contract, as template.yaml's are checked to.
for old in $(aws apigateway get-rest-apis --query "items[?name=='$prefix'].id" --output text); do
  aws apigateway delete-rest-api --rest-api-id "$old"
done
api_id=$(aws apigateway create-rest-api --name "$prefix" --query id --output text)
resource_id() {
  aws apigateway get-resources --rest-api-id "$api_id" --query "items[?path=='$1'].id | [0]" --output text
}
ensure_resource() { # prints the id of the resource at path $1, creating it and its parents
  local path=$1 id parent
  id=$(resource_id "$path")
  if [ -n "$id" ] && [ "$id" != None ]; then echo "$id"; return; fi
  parent=${path%/*}
  [ -n "$parent" ] || parent=/
  aws apigateway create-resource --rest-api-id "$api_id" --parent-id "$(ensure_resource "$parent")" \
    --path-part "${path##*/}" --query id --output text
}
go run ./localstack/routes | while read -r method path fn; do
  rid=$(ensure_resource "$path")
  fn_arn=$(aws lambda get-function --function-name "$prefix-$fn" --query Configuration.FunctionArn --output text)
  aws apigateway put-method --rest-api-id "$api_id" --resource-id "$rid" --http-method "$method" \
    --authorization-type NONE >/dev/null
  aws apigateway put-integration --rest-api-id "$api_id" --resource-id "$rid" --http-method "$method" \
    --type AWS_PROXY --integration-http-method POST \
    --uri "arn:aws:apigateway:$AWS_DEFAULT_REGION:lambda:path/2015-03-31/functions/$fn_arn/invocations" >/dev/null
done
for fn in admin grab coupons; do
  aws lambda add-permission --function-name "$prefix-$fn" --statement-id apigateway --action lambda:InvokeFunction \
    --principal apigateway.amazonaws.com >/dev/null 2>&1 || true
done
aws apigateway create-deployment --rest-api-id "$api_id" --stage-name local >/dev/null

stream_arn=$(aws dynamodb describe-table --table-name "$prefix-sale" --query Table.LatestStreamArn --output text)
for uuid in $(aws lambda list-event-source-mappings --function-name "$prefix-projector" --query 'EventSourceMappings[].UUID' --output text); do
  aws lambda delete-event-source-mapping --uuid "$uuid" >/dev/null
done
aws lambda create-event-source-mapping --function-name "$prefix-projector" --event-source-arn "$stream_arn" \
  --starting-position TRIM_HORIZON --batch-size 100 --bisect-batch-on-function-error --maximum-retry-attempts 5 \
  --function-response-types ReportBatchItemFailures \
  --filter-criteria '{"Filters":[{"Pattern":"{\"eventName\":[\"INSERT\"],\"dynamodb\":{\"NewImage\":{\"kind\":{\"S\":[\"coupon\"]}}}}"}]}' >/dev/null
echo "projector: reading $stream_arn"
echo "API URL: http://$api_id.execute-api.localhost.localstack.cloud:4566/local"
echo "   (or: $AWS_ENDPOINT_URL/restapis/$api_id/local/_user_request_)"
[ -n "${ADMIN_TOKEN:-}" ] || echo "admin token: $token"
