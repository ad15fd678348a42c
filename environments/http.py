"""The one REST transport of the project: httpx with the error rules every REST client shares.

`RestClient` is a thin wrapper over `httpx.Client` (base URL, HTTP Basic auth from a key and a `SecretStr`
secret, timeout, injectable transport for tests). What it decides for every caller:

- transport errors and timeouts          -> `TransientError` naming the service and the URL's host
- 5xx                                    -> `TransientError` with the API's own message
- 429                                    -> wait `Retry-After` seconds (capped) and try again, a bounded
                                            number of times inside the call; then `TransientError`
- 401 / 403                              -> `ConfigError`, one line naming the variable that holds the key
- any other status (2xx, 3xx, 404, 409…) -> returned: the caller decides (404 = absent, 409 = conflict) or
                                            raises its own error class with `fail()` / `expect()`

`api_message(response)` turns every error body shape the APIs are documented to send into one line with
the API's own words. No message ever holds the Authorization header or a secret: the client's own secret
and any value registered with `redact()` are replaced by `****` in everything it renders.

Redirects: httpx drops Authorization when a redirect leaves the origin. Confluent's Flink gateway
redirects to another host and its CLI re-adds Authorization on that hop (`checkRedirect` in
confluentinc/cli pkg/ccloudv2/flink_gateway.go). `reauth_on_redirect=True` does the same, but only from an
https base URL to an https target (never in clear text), for at most `max_redirects` hops.
"""

from __future__ import annotations

import base64
import email.utils
import json
import re
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any, NoReturn

import httpx
from pydantic import SecretStr

from pipeline.errors import ConfigError, EnvironmentProblem, PipelineError, TransientError
from pipeline.traces import summarize_trace

#: longest wait honoured from a Retry-After header; a longer ask is capped (the retry may then fail again)
MAX_RETRY_AFTER = 60.0
#: attempts after a 429 inside one call
RATE_LIMIT_RETRIES = 3
#: the Confluent CLI's redirect limit for the Flink gateway
MAX_REDIRECTS = 5
#: longest message taken from an API body
MESSAGE_LIMIT = 500


class RestClient:
    """One REST API: `request()` applies the shared rules, the caller interprets what is left."""

    def __init__(self, base_url: str, *, service: str, auth: tuple[str, SecretStr] | None = None,
                 key_variable: str | None = None, credential: str = "API key", timeout: float = 30.0,
                 transport: httpx.BaseTransport | None = None, reauth_on_redirect: bool = False,
                 rate_limit_retries: int = RATE_LIMIT_RETRIES, max_retry_after: float = MAX_RETRY_AFTER,
                 sleep: Callable[[float], None] = time.sleep, headers: dict[str, str] | None = None,
                 server_errors_transient: bool = True):
        try:
            url = httpx.URL(base_url)
        except httpx.InvalidURL:  # the text may hold whatever was pasted into the URL: not echoed
            raise ConfigError(f"the {service} URL is not a valid URL",
                              fix="use https://host[:port][/path], without credentials") from None
        if url.userinfo:
            raise ConfigError(f"the {service} URL must not carry credentials", fix="pass them as the API key and secret")
        self.base_url = str(base_url).rstrip("/")
        self.service = service
        self.host = url.host or self.base_url
        self._base_path = url.path.rstrip("/")
        self.key_variable = key_variable
        self.credential = credential
        self.rate_limit_retries = rate_limit_retries
        self.max_retry_after = max_retry_after
        self.sleep = sleep
        #: False for APIs that answer a rejected request with 500 (Flink's SQL Gateway): the caller decides
        self.server_errors_transient = server_errors_transient
        self._secrets: set[str] = set()
        self._auth_header: str | None = None
        basic = None
        if auth is not None:
            key, secret = auth
            value = secret.get_secret_value() if isinstance(secret, SecretStr) else str(secret)
            basic = httpx.BasicAuth(key, value)
            self._auth_header = "Basic " + base64.b64encode(f"{key}:{value}".encode()).decode()
            self.redact([value])
        hooks = {"request": [self._reauth]} if reauth_on_redirect and url.scheme == "https" else {}
        self.http = httpx.Client(base_url=self.base_url, auth=basic, timeout=timeout, transport=transport,
                                 follow_redirects=True, max_redirects=MAX_REDIRECTS, event_hooks=hooks,
                                 headers={"Accept": "application/json", **(headers or {})})

    def __repr__(self) -> str:  # never the auth
        return f"RestClient({self.service!r}, {self.base_url!r})"

    # --- lifecycle --------------------------------------------------------------------------------------

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> RestClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- secrets ----------------------------------------------------------------------------------------

    def redact(self, values: Iterable[str | SecretStr | None]) -> None:
        """Register values that must never appear in a message (e.g. the secrets of a connector config)."""
        for value in values:
            text = value.get_secret_value() if isinstance(value, SecretStr) else value
            if text and len(str(text)) >= 4 and set(str(text)) != {"*"}:
                self._secrets.add(str(text))

    def scrub(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, "****")
        if self._auth_header:
            text = text.replace(self._auth_header, "Basic ****")
        return text

    # --- requests ---------------------------------------------------------------------------------------

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send one request; see the module docstring for what is raised and what is returned."""
        for attempt in range(self.rate_limit_retries + 1):
            response = self._send(method, path, **kwargs)
            if response.status_code != 429:
                break
            delay = retry_after_seconds(response, self.max_retry_after)
            if attempt == self.rate_limit_retries:
                raise TransientError(
                    f"{self.service} at {self.host} is rate limiting us: 429 on {method} {self._where(path)} "
                    f"after {attempt + 1} attempts (Retry-After {delay:g}s): {self.message(response)}",
                    fix="retry later; lower the request rate")
            self.sleep(delay)
        status = response.status_code
        if status >= 500 and (self.server_errors_transient or status in (502, 503, 504)):
            raise TransientError(f"{self.service} at {self.host} answered {status} {response.reason_phrase} on "
                                 f"{method} {self._where(path)}: {self.message(response)}")
        if status in (401, 403):
            raise self._rejected(response)
        return response

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)

    # --- helpers for callers ----------------------------------------------------------------------------

    def message(self, response: httpx.Response) -> str:
        """The API's own message for `response`, one line, secrets scrubbed."""
        return self.scrub(api_message(response))

    def describe(self, response: httpx.Response) -> str:
        """`404 Not Found: <the API's message>` (the message only when it adds something)."""
        head = f"{response.status_code} {response.reason_phrase}".strip()
        text = self.message(response)
        return head if not text or text.lower() in head.lower() else f"{head}: {text}"

    def fail(self, response: httpx.Response, error: type[PipelineError], what: str, *,
             fix: str | None = None) -> NoReturn:
        """Raise the caller's error class: `<what>: <status> <reason>: <the API's message>`."""
        raise error(f"{what}: {self.describe(response)}", fix=fix)

    def expect(self, response: httpx.Response, ok: Iterable[int], error: type[PipelineError], what: str, *,
               fix: str | None = None) -> httpx.Response:
        """Return `response` when its status is one of `ok`, else `fail()`."""
        if response.status_code not in set(ok):
            self.fail(response, error, what, fix=fix)
        return response

    def json(self, response: httpx.Response, error: type[PipelineError], what: str) -> Any:
        """The parsed body, or the caller's error when the body is not JSON (a proxy's HTML page...)."""
        try:
            return response.json()
        except ValueError:
            raise error(f"{what}: {self.service} answered {response.status_code} with a body that is not JSON: "
                        f"{self.message(response)}") from None

    # --- internals --------------------------------------------------------------------------------------

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self.http.request(method, path, **kwargs)
        except httpx.TimeoutException as err:
            raise TransientError(f"{self.service} at {self.host} did not answer in time "
                                 f"({type(err).__name__} on {method} {self._where(path)})") from None
        except httpx.TransportError as err:
            raise TransientError(f"{self.service} at {self.host} is unreachable ({type(err).__name__}: "
                                 f"{self.scrub(_first_line(str(err)))})") from None
        except httpx.TooManyRedirects:
            raise EnvironmentProblem(f"{self.service} at {self.host} redirected more than {MAX_REDIRECTS} times "
                                     f"on {method} {self._where(path)}") from None

    def _where(self, path: str) -> str:
        """The request's full path (no query string), for messages."""
        path = str(path).split("?", 1)[0]
        return path if path.startswith(("http://", "https://")) else self._base_path + "/" + path.lstrip("/")

    def _reauth(self, request: httpx.Request) -> None:
        """Request hook: put Authorization back on an https redirect hop that httpx stripped it from."""
        if self._auth_header and request.url.scheme == "https" and "authorization" not in request.headers:
            request.headers["Authorization"] = self._auth_header

    def _rejected(self, response: httpx.Response) -> ConfigError:
        status = f"{response.status_code} {response.reason_phrase}".strip()
        text = self.message(response)
        detail = "" if not text or text.lower() in status.lower() else f": {text}"
        where = "" if response.url.host == self.host else f" (at {response.url.host})"
        if self._auth_header is None:
            return ConfigError(f"{self.service} refused an unauthenticated request{where}: {status}{detail}",
                               fix=f"configure the {self.credential}" + (f" ({self.key_variable})" if self.key_variable else ""))
        variable = f" ({self.key_variable})" if self.key_variable else ""
        if response.status_code == 401:
            fix = (f"set {self.key_variable or 'the key'} and its secret to an existing, active {self.credential}; "
                   "a key of another kind or region is rejected the same way")
        else:
            fix = (f"the {self.credential}{variable} was accepted but its principal lacks permission here: "
                   "grant it the needed role binding, or use a key of a principal that has it")
        return ConfigError(f"{self.service} rejected the {self.credential}{variable}{where}: {status}{detail}",
                           fix=fix)


def retry_after_seconds(response: httpx.Response, cap: float = MAX_RETRY_AFTER, default: float = 1.0) -> float:
    """`Retry-After` in seconds (a number or an HTTP date), at least 0 and at most `cap`."""
    raw = (response.headers.get("Retry-After") or "").strip()
    delay = default
    if raw:
        try:
            delay = float(raw)
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(raw)
                if when.tzinfo is None:
                    when = when.replace(tzinfo=timezone.utc)
                delay = (when - datetime.now(timezone.utc)).total_seconds()
            except (TypeError, ValueError):
                delay = default
    return max(0.0, min(delay, cap))


# --- error bodies -----------------------------------------------------------------------------------------

def api_message(response: httpx.Response) -> str:
    """One line with the API's own message, whatever the documented body shape; status + reason when empty.

    Shapes: `{"error":{"code","message"}}` and `{"error_code","message"}` (Confluent Connect, Schema
    Registry, Kafka Connect), `{"code","message"}`, `{"message"}`, `{"errors":[{"id","status","code","title",
    "detail","source"}]}` (Confluent Flink, JSON:API style), `{"errors":[{"detail","resolution"}]}` (the CLI's
    generic shape), `{"errors":["...java trace..."]}` (Flink SQL Gateway: the root cause is kept), plain
    text or HTML (first line), empty bodies.
    """
    fallback = f"{response.status_code} {response.reason_phrase}".strip()
    try:
        text = response.text
    except Exception:  # undecodable body
        return fallback
    if not text or not text.strip():
        return fallback
    try:
        body = json.loads(text)
    except ValueError:
        plain = _plain_text(text, response.headers.get("content-type", ""))
        return one_line(_first_line(summarise(plain))) or fallback
    message = _from_json(body, response.status_code)
    return one_line(message) if message else fallback


def _from_json(body: Any, status: int) -> str | None:
    if isinstance(body, str):
        return summarise(body)
    if isinstance(body, list):
        return _from_errors(body)
    if not isinstance(body, dict):
        return None if body is None else str(body)
    if isinstance(body.get("errors"), list) and body["errors"]:
        found = _from_errors(body["errors"])
        if found:
            return found
    error = body.get("error")
    if isinstance(error, dict):
        inner = _from_json(error, status)
        if inner:
            return inner
    elif isinstance(error, str) and error.strip():
        return summarise(error)
    for key in ("message", "detail", "title", "error_description", "reason"):
        value = body.get(key)
        if isinstance(value, str) and value.strip():
            code = body.get("error_code", body.get("code"))
            suffix = f" (error code {code})" if code not in (None, "", status, str(status)) else ""
            return summarise(value) + suffix
    if not body or body == {"error": None}:
        return None
    return json.dumps(body, sort_keys=True)[:MESSAGE_LIMIT]


def _from_errors(errors: list) -> str | None:
    texts = [e for e in errors if isinstance(e, str) and e.strip()]
    if texts and len(texts) == len(errors):  # Flink SQL Gateway: strings, the last one holds the trace
        return summarise("\n".join(texts))
    parts = []
    for item in errors:
        if not isinstance(item, dict):
            continue
        text = next((item[k] for k in ("detail", "message", "title") if isinstance(item.get(k), str) and item[k].strip()),
                    None)
        if text is None:
            continue
        text = summarise(text)
        source = item.get("source") if isinstance(item.get("source"), dict) else {}
        where = source.get("pointer") or source.get("parameter")
        if where:
            text += f" (at {where})"
        if isinstance(item.get("resolution"), str) and item["resolution"].strip():
            text += f" — {item['resolution'].strip()}"
        parts.append(text)
    return "; ".join(parts) or None


def summarise(text: str) -> str:
    """A Java trace becomes its root cause (the last 'Caused by:' without package prefixes); else the text."""
    if "Caused by:" in text or re.search(r"\n\s*at [\w$.]+\(", text) or "Exception on server side" in text:
        lines = [ln for ln in text.splitlines() if ln.strip()
                 and not re.match(r"\s*(at |\.\.\. \d+ more|<Exception on server side:|End of exception on server side>)",
                                  ln)]
        return summarize_trace("\n".join(lines)) or text
    return text


def _plain_text(text: str, content_type: str) -> str:
    if "html" in content_type or text.lstrip().startswith("<"):
        title = re.search(r"<title[^>]*>(.*?)</title>", text, re.S | re.I)
        if title and title.group(1).strip():
            return title.group(1)
        text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.S | re.I)
        text = re.sub(r"<[^>]+>", "\n", text)
    return text


def _first_line(text: str) -> str:
    return next((ln.strip() for ln in text.splitlines() if ln.strip()), "")


def one_line(text: str) -> str:
    """Whitespace collapsed, at most MESSAGE_LIMIT characters."""
    line = " ".join(str(text).split())
    return line if len(line) <= MESSAGE_LIMIT else line[: MESSAGE_LIMIT - 1] + "…"


