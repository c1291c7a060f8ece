# --- operating a sale: alarms, their topic, and a dashboard --------------------
#
# The custom metrics (namespace SecKill) come from the functions' own log
# lines in CloudWatch Embedded Metric Format; see shared/metrics.

resource "aws_sns_topic" "alarms" {
  name = "${var.name_prefix}-alarms"
}

resource "aws_sns_topic_subscription" "alarm_email" {
  count     = var.alarm_email == "" ? 0 : 1
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

locals {
  alarm_actions = [aws_sns_topic.alarms.arn]
}

# Records the read model never got: every message is a coupon a customer
# cannot see in their list.
resource "aws_cloudwatch_metric_alarm" "projector_failures" {
  alarm_name          = "${var.name_prefix}-projector-failures"
  alarm_description   = "Stream records the projector gave up on wait in the on-failure queue."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.projector_failures.name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
}

# The read model falls behind the sale.
resource "aws_cloudwatch_metric_alarm" "stream_iterator_age" {
  alarm_name          = "${var.name_prefix}-stream-iterator-age"
  alarm_description   = "The projector reads the sale table's stream this far behind."
  namespace           = "AWS/Lambda"
  metric_name         = "IteratorAge"
  dimensions          = { FunctionName = aws_lambda_function.function["projector"].function_name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.iterator_age_threshold_ms
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "function_errors" {
  for_each            = local.functions
  alarm_name          = "${var.name_prefix}-${each.key}-errors"
  alarm_description   = "The ${each.key} function failed invocations."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.function[each.key].function_name }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "function_throttles" {
  for_each            = local.functions
  alarm_name          = "${var.name_prefix}-${each.key}-throttles"
  alarm_description   = "Lambda throttled the ${each.key} function (its concurrency is exhausted)."
  namespace           = "AWS/Lambda"
  metric_name         = "Throttles"
  dimensions          = { FunctionName = aws_lambda_function.function[each.key].function_name }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "api_5xx" {
  alarm_name          = "${var.name_prefix}-api-5xx"
  alarm_description   = "The API answered 5xx (try-again when the store is slow or throttled, or a bug)."
  namespace           = "AWS/ApiGateway"
  metric_name         = "5xx"
  dimensions          = { ApiId = aws_apigatewayv2_api.http.id }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.api_5xx_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
}

# DynamoDB pushing back on the sale table: grants answer try-again.
resource "aws_cloudwatch_metric_alarm" "dynamodb" {
  for_each = {
    "write-throttles" = { metric = "WriteThrottleEvents", dimensions = { TableName = aws_dynamodb_table.sale.name } }
    "read-throttles"  = { metric = "ReadThrottleEvents", dimensions = { TableName = aws_dynamodb_table.sale.name } }
    "system-errors"   = { metric = "SystemErrors", dimensions = { TableName = aws_dynamodb_table.sale.name, Operation = "TransactWriteItems" } }
  }
  alarm_name          = "${var.name_prefix}-sale-${each.key}"
  alarm_description   = "DynamoDB ${each.value.metric} on the sale table."
  namespace           = "AWS/DynamoDB"
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
}

resource "aws_cloudwatch_dashboard" "sale" {
  dashboard_name = "${var.name_prefix}-sale"
  dashboard_body = templatefile("${path.module}/dashboard.json", {
    region    = var.region
    grab      = aws_lambda_function.function["grab"].function_name
    projector = aws_lambda_function.function["projector"].function_name
    api       = aws_apigatewayv2_api.http.id
  })
}
