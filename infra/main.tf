# SecKill on Terraform. Minimal for now: the tables, keyed exactly as
# shared/store.Definitions defines them. Functions, the HTTP API and the
# stream mapping come with the deploy issue.
terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = "~> 5.0" }
  }
}

variable "region" {
  type    = string
  default = "us-east-1"
}

variable "name_prefix" {
  type    = string
  default = "seckill"
}

provider "aws" {
  region = var.region
}

resource "aws_dynamodb_table" "sale" {
  name             = "${var.name_prefix}-sale"
  billing_mode     = "PAY_PER_REQUEST"
  hash_key         = "pk"
  stream_enabled   = true
  stream_view_type = "NEW_AND_OLD_IMAGES"

  attribute {
    name = "pk"
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
}

output "sale_table" { value = aws_dynamodb_table.sale.name }
output "coupons_table" { value = aws_dynamodb_table.coupons.name }
