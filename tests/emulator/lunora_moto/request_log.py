"""A journal of the AWS API calls the emulator served, for tests and benchmarks.

Why: lunora promises to make few AWS calls (one change set per changed stack,
no preview that is thrown away). Counting them needs to see every request, by
operation name, which moto's own logs do not give. This WSGI middleware
records one line per request: the service (from the SigV4 credential scope),
and the operation (the `Action` form field of the query protocol used by
CloudFormation and STS, the `X-Amz-Target` header of the JSON protocols, or
the method and path of the REST protocols used by MediaLive, MediaConnect and
S3).

    GET    /lunora-api/requests   -> {"requests": [{"service": ..., "operation": ...}, ...]}
    DELETE /lunora-api/requests   -> forgets what was recorded

It also takes one test control, for a state a real account can be in but the
emulator (which finishes every stack operation at once) never reaches:

    POST   /lunora-api/stuck/<stack name>  -> that stack's next executed change
           set leaves it in UPDATE_IN_PROGRESS for good (a wait that never ends)
"""

from __future__ import annotations

import io
import json
import re
import threading
import urllib.parse
from typing import Any, Callable, Iterable

PATH = "/lunora-api/requests"
STUCK = "/lunora-api/stuck/"
#: Stacks whose next executed change set never settles (see cfn_engine).
stuck_stacks: set[str] = set()
_SCOPE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/aws4_request")
_MAX_BODY = 4 * 1024 * 1024

_lock = threading.Lock()
_requests: list[dict[str, str]] = []


def _service(environ: dict[str, Any]) -> str:
    match = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    return match.group(1) if match else "unknown"


def _operation(environ: dict[str, Any], body: bytes) -> str:
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.rsplit(".", 1)[-1]
    content_type = environ.get("CONTENT_TYPE", "")
    if "x-www-form-urlencoded" in content_type:
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        if "Action" in form:
            return form["Action"][0]
    query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
    if "Action" in query:
        return query["Action"][0]
    return f"{environ.get('REQUEST_METHOD', '?')} {environ.get('PATH_INFO', '')}"


class RequestLog:
    """Wraps a WSGI app; answers PATH itself, records every other request."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == PATH:
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
        entry = {"service": _service(environ), "operation": _operation(environ, body)}
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
