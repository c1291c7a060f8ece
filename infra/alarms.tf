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

# Every alarm of the sale, by the suffix of its name. What differs is said
# here; the rest (one-minute periods, above the threshold, silence is fine,
# notify the topic) is the same for all, in the one resource below.
locals {
  sale_table = { TableName = aws_dynamodb_table.sale.name }
  alarms = merge(
    {
      # Records the read model never got: every message is a coupon a
      # customer cannot see in their list.
      "projector-failures" = {
        description = "Stream records the projector gave up on wait in the on-failure queue."
        namespace   = "AWS/SQS", metric = "ApproximateNumberOfMessagesVisible", statistic = "Maximum"
        dimensions  = { QueueName = aws_sqs_queue.projector_failures.name }, threshold = 0, periods = 1
      }
      # The read model falls behind the sale.
      "stream-iterator-age" = {
        description = "The projector reads the sale table's stream this far behind."
        namespace   = "AWS/Lambda", metric = "IteratorAge", statistic = "Maximum"
        dimensions  = { FunctionName = aws_lambda_function.function["projector"].function_name }
        threshold   = var.iterator_age_threshold_ms, periods = 3
      }
      "api-5xx" = {
        description = "The API answered 5xx (try-again when the store is slow or throttled, or a bug)."
        namespace   = "AWS/ApiGateway", metric = "5xx", statistic = "Sum"
        dimensions  = { ApiId = aws_apigatewayv2_api.http.id }, threshold = var.api_5xx_threshold, periods = 1
      }
      # DynamoDB pushing back on the sale table: grants answer try-again.
      "sale-write-throttles" = {
        description = "DynamoDB WriteThrottleEvents on the sale table."
        namespace   = "AWS/DynamoDB", metric = "WriteThrottleEvents", statistic = "Sum"
        dimensions  = local.sale_table, threshold = 0, periods = 1
      }
      "sale-read-throttles" = {
        description = "DynamoDB ReadThrottleEvents on the sale table."
        namespace   = "AWS/DynamoDB", metric = "ReadThrottleEvents", statistic = "Sum"
        dimensions  = local.sale_table, threshold = 0, periods = 1
      }
      # What a sale costs, per answer, as DynamoDB reports it: a rise is
      # money (functions/local/bench/README.md has the expected figures).
      "grant-write-units" = {
        description = "Write units DynamoDB reported per grant rose (items over 1 KB, or more writes per grant)."
        namespace   = "SecKill", metric = "WriteUnits", statistic = "Average"
        dimensions  = { Function = "grab", Code = "ok" }, threshold = var.grant_write_units_threshold, periods = 3
      }
      "rejection-read-units" = {
        description = "Read units per sold-out answer rose: holders are read per answer instead of from memory."
        namespace   = "SecKill", metric = "ReadUnits", statistic = "Average"
        dimensions  = { Function = "grab", Code = "sold-out" }, threshold = var.rejection_read_units_threshold, periods = 3
      }
      "sale-system-errors" = {
        description = "DynamoDB SystemErrors on the sale table."
        namespace   = "AWS/DynamoDB", metric = "SystemErrors", statistic = "Sum"
        dimensions  = merge(local.sale_table, { Operation = "TransactWriteItems" }), threshold = 0, periods = 1
      }
    },
    { for fn in keys(local.functions) : "${fn}-errors" => {
      description = "The ${fn} function failed invocations."
      namespace   = "AWS/Lambda", metric = "Errors", statistic = "Sum"
      dimensions  = { FunctionName = aws_lambda_function.function[fn].function_name }, threshold = 0, periods = 1
    } },
    { for fn in keys(local.functions) : "${fn}-throttles" => {
      description = "Lambda throttled the ${fn} function (its concurrency is exhausted)."
      namespace   = "AWS/Lambda", metric = "Throttles", statistic = "Sum"
      dimensions  = { FunctionName = aws_lambda_function.function[fn].function_name }, threshold = 0, periods = 1
    } },
  )
}

resource "aws_cloudwatch_metric_alarm" "alarm" {
  for_each            = local.alarms
  alarm_name          = "${var.name_prefix}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  period              = 60
  evaluation_periods  = each.value.periods
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value.threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
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
