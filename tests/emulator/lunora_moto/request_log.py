"""A journal of the AWS API calls the emulator served, for tests and benchmarks.

Why: lunora promises to make few AWS calls (one change set per changed stack,
no preview that is thrown away). Counting them needs to see every request, by
operation name, which moto's own logs do not give. This WSGI middleware
records one line per request: the service (from the SigV4 credential scope),
and the operation (the `Action` form field of the query protocol used by
CloudFormation and STS, the `X-Amz-Target` header of the JSON protocols, the
`/service/<target>/operation/<Op>` path of Smithy RPC v2 CBOR (CloudWatch from
the Rust SDK), or, for the REST-JSON services (MediaLive, MediaConnect,
MediaPackage...), the operation of botocore's model whose method and URI
template match the request; REST requests also carry `path` ("GET /prod/...").
Anything else is recorded as its method and path, e.g. S3).

    GET    /lunora-api/requests   -> {"requests": [{"service": ..., "operation": ...}, ...]}
    DELETE /lunora-api/requests   -> forgets what was recorded

It also takes one test control, for a state a real account can be in but the
emulator (which finishes every stack operation at once) never reaches:

    POST   /lunora-api/stuck/<stack name>  -> that stack's next executed change
           set leaves it in UPDATE_IN_PROGRESS for good (a wait that never ends)

Other modules add routes with `register(prefix, handler, journal=...)`: test
controls under /lunora-api/ (not journaled) and plain-HTTP resources such as the
emulated HLS origin (/lunora-hls/, journaled under a made-up service name).
"""

from __future__ import annotations

import io
import json
import re
import threading
import urllib.parse
from functools import lru_cache
from typing import Any, Callable, Iterable, NamedTuple

PATH = "/lunora-api/requests"
STUCK = "/lunora-api/stuck/"
#: Stacks whose next executed change set never settles (see cfn_engine).
stuck_stacks: set[str] = set()
_SCOPE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/aws4_request")
_MAX_BODY = 4 * 1024 * 1024

_lock = threading.Lock()
_requests: list[dict[str, str]] = []
_RPC_V2 = re.compile(r"^/service/[^/]+/operation/([^/]+)$")

#: handler(method, subpath, query, body) -> (HTTP status, body, content type).
#: subpath is the (percent-decoded) path after the prefix; a dict body is JSON.
Handler = Callable[[str, str, dict[str, list[str]], bytes], tuple[int, Any, str]]


class Route(NamedTuple):
    prefix: str
    handler: Handler
    journal: tuple[str, str] | None  # (service, operation) recorded per request


_routes: list[Route] = []


def register(prefix: str, handler: Handler, journal: tuple[str, str] | None = None) -> None:
    """Answer requests whose path starts with `prefix` with `handler` (in the
    middleware, before moto). journal=None: a test control, not recorded."""
    if not any(r.prefix == prefix for r in _routes):
        _routes.append(Route(prefix, handler, journal))
        _routes.sort(key=lambda r: len(r.prefix), reverse=True)


@lru_cache(maxsize=None)
def _rest_templates(service: str) -> tuple[tuple[str, re.Pattern[str], str], ...]:
    """(method, URI regex, operation) of a REST-JSON service, most specific first."""
    try:
        from botocore import session as botocore_session

        model = botocore_session.get_session().get_service_model(service)
    except Exception:  # unknown service name: no REST labels
        return ()
    if model.metadata.get("protocol") != "rest-json":
        return ()
    out = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        uri = http["requestUri"].split("?", 1)[0]
        pattern = "".join(
            (".+" if part.endswith("+}") else "[^/]+") if part.startswith("{") else re.escape(part)
            for part in re.split(r"(\{[^}]+\})", uri)
            if part
        )
        out.append((http["method"], re.compile(f"^{pattern}$"), name))
    out.sort(key=lambda t: len(t[1].pattern), reverse=True)
    return tuple(out)


def _rest_operation(service: str, method: str, raw_path: str) -> str | None:
    for op_method, regex, name in _rest_templates(service):
        if op_method == method and regex.match(raw_path):
            return name
    return None


def _service(environ: dict[str, Any]) -> str:
    match = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    return match.group(1) if match else "unknown"


def _operation(environ: dict[str, Any], body: bytes, service: str) -> tuple[str, str | None]:
    """(operation, REST "METHOD /path" or None)."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.rsplit(".", 1)[-1], None
    path = environ.get("PATH_INFO", "")
    rpc = _RPC_V2.match(path)
    if rpc:
        return rpc.group(1), None
    content_type = environ.get("CONTENT_TYPE", "")
    if "x-www-form-urlencoded" in content_type:
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        if "Action" in form:
            return form["Action"][0], None
    query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
    if "Action" in query:
        return query["Action"][0], None
    method = environ.get("REQUEST_METHOD", "?")
    rest = f"{method} {path}"
    raw_path = environ.get("RAW_URI") or environ.get("REQUEST_URI") or path
    raw_path = raw_path.split("?", 1)[0]
    name = _rest_operation(service, method, raw_path)
    return (name, rest) if name else (rest, None)


class RequestLog:
    """Wraps a WSGI app; answers PATH itself, records every other request."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == PATH:
            return self._answer(environ, start_response)
        if environ.get("PATH_INFO", "").startswith(STUCK) and environ.get("REQUEST_METHOD") == "POST":
            with _lock:
                stuck_stacks.add(environ["PATH_INFO"][len(STUCK):])
            start_response("204 No Content", [("Content-Length", "0")])
            return [b""]
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        body = b""
        if 0 < length <= _MAX_BODY:
            body = environ["wsgi.input"].read(length)
            environ["wsgi.input"] = io.BytesIO(body)
        route = next((r for r in _routes if path.startswith(r.prefix)), None)
        if route is not None:
            if route.journal is not None:
                service, operation = route.journal
                with _lock:
                    _requests.append({"service": service, "operation": operation, "path": f"{environ.get('REQUEST_METHOD')} {path}"})
            return _serve(route, environ, body, start_response)
        service = _service(environ)
        operation, rest = _operation(environ, body, service)
        entry = {"service": service, "operation": operation}
        if rest:
            entry["path"] = rest
        with _lock:
            _requests.append(entry)
        return self.app(environ, start_response)

    @staticmethod
    def _answer(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with _lock:
            if environ.get("REQUEST_METHOD") == "DELETE":
                _requests.clear()
            payload = json.dumps({"requests": list(_requests)}).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
        return [payload]


_REASONS = {200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 409: "Conflict"}


def _serve(route: Route, environ: dict[str, Any], body: bytes, start_response: Callable[..., Any]) -> Iterable[bytes]:
    method = environ.get("REQUEST_METHOD", "GET")
    subpath = environ.get("PATH_INFO", "")[len(route.prefix):]
    query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
    try:
        status, payload, content_type = route.handler(method, subpath, query, body)
    except ControlError as exc:
        status, payload, content_type = exc.status, {"message": str(exc)}, "application/json"
    if isinstance(payload, (dict, list)):
        data = json.dumps(payload).encode()
    elif isinstance(payload, str):
        data = payload.encode()
    else:
        data = payload or b""
    start_response(
        f"{status} {_REASONS.get(status, 'Status')}",
        [("Content-Type", content_type), ("Content-Length", str(len(data))), ("Cache-Control", "no-cache")],
    )
    return [data if method != "HEAD" else b""]


class ControlError(Exception):
    """Raised by a route handler: answered as {"message": ...} with `status`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def json_body(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        value = json.loads(body)
    except ValueError as exc:
        raise ControlError(400, f"body is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ControlError(400, "body must be a JSON object")
    return value
