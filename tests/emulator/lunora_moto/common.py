"""Helpers shared by the lunora moto extension modules."""

from __future__ import annotations

import datetime
import hashlib
from functools import lru_cache
from typing import Any, Iterator

from botocore import session as botocore_session
from botocore.model import Shape
from moto.core.exceptions import ServiceException

# Fake addresses. Every address the emulator invents comes from the RFC 5737
# documentation ranges, so nothing it prints can be mistaken for a real host.
FLOW_INGEST_NET = "203.0.113"  # TEST-NET-3: MediaConnect source ingest IPs
FLOW_EGRESS_NET = "198.51.100"  # TEST-NET-2: MediaConnect flow egress IPs
INPUT_ENDPOINT_NET = "192.0.2"  # TEST-NET-1: MediaLive push-input endpoints


def fake_ip(net: str, seed: str, salt: int = 0) -> str:
    """A stable address in `net`/24 derived from `seed` (host part 2..251)."""
    digest = hashlib.sha256(f"{seed}#{salt}".encode()).digest()
    return f"{net}.{2 + digest[0] % 250}"


class ApiError(ServiceException):
    """A service error whose code is an exception shape of the service model.

    moto serializes ServiceException subclasses with the HTTP status code the
    botocore model declares for `code` (e.g. ConflictException -> 409).
    """

    http_status = 400

    def __init__(self, message: str):
        super().__init__(message)


class BadRequestException(ApiError):
    code = "BadRequestException"
    http_status = 400


class NotFoundException(ApiError):
    code = "NotFoundException"
    http_status = 404


class ConflictException(ApiError):
    code = "ConflictException"
    http_status = 409


@lru_cache(maxsize=None)
def service_model(service: str) -> Any:
    return botocore_session.get_session().get_service_model(service)


def shape(service: str, name: str) -> Shape:
    return service_model(service).shape_for(name)


def lower_camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _coerce_scalar(value: Any, type_name: str) -> Any:
    """CloudFormation passes template scalars through as written; the real
    service coerces "5" to 5 for integer properties. Do the same."""
    try:
        if type_name in ("integer", "long") and isinstance(value, str):
            return int(value)
        if type_name in ("float", "double") and isinstance(value, str):
            return float(value)
        if type_name == "boolean" and isinstance(value, str):
            if value.lower() in ("true", "false"):
                return value.lower() == "true"
    except ValueError:
        return value
    return value


def to_api(value: Any, shp: Shape | None, wire_names: bool) -> Any:
    """Convert CloudFormation properties (PascalCase, loosely typed) into the
    API representation described by botocore shape `shp`.

    wire_names=True renames members to their JSON wire names (MediaConnect's
    moto backend stores wire-format dicts); unknown members are lowerCamelCased.
    wire_names=False keeps member names (MediaLive's backend stores PascalCase).
    """
    if shp is None:
        return value
    kind = shp.type_name
    if kind == "structure" and isinstance(value, dict):
        out = {}
        for key, item in value.items():
            member = shp.members.get(key)
            if member is None:
                out[lower_camel(key) if wire_names else key] = item
                continue
            name = member.serialization.get("name", key) if wire_names else key
            out[name] = to_api(item, member, wire_names)
        return out
    if kind == "list" and isinstance(value, list):
        return [to_api(item, shp.member, wire_names) for item in value]
    if kind == "map" and isinstance(value, dict):
        return {k: to_api(v, shp.value, wire_names) for k, v in value.items()}
    return _coerce_scalar(value, kind)


def drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_none(v) for v in value]
    return value


def existing_backends(backends: Any) -> Iterator[Any]:
    """Every backend of a moto BackendDict created so far (all accounts and
    regions), without creating new ones; for test controls that name a
    resource by id only."""
    for regions in list(dict.values(backends)):
        yield from list(dict.values(regions))


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def iso8601(value: datetime.datetime) -> str:
    """The REST-JSON `timestampFormat: iso8601` form, e.g.
    2024-05-01T12:00:00.123Z (what botocore and the Rust SDK parse)."""
    value = value.astimezone(datetime.timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
