"""MediaConnect: fill gaps in moto 5.2.1's backend and REST handlers.

Patched (see README.md, "Patched moto behaviour"):
- CreateFlow: fake ingest/egress IPs from TEST-NET ranges instead of 127.0.0.x;
  `transport` (protocol, latency...) rendered as DescribeFlow returns it;
  outputs get `outputStatus`.
- UpdateFlow: not implemented by moto; added (failover config incl.
  SourcePriority, maintenance, flow size, source monitoring config).
- UpdateFlowOutput: moto overwrote every field with the request value (None
  when absent) and ignored OutputStatus; now a partial update incl. OutputStatus.
- AddFlowOutputs / AddFlowSources: moto replaced the whole list and gave outputs
  no ARN; now they append and assign ARNs / ingest IPs.
- RemoveFlowOutput: moto compared the output *name* to the ARN (never matched).
- RemoveFlowSource: not implemented by moto; added.
- NotFoundException is answered with HTTP 404 (moto: 400).
"""

from __future__ import annotations

import json
from typing import Any

from moto.mediaconnect import exceptions as mc_exceptions
from moto.mediaconnect import responses as mc_responses
from moto.mediaconnect.models import Flow, MediaConnectBackend
from moto.moto_api._internal import mock_random
from moto.utilities.utils import get_partition

from .common import (
    FLOW_EGRESS_NET,
    FLOW_INGEST_NET,
    BadRequestException,
    NotFoundException,
    drop_none,
    fake_ip,
)

# Request members that DescribeFlow reports inside `transport`.
TRANSPORT_KEYS = (
    "protocol",
    "minLatency",
    "maxLatency",
    "maxBitrate",
    "maxSyncBuffer",
    "streamId",
    "senderControlPort",
    "senderIpAddress",
    "sourceListenerAddress",
    "sourceListenerPort",
    "smoothingLatency",
    "remoteId",
    "cidrAllowList",
    "ndiSpeedHqQuality",
    "ndiProgramName",
    "ndiSourceSettings",
)

OUTPUT_UPDATABLE = (
    "cidrAllowList",
    "description",
    "destination",
    "encryption",
    "maxLatency",
    "mediaStreamOutputConfigurations",
    "minLatency",
    "port",
    "protocol",
    "remoteId",
    "senderControlPort",
    "senderIpAddress",
    "smoothingLatency",
    "streamId",
    "vpcInterfaceAttachment",
    "outputStatus",
    "ndiProgramName",
    "ndiSpeedHqQuality",
    "routerIntegrationState",
    "routerIntegrationTransitEncryption",
)

# Flow-level settings moto's Flow does not model; kept in Flow.lunora_extra.
FLOW_EXTRA_KEYS = ("flowSize", "sourceMonitoringConfig", "ndiConfig", "encodingConfig")


def refresh_transport(entry: dict[str, Any]) -> None:
    entry["transport"] = {
        k: entry[k] for k in TRANSPORT_KEYS if entry.get(k) is not None
    }


def get_flow(backend: MediaConnectBackend, flow_arn: str) -> Flow:
    flow = backend._flows.get(flow_arn)
    if flow is None:
        raise NotFoundException(f"Flow not found: {flow_arn}")
    return flow


def flow_ingest_ip(flow: Flow) -> str:
    # All sources of one flow share the flow's ingest address; they differ by port.
    return fake_ip(FLOW_INGEST_NET, flow.flow_arn)


def _arn(backend: MediaConnectBackend, kind: str, name: str) -> str:
    return (
        f"arn:{get_partition(backend.region_name)}:mediaconnect:{backend.region_name}:"
        f"{backend.account_id}:{kind}:1-{mock_random.get_random_hex(16)}-"
        f"{mock_random.get_random_hex(12)}:{name}"
    )


# ---------------------------------------------------------------- sources


def validate_new_source(flow: Flow, source: dict[str, Any]) -> None:
    sources = [s for s in flow.sources if s is not None]
    if len(sources) >= 2:
        raise BadRequestException(
            f"Flow {flow.name} already has {len(sources)} sources; a flow can have at most 2."
        )
    if sources:
        state = (flow.source_failover_config or {}).get("state")
        if state != "ENABLED":
            raise BadRequestException(
                "Failover must be enabled on the flow (SourceFailoverConfig.State=ENABLED) "
                "before a second source can be added."
            )
        first = sources[0]
        if first.get("protocol") and source.get("protocol") != first.get("protocol"):
            raise BadRequestException(
                f"All sources of a flow must use the same protocol: "
                f"{first.get('protocol')} != {source.get('protocol')}."
            )
        for other in sources:
            if other.get("name") == source.get("name"):
                raise BadRequestException(
                    f"A source named {source.get('name')} already exists on the flow."
                )
            port = source.get("ingestPort")
            if port is not None and other.get("ingestPort") == port:
                raise BadRequestException(
                    f"Each source on a flow must use a different port; {port} is in use."
                )


def add_source(
    backend: MediaConnectBackend, flow: Flow, source: dict[str, Any]
) -> dict[str, Any]:
    source = drop_none(dict(source))
    validate_new_source(flow, source)
    source["sourceArn"] = _arn(backend, "source", source.get("name", "source"))
    if not source.get("entitlementArn"):
        source["ingestIp"] = flow_ingest_ip(flow)
    refresh_transport(source)
    flow.sources.append(source)
    if not flow.source:
        flow.source = source
    return source


def update_source(flow: Flow, source_arn: str, changes: dict[str, Any]) -> dict[str, Any]:
    for source in flow.sources:
        if source.get("sourceArn") == source_arn:
            source.update(drop_none(changes))
            refresh_transport(source)
            return source
    raise NotFoundException(f"Source not found: {source_arn}")


def replace_source_settings(source: dict[str, Any], settings: dict[str, Any]) -> None:
    """Replace the user-settable part of `source`, keeping ARN and ingest IP."""
    keep = {k: source[k] for k in ("sourceArn", "ingestIp") if k in source}
    source.clear()
    source.update(drop_none(settings))
    source.update(keep)
    refresh_transport(source)


def remove_source(flow: Flow, source_arn: str) -> None:
    before = len(flow.sources)
    flow.sources[:] = [s for s in flow.sources if s.get("sourceArn") != source_arn]
    if len(flow.sources) == before:
        raise NotFoundException(f"Source not found: {source_arn}")
    if flow.source and flow.source.get("sourceArn") == source_arn:
        flow.source = flow.sources[0] if flow.sources else {}


# ---------------------------------------------------------------- outputs


def add_output(
    backend: MediaConnectBackend, flow: Flow, output: dict[str, Any]
) -> dict[str, Any]:
    output = drop_none(dict(output))
    if not output.get("protocol") and not output.get("mediaLiveInputArn"):
        raise BadRequestException("Protocol is required for a flow output.")
    name = output.get("name") or f"output-{mock_random.get_random_hex(8)}"
    output["name"] = name
    if any(o.get("name") == name for o in flow.outputs):
        raise BadRequestException(f"An output named {name} already exists on the flow.")
    status = output.get("outputStatus", "ENABLED")
    if status not in ("ENABLED", "DISABLED"):
        raise BadRequestException(f"Invalid OutputStatus {status}.")
    output["outputStatus"] = status
    output["outputArn"] = _arn(backend, "output", name)
    if output.get("protocol") in ("srt-listener", "zixi-pull"):
        output["listenerAddress"] = flow.egress_ip
    refresh_transport(output)
    flow.outputs.append(output)
    return output


def update_output(flow: Flow, output_arn: str, changes: dict[str, Any]) -> dict[str, Any]:
    status = changes.get("outputStatus")
    if status is not None and status not in ("ENABLED", "DISABLED"):
        raise BadRequestException(f"Invalid OutputStatus {status}.")
    for output in flow.outputs:
        if output.get("outputArn") == output_arn:
            for key in OUTPUT_UPDATABLE:
                if changes.get(key) is not None:
                    output[key] = changes[key]
            refresh_transport(output)
            return output
    raise NotFoundException(f"Output not found: {output_arn}")


def replace_output_settings(output: dict[str, Any], settings: dict[str, Any]) -> None:
    keep = {
        k: output[k]
        for k in ("outputArn", "listenerAddress", "mediaLiveInputArn")
        if k in output
    }
    output.clear()
    output.update(drop_none(settings))
    output.setdefault("outputStatus", "ENABLED")
    output.update(keep)
    refresh_transport(output)


def remove_output(flow: Flow, output_arn: str) -> None:
    before = len(flow.outputs)
    flow.outputs[:] = [o for o in flow.outputs if o.get("outputArn") != output_arn]
    if len(flow.outputs) == before:
        raise NotFoundException(f"Output not found: {output_arn}")


# ---------------------------------------------------------------- flow


def update_flow(flow: Flow, changes: dict[str, Any]) -> Flow:
    failover = changes.get("sourceFailoverConfig")
    if failover is not None:
        merged = dict(flow.source_failover_config or {})
        merged.update(drop_none(failover))
        primary = (merged.get("sourcePriority") or {}).get("primarySource")
        names = [s.get("name") for s in flow.sources]
        if primary and primary not in names:
            raise BadRequestException(
                f"SourcePriority.PrimarySource {primary} is not a source of this flow "
                f"(sources: {', '.join(str(n) for n in names)})."
            )
        flow.source_failover_config = merged
    maintenance = changes.get("maintenance")
    if maintenance is not None:
        merged = dict(flow.maintenance or {})
        merged.update(drop_none(maintenance))
        flow.maintenance = merged
    extra = flow_extra(flow)
    for key in FLOW_EXTRA_KEYS:
        if changes.get(key) is not None:
            extra[key] = changes[key]
    return flow


def flow_extra(flow: Flow) -> dict[str, Any]:
    if not hasattr(flow, "lunora_extra"):
        flow.lunora_extra = {}
    return flow.lunora_extra


def _finish_flow(flow: Flow) -> Flow:
    """Give a freshly created flow the details moto leaves out."""
    flow.egress_ip = fake_ip(FLOW_EGRESS_NET, flow.flow_arn)
    flow.sources = flow.sources or []
    if flow.sources and not flow.source:
        flow.source = flow.sources[0]
    for source in flow.sources:
        if not source.get("entitlementArn"):
            source["ingestIp"] = flow_ingest_ip(flow)
        refresh_transport(source)
    for output in flow.outputs or []:
        output.setdefault("outputStatus", "ENABLED")
        refresh_transport(output)
    if flow.outputs is None:
        flow.outputs = []
    if not flow.source_failover_config:
        flow.source_failover_config = {"state": "DISABLED"}
    flow_extra(flow)
    return flow


# ---------------------------------------------------------------- patches

_orig_create_flow = MediaConnectBackend.create_flow
_orig_to_dict = Flow.to_dict


def _create_flow(self: MediaConnectBackend, *args: Any, **kwargs: Any) -> Flow:
    return _finish_flow(_orig_create_flow(self, *args, **kwargs))


def _to_dict(self: Flow, include: list[str] | None = None) -> dict[str, Any]:
    data = _orig_to_dict(self, include)
    if include is None:
        data.update(getattr(self, "lunora_extra", {}) or {})
    return data


def _body(response: Any) -> dict[str, Any]:
    try:
        return json.loads(response.body or "{}")
    except ValueError:
        return {}


def _update_flow(self: Any) -> str:
    flow = get_flow(self.mediaconnect_backend, self.get_flow_arn())
    update_flow(flow, _body(self))
    return json.dumps({"flow": flow.to_dict()})


def _update_flow_output(self: Any) -> str:
    flow_arn = self.get_flow_arn()
    flow = get_flow(self.mediaconnect_backend, flow_arn)
    output = update_output(flow, self.get_output_arn(), _body(self))
    return json.dumps({"flowArn": flow_arn, "output": output})


def _add_flow_outputs(self: Any) -> str:
    flow_arn = self.get_flow_arn()
    flow = get_flow(self.mediaconnect_backend, flow_arn)
    added = [
        add_output(self.mediaconnect_backend, flow, o)
        for o in _body(self).get("outputs", [])
    ]
    return json.dumps({"flowArn": flow_arn, "outputs": added})


def _remove_flow_output(self: Any) -> str:
    flow_arn = self.get_flow_arn()
    output_arn = self.get_output_arn()
    remove_output(get_flow(self.mediaconnect_backend, flow_arn), output_arn)
    return json.dumps({"flowArn": flow_arn, "outputArn": output_arn})


def _add_flow_sources(self: Any) -> str:
    flow_arn = self.get_flow_arn()
    flow = get_flow(self.mediaconnect_backend, flow_arn)
    added = [
        add_source(self.mediaconnect_backend, flow, s)
        for s in _body(self).get("sources", [])
    ]
    return json.dumps({"flowArn": flow_arn, "sources": added})


def _remove_flow_source(self: Any) -> str:
    flow_arn = self.get_flow_arn()
    source_arn = self.get_source_arn()
    remove_source(get_flow(self.mediaconnect_backend, flow_arn), source_arn)
    return json.dumps({"flowArn": flow_arn, "sourceArn": source_arn})


def install() -> None:
    # moto's MediaConnect NotFoundException answered HTTP 400; MediaConnect uses 404.
    mc_exceptions.NotFoundException.code = 404
    MediaConnectBackend.create_flow = _create_flow  # type: ignore[method-assign]
    Flow.to_dict = _to_dict  # type: ignore[method-assign]
    cls = mc_responses.MediaConnectResponse
    cls.update_flow = _update_flow  # type: ignore[attr-defined]
    cls.update_flow_output = _update_flow_output  # type: ignore[method-assign]
    cls.add_flow_outputs = _add_flow_outputs  # type: ignore[method-assign]
    cls.remove_flow_output = _remove_flow_output  # type: ignore[method-assign]
    cls.add_flow_sources = _add_flow_sources  # type: ignore[method-assign]
    cls.remove_flow_source = _remove_flow_source  # type: ignore[attr-defined]
