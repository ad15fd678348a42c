"""The producer API on AWS Lambda behind API Gateway (REST v1 or HTTP API v2 events), through Mangum.

The app and its connection pool are built once per Lambda instance (module import) and reused by every
invocation it serves; lifespan is off because Mangum would run it around each invocation — the pool opens
on first use instead. Activity in the cloud is API Gateway's CloudWatch `Count`, so no activity file.
"""

from __future__ import annotations

from mangum import Mangum

from api.app import create_app
from api.settings import load_api_settings

_handler: Mangum | None = None


def build_handler(settings=None, **app_kwargs) -> Mangum:
    return Mangum(create_app(settings or load_api_settings(), **app_kwargs), lifespan="off")


def handler(event: dict, context) -> dict:
    global _handler
    if _handler is None:
        _handler = build_handler()
    return _handler(event, context)
