"""MediaPackage (v1): origin endpoints that point at a live HLS playlist the
emulator itself serves.

Patched:
- Every origin endpoint's `url` is http://127.0.0.1:<port>/lunora-hls/<id>/<manifestName or index>.m3u8
  (moto: https://origin-endpoint.mediapackage.<region>.amazonaws.com/<id>, which
  does not resolve). The launcher calls set_public_endpoint() once it knows the
  port; LUNORA_EMULATOR_URL is the fallback.
- ListOriginEndpoints filters by the `channelId` query parameter (moto listed
  every endpoint).
- NotFoundException is HTTP 404 (moto: 400), as in the MediaPackage model.

Served (not an AWS API; journaled as service "lunora-hls", operation "GetPlaylist"):

    GET /lunora-hls/<endpointId>/<name>.m3u8
        -> a live HLS media playlist: #EXTM3U, #EXT-X-VERSION:3,
           #EXT-X-TARGETDURATION:1, #EXT-X-MEDIA-SEQUENCE:N and three segments
           (#EXTINF:0.200, segN.ts ...). N counts segment_seconds (default 0.2 s)
           since the endpoint was created, unless frozen. The segments
           themselves are not served. Unknown endpoint: 404.

Test control:

    POST /lunora-api/hls/<endpointId>
         {"frozen": true|false, "segment_seconds": 0.2, "status": 404|200}  (all optional)
         frozen: the media sequence stops advancing (a stalled origin) / resumes
         from where it stopped; status 404: the playlist answers 404 (endpoint
         gone) until status 200.
         -> 200 {"endpointId", "frozen", "segment_seconds", "status", "mediaSequence"}
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from typing import Any

from moto.mediapackage import exceptions as mp_exceptions
from moto.mediapackage import responses as mp_responses
from moto.mediapackage.models import MediaPackageBackend, OriginEndpoint, mediapackage_backends

from . import request_log
from .common import existing_backends
from .request_log import ControlError, json_body

HLS_PREFIX = "/lunora-hls/"
CONTROL = "/lunora-api/hls/"
DEFAULT_SEGMENT_SECONDS = 0.2
SEGMENTS = 3

_endpoint_url: str | None = None
_lock = threading.Lock()


def set_public_endpoint(url: str) -> None:
    """The emulator's own base URL (http://127.0.0.1:PORT), for endpoint URLs."""
    global _endpoint_url
    _endpoint_url = url.rstrip("/")


def public_endpoint() -> str | None:
    return _endpoint_url or (os.environ.get("LUNORA_EMULATOR_URL") or "").rstrip("/") or None


class Playlist:
    """Media-sequence clock of one origin endpoint."""

    def __init__(self) -> None:
        self.base_time = time.monotonic()
        self.base_sequence = 0
        self.segment_seconds = DEFAULT_SEGMENT_SECONDS
        self.frozen = False
        self.status = 200

    def sequence(self) -> int:
        if self.frozen:
            return self.base_sequence
        return self.base_sequence + int((time.monotonic() - self.base_time) / self.segment_seconds)

    def rebase(self) -> None:
        self.base_sequence = self.sequence()
        self.base_time = time.monotonic()

    def render(self) -> str:
        n = self.sequence()
        lines = [
            "#EXTM3U",
            "#EXT-X-VERSION:3",
            f"#EXT-X-TARGETDURATION:{max(1, math.ceil(self.segment_seconds))}",
            f"#EXT-X-MEDIA-SEQUENCE:{n}",
        ]
        for i in range(n, n + SEGMENTS):
            lines += [f"#EXTINF:{self.segment_seconds:.3f},", f"seg{i}.ts"]
        return "\n".join(lines) + "\n"

    def to_api(self, endpoint_id: str) -> dict[str, Any]:
        return {
            "endpointId": endpoint_id,
            "frozen": self.frozen,
            "segment_seconds": self.segment_seconds,
            "status": self.status,
            "mediaSequence": self.sequence(),
        }


def playlist(endpoint: OriginEndpoint) -> Playlist:
    # On the endpoint object: gone with it (DeleteOriginEndpoint, moto reset).
    with _lock:
        if not hasattr(endpoint, "lunora_playlist"):
            endpoint.lunora_playlist = Playlist()
        return endpoint.lunora_playlist


def find_endpoint(endpoint_id: str) -> OriginEndpoint | None:
    for backend in existing_backends(mediapackage_backends):
        endpoint = backend._origin_endpoints.get(endpoint_id)
        if endpoint is not None:
            return endpoint
    return None


# ---------------------------------------------------------------- patches

_orig_create = MediaPackageBackend.create_origin_endpoint
_orig_to_dict = OriginEndpoint.to_dict


def _create_origin_endpoint(self: MediaPackageBackend, **kwargs: Any) -> OriginEndpoint:
    endpoint = _orig_create(self, **kwargs)
    playlist(endpoint)  # the media sequence counts from creation
    return endpoint


def _to_dict(self: OriginEndpoint) -> dict[str, Any]:
    data = _orig_to_dict(self)
    base = public_endpoint()
    if base:
        data["url"] = f"{base}{HLS_PREFIX}{self.id}/{self.manifest_name or 'index'}.m3u8"
    return data


# https://docs.aws.amazon.com/mediapackage/latest/apireference/origin_endpoints.html
# GET /origin_endpoints?channelId=...  -> {"originEndpoints": [...]} of that channel only.
def _list_origin_endpoints(self: Any) -> str:
    channel_id = self._get_param("channelId")
    endpoints = [
        e.to_dict()
        for e in self.mediapackage_backend._origin_endpoints.values()
        if not channel_id or e.channel_id == channel_id
    ]
    return json.dumps({"originEndpoints": endpoints})


# ---------------------------------------------------------------- served routes


def _serve_playlist(method: str, subpath: str, _query: dict[str, list[str]], _body: bytes) -> tuple[int, Any, str]:
    parts = subpath.split("/")
    if method not in ("GET", "HEAD") or len(parts) != 2 or not parts[1].endswith(".m3u8"):
        return 404, "not found\n", "text/plain"
    endpoint = find_endpoint(parts[0])
    if endpoint is None:
        return 404, "not found\n", "text/plain"
    state = playlist(endpoint)
    with _lock:
        if state.status != 200:
            return state.status, "not found\n", "text/plain"
        return 200, state.render(), "application/vnd.apple.mpegurl"


def _control(method: str, subpath: str, _query: dict[str, list[str]], body: bytes) -> tuple[int, Any, str]:
    endpoint_id = subpath.strip("/")
    if method != "POST" or not endpoint_id or "/" in endpoint_id:
        raise ControlError(404, f"no control at {CONTROL}{subpath} for {method}")
    endpoint = find_endpoint(endpoint_id)
    if endpoint is None:
        raise ControlError(404, f"origin endpoint {endpoint_id} not found")
    request = json_body(body)
    state = playlist(endpoint)
    with _lock:
        if "segment_seconds" in request:
            try:
                seconds = float(request["segment_seconds"])
            except (TypeError, ValueError):
                raise ControlError(400, "segment_seconds must be a number") from None
            if not seconds > 0:
                raise ControlError(400, "segment_seconds must be > 0")
            state.rebase()
            state.segment_seconds = seconds
        if "frozen" in request:
            frozen = bool(request["frozen"])
            if frozen != state.frozen:
                state.rebase()
                state.frozen = frozen
        if "status" in request:
            try:
                state.status = int(request["status"])
            except (TypeError, ValueError):
                raise ControlError(400, "status must be an HTTP status code") from None
        return 200, state.to_api(endpoint_id), "application/json"


def install() -> None:
    mp_exceptions.ClientError.code = 404  # only NotFoundException uses it in moto 5.2.1
    MediaPackageBackend.create_origin_endpoint = _create_origin_endpoint  # type: ignore[method-assign]
    OriginEndpoint.to_dict = _to_dict  # type: ignore[method-assign]
    mp_responses.MediaPackageResponse.list_origin_endpoints = _list_origin_endpoints  # type: ignore[method-assign]
    request_log.register(HLS_PREFIX, _serve_playlist, journal=("lunora-hls", "GetPlaylist"))
    request_log.register(CONTROL, _control)
