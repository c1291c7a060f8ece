output "api_url" {
  description = "Base URL of the API."
  value       = aws_apigatewayv2_api.http.api_endpoint
}

output "sale_table" { value = aws_dynamodb_table.sale.name }
output "coupons_table" { value = aws_dynamodb_table.coupons.name }
output "checkpoints_table" { value = aws_dynamodb_table.checkpoints.name }
output "projector_failures_queue" { value = aws_sqs_queue.projector_failures.url }
output "alarms_topic" { value = aws_sns_topic.alarms.arn }
output "dashboard" { value = aws_cloudwatch_dashboard.sale.dashboard_name }
