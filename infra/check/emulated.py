"""Clients of an emulated AWS endpoint (a moto server) for make deploy-check."""

import boto3


def client(name, endpoint):
    return boto3.client(name, endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test")


def pages(c, op, key, **kw):
    for page in c.get_paginator(op).paginate(**kw):
        yield from page.get(key, [])
