"""MediaLive: fill gaps in moto 5.2.1's backend and REST handlers.

Patched (see README.md, "Patched moto behaviour"):
- Channel / input ids and ARNs look like MediaLive's (numeric ids,
  arn:aws:medialive:<region>:<account>:channel:<id>); moto used uuid hex ids and
  ARNs without region/account.
- CreateInput: moto dropped InputSecurityGroups (kwarg name mismatch) and echoed
  the request's Destinations; push inputs now get endpoint destinations
  (RTP_PUSH: two `rtp://<TEST-NET-1 ip>:5000`), MEDIACONNECT inputs get a
  MediaLive-managed output on each flow, referenced ISGs must exist.
- Input security groups: moto has no API for them; Create/Describe/List/Update/
  DeleteInputSecurityGroup added.
- Unknown channel/input ids raise NotFoundException (moto: KeyError -> HTTP 500).
- UpdateChannel: refused with ConflictException unless the channel is IDLE;
  partial update (moto overwrote omitted fields with None).
- Inputs track AttachedChannels / ATTACHED|DETACHED from channel attachments;
  ISGs track Inputs / IN_USE|IDLE.
"""

from __future__ import annotations

import ipaddress
from collections import OrderedDict
from typing import Any

from moto.core.responses import ActionResult, EmptyResult
from moto.mediaconnect.models import mediaconnect_backends
from moto.medialive import responses as ml_responses
from moto.medialive import urls as ml_urls
from moto.medialive.models import Channel, Input, MediaLiveBackend
from moto.moto_api._internal import mock_random
from moto.utilities.utils import get_partition

from . import mediaconnect_ext
from .common import (
    INPUT_ENDPOINT_NET,
    BadRequestException,
    ConflictException,
    NotFoundException,
    fake_ip,
)

PUSH_SCHEMES = {"RTP_PUSH": ("rtp", "5000"), "UDP_PUSH": ("udp", "5000"), "RTMP_PUSH": ("rtmp", "1935")}
GONE_STATES = ("DELETING", "DELETED")


class InputSecurityGroup:
    def __init__(self, backend: MediaLiveBackend, whitelist_rules: list[dict[str, str]], tags: dict[str, str] | None):
        self.id = _numeric_id(isg_store(backend), digits=6)
        self.arn = _arn(backend, "inputSecurityGroup", self.id)
        self.whitelist_rules = validate_whitelist(whitelist_rules)
        self.tags = dict(tags or {})
        self.inputs: list[str] = []
        self.state = "IDLE"

    def to_api(self) -> dict[str, Any]:
        return {
            "Arn": self.arn,
            "Id": self.id,
            "Inputs": list(self.inputs),
            "State": self.state,
            "Tags": dict(self.tags),
            "WhitelistRules": [dict(r) for r in self.whitelist_rules],
        }


def validate_whitelist(rules: list[dict[str, str]] | None) -> list[dict[str, str]]:
    rules = list(rules or [])
    if len(rules) > 10:
        raise BadRequestException("An input security group can have at most 10 whitelist rules.")
    clean = []
    for rule in rules:
        cidr = (rule or {}).get("Cidr")
        try:
            ipaddress.ip_network(str(cidr), strict=False)
        except ValueError:
            raise BadRequestException(f"Invalid CIDR in whitelist rule: {cidr!r}") from None
        clean.append({"Cidr": str(cidr)})
    return clean


def isg_store(backend: MediaLiveBackend) -> "OrderedDict[str, InputSecurityGroup]":
    # Lives in the backend's __dict__ so moto's reset() clears it too.
    store = backend.__dict__.get("lunora_input_security_groups")
    if store is None:
        store = OrderedDict()
        backend.__dict__["lunora_input_security_groups"] = store
    return store


def _numeric_id(existing: Any, digits: int = 7) -> str:
    while True:
        candidate = str(mock_random.randint(10 ** (digits - 1), 10**digits - 1))
        if candidate not in existing:
            return candidate


def _arn(backend: MediaLiveBackend, kind: str, ident: str) -> str:
    return (
        f"arn:{get_partition(backend.region_name)}:medialive:{backend.region_name}:"
        f"{backend.account_id}:{kind}:{ident}"
    )


def get_channel(backend: MediaLiveBackend, channel_id: str) -> Channel:
    channel = backend._channels.get(channel_id)
    if channel is None:
        raise NotFoundException(f"Channel {channel_id} not found")
    return channel


def get_input(backend: MediaLiveBackend, input_id: str) -> Input:
    a_input = backend._inputs.get(input_id)
    if a_input is None:
        raise NotFoundException(f"Input {input_id} not found")
    return a_input


def get_isg(backend: MediaLiveBackend, isg_id: str) -> InputSecurityGroup:
    isg = isg_store(backend).get(isg_id)
    if isg is None:
        raise NotFoundException(f"Input security group {isg_id} not found")
    return isg


# ---------------------------------------------------------------- bookkeeping


def sync_attachments(backend: MediaLiveBackend) -> None:
    attached: dict[str, list[str]] = {}
    for channel in backend._channels.values():
        if channel.state in GONE_STATES:
            continue
        for att in channel.input_attachments or []:
            attached.setdefault(att.get("InputId"), []).append(channel.id)
    for a_input in backend._inputs.values():
        a_input.attached_channels = attached.get(a_input.id, [])
        if a_input.state in ("DETACHED", "ATTACHED"):
            a_input.state = "ATTACHED" if a_input.attached_channels else "DETACHED"


def sync_isgs(backend: MediaLiveBackend) -> None:
    for isg in isg_store(backend).values():
        isg.inputs = [
            i.id
            for i in backend._inputs.values()
            if i.state not in GONE_STATES and isg.id in (i.security_groups or [])
        ]
        isg.state = "IN_USE" if isg.inputs else "IDLE"


def validate_attachments(backend: MediaLiveBackend, channel_id: str | None, attachments: list[dict[str, Any]] | None) -> None:
    for att in attachments or []:
        input_id = att.get("InputId")
        a_input = backend._inputs.get(input_id)
        if a_input is None or a_input.state in GONE_STATES:
            raise BadRequestException(f"Input {input_id} not found")
        others = [c for c in (a_input.attached_channels or []) if c != channel_id]
        if others:
            raise BadRequestException(
                f"Input {input_id} is already attached to channel {others[0]}; "
                "an input can be attached to only one channel."
            )


def validate_destinations(channel_class: str, destinations: list[dict[str, Any]] | None) -> None:
    expected = 1 if channel_class == "SINGLE_PIPELINE" else 2
    for dest in destinations or []:
        settings = dest.get("Settings")
        if settings and len(settings) != expected:
            raise BadRequestException(
                f"Destination {dest.get('Id')}: a {channel_class} channel needs exactly "
                f"{expected} entr{'y' if expected == 1 else 'ies'} in Settings, got {len(settings)}."
            )


def input_destinations(a_input: Input, requested: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    scheme_port = PUSH_SCHEMES.get(a_input.type or "")
    if scheme_port is None:
        return []
    scheme, port = scheme_port
    count = 1 if a_input.input_class == "SINGLE_PIPELINE" else 2
    out = []
    for index in range(count):
        ip = fake_ip(INPUT_ENDPOINT_NET, a_input.arn, salt=index)
        url = f"{scheme}://{ip}:{port}"
        if scheme == "rtmp" and requested and index < len(requested):
            stream = (requested[index] or {}).get("StreamName", "")
            url = f"{url}/{stream}" if stream else url
        out.append({"Ip": ip, "Port": port, "Url": url})
    return out


def add_managed_outputs(backend: MediaLiveBackend, a_input: Input) -> None:
    """MEDIACONNECT inputs: MediaLive adds one output per flow (ManagedAddOutput)."""
    mc = mediaconnect_backends[backend.account_id][backend.region_name]
    for entry in a_input.media_connect_flows or []:
        flow = mc._flows.get(entry.get("FlowArn"))
        if flow is None:
            raise BadRequestException(f"MediaConnect flow {entry.get('FlowArn')} not found")
        mediaconnect_ext.add_output(
            mc,
            flow,
            {
                "name": f"MediaLiveInput-{a_input.id}",
                "description": f"MediaLive-managed output for input {a_input.id}",
                "protocol": "rtp",
                "mediaLiveInputArn": a_input.arn,
                "outputStatus": "ENABLED",
            },
        )


def remove_managed_outputs(backend: MediaLiveBackend, a_input: Input) -> None:
    mc = mediaconnect_backends[backend.account_id][backend.region_name]
    for flow in mc._flows.values():
        flow.outputs[:] = [o for o in flow.outputs if o.get("mediaLiveInputArn") != a_input.arn]


def remove_input(backend: MediaLiveBackend, input_id: str) -> None:
    a_input = backend._inputs.pop(input_id, None)
    if a_input is not None:
        remove_managed_outputs(backend, a_input)
    sync_isgs(backend)


def remove_channel(backend: MediaLiveBackend, channel_id: str) -> None:
    backend._channels.pop(channel_id, None)
    sync_attachments(backend)


# ---------------------------------------------------------------- backend patches

_orig = {
    name: getattr(MediaLiveBackend, name)
    for name in (
        "create_channel",
        "create_input",
        "describe_channel",
        "describe_input",
        "delete_channel",
        "delete_input",
        "start_channel",
        "stop_channel",
        "update_input",
    )
}


def _create_channel(self: MediaLiveBackend, **kwargs: Any) -> Channel:
    channel_class = kwargs.get("channel_class") or "STANDARD"
    validate_attachments(self, None, kwargs.get("input_attachments"))
    validate_destinations(channel_class, kwargs.get("destinations"))
    channel = _orig["create_channel"](self, **kwargs)
    del self._channels[channel.id]
    channel.id = _numeric_id(self._channels)
    channel.arn = _arn(self, "channel", channel.id)
    self._channels[channel.id] = channel
    sync_attachments(self)
    return channel


def _create_input(self: MediaLiveBackend, **kwargs: Any) -> Input:
    groups = list(kwargs.get("input_security_groups") or [])
    for isg_id in groups:
        get_isg(self, isg_id)
    input_type = kwargs.get("input_type")
    if input_type in PUSH_SCHEMES and not groups:
        raise BadRequestException(f"A {input_type} input needs an input security group.")
    flows = kwargs.get("media_connect_flows") or []
    if input_type == "MEDIACONNECT" and not 1 <= len(flows) <= 2:
        raise BadRequestException("A MEDIACONNECT input needs one or two MediaConnectFlows.")
    a_input = _orig["create_input"](self, **kwargs)
    del self._inputs[a_input.id]
    a_input.id = _numeric_id(self._inputs)
    a_input.arn = _arn(self, "input", a_input.id)
    self._inputs[a_input.id] = a_input
    a_input.security_groups = groups
    if input_type == "MEDIACONNECT":
        a_input.input_class = "SINGLE_PIPELINE" if len(flows) == 1 else "STANDARD"
    a_input.destinations = input_destinations(a_input, kwargs.get("destinations"))
    a_input.tags = a_input.tags or {}
    try:
        add_managed_outputs(self, a_input)
    except Exception:
        remove_input(self, a_input.id)
        raise
    sync_isgs(self)
    return a_input


def _describe_channel(self: MediaLiveBackend, channel_id: str) -> Channel:
    get_channel(self, channel_id)
    return _orig["describe_channel"](self, channel_id)


def _describe_input(self: MediaLiveBackend, input_id: str) -> Input:
    get_input(self, input_id)
    a_input = _orig["describe_input"](self, input_id)  # CREATING -> DETACHED
    sync_attachments(self)  # ... or ATTACHED
    return a_input


def _delete_channel(self: MediaLiveBackend, channel_id: str) -> Channel:
    get_channel(self, channel_id)
    channel = _orig["delete_channel"](self, channel_id)
    sync_attachments(self)
    return channel


def _delete_input(self: MediaLiveBackend, input_id: str) -> None:
    a_input = get_input(self, input_id)
    _orig["delete_input"](self, input_id)
    remove_managed_outputs(self, a_input)
    sync_isgs(self)


def _start_channel(self: MediaLiveBackend, channel_id: str) -> Channel:
    get_channel(self, channel_id)
    # Set through POST /lunora-api/medialive/refuse-start/<channelId>: the
    # 409 ConflictException StartChannel documents among its errors
    # (https://docs.aws.amazon.com/medialive/latest/apireference/channels-channelid-start.html).
    refused = self.__dict__.get("lunora_refuse_start", {}).get(channel_id)
    if refused:
        raise ConflictException(refused)
    return _orig["start_channel"](self, channel_id)


def _stop_channel(self: MediaLiveBackend, channel_id: str) -> Channel:
    get_channel(self, channel_id)
    return _orig["stop_channel"](self, channel_id)


def ensure_idle(channel: Channel) -> None:
    channel._resolve_transient_states()
    if channel.state != "IDLE":
        raise ConflictException(
            f"Unable to update channel {channel.id}: the channel is {channel.state}; "
            "the channel must be idle (stopped) to be updated."
        )


def apply_channel_update(backend: MediaLiveBackend, channel: Channel, fields: dict[str, Any]) -> None:
    """Apply non-None fields (snake_case attribute names) to an IDLE channel."""
    ensure_idle(channel)
    if fields.get("input_attachments") is not None:
        validate_attachments(backend, channel.id, fields["input_attachments"])
    if fields.get("destinations") is not None:
        validate_destinations(channel.channel_class, fields["destinations"])
    for key, value in fields.items():
        if value is not None:
            setattr(channel, key, value)
    sync_attachments(backend)


def _update_channel(self: MediaLiveBackend, channel_id: str, **kwargs: Any) -> Channel:
    channel = get_channel(self, channel_id)
    apply_channel_update(self, channel, kwargs)
    channel._previous_state = channel.state
    channel.state = "UPDATING"
    return channel


def _update_input(self: MediaLiveBackend, **kwargs: Any) -> Input:
    a_input = get_input(self, kwargs["input_id"])
    groups = kwargs.get("input_security_groups")
    for isg_id in groups or []:
        get_isg(self, isg_id)
    requested_destinations = kwargs.pop("destinations", None)
    kwargs = {k: (v if v is not None else getattr(a_input, _INPUT_ATTR.get(k, k), None)) for k, v in kwargs.items()}
    _orig["update_input"](self, destinations=a_input.destinations, **kwargs)
    if requested_destinations is not None and a_input.type == "RTMP_PUSH":
        a_input.destinations = input_destinations(a_input, requested_destinations)
    sync_isgs(self)
    return a_input


_INPUT_ATTR = {"input_security_groups": "security_groups"}


# ---------------------------------------------------------------- ISG API


def create_isg(backend: MediaLiveBackend, whitelist_rules: list[dict[str, str]] | None, tags: dict[str, str] | None) -> InputSecurityGroup:
    isg = InputSecurityGroup(backend, whitelist_rules or [], tags)
    isg_store(backend)[isg.id] = isg
    return isg


def update_isg(backend: MediaLiveBackend, isg_id: str, whitelist_rules: list[dict[str, str]] | None, tags: dict[str, str] | None) -> InputSecurityGroup:
    isg = get_isg(backend, isg_id)
    if whitelist_rules is not None:
        isg.whitelist_rules = validate_whitelist(whitelist_rules)
    if tags is not None:
        isg.tags = dict(tags)
    return isg


def delete_isg(backend: MediaLiveBackend, isg_id: str) -> None:
    isg = get_isg(backend, isg_id)
    sync_isgs(backend)
    if isg.inputs:
        raise BadRequestException(
            f"Input security group {isg_id} is in use by input(s) {', '.join(isg.inputs)}."
        )
    del isg_store(backend)[isg_id]


def _r_create_isg(self: Any) -> ActionResult:
    isg = create_isg(self.medialive_backend, self._get_param("WhitelistRules"), self._get_param("Tags"))
    return ActionResult({"SecurityGroup": isg.to_api()})


def _r_describe_isg(self: Any) -> ActionResult:
    sync_isgs(self.medialive_backend)
    return ActionResult(get_isg(self.medialive_backend, self._get_param("InputSecurityGroupId")).to_api())


def _r_list_isgs(self: Any) -> ActionResult:
    sync_isgs(self.medialive_backend)
    return ActionResult({"InputSecurityGroups": [i.to_api() for i in isg_store(self.medialive_backend).values()]})


def _r_update_isg(self: Any) -> ActionResult:
    isg = update_isg(
        self.medialive_backend,
        self._get_param("InputSecurityGroupId"),
        self._get_param("WhitelistRules"),
        self._get_param("Tags"),
    )
    return ActionResult({"SecurityGroup": isg.to_api()})


def _r_delete_isg(self: Any) -> ActionResult:
    delete_isg(self.medialive_backend, self._get_param("InputSecurityGroupId"))
    return EmptyResult()


def install() -> None:
    MediaLiveBackend.create_channel = _create_channel  # type: ignore[method-assign]
    MediaLiveBackend.create_input = _create_input  # type: ignore[method-assign]
    MediaLiveBackend.describe_channel = _describe_channel  # type: ignore[method-assign]
    MediaLiveBackend.describe_input = _describe_input  # type: ignore[method-assign]
    MediaLiveBackend.delete_channel = _delete_channel  # type: ignore[method-assign]
    MediaLiveBackend.delete_input = _delete_input  # type: ignore[method-assign]
    MediaLiveBackend.start_channel = _start_channel  # type: ignore[method-assign]
    MediaLiveBackend.stop_channel = _stop_channel  # type: ignore[method-assign]
    MediaLiveBackend.update_channel = _update_channel  # type: ignore[method-assign]
    MediaLiveBackend.update_input = _update_input  # type: ignore[method-assign]
    cls = ml_responses.MediaLiveResponse
    cls.create_input_security_group = _r_create_isg  # type: ignore[attr-defined]
    cls.describe_input_security_group = _r_describe_isg  # type: ignore[attr-defined]
    cls.list_input_security_groups = _r_list_isgs  # type: ignore[attr-defined]
    cls.update_input_security_group = _r_update_isg  # type: ignore[attr-defined]
    cls.delete_input_security_group = _r_delete_isg  # type: ignore[attr-defined]
    dispatch = ml_urls.response.dispatch
    ml_urls.url_paths.setdefault("{0}/prod/inputSecurityGroups$", dispatch)
    ml_urls.url_paths.setdefault("{0}/prod/inputSecurityGroups/(?P<inputsecuritygroupid>[^/.]+)$", dispatch)
