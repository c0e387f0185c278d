"""MediaConnect source monitoring APIs moto 5.2.1 lacks:
DescribeFlowSourceMetadata and DescribeFlowSourceThumbnail.

An ACTIVE flow reports a default transport stream (one program: H.264
1920x1080 at frame rate "30" on PID 256, AAC stereo 48 kHz on PID 257) until a
test replaces it:

    POST /lunora-api/mediaconnect/source-metadata
         {"flowArn": "...", "transportMediaInfo": {"programs": [...]}}  (wire shape, as answered)
         {"flowArn": "...", "video": {"codec": "h264", "width": 1280, "height": 720,
                                      "frameRate": "60000/1001"}}          (shorthand: that video + the AAC stream)
         {"flowArn": "..."}                                                  (back to the default)
         optional "messages": [{"code": ..., "message": ...}] on an ACTIVE flow
         -> 200 {"flowArn": ..., "transportMediaInfo": {...}, "messages": [...]}

Unknown flow: 404 {"message": ...}.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from moto.mediaconnect import responses as mc_responses
from moto.mediaconnect import urls as mc_urls
from moto.mediaconnect.models import Flow, mediaconnect_backends

from . import request_log
from .common import existing_backends, iso8601, utc_now
from .mediaconnect_ext import get_flow
from .request_log import ControlError, json_body
from .thumbnail import solid_jpeg_base64

CONTROL = "/lunora-api/mediaconnect/source-metadata"
VIDEO_PID, AUDIO_PID, PMT_PID = 256, 257, 4096

# Codes and wording of the messages for a flow that is not ACTIVE are the
# emulator's choice: the API reference says only that messages carry "a status
# code and message" when MediaConnect "cannot retrieve the source stream
# metadata". UNVERIFIED against AWS.
NO_SOURCE_DATA = "NO_SOURCE_DATA"
NO_THUMBNAIL = "NO_THUMBNAIL_AVAILABLE"


def video_stream(codec: str = "h264", width: int = 1920, height: int = 1080, frame_rate: str = "30") -> dict[str, Any]:
    return {
        "codec": codec,
        "frameRate": str(frame_rate),
        "frameResolution": {"frameHeight": int(height), "frameWidth": int(width)},
        "pid": VIDEO_PID,
        "streamType": "video",
    }


def audio_stream() -> dict[str, Any]:
    return {"channels": 2, "codec": "aac", "pid": AUDIO_PID, "sampleRate": 48000, "sampleSize": 16, "streamType": "audio"}


def media_info(video: dict[str, Any], name: str) -> dict[str, Any]:
    return {
        "programs": [
            {
                "pcrPid": VIDEO_PID,
                "programName": name,
                "programNumber": 1,
                "programPid": PMT_PID,
                "streams": [video, audio_stream()],
            }
        ]
    }


def health(flow: Flow) -> dict[str, Any]:
    """Test-set source state of a flow: transportMediaInfo (None = default), messages."""
    if not hasattr(flow, "lunora_source"):
        flow.lunora_source = {"transportMediaInfo": None, "messages": []}
    return flow.lunora_source


def current_media_info(flow: Flow) -> dict[str, Any]:
    info = health(flow)["transportMediaInfo"]
    return copy.deepcopy(info) if info is not None else media_info(video_stream(), flow.name or "")


def is_active(flow: Flow) -> bool:
    flow.resolve_transient_states()  # as DescribeFlow: STARTING -> ACTIVE
    return flow.status == "ACTIVE"


def _message(code: str, text: str, flow: Flow) -> dict[str, str]:
    return {"code": code, "message": text, "resourceName": flow.name or ""}


# ---------------------------------------------------------------- API handlers


# https://docs.aws.amazon.com/mediaconnect/latest/api/v1-flows-flowarn-source-metadata.html
# GET /v1/flows/{flowArn}/source-metadata
# -> {"flowArn", "messages": [MessageDetail], "timestamp", "transportMediaInfo"?}
# The model documents FrameRate only as "the frame rate used by the video
# stream" (a string); the emulator answers what was set, "30" by default.
def _describe_flow_source_metadata(self: Any) -> str:
    flow_arn = self.get_flow_arn()
    flow = get_flow(self.mediaconnect_backend, flow_arn)  # NotFoundException (404)
    answer: dict[str, Any] = {"flowArn": flow_arn, "timestamp": iso8601(utc_now())}
    if is_active(flow):
        answer["messages"] = copy.deepcopy(health(flow)["messages"])
        answer["transportMediaInfo"] = current_media_info(flow)
    else:
        answer["messages"] = [
            _message(NO_SOURCE_DATA, f"No source data: the flow is {flow.status}, not ACTIVE.", flow)
        ]
    return json.dumps(answer)


# https://docs.aws.amazon.com/mediaconnect/latest/api/v1-flows-flowarn-source-thumbnail.html
# GET /v1/flows/{flowArn}/source-thumbnail
# -> {"thumbnailDetails": {"flowArn", "thumbnail"?, "thumbnailMessages", "timecode"?, "timestamp"}}
# A flow that is not ACTIVE: no thumbnail, a message instead (UNVERIFIED wording).
def _describe_flow_source_thumbnail(self: Any) -> str:
    flow_arn = self.get_flow_arn()
    flow = get_flow(self.mediaconnect_backend, flow_arn)
    details: dict[str, Any] = {"flowArn": flow_arn, "timestamp": iso8601(utc_now())}
    if is_active(flow):
        details["thumbnail"] = solid_jpeg_base64(flow_arn)
        details["thumbnailMessages"] = []
        details["timecode"] = "00:00:00:00"
    else:
        details["thumbnailMessages"] = [
            _message(NO_THUMBNAIL, f"No thumbnail: the flow is {flow.status}, not ACTIVE.", flow)
        ]
    return json.dumps({"thumbnailDetails": details})


# ---------------------------------------------------------------- test control


def _find_flow(flow_arn: str) -> Flow:
    for backend in existing_backends(mediaconnect_backends):
        flow = backend._flows.get(flow_arn)
        if flow is not None:
            return flow
    raise ControlError(404, f"Flow not found: {flow_arn}")


def _control(method: str, subpath: str, _query: dict[str, list[str]], body: bytes) -> tuple[int, Any, str]:
    if subpath not in ("", "/"):
        raise ControlError(404, f"no control at {CONTROL}{subpath}")
    if method != "POST":
        raise ControlError(405, f"{method} not supported on {CONTROL}")
    request = json_body(body)
    flow_arn = request.get("flowArn")
    if not flow_arn:
        raise ControlError(400, "flowArn is required")
    flow = _find_flow(str(flow_arn))
    state = health(flow)
    if request.get("transportMediaInfo") is not None:
        info = request["transportMediaInfo"]
        if not isinstance(info, dict):
            raise ControlError(400, "transportMediaInfo must be an object")
        state["transportMediaInfo"] = copy.deepcopy(info)
    elif request.get("video") is not None:
        video = request["video"]
        try:
            stream = video_stream(
                str(video.get("codec", "h264")),
                int(video.get("width", 1920)),
                int(video.get("height", 1080)),
                str(video.get("frameRate", "30")),
            )
        except (AttributeError, TypeError, ValueError) as exc:
            raise ControlError(400, f"bad video shorthand: {exc}") from None
        state["transportMediaInfo"] = media_info(stream, flow.name or "")
    else:
        state["transportMediaInfo"] = None
    if request.get("messages") is not None:
        state["messages"] = [dict(m) for m in request["messages"]]
    return (
        200,
        {"flowArn": flow_arn, "transportMediaInfo": current_media_info(flow), "messages": state["messages"]},
        "application/json",
    )


def install() -> None:
    cls = mc_responses.MediaConnectResponse
    cls.describe_flow_source_metadata = _describe_flow_source_metadata  # type: ignore[attr-defined]
    cls.describe_flow_source_thumbnail = _describe_flow_source_thumbnail  # type: ignore[attr-defined]
    dispatch = mc_urls.response.dispatch
    mc_urls.url_paths.setdefault("{0}/v1/flows/(?P<flowarn>[^/.]+)/source-metadata$", dispatch)
    mc_urls.url_paths.setdefault("{0}/v1/flows/(?P<flowarn>[^/.]+)/source-thumbnail$", dispatch)
    request_log.register(CONTROL, _control)
