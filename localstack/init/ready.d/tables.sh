#!/usr/bin/env bash
# LocalStack runs this when ready: the tables, keyed as shared/store defines
# them. Point the stack at LocalStack with
#   AWS_ENDPOINT_URL_DYNAMODB=http://localhost:4566 make run
# (make run also creates the tables itself; this hook serves other clients).
set -euo pipefail
awslocal dynamodb create-table --table-name seckill-sale --billing-mode PAY_PER_REQUEST \
  --attribute-definitions AttributeName=pk,AttributeType=S AttributeName=sk,AttributeType=S AttributeName=listPk,AttributeType=S AttributeName=id,AttributeType=S \
  --key-schema AttributeName=pk,KeyType=HASH AttributeName=sk,KeyType=RANGE \
  --global-secondary-indexes 'IndexName=promotions-by-id,KeySchema=[{AttributeName=listPk,KeyType=HASH},{AttributeName=id,KeyType=RANGE}],Projection={ProjectionType=ALL}' \
  --stream-specification StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES || true
awslocal dynamodb create-table --table-name seckill-coupons --billing-mode PAY_PER_REQUEST \
  --attribute-definitions AttributeName=pk,AttributeType=S AttributeName=sk,AttributeType=S \
  --key-schema AttributeName=pk,KeyType=HASH AttributeName=sk,KeyType=RANGE || true
awslocal dynamodb create-table --table-name seckill-checkpoints --billing-mode PAY_PER_REQUEST \
  --attribute-definitions AttributeName=pk,AttributeType=S \
  --key-schema AttributeName=pk,KeyType=HASH || true
