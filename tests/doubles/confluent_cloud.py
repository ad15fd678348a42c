"""A stateful in-process Confluent Cloud control plane: managed Connect, Flink statements, Schema Registry.

One real HTTP server (`ThreadingHTTPServer` in a thread on 127.0.0.1, one port) serves the documented paths
of the three APIs (../shared/reference/confluent-cloud-api.md §1, §3, §5):

- managed Connect v1 under `/connect/v1/environments/{env}/clusters/{lkc}`: validate, config read (404 for
  an unknown connector; secrets masked as `****************`, server-added keys as in the OAS example),
  config create-or-update by `PUT` (200), status (RUNNING with one RUNNING task), asynchronous pause/resume
  (202, the new state shows a read later), delete, offsets, list; create by `POST /connectors` with
  `offsets` (201; the new connector starts where those offsets say: a later `GET …/offsets` answers them);
- Flink statements under `/sql/v1/organizations/{org}/environments/{env}/statements`: create (201 PENDING;
  the next read shows RUNNING, or COMPLETED for DDL — CREATE, ALTER — and dry runs), read, list in pages (`metadata.next`
  carries the `page_token`), stop/resume by `PUT` of the full object with the current
  `metadata.resource_version` (202; a stale version is a 409), delete (202, gone at once), exceptions;
  carry-over (`spec.properties["sql.tables.initial-offset-from"]`): the named statement must be STOPPED
  when the new one is created (asserted: anything else is a violation, and the new statement stays
  PENDING as Terraform's mock shows it waiting);
- Schema Registry at the root: `GET /subjects/{s}/versions/latest` (404 40401 for a new subject),
  `POST /compatibility/subjects/{s}/versions/latest`, `POST /subjects/{s}/versions`.

Response bodies are the sourced fixtures of tests/contract/fixtures (each names its upstream file or spec
operation; see that folder's README), with names, ids and states filled in.

It is a control plane only: a "RUNNING" connector or statement here moves no data.

Faults for failure tests: `fail_next(method, path pattern, *replies)` (inherited) answers the next matching
requests with the given replies instead of the route (nothing changes state; the call is recorded with
`injected` and the path's names), `fail_when` does so only for requests a predicate picks (e.g. the PUT that
resumes a statement, not the one that stops it); `FlinkStatements.fail_on_create`
makes the next statement created under a name prefix go FAILED (with a `status.detail` and an exception).
`mutations()` lists the calls that tried to change state (everything but reads and config validation).

Every request is recorded as a `Recorded` (api, operation, method, path, status and a redacted body
summary: no secret value ever enters the log). Every request's HTTP Basic auth is checked against the key
and secret of ITS API (Cloud API key for Connect, Flink API key, Schema Registry key): a wrong one is
answered 401 with the API's documented body and listed in `rejected` (which names the key, never the
secret). Request shapes are asserted as in the contract doubles: a wrong request is a `violations` entry
(and an error answer); a test asserts `violations == []`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from tests.contract.doubles import Call, Double, Reply, fixture, from_fixture, serve_http

MASK = "****************"
#: config keys Confluent returns masked (the OAS read-config example masks kafka.api.key/secret; passwords too)
MASKED_KEYS = ("kafka.api.key", "kafka.api.secret", "database.password")
#: keys the server adds to a returned config, with the OAS read-config example's values
SERVER_ADDED = {k: v for k, v in fixture("connect/read_config").items()
                if k in ("cloud.environment", "cloud.provider", "kafka.endpoint", "kafka.region")}
REQUIRED_KEYS = ("connector.class", "name", "kafka.api.key", "kafka.api.secret")
TOPIC_REGEX_ROUTER = "io.confluent.connect.cloud.transforms.TopicRegexRouter"
OSS_REGEX_ROUTER = "org.apache.kafka.connect.transforms.RegexRouter"
REGISTRY_CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SECRET_KEY = re.compile(r"(password|secret|api\.key|credentials|token)", re.I)

Handler = Callable[..., tuple[Reply, dict]]


@dataclass(frozen=True)
class Recorded:
    """One request as the double saw it; `summary` is redacted (no secret value, ever)."""

    api: str  # connect | flink | registry
    op: str  # e.g. validate, read-config, put-config, status, create, read, list, update, delete, register
    method: str
    path: str
    status: int
    summary: dict = field(default_factory=dict)
    at: float = 0.0
    #: what the cloud's `mark` callable returned at the time (e.g. how many AWS calls moto had seen)
    mark: Any = None

    def __str__(self) -> str:
        target = self.summary.get("name") or self.summary.get("subject") or ""
        return f"{self.api} {self.op}" + (f" {target}" if target else "")

    @property
    def mutating(self) -> bool:
        """Was this an attempt to change state? Everything but reads and config validation is."""
        return self.method != "GET" and self.op != "validate"


class _Api(Double):
    """One API of the cloud: its own base path, key and routes; shares the cloud's log and redaction."""

    NAME = ""
    UNAUTHORIZED = ""  # fixture of the API's documented 401 body

    def __init__(self, cloud: ConfluentCloudDouble, base_path: str, key: str, secret: str, host: str):
        super().__init__(base_path, key, secret, host)
        self.cloud = cloud
        self.key = key
        self.ops: list[tuple[str, re.Pattern, str, Handler]] = []
        #: requests refused for their credentials: "<METHOD> <path>: <why>" (names the key, never the secret)
        self.rejected: list[str] = []
        #: like `faults`, but only for requests `when(call)` says yes to: (method, path pattern, when, reply)
        self.conditional_faults: list[tuple[str, re.Pattern, Callable[[Call], bool], Reply]] = []

    def op(self, method: str, pattern: str, name: str):
        def register(handler: Handler) -> Handler:
            self.ops.append((method, re.compile(f"^{pattern}$"), name, handler))
            return handler

        return register

    def fail_when(self, method: str, pattern: str, when: Callable[[Call], bool], *replies: Reply) -> None:
        """Answer the next matching requests for which `when(call)` is true with `replies` (in order)."""
        for reply in replies:
            self.conditional_faults.append((method, re.compile(f"^{pattern}$"), when, reply))

    def _handle(self, call: Call) -> Reply:
        self.calls.append(call)
        op, reply, summary = self._dispatch(call)
        self.cloud._record(self.NAME, op, call, reply, summary)
        return reply

    def _dispatch(self, call: Call) -> tuple[str, Reply, dict]:
        if call.headers.get("authorization") != self.auth:
            self.rejected.append(f"{call.method} {call.path}: {self._auth_problem(call)}")
            return "unauthorized", from_fixture(self.UNAUTHORIZED), {}
        if not (call.path == self.base_path or call.path.startswith(self.base_path + "/")):
            self.violations.append(f"{call.method} {call.path}: not under {self.base_path}")
            return "unknown", Reply(404, {"error_code": 404, "message": "no such path"}), {}
        if call.body and "json" not in call.headers.get("content-type", ""):
            self.violations.append(f"{call.method} {call.path}: body sent as {call.headers.get('content-type')!r}")
        path = call.path[len(self.base_path):] or "/"
        for method, rx, name, handler in self.ops:
            match = rx.match(path)
            if method == call.method and match:
                groups = {k: unquote(v) for k, v in match.groupdict().items()}
                for i, (f_method, f_rx, reply) in enumerate(self.faults):
                    if f_method == call.method and f_rx.match(path):
                        del self.faults[i]
                        return name, reply, {"injected": reply.status, **groups}
                for i, (f_method, f_rx, when, reply) in enumerate(self.conditional_faults):
                    if f_method == call.method and f_rx.match(path) and when(call):
                        del self.conditional_faults[i]
                        return name, reply, {"injected": reply.status, **groups}
                reply, summary = handler(call, **groups)
                return name, reply, summary
        self.violations.append(f"{call.method} {path}: no such operation in the documented API")
        return "unknown", Reply(404, {"error_code": 404, "message": "no route"}), {}

    def _auth_problem(self, call: Call) -> str:
        header = call.headers.get("authorization") or ""
        if not header.startswith("Basic "):
            return "no HTTP Basic auth"
        try:
            key, _, _secret = base64.b64decode(header[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return "malformed HTTP Basic auth"
        if key != self.key:
            return f"{self.NAME} expects key {self.key}, got key {key}"
        return f"wrong secret for key {key}"

    def json_body(self, call: Call, what: str) -> Any:
        try:
            return call.json()
        except ValueError:
            self.violations.append(f"{what}: body is not JSON")
            return None


# --- managed Connect ------------------------------------------------------------------------------------

class ManagedConnect(_Api):
    NAME = "connect"
    UNAUTHORIZED = "errors/connect_401"

    def __init__(self, cloud: ConfluentCloudDouble, environment_id: str, cluster_id: str, key: str, secret: str,
                 expected: dict[str, str] | None = None):
        super().__init__(cloud, f"/connect/v1/environments/{environment_id}/clusters/{cluster_id}", key, secret,
                         "api.confluent.cloud")
        #: name -> {"config": dict, "state": str, "shown": [states the next status reads show first],
        #:          "offsets": [{"partition", "offset"}] where the connector reads (absent: the OAS example's)}
        self.connectors: dict[str, dict] = {}
        #: key -> the exact value every config sent must carry (secrets included: compared, never logged)
        self.expected = dict(expected or {})

        @self.op("GET", "/connectors", "list")
        def listing(call):
            return Reply(200, sorted(self.connectors)), {}

        @self.op("PUT", "/connector-plugins/(?P<plugin>[^/]+)/config/validate", "validate")
        def validate(call, plugin):
            body = self.json_body(call, "validate") or {}
            problems = self.check_config(body, body.get("name"), "validate")
            self.expect(body.get("connector.class") == plugin,
                        f"validate: plugin {plugin} vs {body.get('connector.class')}")
            # TF mock {name, groups, error_count, configs[...]}; `configs` rebuilt: one entry per submitted key,
            # in the shape of the mock's first entry, secrets masked
            reply = fixture("connect/validate_ok")
            template = reply["configs"][0]
            configs = []
            for key, value in body.items():
                entry = json.loads(json.dumps(template))
                entry["definition"].update(name=key, display_name=key, required=key in REQUIRED_KEYS)
                shown = MASK if key in MASKED_KEYS or _SECRET_KEY.search(key) else value
                entry["value"].update(name=key, value=shown, errors=[])
                configs.append(entry)
            reply.update(name=plugin, error_count=0, configs=configs)
            return Reply(200, reply), self.config_summary(body, problems)

        @self.op("GET", "/connectors/(?P<name>[^/]+)/config", "read-config")
        def read_config(call, name):
            if name not in self.connectors:
                return from_fixture("connect/not_found"), {"name": name}
            return Reply(200, self.returned_config(name)), {"name": name}

        @self.op("PUT", "/connectors/(?P<name>[^/]+)/config", "put-config")
        def put_config(call, name):
            body = self.json_body(call, "PUT config") or {}
            problems = self.check_config(body, name, "PUT config")
            created = name not in self.connectors
            entry = self.connectors.setdefault(name, {"state": "RUNNING", "shown": []})
            entry["config"] = dict(body)
            reply = fixture("connect/put_config")  # OAS: {name, config, tasks, type}
            reply.update(name=name, config=self.returned_config(name), tasks=[{"connector": name, "task": 0}],
                         type="source")
            return Reply(200, reply), {"name": name, "created": created, **self.config_summary(body, problems)}

        @self.op("GET", "/connectors/(?P<name>[^/]+)/status", "status")
        def status(call, name):
            if name not in self.connectors:
                return from_fixture("connect/not_found"), {"name": name}
            entry = self.connectors[name]
            state = entry["shown"].pop(0) if entry["shown"] else entry["state"]
            return Reply(200, self.status_body(name, state)), {"name": name, "state": state}

        @self.op("PUT", "/connectors/(?P<name>[^/]+)/(?P<action>pause|resume)", "pause-or-resume")
        def pause_resume(call, name, action):
            self.expect(not call.body, f"{action} must have no body")
            if name not in self.connectors:
                return Reply(404, {"error": {"code": 404, "message": "resource not found"}}), {"name": name}
            entry = self.connectors[name]
            # asynchronous (202): the next status read still shows the old state
            entry["shown"] = [entry["state"]]
            entry["state"] = "PAUSED" if action == "pause" else "RUNNING"
            return Reply(202), {"name": name, "action": action}

        @self.op("DELETE", "/connectors/(?P<name>[^/]+)", "delete")
        def delete(call, name):
            if self.connectors.pop(name, None) is None:
                return from_fixture("connect/not_found"), {"name": name}
            return from_fixture("connect/delete"), {"name": name}

        @self.op("GET", "/connectors/(?P<name>[^/]+)/offsets", "offsets")
        def offsets(call, name):
            if name not in self.connectors:
                return Reply(404, {"error": {"code": 404, "message": "resource not found"}}), {"name": name}
            body = fixture("connect/offsets_source")  # OAS getConnectv1ConnectorOffsets example
            body["name"] = name
            if "offsets" in self.connectors[name]:  # created from offsets (or set by a test): where it reads
                body["offsets"] = json.loads(json.dumps(self.connectors[name]["offsets"]))
            return Reply(200, body), {"name": name, "offsets": body["offsets"]}

        @self.op("POST", "/connectors", "create")
        def create(call):
            # OAS createConnectv1Connector: body {name, config, offsets?} (request example
            # connect/create_request_source), answer 201 {name, config, tasks, type, offsets}
            body = self.json_body(call, "POST connectors") or {}
            name, config = body.get("name"), body.get("config")
            self.expect(isinstance(body, dict) and {"name", "config"} <= set(body) <= {"name", "config", "offsets"},
                        f"POST connectors: body keys {sorted(body) if isinstance(body, dict) else body!r}")
            problems = self.check_config(config, name, "POST connectors")
            offsets = body.get("offsets")
            if offsets is not None:
                self.expect(isinstance(offsets, list) and all(
                    isinstance(o, dict) and set(o) == {"partition", "offset"} and isinstance(o["partition"], dict)
                    and isinstance(o["offset"], dict) for o in offsets),
                    "POST connectors: offsets must be [{\"partition\": {...}, \"offset\": {...}}]")
            summary = {"name": name, "created": name not in self.connectors, "offsets": offsets,
                       **self.config_summary(config if isinstance(config, dict) else {}, problems)}
            if name in self.connectors:
                # constructed: a 409 on a duplicate name is not in the spec (reference §1, unverified); the
                # body is the spec's {"error_code", "message"} error shape
                return Reply(409, {"error_code": 409, "message": f"Connector {name} already exists"}), summary
            # the TF wait (reference §1): PROVISIONING first, then RUNNING
            entry = {"config": dict(config or {}), "state": "RUNNING", "shown": ["PROVISIONING"]}
            if offsets is not None:
                entry["offsets"] = json.loads(json.dumps(offsets))
            self.connectors[name] = entry
            reply = fixture("connect/create_with_offsets")  # OAS createConnectv1Connector 201 example
            reply.update(name=name, config=self.returned_config(name), tasks=[{"connector": name, "task": 0}],
                         type="source", offsets=offsets or [])
            return Reply(201, reply), summary

    def check_config(self, config: Any, name: str | None, what: str) -> list[str]:
        """Shape and managed-connector rules (violations), then the expected values (returned, by key name)."""
        if not isinstance(config, dict):
            self.violations.append(f"{what}: the config must be a flat JSON object")
            return []
        self.expect("config" not in config, f"{what}: the config must be the flat map, not wrapped")
        self.expect(all(isinstance(v, str) for v in config.values()), f"{what}: every value must be a string")
        for key in REQUIRED_KEYS:
            self.expect(key in config, f"{what}: required key {key} missing")
        self.expect(config.get("name") == name, f"{what}: config name {config.get('name')!r} != {name!r}")
        aliases = [a.strip() for a in str(config.get("transforms", "")).split(",") if a.strip()]
        types = {config.get(f"transforms.{a}.type") for a in aliases}
        self.expect("unwrap" not in aliases, f"{what}: the transform alias 'unwrap' is reserved on managed connectors")
        self.expect(OSS_REGEX_ROUTER not in types, f"{what}: RegexRouter is not available on managed connectors")
        wrong = [key for key, value in self.expected.items() if config.get(key) != value]
        for key in wrong:  # the key only: the value may be a secret
            self.violations.append(f"{what}: {key} is not the expected value")
        return wrong

    def config_summary(self, config: dict, wrong: list[str]) -> dict:
        redacted = {k: (MASK if k in MASKED_KEYS or _SECRET_KEY.search(k) else v) for k, v in config.items()}
        checked = {k: ("WRONG" if k in wrong else "as expected") for k in self.expected}
        return {"name": config.get("name"), "config": redacted, "checked": checked}

    def returned_config(self, name: str) -> dict[str, str]:
        stored = self.connectors[name]["config"]
        return {**SERVER_ADDED, **{k: (MASK if k in MASKED_KEYS else v) for k, v in stored.items()}}

    def status_body(self, name: str, state: str) -> dict:
        body = fixture("connect/status_running")  # TF mock
        body["name"] = name
        body["type"] = "source"
        body["connector"]["state"] = state
        body["tasks"] = [{**body["tasks"][0], "id": 0, "state": "RUNNING" if state == "RUNNING" else state}]
        return body


# --- Flink statements -----------------------------------------------------------------------------------

class FlinkStatements(_Api):
    NAME = "flink"
    UNAUTHORIZED = "errors/flink_401"

    def __init__(self, cloud: ConfluentCloudDouble, organization_id: str, environment_id: str, key: str,
                 secret: str, *, catalog: str, database: str, compute_pool_id: str | None, page_size: int = 2):
        super().__init__(cloud, f"/sql/v1/organizations/{organization_id}/environments/{environment_id}", key,
                         secret, "flink.us-east-1.aws.confluent.cloud")
        self.organization_id, self.environment_id = organization_id, environment_id
        self.catalog, self.database, self.compute_pool_id = catalog, database, compute_pool_id
        self.statements: dict[str, dict] = {}
        self.script: dict[str, list[str]] = {}  # name -> phases the next reads show, one per read
        self.exceptions: dict[str, list[dict]] = {}
        #: the most statements one list page holds, whatever page_size asks (so paging is exercised)
        self.page_size = page_size
        #: the next PUTs find the statement changed since the client's GET (a 409, then a re-read)
        self.stale_puts = 0
        #: name prefix -> detail: the next statement created under that prefix reads PENDING, then FAILED
        self.failing: dict[str, str] = {}
        #: name -> status.detail shown once the statement reads FAILED
        self.fail_details: dict[str, str] = {}

        @self.op("POST", "/statements", "create")
        def create(call):
            body = self.json_body(call, "create") or {}
            name, spec = body.get("name"), body.get("spec") or {}
            self.expect(set(body) <= {"name", "organization_id", "environment_id", "spec"},
                        f"create keys {sorted(body)}")
            self.expect(body.get("organization_id", organization_id) == organization_id
                        and body.get("environment_id", environment_id) == environment_id, "ids in the create body")
            self.expect(isinstance(name, str) and bool(_NAME.match(name)) and len(name) <= 72,
                        f"statement name {name!r}: [a-z0-9-], at most 72 characters")
            self.expect(isinstance(spec.get("statement"), str) and bool(spec["statement"]), "spec.statement missing")
            props = spec.get("properties") or {}
            self.expect(all(isinstance(v, str) for v in props.values()), "properties must be strings")
            for prop, want in (("sql.current-catalog", catalog), ("sql.current-database", database)):
                self.expect(props.get(prop) == want, f"{prop} {props.get(prop)!r}, expected {want!r}")
            if compute_pool_id:
                self.expect(spec.get("compute_pool_id") == compute_pool_id,
                            f"compute pool {spec.get('compute_pool_id')!r}")
            self.expect(spec.get("stopped") is False, "spec.stopped must be false on create")
            summary = self.statement_summary(name, spec)
            if name in self.statements:
                return from_fixture("errors/flink_409", Location=self.url_of(name)), summary
            carry = "sql.tables.initial-offset-from" in props
            waits_for = None
            if carry:
                # reference §3 "Carry-over offsets": the new statement takes the named one's offsets once that
                # one is stopped; the migration stops it first, so anything else here is a client bug
                source = props["sql.tables.initial-offset-from"]
                old = self.statements.get(source)
                phase = old["status"]["phase"] if old else "missing"
                summary["carry_over_from"] = {"name": source, "phase": phase}
                stopped = old is not None and phase == "STOPPED" and old["spec"].get("stopped") is True
                if not self.expect(stopped, f"create {name}: sql.tables.initial-offset-from names {source}, which "
                                            f"is {phase}, not a STOPPED statement"):
                    waits_for = source
            stmt = fixture("flink/initial_offset_create_flink_statement" if carry else "flink/create_flink_statement")
            stmt.update(name=name, organization_id=organization_id, environment_id=environment_id)
            stmt["metadata"].update(self=self.url_of(name), resource_version="1")
            stmt["spec"] = {**stmt["spec"], **spec, "principal": spec.get("principal") or "sa-abc123"}
            stmt["status"] = {"phase": "PENDING", "detail": ""}
            self.statements[name] = stmt
            text = spec["statement"].lstrip().upper()
            done = text.startswith(("CREATE", "ALTER")) or props.get("sql.dry-run") == "true"  # DDL completes
            self.script[name] = ["COMPLETED" if done else "RUNNING"]
            failing = next((p for p in self.failing if name.startswith(p) and not done), None)
            if waits_for:
                # TF mock initial_offset_read_pending_flink_statement: PENDING until the named one stops
                pending = fixture("flink/initial_offset_read_pending_flink_statement")["status"]["detail"]
                old_name = pending.split("referenced statement ", 1)[1].split(" ", 1)[0]
                stmt["status"]["detail"] = pending.replace(old_name, waits_for)
                self.script[name] = []
            elif failing is not None:
                self.fail_details[name] = self.failing.pop(failing)
                self.script[name] = ["PENDING", "FAILED"]
                summary["will_fail"] = True
            return Reply(201, stmt, {"Location": self.url_of(name)}), summary

        @self.op("GET", "/statements", "list")
        def listing(call):
            size = int(call.query.get("page_size", ["10"])[0])  # spec: default 10, at most 100
            self.expect(1 <= size <= 100, f"page_size {size} not in 1..100")
            token = call.query.get("page_token", [None])[0]
            start = int(token.removeprefix("tok")) if token else 0
            names = sorted(self.statements)
            page = names[start:start + min(size, self.page_size)]
            body = fixture("flink/list_page")
            body["metadata"]["self"] = f"{self.public_base()}/statements"
            body["data"] = [self.statements[n] for n in page]
            more = start + len(page) < len(names)
            body["metadata"]["next"] = (f"{self.public_base()}/statements?page_size={size}&page_token=tok"
                                        f"{start + len(page)}") if more else ""
            return Reply(200, body), {"page_token": token, "names": page}

        @self.op("GET", "/statements/(?P<name>[^/]+)", "read")
        def read(call, name):
            if name not in self.statements:
                return self.not_found(name), {"name": name}
            script = self.script.get(name) or []
            if script:
                self.statements[name]["status"] = {**self.statements[name]["status"], "phase": script.pop(0)}
            phase = self.statements[name]["status"]["phase"]
            if phase == "FAILED" and name in self.fail_details:
                detail = self.fail_details.pop(name)
                self.statements[name]["status"]["detail"] = detail
                # spec schema StatementException (fixture flink/exceptions)
                self.exceptions.setdefault(name, []).append({
                    "kind": "StatementException", "name": "org.apache.flink.table.api.TableException",
                    "message": detail, "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
            return Reply(200, self.statements[name]), {"name": name, "phase": phase}

        @self.op("PUT", "/statements/(?P<name>[^/]+)", "update")
        def update(call, name):
            body = self.json_body(call, "PUT statement") or {}
            if name not in self.statements:
                return self.not_found(name), {"name": name}
            stored, spec = self.statements[name], body.get("spec") or {}
            sent = (body.get("metadata") or {}).get("resource_version")
            summary = {"name": name, "stopped": spec.get("stopped"), "resource_version": sent}
            self.expect(body.get("name") == name, "PUT body name")
            self.expect(isinstance(spec.get("stopped"), bool), "PUT spec.stopped must be a bool")
            self.expect(sent is not None, "PUT without metadata.resource_version")
            self.expect(spec.get("statement") == stored["spec"]["statement"], "PUT changed the SQL (immutable)")
            self.expect(spec.get("properties") == stored["spec"]["properties"], "PUT changed the properties")
            if self.stale_puts:
                self.stale_puts -= 1
                self.bump(name)  # someone else changed it since the client's GET
            if sent != stored["metadata"]["resource_version"]:
                # constructed: the spec documents the 409 on PUT without a body example; the Failure shape is
                # the one of its other errors (reference §3 "Errors")
                return Reply(409, {"errors": [{"status": "409", "code": "conflict", "title": "Conflict",
                                               "detail": f"resource version {sent} is stale"}]}), summary
            stopped = bool(spec.get("stopped"))
            stored["spec"]["stopped"] = stopped
            self.bump(name)
            self.script[name] = ["STOPPED"] if stopped else ["RUNNING"]
            return Reply(202), summary

        @self.op("DELETE", "/statements/(?P<name>[^/]+)", "delete")
        def delete(call, name):
            if self.statements.pop(name, None) is None:
                return self.not_found(name), {"name": name}
            self.script.pop(name, None)
            return Reply(202), {"name": name}

        @self.op("GET", "/statements/(?P<name>[^/]+)/exceptions", "exceptions")
        def exceptions(call, name):
            if name not in self.statements:
                return self.not_found(name), {"name": name}
            body = fixture("flink/exceptions")  # spec schema StatementExceptionList
            body["metadata"]["self"] = f"{self.url_of(name)}/exceptions"
            body["data"] = list(self.exceptions.get(name, []))
            return Reply(200, body), {"name": name}

    def public_base(self) -> str:
        return f"{self.cloud.url or 'http://127.0.0.1'}{self.base_path}"

    def url_of(self, name: str) -> str:
        return f"{self.public_base()}/statements/{name}"

    def not_found(self, name: str) -> Reply:
        body = fixture("flink/read_deleted_flink_statement")  # TF mock
        body["errors"][0]["detail"] = f"Statement resource={name} does not exist"
        return Reply(404, body)

    def fail_on_create(self, prefix: str, detail: str) -> None:
        """The next (non-DDL, non-dry-run) statement created with a name starting with `prefix` reads PENDING,
        then FAILED with `detail` (status.detail and an exception), as a statement the runtime rejects."""
        self.failing[prefix] = detail

    def bump(self, name: str) -> None:
        meta = self.statements[name]["metadata"]
        meta["resource_version"] = str(int(meta["resource_version"]) + 1)

    def add(self, name: str, statement: str, phase: str = "RUNNING", stopped: bool = False) -> dict:
        """A statement that exists before the test (someone else's, or an earlier deploy's)."""
        stmt = fixture("flink/read_running_flink_statement")  # TF mock
        stmt.update(name=name, organization_id=self.organization_id, environment_id=self.environment_id)
        stmt["metadata"].update(self=self.url_of(name), resource_version="1")
        stmt["spec"] = {**stmt["spec"], "statement": statement, "stopped": stopped,
                        "compute_pool_id": self.compute_pool_id or stmt["spec"]["compute_pool_id"],
                        "properties": {"sql.current-catalog": self.catalog, "sql.current-database": self.database}}
        stmt["status"]["phase"] = phase
        self.statements[name] = stmt
        return stmt

    @staticmethod
    def statement_summary(name: Any, spec: dict) -> dict:
        text = " ".join(str(spec.get("statement") or "").split())
        return {"name": name, "statement": text[:100], "properties": dict(spec.get("properties") or {}),
                "compute_pool_id": spec.get("compute_pool_id"), "stopped": spec.get("stopped")}


# --- Schema Registry ------------------------------------------------------------------------------------

class SchemaRegistry(_Api):
    NAME = "registry"
    UNAUTHORIZED = "errors/sr_401"

    def __init__(self, cloud: ConfluentCloudDouble, key: str, secret: str):
        super().__init__(cloud, "", key, secret, "psrc-abc12.us-east-1.aws.confluent.cloud")
        self.versions: dict[str, list[dict]] = {}
        self.compatible = True

        @self.op("GET", "/subjects", "list")
        def subjects(call):
            return Reply(200, sorted(self.versions)), {}

        @self.op("GET", "/subjects/(?P<subject>[^/]+)/versions/latest", "read-latest")
        def latest(call, subject):
            if not self.versions.get(subject):
                return self.subject_not_found(subject), {"subject": subject}
            return Reply(200, self.versions[subject][-1]), {"subject": subject,
                                                            "version": self.versions[subject][-1]["version"]}

        @self.op("POST", "/compatibility/subjects/(?P<subject>[^/]+)/versions/latest", "check-compatibility")
        def compatibility(call, subject):
            summary = {"subject": subject, **self.check_body(call)}
            if not self.versions.get(subject):
                return self.subject_not_found(subject), summary
            return Reply(200, fixture("schema_registry/compatible") if self.compatible
                         else fixture("schema_registry/incompatible_verbose")), summary

        @self.op("POST", "/subjects/(?P<subject>[^/]+)/versions", "register")
        def register(call, subject):
            summary = {"subject": subject, **self.check_body(call)}
            body = call.json() or {}
            history = self.versions.setdefault(subject, [])
            same = next((v for v in history if v["schema"] == body.get("schema")), None)
            if same is None:
                same = {"subject": subject, "version": len(history) + 1, "id": 100001 + len(history),
                        "schemaType": body.get("schemaType", "AVRO"), "schema": body.get("schema")}
                history.append(same)
            reply = fixture("schema_registry/register")  # TF mock: {"id": ...}
            reply["id"] = same["id"]
            return Reply(200, reply), {**summary, "version": same["version"]}

    def subject_not_found(self, subject: str) -> Reply:
        reply = from_fixture("errors/sr_40401")  # Errors.java SUBJECT_NOT_FOUND
        reply.body["message"] = f"Subject '{subject}' not found."
        return reply

    def check_body(self, call: Call) -> dict:
        self.expect(call.headers.get("content-type") == REGISTRY_CONTENT_TYPE,
                    f"content type {call.headers.get('content-type')!r}")
        body = self.json_body(call, "schema body") or {}
        self.expect(body.get("schemaType") == "JSON", f"schemaType {body.get('schemaType')!r}")
        try:
            schema = json.loads(body.get("schema") or "")
        except (TypeError, ValueError):
            schema = None
        self.expect(isinstance(schema, dict), "schema must be the JSON Schema as a string")
        return {"schemaType": body.get("schemaType"),
                "properties": list((schema or {}).get("properties") or {}) if isinstance(schema, dict) else None}


# --- the cloud ----------------------------------------------------------------------------------------------

class ConfluentCloudDouble:
    """The three APIs on one port. `serve()` starts the server and yields its base URL (also `self.url`)."""

    def __init__(self, *, organization_id: str, environment_id: str, kafka_cluster_id: str,
                 cloud_api_key: str, cloud_api_secret: str, flink_api_key: str, flink_api_secret: str,
                 schema_registry_api_key: str, schema_registry_api_secret: str, flink_catalog: str,
                 flink_database: str, flink_compute_pool_id: str | None = None,
                 connector_expects: dict[str, str] | None = None, redact: Iterable[str] = (),
                 mark: Callable[[], Any] | None = None):
        self.ids = {"organization_id": organization_id, "environment_id": environment_id,
                    "kafka_cluster_id": kafka_cluster_id}
        self.url: str | None = None
        self.log: list[Recorded] = []
        self.mark = mark
        self._lock = threading.Lock()
        self.connect = ManagedConnect(self, environment_id, kafka_cluster_id, cloud_api_key, cloud_api_secret,
                                      connector_expects)
        self.flink = FlinkStatements(self, organization_id, environment_id, flink_api_key, flink_api_secret,
                                     catalog=flink_catalog, database=flink_database,
                                     compute_pool_id=flink_compute_pool_id)
        self.registry = SchemaRegistry(self, schema_registry_api_key, schema_registry_api_secret)
        secrets = [cloud_api_secret, flink_api_secret, schema_registry_api_secret, *redact]
        secrets += [v for k, v in (connector_expects or {}).items() if k in MASKED_KEYS or _SECRET_KEY.search(k)]
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    @property
    def apis(self) -> tuple[_Api, ...]:
        return (self.connect, self.flink, self.registry)

    @property
    def violations(self) -> list[str]:
        return [v for api in self.apis for v in api.violations]

    @property
    def rejected(self) -> list[str]:
        return [r for api in self.apis for r in api.rejected]

    # --- the log ------------------------------------------------------------------------------------------

    def _record(self, api: str, op: str, call: Call, reply: Reply, summary: dict) -> None:
        entry = Recorded(api, op, call.method, call.path, reply.status, self.redacted(summary), time.time(),
                         self.mark() if self.mark else None)
        with self._lock:
            self.log.append(entry)

    def redacted(self, value: Any) -> Any:
        """`value` with every secret this cloud knows replaced by `****` (strings, lists, dicts, deeply)."""
        if isinstance(value, str):
            for secret in self._secrets:
                value = value.replace(secret, "****")
            return value
        if isinstance(value, dict):
            return {self.redacted(k): self.redacted(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.redacted(v) for v in value]
        return value

    def calls(self, api: str | None = None, since: int = 0) -> list[Recorded]:
        return [r for r in self.log[since:] if api is None or r.api == api]

    def mutations(self, since: int = 0) -> list[Recorded]:
        """The calls since `since` that tried to change state (see `Recorded.mutating`)."""
        return [r for r in self.log[since:] if r.mutating]

    def sequence(self, api: str | None = None, since: int = 0) -> list[str]:
        """`"<api> <op>[ <name or subject>]"` per request, in order."""
        return [str(r) for r in self.calls(api, since)]

    # --- serving ------------------------------------------------------------------------------------------

    def handle(self, call: Call) -> Reply:
        if call.path.startswith("/connect/"):
            return self.connect.handle(call)
        if call.path.startswith("/sql/"):
            return self.flink.handle(call)
        return self.registry.handle(call)

    def variables(self) -> dict[str, str]:
        """The CDC_* variables (environments/settings.py) that point a cloud environment's Confluent part here."""
        assert self.url, "serve() first"
        return {
            "CDC_CONFLUENT_ORG_ID": self.ids["organization_id"],
            "CDC_CONFLUENT_ENV_ID": self.ids["environment_id"],
            "CDC_CONFLUENT_KAFKA_CLUSTER_ID": self.ids["kafka_cluster_id"],
            "CDC_CONFLUENT_CLOUD_API_KEY": self.connect.key,
            "CDC_FLINK_API_KEY": self.flink.key,
            "CDC_FLINK_CATALOG": self.flink.catalog,
            "CDC_FLINK_DATABASE": self.flink.database,
            **({"CDC_FLINK_COMPUTE_POOL_ID": self.flink.compute_pool_id} if self.flink.compute_pool_id else {}),
            "CDC_SCHEMA_REGISTRY_API_KEY": self.registry.key,
            "CDC_CONFLUENT_API_URL": self.url,
            "CDC_FLINK_URL": self.url,
            "CDC_SCHEMA_REGISTRY_URL": self.url,
        }

    @contextmanager
    def serve(self) -> Iterator[str]:
        def handle(call: Call) -> Reply:
            try:
                return self.handle(call)
            except Exception as err:  # a bug in the double: an answer, and a violation that fails the test
                self.registry.violations.append(f"the double crashed on {call.method} {call.path}: "
                                                f"{type(err).__name__}")
                return Reply(500, {"error_code": 500, "message": "double crashed"})

        with serve_http(handle, poll_interval=0.05) as url:
            self.url = url
            yield url
