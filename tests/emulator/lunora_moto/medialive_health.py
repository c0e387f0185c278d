"""MediaLive health APIs moto 5.2.1 lacks: ListAlerts and DescribeThumbnails.

Alerts exist only when a test sets them through the control API (a channel of
the emulator never raises one by itself):

    POST   /lunora-api/medialive/alerts/<channelId>
           {"alertType": "...", "message": "...", "pipelineId": "0"}
           -> 200 {"id": "<alert id>"}      (a new SET alert, setTimestamp now)
    DELETE /lunora-api/medialive/alerts/<channelId>/<alertId>
           -> 200 {"id": ..., "state": "CLEARED", "clearedTimestamp": ...}
    DELETE /lunora-api/medialive/alerts/<channelId>
           -> 200 {"cleared": <number of alerts cleared>}

Unknown channel or alert: 404 {"message": ...}.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

from moto.core.responses import ActionResult
from moto.medialive import responses as ml_responses
from moto.medialive import urls as ml_urls
from moto.medialive.models import MediaLiveBackend, medialive_backends
from moto.moto_api._internal import mock_random

from . import request_log
from .common import BadRequestException, existing_backends, iso8601, utc_now
from .medialive_ext import get_channel
from .request_log import ControlError, json_body
from .thumbnail import solid_jpeg_base64

CONTROL = "/lunora-api/medialive/alerts/"
REFUSE_START = "/lunora-api/medialive/refuse-start/"
ALERT_STATES = ("SET", "CLEARED")
MAX_ALERT_RESULTS = 1000  # ListAlerts' MaxResults range is 1..1000 in the model


def alert_store(backend: MediaLiveBackend) -> dict[str, list[dict[str, Any]]]:
    # In the backend's __dict__ so moto's reset() clears it too.
    return backend.__dict__.setdefault("lunora_alerts", {})


def set_alert(backend: MediaLiveBackend, channel_id: str, alert_type: str, message: str, pipeline_id: str) -> dict[str, Any]:
    alert = {
        "AlertType": alert_type,
        "ClearedTimestamp": None,
        "Id": mock_random.get_random_hex(24),
        "Message": message,
        "PipelineId": pipeline_id,
        "SetTimestamp": utc_now(),
        "State": "SET",
    }
    alert_store(backend).setdefault(channel_id, []).append(alert)
    return alert


def clear_alert(alert: dict[str, Any], when: datetime.datetime) -> bool:
    if alert["State"] != "SET":
        return False
    alert["State"] = "CLEARED"
    alert["ClearedTimestamp"] = when
    return True


# ---------------------------------------------------------------- API handlers


# https://docs.aws.amazon.com/medialive/latest/apireference/channels-channelid-alerts.html
# GET /prod/channels/{channelId}/alerts?stateFilter=&maxResults=&nextToken=
# -> {"alerts": [ChannelAlert], "nextToken"?}; timestamps are the model's
# `timestampFormat: iso8601` (moto's serializer writes ...Z strings).
def _r_list_alerts(self: Any) -> ActionResult:
    backend = self.medialive_backend
    channel_id = self._get_param("ChannelId")
    get_channel(backend, channel_id)  # NotFoundException (404)
    state_filter = self._get_param("StateFilter")
    if state_filter is not None and state_filter not in ALERT_STATES:
        raise BadRequestException(f"Invalid stateFilter {state_filter!r}: expected SET or CLEARED.")
    max_results = self._get_param("MaxResults")
    try:
        max_results = MAX_ALERT_RESULTS if max_results is None else int(max_results)
    except (TypeError, ValueError):
        raise BadRequestException(f"Invalid maxResults {max_results!r}.") from None
    if not 1 <= max_results <= MAX_ALERT_RESULTS:
        raise BadRequestException(f"maxResults must be between 1 and {MAX_ALERT_RESULTS}.")
    token = self._get_param("NextToken")
    try:
        start = int(token) if token else 0
    except ValueError:
        raise BadRequestException(f"Invalid nextToken {token!r}.") from None
    alerts = [
        a for a in alert_store(backend).get(channel_id, []) if state_filter is None or a["State"] == state_filter
    ]
    page = alerts[start : start + max_results]
    result: dict[str, Any] = {"Alerts": [{k: v for k, v in a.items() if v is not None} for a in page]}
    if start + max_results < len(alerts):
        result["NextToken"] = str(start + max_results)
    return ActionResult(result)


# https://docs.aws.amazon.com/medialive/latest/apireference/channels-channelid-thumbnails.html
# GET /prod/channels/{channelId}/thumbnails?pipelineId=0&thumbnailType=CURRENT_ACTIVE
# MediaLive makes thumbnails only for a RUNNING channel. For one that is not
# running the emulator answers BadRequestException (HTTP 400): the API
# reference lists both BadRequestException and ConflictException for this
# operation without saying which one a stopped channel gets; a third-party SDK
# binding (alchemy.run, medialive/describethumbnails) documents
# BadRequestException for "a channel that is not running". UNVERIFIED against
# AWS itself. Thumbnails disabled in the encoder settings
# (ThumbnailConfiguration.State DISABLED) answer {"thumbnailDetails": []}, as
# the MediaLive user guide shows ("Retrieving thumbnails programmatically");
# the emulator treats a channel without ThumbnailConfiguration as enabled.
#
# Answered as JSON text: moto's serializer fails (HTTP 500) on the nested member
# named `Body` (it treats it as the REST payload).
def _r_describe_thumbnails(self: Any) -> str:
    backend = self.medialive_backend
    channel = get_channel(backend, self._get_param("ChannelId"))
    pipeline_id = self._get_param("PipelineId")
    thumbnail_type = self._get_param("ThumbnailType")
    pipelines = ("0",) if channel.channel_class == "SINGLE_PIPELINE" else ("0", "1")
    if pipeline_id not in pipelines:
        raise BadRequestException(
            f"Invalid pipelineId {pipeline_id!r}: channel {channel.id} has pipeline(s) {', '.join(pipelines)}."
        )
    if thumbnail_type != "CURRENT_ACTIVE":
        raise BadRequestException(f"Invalid thumbnailType {thumbnail_type!r}: expected CURRENT_ACTIVE.")
    channel._resolve_transient_states()  # as DescribeChannel: STARTING -> RUNNING
    if channel.state != "RUNNING":
        raise BadRequestException(
            f"Channel {channel.id} is {channel.state}; thumbnails are available only while the channel is running."
        )
    config = (channel.encoder_settings or {}).get("ThumbnailConfiguration") or {}
    if config.get("State") == "DISABLED":
        return json.dumps({"thumbnailDetails": []})
    thumbnail = {
        "body": solid_jpeg_base64(f"{channel.arn}#{pipeline_id}"),
        "contentType": "image/jpeg",
        "thumbnailType": "CURRENT_ACTIVE",
        "timeStamp": iso8601(utc_now()),
    }
    return json.dumps({"thumbnailDetails": [{"pipelineId": pipeline_id, "thumbnails": [thumbnail]}]})


# ---------------------------------------------------------------- test controls


def _find_channel(channel_id: str) -> MediaLiveBackend:
    for backend in existing_backends(medialive_backends):
        if channel_id in backend._channels:
            return backend
    raise ControlError(404, f"Channel {channel_id} not found")


def _control(method: str, subpath: str, _query: dict[str, list[str]], body: bytes) -> tuple[int, Any, str]:
    parts = [p for p in subpath.split("/") if p]
    if not parts or len(parts) > 2:
        raise ControlError(404, f"no control at {CONTROL}{subpath}")
    channel_id = parts[0]
    backend = _find_channel(channel_id)
    if method == "POST" and len(parts) == 1:
        request = json_body(body)
        alert = set_alert(
            backend,
            channel_id,
            str(request.get("alertType") or "LUNORA_TEST_ALERT"),
            str(request.get("message") or ""),
            str(request.get("pipelineId") if request.get("pipelineId") is not None else "0"),
        )
        return 200, {"id": alert["Id"]}, "application/json"
    if method == "DELETE":
        now = utc_now()
        alerts = alert_store(backend).get(channel_id, [])
        if len(parts) == 1:
            cleared = sum(clear_alert(a, now) for a in alerts)
            return 200, {"cleared": cleared}, "application/json"
        alert = next((a for a in alerts if a["Id"] == parts[1]), None)
        if alert is None:
            raise ControlError(404, f"Alert {parts[1]} not found on channel {channel_id}")
        clear_alert(alert, now)
        return (
            200,
            {"id": alert["Id"], "state": alert["State"], "clearedTimestamp": iso8601(alert["ClearedTimestamp"])},
            "application/json",
        )
    raise ControlError(405, f"{method} not supported on {CONTROL}{subpath}")


def refusals(backend: MediaLiveBackend) -> dict[str, str]:
    """Channel id -> the message StartChannel refuses it with."""
    return backend.__dict__.setdefault("lunora_refuse_start", {})


def _refuse_start_control(method: str, subpath: str, _query: dict[str, list[str]], body: bytes) -> tuple[int, Any, str]:
    channel_id = subpath.strip("/")
    if not channel_id or "/" in channel_id:
        raise ControlError(404, f"no control at {REFUSE_START}{subpath}")
    backend = _find_channel(channel_id)
    if method == "POST":
        message = str(json_body(body).get("message") or f"Unable to start channel {channel_id}")
        refusals(backend)[channel_id] = message
        return 200, {"channelId": channel_id, "message": message}, "application/json"
    if method == "DELETE":
        refusals(backend).pop(channel_id, None)
        return 200, {"channelId": channel_id}, "application/json"
    raise ControlError(405, f"{method} not supported on {REFUSE_START}{subpath}")


def install() -> None:
    cls = ml_responses.MediaLiveResponse
    cls.list_alerts = _r_list_alerts  # type: ignore[attr-defined]
    cls.describe_thumbnails = _r_describe_thumbnails  # type: ignore[attr-defined]
    dispatch = ml_urls.response.dispatch
    ml_urls.url_paths.setdefault("{0}/prod/channels/(?P<channelid>[^/.]+)/alerts$", dispatch)
    ml_urls.url_paths.setdefault("{0}/prod/channels/(?P<channelid>[^/.]+)/thumbnails$", dispatch)
    request_log.register(CONTROL, _control)
    request_log.register(REFUSE_START, _refuse_start_control)
