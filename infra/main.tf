# SecKill on Terraform: the same resources as template.yaml. Build first
# (`make build` writes bin/lambda/<function>.zip around the arm64 bootstrap),
# then
#
#   terraform -chdir=infra init
#   terraform -chdir=infra apply -var admin_token="$(openssl rand -hex 32)" \
#     -var customer_issuer=https://TENANT.auth0.com/ -var customer_audience=seckill
#
# infra_test.go checks this configuration against the code: routes against
# the OpenAPI document, keys against store.Definitions, environment against
# the config structs, IAM actions against store.Access.
terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = { source = "hashicorp/aws", version = "~> 5.0" }
  }
}

provider "aws" {
  region = var.region
}

locals {
  tables = {
    SECKILL_SALE_TABLE    = aws_dynamodb_table.sale.name
    SECKILL_COUPONS_TABLE = aws_dynamodb_table.coupons.name
    SECKILL_STORE_TIMEOUT = var.store_timeout
  }
  http = merge(local.tables, { SECKILL_REQUEST_TIMEOUT = var.request_timeout, SECKILL_CORS_ORIGINS = join(",", var.cors_origins) })
  # Who a customer is: the subject of a token of the customers' issuer.
  customers = merge(local.http, {
    SECKILL_CUSTOMER_AUTH     = "jwt"
    SECKILL_CUSTOMER_ISSUER   = var.customer_issuer
    SECKILL_CUSTOMER_AUDIENCE = var.customer_audience
    SECKILL_CUSTOMER_CLAIM    = var.customer_claim
    SECKILL_CUSTOMER_TOKENS   = "100000"
  })
  functions = {
    admin = {
      description = "Promotions for the shop's staff."
      environment = merge(local.customers, { SECKILL_ADMIN_TOKEN = var.admin_token, SECKILL_ADMIN_SCOPE = var.admin_scope })
      reserved    = -1
    }
    grab = {
      description = "Grabs a coupon, first come first served."
      environment = merge(local.customers, { SECKILL_PROMOTION_TTL = "2s", SECKILL_GRAB_MAX_ATTEMPTS = "8", SECKILL_GRAB_IN_FLIGHT = "2", SECKILL_GRAB_MAX_HOLDERS = "200000" })
      # Bounds the write rate a stampede can push at the table.
      reserved = var.grab_reserved_concurrency
    }
    coupons = {
      description = "A customer's coupons and the promotions on offer."
      environment = local.customers
      reserved    = -1
    }
    projector = {
      description = "Projects granted coupons from the sale table's stream into the read model."
      environment = local.tables
      reserved    = -1
    }
  }
  # Route key => function; exactly the paths of shared/contract/openapi.yaml.
  routes = {
    "POST /admin/promotions"                 = "admin"
    "GET /admin/promotions"                  = "admin"
    "GET /admin/promotions/{promotionId}"    = "admin"
    "PUT /admin/promotions/{promotionId}"    = "admin"
    "DELETE /admin/promotions/{promotionId}" = "admin"
    "GET /healthz"                           = "admin"
    "GET /openapi.json"                      = "admin"
    "POST /promotions/{promotionId}/coupons" = "grab"
    "GET /customers/{customerId}/coupons"    = "coupons"
    "GET /promotions"                        = "coupons"
  }
  http_functions = toset(["admin", "grab", "coupons"])
  # The routes whose tokens the gateway verifies. The admin routes carry
  # the static token, which no JWT authorizer could pass, so the admin
  # function checks an admin scope itself.
  customer_routes = ["GET /customers/{customerId}/coupons", "POST /promotions/{promotionId}/coupons"]
}

# --- tables -----------------------------------------------------------------

resource "aws_dynamodb_table" "sale" {
  name             = "${var.name_prefix}-sale"
  billing_mode     = "PAY_PER_REQUEST"
  hash_key         = "pk"
  range_key        = "sk"
  stream_enabled   = true
  stream_view_type = "NEW_AND_OLD_IMAGES"

  attribute {
    name = "pk"
    type = "S"
  }
  attribute {
    name = "sk"
    type = "S"
  }
  attribute {
    name = "listPk"
    type = "S"
  }
  attribute {
    name = "id"
    type = "S"
  }

  global_secondary_index {
    name            = "promotions-by-id"
    hash_key        = "listPk"
    range_key       = "id"
    projection_type = "ALL"
  }

  point_in_time_recovery {
    enabled = true
  }

  # Promotions and every coupon granted live here: a destroy or a change
  # that would replace the table must be a deliberate edit of this file.
  lifecycle {
    prevent_destroy = true
  }
}

resource "aws_dynamodb_table" "coupons" {
  name         = "${var.name_prefix}-coupons"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"
  range_key    = "sk"

  attribute {
    name = "pk"
    type = "S"
  }
  attribute {
    name = "sk"
    type = "S"
  }

  lifecycle {
    prevent_destroy = true
  }
}

# Where the stream runner records how far it has read, for the projector run
# as a container (infra/knative.yaml); under Lambda the event source mapping
# keeps that position itself.
resource "aws_dynamodb_table" "checkpoints" {
  name         = "${var.name_prefix}-checkpoints"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"

  attribute {
    name = "pk"
    type = "S"
  }

  lifecycle {
    prevent_destroy = true
  }
}

# --- functions --------------------------------------------------------------

# The zips come from `make build`: no provider of its own (none is reachable
# offline) and byte-for-byte reproducible, so an unchanged build is no change.
locals {
  zips = { for fn in keys(local.functions) : fn => "${path.module}/../bin/lambda/${fn}.zip" }
}

resource "aws_lambda_function" "function" {
  for_each                       = local.functions
  function_name                  = "${var.name_prefix}-${each.key}"
  description                    = each.value.description
  role                           = aws_iam_role.function[each.key].arn
  runtime                        = "provided.al2023"
  architectures                  = ["arm64"]
  handler                        = "bootstrap"
  filename                       = local.zips[each.key]
  source_code_hash               = filebase64sha256(local.zips[each.key])
  memory_size                    = 256
  timeout                        = 10
  reserved_concurrent_executions = each.value.reserved

  environment {
    variables = each.value.environment
  }

  logging_config {
    log_format = "JSON"
    log_group  = aws_cloudwatch_log_group.function[each.key].name
  }

  tracing_config {
    mode = "Active"
  }

  depends_on = [aws_iam_role_policy_attachment.logs, aws_iam_role_policy_attachment.xray]
}

resource "aws_cloudwatch_log_group" "function" {
  for_each          = local.functions
  name              = "/aws/lambda/${var.name_prefix}-${each.key}"
  retention_in_days = var.log_retention_days
}

# --- least-privilege roles ------------------------------------------------------

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "function" {
  for_each           = local.functions
  name               = "${var.name_prefix}-${each.key}"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

resource "aws_iam_role_policy_attachment" "logs" {
  for_each   = local.functions
  role       = aws_iam_role.function[each.key].name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
}

resource "aws_iam_role_policy_attachment" "xray" {
  for_each   = local.functions
  role       = aws_iam_role.function[each.key].name
  policy_arn = "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess"
}

resource "aws_iam_role_policy_attachment" "stream" {
  role       = aws_iam_role.function["projector"].name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaDynamoDBExecutionRole"
}

data "aws_iam_policy_document" "admin" {
  statement {
    actions   = ["dynamodb:BatchGetItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem"]
    resources = [aws_dynamodb_table.sale.arn]
  }
  statement {
    actions   = ["dynamodb:Query"]
    resources = ["${aws_dynamodb_table.sale.arn}/index/promotions-by-id"]
  }
}

data "aws_iam_policy_document" "grab" {
  statement {
    actions   = ["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"]
    resources = [aws_dynamodb_table.sale.arn]
  }
}

data "aws_iam_policy_document" "coupons" {
  statement {
    actions   = ["dynamodb:BatchGetItem"]
    resources = [aws_dynamodb_table.sale.arn]
  }
  statement {
    actions   = ["dynamodb:Query"]
    resources = ["${aws_dynamodb_table.sale.arn}/index/promotions-by-id"]
  }
  statement {
    actions   = ["dynamodb:Query"]
    resources = [aws_dynamodb_table.coupons.arn]
  }
}

data "aws_iam_policy_document" "projector" {
  statement {
    actions   = ["dynamodb:BatchWriteItem"]
    resources = [aws_dynamodb_table.coupons.arn]
  }
  statement {
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.projector_failures.arn]
  }
}

locals {
  policies = {
    admin     = data.aws_iam_policy_document.admin.json
    grab      = data.aws_iam_policy_document.grab.json
    coupons   = data.aws_iam_policy_document.coupons.json
    projector = data.aws_iam_policy_document.projector.json
  }
}

resource "aws_iam_role_policy" "function" {
  for_each = local.functions
  name     = "tables"
  role     = aws_iam_role.function[each.key].id
  policy   = local.policies[each.key]
}

# --- the stream ---------------------------------------------------------------

resource "aws_sqs_queue" "projector_failures" {
  name                      = "${var.name_prefix}-projector-failures"
  message_retention_seconds = 1209600

  # What it holds are records the read model still lacks.
  lifecycle {
    prevent_destroy = true
  }
}

resource "aws_lambda_event_source_mapping" "sale_stream" {
  function_name                      = aws_lambda_function.function["projector"].arn
  event_source_arn                   = aws_dynamodb_table.sale.stream_arn
  starting_position                  = "TRIM_HORIZON"
  batch_size                         = 100
  maximum_batching_window_in_seconds = 0
  bisect_batch_on_function_error     = true
  maximum_retry_attempts             = 5
  maximum_record_age_in_seconds      = 86400
  function_response_types            = ["ReportBatchItemFailures"]

  destination_config {
    on_failure {
      destination_arn = aws_sqs_queue.projector_failures.arn
    }
  }

  filter_criteria {
    filter {
      pattern = jsonencode({ eventName = ["INSERT"], dynamodb = { NewImage = { kind = { S = ["coupon"] } } } })
    }
  }

  # The mapping starts reading as soon as it exists: the projector must by
  # then be allowed to read the stream and write the read model.
  depends_on = [aws_iam_role_policy_attachment.stream, aws_iam_role_policy.function]
}

# --- the HTTP API ---------------------------------------------------------------

resource "aws_apigatewayv2_api" "http" {
  name          = var.name_prefix
  protocol_type = "HTTP"

  # The gateway answers preflights and adds the CORS headers itself; the
  # functions answer the same when they run as containers.
  dynamic "cors_configuration" {
    for_each = length(var.cors_origins) > 0 ? [1] : []
    content {
      allow_origins  = var.cors_origins
      allow_methods  = ["GET", "POST", "PUT", "DELETE"]
      allow_headers  = ["Authorization", "Content-Type", "If-Match"]
      expose_headers = ["Location", "Retry-After", "X-Request-Id", "ETag"]
      max_age        = 600
    }
  }
}

resource "aws_apigatewayv2_stage" "default" {
  api_id      = aws_apigatewayv2_api.http.id
  name        = "$default"
  auto_deploy = true

  default_route_settings {
    throttling_burst_limit = var.throttle_burst
    throttling_rate_limit  = var.throttle_rate
  }

  # A bot flood on the grab route is cut at the gateway, before it reaches
  # the function and the table, and leaves the rest of the API alone.
  route_settings {
    route_key              = "POST /promotions/{promotionId}/coupons"
    throttling_burst_limit = var.grab_throttle_burst
    throttling_rate_limit  = var.grab_throttle_rate
  }

  depends_on = [aws_apigatewayv2_route.route]
}

resource "aws_apigatewayv2_integration" "function" {
  for_each               = local.http_functions
  api_id                 = aws_apigatewayv2_api.http.id
  integration_type       = "AWS_PROXY"
  integration_uri        = aws_lambda_function.function[each.key].invoke_arn
  payload_format_version = "2.0"
}

resource "aws_apigatewayv2_authorizer" "customer" {
  api_id           = aws_apigatewayv2_api.http.id
  name             = "CustomerJWT"
  authorizer_type  = "JWT"
  identity_sources = ["$request.header.Authorization"]
  jwt_configuration {
    issuer   = var.customer_issuer
    audience = [var.customer_audience]
  }
}

resource "aws_apigatewayv2_route" "route" {
  for_each           = local.routes
  api_id             = aws_apigatewayv2_api.http.id
  route_key          = each.key
  target             = "integrations/${aws_apigatewayv2_integration.function[each.value].id}"
  authorization_type = contains(local.customer_routes, each.key) ? "JWT" : "NONE"
  authorizer_id      = contains(local.customer_routes, each.key) ? aws_apigatewayv2_authorizer.customer.id : null
}

resource "aws_lambda_permission" "api" {
  for_each      = local.http_functions
  statement_id  = "AllowHttpApi"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.function[each.key].function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.http.execution_arn}/*/*"
}
