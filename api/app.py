"""The producer REST API (FastAPI): the seed's event JSON in, one business_events row out.

    POST /events        201 written | 200 the same event was already written (nothing written) |
                        409 another event has this uuid | 400 malformed JSON | 415 not JSON |
                        413 body over the limit | 422 invalid event (each bad field's JSON path) |
                        503 database unavailable (seed's body, Retry-After: 120)
    GET  /events/{id}   200 the row (flat columns + the event) | 404 | 503
    GET  /health        200 database reachable | 503 not (it never asks for a start)
    GET  /metrics       Prometheus text format
    GET  /docs          OpenAPI (Swagger UI); /openapi.json

A request is either committed and answered 2xx, or answered 4xx/5xx with nothing written: validation and
the size limit come before the database, and the write is one transaction (`api.store.EventStore.put`).
(If the connection drops after the commit but before the answer, the client sees an error although the
event is stored; sending it again answers 200 — that is what idempotency on the uuid is for.)

When the database cannot be reached the API asks for a start (`api.start_on_demand`: the database-autostart
flow locally, the auto-start function or StartDBCluster in the cloud) — at most once per cool-down however
many requests fail at once — and answers the seed's 503. Accepted requests on /events (answered below 500) are
counted: Prometheus counters at /metrics, and the durable activity record (`api.activity`) that the
auto-stop flow reads with `pipeline.activity.last_activity`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from pydantic import ValidationError

from api.activity import FileActivity
from api.models import Event, problems, validate_event
from api.settings import ApiSettings
from api.start_on_demand import FlowStarter, SingleFlight, aws_starter
from api.store import DatabaseUnavailable, EventRefused, EventStore
from pipeline.business_events import row_from_event
from pipeline.errors import PipelineError

log = logging.getLogger("cdc.api")

#: the seed's answer while the database is stopped or starting
UNAVAILABLE_BODY = {
    "error": "Service Temporarily Unavailable",
    "message": "The database is currently starting. Please retry your request in 1-2 minutes.",
    "status": 503,
    "retry_after": 120,
}

REASONS = {400: "Bad Request", 404: "Not Found", 409: "Conflict", 413: "Payload Too Large",
           415: "Unsupported Media Type", 422: "Unprocessable Entity", 500: "Internal Server Error"}


class ApiError(Exception):
    def __init__(self, status: int, message: str, **extra: Any):
        self.status, self.message, self.extra = status, message, extra
        super().__init__(message)


def error_body(status: int, message: str, **extra: Any) -> dict:
    return {"error": REASONS.get(status, "Error"), "message": message, "status": status, **extra}


async def read_limited(request: Request, limit: int) -> bytes:
    """The request body, refused (413) as soon as it is known to exceed `limit` bytes — declared or streamed."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"the body is {int(declared)} bytes, over the limit of {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"the body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def parse_json(body: bytes) -> Any:
    """JSON as RFC 8259 has it (no NaN/Infinity: PostgreSQL's JSONB refuses them); 400 with the position."""
    if not body.strip():
        raise ApiError(400, "the body is empty; send the event as JSON")
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_reject_constant)  # RFC 8259: UTF-8 only
    except UnicodeDecodeError:
        raise ApiError(400, "malformed JSON: the body is not UTF-8") from None
    except json.JSONDecodeError as err:
        raise ApiError(400, f"malformed JSON: {err.msg} at line {err.lineno} column {err.colno}") from None
    except ValueError as err:
        raise ApiError(400, f"malformed JSON: {err}") from None


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def default_starter(settings: ApiSettings) -> Callable[[], str] | None:
    """How this API asks for a database start, from its settings (None: it does not ask)."""
    if settings.start_with == "flow":
        from stack.settings import state_dir

        return FlowStarter(settings.environment, settings.start_state or state_dir() / "api")
    if settings.start_with in ("function", "rds") and settings.aws is not None:
        return aws_starter(settings.aws, settings.start_with)
    return None


class Metrics:
    """Prometheus counters in a registry of this app's own (several apps in one process do not clash)."""

    def __init__(self):
        self.registry = CollectorRegistry()
        self.requests = Counter("cdc_api_requests", "API requests answered, by route and status",
                                ["method", "route", "status"], registry=self.registry)
        self.seconds = Histogram("cdc_api_request_seconds", "API request time, by route", ["method", "route"],
                                 registry=self.registry,
                                 buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))
        self.events = Counter("cdc_api_events", "POST /events outcomes", ["outcome"], registry=self.registry)
        self.start_requests = Counter("cdc_api_database_start_requests",
                                      "requests that found the database unreachable, by what the start ask did "
                                      "(asked | coalesced | failed)", ["outcome"], registry=self.registry)


def create_app(settings: ApiSettings, *, store: EventStore | None = None,
               request_start: Callable[[], Awaitable[None] | None] | None = None,
               activity: FileActivity | None = None) -> FastAPI:
    """The API over `settings` (its store, limits and activity file unless given).

    `request_start` is called when the database cannot be reached (default: the settings' way of asking, see
    `api.start_on_demand`), behind a `SingleFlight` so that concurrent failing requests make one ask.
    """
    store = store or EventStore(settings.database, min_size=settings.pool_min, max_size=settings.pool_max,
                                timeout=settings.pool_timeout)
    if activity is None and settings.activity_file is not None:
        activity = FileActivity(settings.activity_file)
    metrics = Metrics()
    if request_start is None:
        request_start = default_starter(settings)
    starter = SingleFlight(request_start, cooldown=settings.start_cooldown) if request_start is not None else None

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        import asyncio

        await store.open()
        flusher = None
        if activity is not None:
            async def flush_periodically():
                while True:
                    await asyncio.sleep(activity.flush_every)  # a timer, not a wait for a condition
                    try:
                        await run_in_threadpool(activity.flush)
                    except OSError as err:
                        log.warning("activity file %s not written: %s", activity.path, err)
            flusher = asyncio.create_task(flush_periodically())
        try:
            yield
        finally:
            if flusher is not None:
                flusher.cancel()
            if activity is not None:
                await run_in_threadpool(activity.flush)
            await store.close()

    app = FastAPI(title="CDC producer API", version="1.0",
                  description="Accepts the seed's business events and writes each as one business_events row.",
                  lifespan=lifespan, docs_url="/docs", redoc_url=None)
    app.state.store, app.state.metrics, app.state.activity, app.state.settings = store, metrics, activity, settings
    app.state.starter = starter

    # -- errors ----------------------------------------------------------------------------------------------
    @app.exception_handler(ApiError)
    async def api_error(request: Request, err: ApiError):
        return JSONResponse(error_body(err.status, err.message, **err.extra), status_code=err.status)

    @app.exception_handler(DatabaseUnavailable)
    async def unavailable(request: Request, err: DatabaseUnavailable):
        log.warning("database unavailable: %s", err.message)
        if starter is not None:
            try:
                result = await run_in_threadpool(starter)
                if hasattr(result, "__await__"):
                    result = await result
                metrics.start_requests.labels("coalesced" if result == "already asked" else "asked").inc()
            except Exception as start_err:  # the 503 is the answer either way; say why no start was asked
                metrics.start_requests.labels("failed").inc()
                text = start_err.one_line() if isinstance(start_err, PipelineError) else str(start_err)
                log.warning("asking for a database start failed: %s", " ".join(text.split())[:300])
        return JSONResponse(UNAVAILABLE_BODY, status_code=503, headers={"Retry-After": str(settings.retry_after)})

    @app.exception_handler(EventRefused)
    async def refused(request: Request, err: EventRefused):
        return JSONResponse(error_body(422, err.message), status_code=422)

    @app.exception_handler(PipelineError)
    async def pipeline_error(request: Request, err: PipelineError):
        log.error("request failed: %s", err.one_line())
        return JSONResponse(error_body(500, err.one_line()), status_code=500)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, err: Exception):
        log.error("request failed: %s: %s", type(err).__name__, " ".join(str(err).split())[:300])
        return JSONResponse(error_body(500, "internal error"), status_code=500)

    # -- counting ----------------------------------------------------------------------------------------------
    @app.middleware("http")
    async def count(request: Request, call_next):
        t0 = time.perf_counter()
        response = await call_next(request)
        route = getattr(request.scope.get("route"), "path", None) or "unmatched"
        metrics.requests.labels(request.method, route, str(response.status_code)).inc()
        metrics.seconds.labels(request.method, route).observe(time.perf_counter() - t0)
        if route.startswith("/events") and response.status_code < 500 and activity is not None:
            activity.record()
        return response

    # -- routes --------------------------------------------------------------------------------------------------
    @app.post("/events", status_code=201, summary="Write one business event (idempotent on eventHeader.uuid)",
              responses={200: {"description": "the same event was already written; nothing written"},
                         400: {"description": "malformed JSON"}, 409: {"description": "another event has this uuid"},
                         413: {"description": "body over the limit"}, 415: {"description": "not JSON"},
                         422: {"description": "invalid event: each bad field's JSON path"},
                         503: {"description": "database unavailable; Retry-After: 120"}},
              openapi_extra={"requestBody": {"required": True, "content": {
                  "application/json": {"schema": {"$ref": "#/components/schemas/Event"}}}}})
    async def post_event(request: Request):
        if not _is_json(request.headers.get("content-type", "")):
            raise ApiError(415, "send the event as JSON (Content-Type: application/json)")
        body = await read_limited(request, settings.max_body_bytes)
        data = parse_json(body)
        try:
            validate_event(body)
        except ValidationError as err:
            found = problems(err)
            raise ApiError(422, f"invalid event: {len(found)} problem(s): " +
                           "; ".join(f"{p['path']}: {p['message']}" for p in found[:5]), problems=found) from None
        row = row_from_event(data)
        outcome = await store.put(row)
        metrics.events.labels(outcome).inc()
        location = {"Location": f"/events/{row['id']}"}
        if outcome == "created":
            return JSONResponse({"id": row["id"], "status": "created"}, status_code=201, headers=location)
        if outcome == "same":
            return JSONResponse({"id": row["id"], "status": "already exists"}, status_code=200, headers=location)
        raise ApiError(409, f"event {row['id']} already exists with a different body; "
                            f"send a new eventHeader.uuid for a new event", id=row["id"])

    @app.get("/events/{event_id:path}", summary="One stored event")
    async def get_event(event_id: str):
        row = await store.get(event_id)
        if row is None:
            raise ApiError(404, f"no event with id {event_id}")
        return {"id": row["id"], "eventName": row["event_name"], "eventType": row["event_type"],
                "createdDate": row["created_date"].isoformat() if row["created_date"] else None,
                "savedDate": row["saved_date"].isoformat() if row["saved_date"] else None,
                "event": row["event_data"]}

    @app.get("/health", summary="The API and whether its database is reachable")
    async def health():
        try:
            await store.ping()
        except DatabaseUnavailable as err:  # reported, never a start request: a monitor must not keep it up
            return JSONResponse({"status": "degraded", "database": "unreachable", "detail": err.message},
                                status_code=503)
        return {"status": "ok", "database": "reachable"}

    @app.get("/metrics", summary="Prometheus metrics", include_in_schema=True)
    async def prometheus():
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            event = Event.model_json_schema(ref_template="#/components/schemas/{model}")
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(event.pop("$defs", {}))
            components["Event"] = event
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi
    return app
