"""CloudWatch: let moto 5.2.1 answer the Rust SDK, and compare dimensions right.

1. Protocol. aws-sdk-cloudwatch (1.140, the version in Cargo.lock) speaks Smithy
   RPC v2 CBOR: `POST /service/GraniteServiceVersion20100801/operation/<Op>`,
   `Content-Type: application/cbor`, `smithy-protocol: rpc-v2-cbor`. moto 5.2.1
   only routes `POST /` (query protocol, or awsJson1_0 with `X-Amz-Target`,
   which boto3 uses) and answered those requests 404. `CborAdapter` (a WSGI
   wrapper the launcher installs inside the request journal) rewrites such a
   request into the awsJson1_0 request moto understands and the JSON answer back
   into CBOR, typed by botocore's model (timestamps as tag 1 epoch seconds),
   errors as `{"__type": ..., "message": ...}` with moto's status and headers
   (incl. `x-amzn-query-error`).
   Spec: https://smithy.io/2.0/additional-specs/protocols/smithy-rpc-v2.html
2. Dimensions. GetMetricData compares the query's dimensions with a datum's as
   sorted lists, but moto's `Dimension.__lt__` is not an order
   (`name < other.name and value < other.name`), so a query naming the same
   dimensions in another order than PutMetricData found nothing. Fixed to
   order by (name, value). Matching stays exact: a datum with a subset or a
   superset of the query's dimensions is not returned (as on CloudWatch).
"""

from __future__ import annotations

import base64
import datetime
import io
import json
import re
import struct
from typing import Any, Callable, Iterable

from botocore.parsers import JSONParser, RpcV2CBORParser
from botocore.serialize import RpcV2CBORSerializer
from moto.cloudwatch import models as cw_models

from .common import service_model

_PATH = re.compile(r"^/service/([^/]+)/operation/([^/]+)$")


# ---------------------------------------------------------------- CBOR codec


class _Decoder(RpcV2CBORParser):
    """botocore's CBOR reader, used for requests (tag 1 -> datetime)."""

    def decode(self, data: bytes) -> Any:
        if not data:
            return {}
        return self.parse_data_item(self.get_peekable_stream_from_bytes(data))


class _Encoder(RpcV2CBORSerializer):
    """botocore's shape-driven CBOR writer, used for responses."""

    def encode(self, value: dict[str, Any], shape: Any) -> bytes:
        out = bytearray()
        self._serialize_data_item(out, value, shape)
        return bytes(out)


def _head(major: int, n: int) -> bytes:
    if n < 24:
        return bytes([major << 5 | n])
    for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if n < 1 << (8 * size):
            return bytes([major << 5 | info]) + n.to_bytes(size, "big")
    raise ValueError("integer too large for CBOR")


def encode_plain(value: Any) -> bytes:
    """Untyped CBOR (error bodies): str, int, float, bool, None, list, dict."""
    if value is None:
        return b"\xf6"
    if value is True:
        return b"\xf5"
    if value is False:
        return b"\xf4"
    if isinstance(value, int):
        return _head(0, value) if value >= 0 else _head(1, -1 - value)
    if isinstance(value, float):
        return b"\xfb" + struct.pack(">d", value)
    if isinstance(value, str):
        data = value.encode()
        return _head(3, len(data)) + data
    if isinstance(value, (bytes, bytearray)):
        return _head(2, len(value)) + bytes(value)
    if isinstance(value, (list, tuple)):
        return _head(4, len(value)) + b"".join(encode_plain(v) for v in value)
    if isinstance(value, dict):
        return _head(5, len(value)) + b"".join(encode_plain(str(k)) + encode_plain(v) for k, v in value.items())
    return encode_plain(str(value))


def _to_json(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return value.timestamp()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, dict):
        return {k: _to_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_json(v) for v in value]
    return value


# ---------------------------------------------------------------- WSGI adapter


class CborAdapter:
    """Wraps moto's WSGI app: Smithy RPC v2 CBOR in, awsJson1_0 to moto, CBOR out."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        match = _PATH.match(environ.get("PATH_INFO", ""))
        if not match or environ.get("REQUEST_METHOD") != "POST":
            return self.app(environ, start_response)
        target, operation = match.groups()
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        raw = environ["wsgi.input"].read(length) if length > 0 else b""
        try:
            params = _Decoder().decode(raw)
        except Exception as exc:  # malformed CBOR
            return _answer(start_response, "400 Bad Request", [], {"__type": "SerializationException", "message": str(exc)})
        body = json.dumps(_to_json(params or {})).encode()
        environ = dict(environ)
        environ.update(
            {
                "PATH_INFO": "/",
                "RAW_URI": "/",
                "REQUEST_URI": "/",
                "CONTENT_TYPE": "application/x-amz-json-1.0",
                "CONTENT_LENGTH": str(len(body)),
                "HTTP_X_AMZ_TARGET": f"{target}.{operation}",
                "wsgi.input": io.BytesIO(body),
            }
        )
        captured: dict[str, Any] = {}

        def _capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
            captured["status"], captured["headers"] = status, headers
            return lambda _data: None

        chunks = self.app(environ, _capture)
        try:
            answer = b"".join(chunks)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        status = captured.get("status", "500 Internal Server Error")
        keep = [
            (k, v)
            for k, v in captured.get("headers", [])
            if k.lower() not in ("content-type", "content-length", "x-amz-crc32")
        ]
        code = int(status.split(" ", 1)[0])
        try:
            document = json.loads(answer or b"{}")
        except ValueError:
            document = {"__type": "InternalFailure", "message": answer.decode("utf-8", "replace")}
        if code >= 300:
            return _answer(start_response, status, keep, document)
        output_shape = service_model("cloudwatch").operation_model(operation).output_shape
        if output_shape is None:
            return _answer(start_response, status, keep, {})
        parsed = JSONParser().parse({"body": answer or b"{}", "headers": {}, "status_code": code}, output_shape)
        parsed.pop("ResponseMetadata", None)
        payload = _Encoder().encode(parsed, output_shape)
        return _send(start_response, status, keep, payload)


def _answer(start_response: Callable[..., Any], status: str, headers: list[tuple[str, str]], document: Any) -> Iterable[bytes]:
    return _send(start_response, status, headers, encode_plain(document))


def _send(start_response: Callable[..., Any], status: str, headers: list[tuple[str, str]], payload: bytes) -> Iterable[bytes]:
    start_response(
        status,
        headers
        + [
            ("Content-Type", "application/cbor"),
            ("smithy-protocol", "rpc-v2-cbor"),
            ("Content-Length", str(len(payload))),
        ],
    )
    return [payload]


# ---------------------------------------------------------------- dimension order


def _dimension_lt(self: Any, other: Any) -> bool:
    return (self.name or "", self.value or "") < (other.name or "", other.value or "")


def install() -> None:
    cw_models.Dimension.__lt__ = _dimension_lt  # type: ignore[method-assign]
