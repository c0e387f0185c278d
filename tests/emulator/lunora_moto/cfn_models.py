"""CloudFormation models moto 5.2.1 lacks.

moto's CloudFormation engine finds models through
`CloudFormationModel.__subclasses__()` (direct subclasses only), cached on first
use; every class below therefore lists CloudFormationModel as a direct base and
this module must be imported before the server handles a request.

Create, update and delete go through moto's own mediaconnect / medialive /
cloudwatch backends, so the resources are visible to the service APIs.
"""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.cloudwatch.models import (
    Dimension,
    Metric,
    MetricDataQuery,
    MetricStat,
    cloudwatch_backends,
)
from moto.core.common_models import CloudFormationModel
from moto.mediaconnect.models import MediaConnectBackend, mediaconnect_backends
from moto.medialive.models import MediaLiveBackend, medialive_backends
from moto.sns.models import sns_backends

# moto's own AWS::StepFunctions::StateMachine model must be defined before ours:
# the engine maps each type to the last subclass that names it.
import moto.stepfunctions.models  # noqa: F401  (isort: skip)
from moto.budgets.models import budgets_backends
from moto.scheduler.models import scheduler_backends

from . import journal
from . import mediaconnect_ext as mcx
from . import medialive_ext as mlx
from . import stepfunctions_ext as sfx
from .common import BadRequestException, drop_none, service_model, to_api


def _member_shape(service: str, structure: str, member: str) -> Any:
    return service_model(service).shape_for(structure).members[member]


def _mc(value: Any, structure: str, member: str | None = None) -> Any:
    """CFN properties -> MediaConnect wire format (camelCase)."""
    if value is None:
        return None
    shp = (
        _member_shape("mediaconnect", structure, member)
        if member
        else service_model("mediaconnect").shape_for(structure)
    )
    return drop_none(to_api(value, shp, wire_names=True))


def _ml(value: Any, structure: str) -> Any:
    """CFN properties -> MediaLive request members (PascalCase, typed)."""
    return drop_none(to_api(value, service_model("medialive").shape_for(structure), wire_names=False))


def _tag(mc: MediaConnectBackend, arn: str, tags: Any) -> None:
    """CFN Tags ([{Key, Value}] or {k: v}) -> MediaConnect ListTagsForResource."""
    if isinstance(tags, list):
        tags = {t.get("Key"): t.get("Value") for t in tags}
    if tags:
        mc.tag_resource(arn, tags)


class _Resource:
    """Common behaviour of the lunora CloudFormation models.

    Instances are what moto keeps in a stack's resource map; they hold the last
    applied (resolved) properties and look live values up in the backends.
    """

    CFN_TYPE = ""
    NAME_PROPERTY = ""
    ATTRIBUTES: tuple[str, ...] = ()
    # Top-level properties whose change means replacement (createOnlyProperties).
    CREATE_ONLY: tuple[str, ...] = ()

    def __init__(
        self,
        account_id: str,
        region_name: str,
        logical_id: str | None,
        resource_name: str,
        properties: dict[str, Any],
    ):
        self.account_id = account_id
        self.region_name = region_name
        self.logical_resource_id = logical_id
        self.resource_name = resource_name
        self.properties = copy.deepcopy(properties or {})

    # -- moto CloudFormationModel interface
    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.CFN_TYPE

    @classmethod
    def cloudformation_name_type(cls) -> str:
        return cls.NAME_PROPERTY

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.ATTRIBUTES

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name not in self.ATTRIBUTES:
            raise UnformattedGetAttTemplateException()
        return self._attribute(attribute_name)

    def is_created(self) -> bool:
        return True

    @property
    def physical_resource_id(self) -> str:
        raise NotImplementedError

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        resource = cls(
            account_id,
            region_name,
            kwargs.get("LogicalId"),
            resource_name,
            cloudformation_json.get("Properties") or {},
        )
        resource._create()
        return resource

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        new_props = cloudformation_json.get("Properties") or {}
        if new_props == original_resource.properties:
            return original_resource
        if original_resource._needs_replacement(new_props):
            # CloudFormation creates the replacement first, then deletes the old one.
            replacement = cls(
                account_id,
                region_name,
                original_resource.logical_resource_id,
                new_resource_name,
                new_props,
            )
            replacement._create()
            if not journal.record(original_resource, replacement):
                original_resource._delete()
            return replacement
        original_resource._update(copy.deepcopy(new_props))
        original_resource.properties = copy.deepcopy(new_props)
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        # Only reached when delete() below raised TypeError/AttributeError.
        raise RuntimeError(f"cannot delete {cls.CFN_TYPE} {resource_name}")

    def delete(self, account_id: str, region_name: str) -> None:
        try:
            self._delete()
        except (TypeError, AttributeError) as exc:
            # moto would swallow these and silently try another delete path.
            raise RuntimeError(f"{self.CFN_TYPE} delete failed: {exc!r}") from exc

    # -- per-type hooks
    def _needs_replacement(self, new_props: dict[str, Any]) -> bool:
        return any(self.properties.get(p) != new_props.get(p) for p in self.CREATE_ONLY)

    def _create(self) -> None:
        raise NotImplementedError

    def _update(self, new_props: dict[str, Any]) -> None:
        raise NotImplementedError

    def _delete(self) -> None:
        raise NotImplementedError

    def _attribute(self, name: str) -> Any:
        raise NotImplementedError


# ====================================================================== MediaConnect


class _MediaConnectResource(_Resource):
    @property
    def mc(self) -> MediaConnectBackend:
        return mediaconnect_backends[self.account_id][self.region_name]


class MediaConnectFlow(_MediaConnectResource, CloudFormationModel):
    CFN_TYPE = "AWS::MediaConnect::Flow"
    NAME_PROPERTY = "Name"
    ATTRIBUTES = (
        "FlowArn",
        "FlowAvailabilityZone",
        "Source.SourceArn",
        "Source.IngestIp",
        "Source.SourceIngestPort",
        "EgressIp",
        "FlowNdiMachineName",
    )
    CREATE_ONLY = ("Name", "AvailabilityZone")
    EXTRA = {
        "FlowSize": "flowSize",
        "SourceMonitoringConfig": "sourceMonitoringConfig",
        "NdiConfig": "ndiConfig",
        "EncodingConfig": "encodingConfig",
    }

    flow_arn = ""

    @property
    def physical_resource_id(self) -> str:
        return self.flow_arn

    def _needs_replacement(self, new_props: dict[str, Any]) -> bool:
        old_source = (self.properties.get("Source") or {}).get("Name")
        new_source = (new_props.get("Source") or {}).get("Name")
        return super()._needs_replacement(new_props) or old_source != new_source

    def _source(self, props: dict[str, Any]) -> dict[str, Any]:
        source = _mc(props.get("Source"), "CreateFlowRequest", "Source")
        if not source or not source.get("name"):
            raise BadRequestException("Source.Name is required for a flow.")
        for read_only in ("ingestIp", "sourceArn", "sourceIngestPort"):
            source.pop(read_only, None)
        return source

    def _create(self) -> None:
        props = self.properties
        flow = self.mc.create_flow(
            availability_zone=props.get("AvailabilityZone") or f"{self.region_name}a",
            entitlements=[],
            name=self.resource_name,
            outputs=[],
            source=self._source(props),
            source_failover_config=_mc(props.get("SourceFailoverConfig"), "CreateFlowRequest", "SourceFailoverConfig"),
            sources=[],
            vpc_interfaces=_mc(props.get("VpcInterfaces"), "CreateFlowRequest", "VpcInterfaces") or [],
            maintenance=_mc(props.get("Maintenance"), "CreateFlowRequest", "Maintenance"),
        )
        self._apply_extra(flow, props)
        self.flow_arn = flow.flow_arn
        _tag(self.mc, self.flow_arn, props.get("Tags"))

    def _apply_extra(self, flow: Any, props: dict[str, Any]) -> None:
        extra = mcx.flow_extra(flow)
        for prop, key in self.EXTRA.items():
            value = _mc(props.get(prop), "CreateFlowRequest", prop)
            if value is None:
                extra.pop(key, None)
            else:
                extra[key] = value

    def _update(self, new_props: dict[str, Any]) -> None:
        flow = mcx.get_flow(self.mc, self.flow_arn)
        mcx.replace_source_settings(flow.source, self._source(new_props))
        failover = _mc(new_props.get("SourceFailoverConfig"), "CreateFlowRequest", "SourceFailoverConfig")
        flow.source_failover_config = failover or {"state": "DISABLED"}
        flow.maintenance = _mc(new_props.get("Maintenance"), "CreateFlowRequest", "Maintenance") or {}
        flow.vpc_interfaces = _mc(new_props.get("VpcInterfaces"), "CreateFlowRequest", "VpcInterfaces") or []
        self._apply_extra(flow, new_props)
        _tag(self.mc, self.flow_arn, new_props.get("Tags"))

    def _delete(self) -> None:
        self.mc._flows.pop(self.flow_arn, None)

    def _attribute(self, name: str) -> Any:
        flow = mcx.get_flow(self.mc, self.flow_arn)
        source = flow.source or {}
        if name == "FlowArn":
            return flow.flow_arn
        if name == "FlowAvailabilityZone":
            return flow.availability_zone
        if name == "EgressIp":
            return flow.egress_ip
        if name == "Source.SourceArn":
            return source.get("sourceArn")
        if name == "Source.IngestIp":
            return source.get("ingestIp")
        if name == "Source.SourceIngestPort":
            port = source.get("ingestPort")
            return "" if port is None else str(port)
        if name == "FlowNdiMachineName":
            return (mcx.flow_extra(flow).get("ndiConfig") or {}).get("machineName", "")
        raise UnformattedGetAttTemplateException()


class MediaConnectFlowSource(_MediaConnectResource, CloudFormationModel):
    CFN_TYPE = "AWS::MediaConnect::FlowSource"
    NAME_PROPERTY = "Name"
    ATTRIBUTES = ("SourceArn", "IngestIp", "SourceIngestPort")
    CREATE_ONLY = ("FlowArn", "Name", "Protocol")

    flow_arn = ""
    source_arn = ""

    @property
    def physical_resource_id(self) -> str:
        return self.source_arn

    def _settings(self, props: dict[str, Any]) -> dict[str, Any]:
        settings = {
            k: v for k, v in props.items() if k not in ("FlowArn", "SourceArn", "IngestIp", "SourceIngestPort", "Tags")
        }
        settings["Name"] = settings.get("Name") or self.resource_name
        return _mc(settings, "SetSourceRequest")

    def _create(self) -> None:
        flow_arn = self.properties.get("FlowArn")
        if not flow_arn:
            raise BadRequestException("FlowArn is required for a flow source.")
        flow = mcx.get_flow(self.mc, flow_arn)
        source = mcx.add_source(self.mc, flow, self._settings(self.properties))
        self.flow_arn = flow_arn
        self.source_arn = source["sourceArn"]
        _tag(self.mc, self.source_arn, self.properties.get("Tags"))

    def _find(self) -> dict[str, Any]:
        flow = mcx.get_flow(self.mc, self.flow_arn)
        for source in flow.sources:
            if source.get("sourceArn") == self.source_arn:
                return source
        raise BadRequestException(f"Source {self.source_arn} no longer exists")

    def _update(self, new_props: dict[str, Any]) -> None:
        mcx.replace_source_settings(self._find(), self._settings(new_props))
        _tag(self.mc, self.source_arn, new_props.get("Tags"))

    def _delete(self) -> None:
        flow = self.mc._flows.get(self.flow_arn)
        if flow is not None and any(s.get("sourceArn") == self.source_arn for s in flow.sources):
            mcx.remove_source(flow, self.source_arn)

    def _attribute(self, name: str) -> Any:
        source = self._find()
        if name == "SourceArn":
            return source["sourceArn"]
        if name == "IngestIp":
            return source.get("ingestIp")
        port = source.get("ingestPort")
        return "" if port is None else str(port)


class MediaConnectFlowOutput(_MediaConnectResource, CloudFormationModel):
    CFN_TYPE = "AWS::MediaConnect::FlowOutput"
    NAME_PROPERTY = "Name"
    ATTRIBUTES = ("OutputArn",)
    CREATE_ONLY = ("FlowArn", "Name")

    flow_arn = ""
    output_arn = ""

    @property
    def physical_resource_id(self) -> str:
        return self.output_arn

    def _settings(self, props: dict[str, Any]) -> dict[str, Any]:
        settings = {k: v for k, v in props.items() if k not in ("FlowArn", "OutputArn", "Tags")}
        settings["Name"] = settings.get("Name") or self.resource_name
        return _mc(settings, "AddOutputRequest")

    def _create(self) -> None:
        flow_arn = self.properties.get("FlowArn")
        if not flow_arn:
            raise BadRequestException("FlowArn is required for a flow output.")
        flow = mcx.get_flow(self.mc, flow_arn)
        output = mcx.add_output(self.mc, flow, self._settings(self.properties))
        self.flow_arn = flow_arn
        self.output_arn = output["outputArn"]
        _tag(self.mc, self.output_arn, self.properties.get("Tags"))

    def _find(self) -> dict[str, Any]:
        flow = mcx.get_flow(self.mc, self.flow_arn)
        for output in flow.outputs:
            if output.get("outputArn") == self.output_arn:
                return output
        raise BadRequestException(f"Output {self.output_arn} no longer exists")

    def _update(self, new_props: dict[str, Any]) -> None:
        settings = self._settings(new_props)
        settings["name"] = self._find().get("name")
        status = settings.get("outputStatus", "ENABLED")
        if status not in ("ENABLED", "DISABLED"):
            raise BadRequestException(f"Invalid OutputStatus {status}.")
        mcx.replace_output_settings(self._find(), settings)
        _tag(self.mc, self.output_arn, new_props.get("Tags"))

    def _delete(self) -> None:
        flow = self.mc._flows.get(self.flow_arn)
        if flow is not None and any(o.get("outputArn") == self.output_arn for o in flow.outputs):
            mcx.remove_output(flow, self.output_arn)

    def _attribute(self, name: str) -> Any:
        return self._find()["outputArn"]


# ====================================================================== MediaLive


class _MediaLiveResource(_Resource):
    @property
    def ml(self) -> MediaLiveBackend:
        return medialive_backends[self.account_id][self.region_name]


class MediaLiveInputSecurityGroup(_MediaLiveResource, CloudFormationModel):
    CFN_TYPE = "AWS::MediaLive::InputSecurityGroup"
    ATTRIBUTES = ("Id", "Arn")
    CREATE_ONLY = ("Tags",)

    isg_id = ""

    @property
    def physical_resource_id(self) -> str:
        return self.isg_id

    def _create(self) -> None:
        req = _ml(self.properties, "CreateInputSecurityGroupRequest")
        isg = mlx.create_isg(self.ml, req.get("WhitelistRules") or [], req.get("Tags"))
        self.isg_id = isg.id

    def _update(self, new_props: dict[str, Any]) -> None:
        req = _ml(new_props, "CreateInputSecurityGroupRequest")
        mlx.update_isg(self.ml, self.isg_id, req.get("WhitelistRules") or [], None)

    def _delete(self) -> None:
        if self.isg_id in mlx.isg_store(self.ml):
            mlx.delete_isg(self.ml, self.isg_id)

    def _attribute(self, name: str) -> Any:
        isg = mlx.get_isg(self.ml, self.isg_id)
        return isg.id if name == "Id" else isg.arn


class MediaLiveInput(_MediaLiveResource, CloudFormationModel):
    CFN_TYPE = "AWS::MediaLive::Input"
    NAME_PROPERTY = "Name"
    ATTRIBUTES = ("Id", "Arn", "Destinations", "Sources")
    CREATE_ONLY = ("Type", "Vpc", "InputNetworkLocation", "RouterSettings")
    # CreateInputRequest members without a moto Input constructor argument.
    EXTRA = {
        "SrtSettings": "srt_settings",
        "InputNetworkLocation": "input_network_location",
        "MulticastSettings": "multicast_settings",
        "Smpte2110ReceiverGroupSettings": "smpte2110_receiver_group_settings",
        "SdiSources": "sdi_sources",
        "RouterSettings": "router_settings",
        "Vpc": "vpc",
    }

    input_id = ""

    @property
    def physical_resource_id(self) -> str:
        return self.input_id

    def _create(self) -> None:
        req = _ml(self.properties, "CreateInputRequest")
        a_input = self.ml.create_input(
            destinations=req.get("Destinations"),
            input_devices=req.get("InputDevices") or [],
            input_security_groups=req.get("InputSecurityGroups") or [],
            media_connect_flows=req.get("MediaConnectFlows") or [],
            name=self.resource_name,
            role_arn=req.get("RoleArn"),
            sources=req.get("Sources") or [],
            tags=req.get("Tags") or {},
            input_type=req.get("Type"),
        )
        a_input.state = "DETACHED"  # CloudFormation waits for creation to finish
        for prop, attr in self.EXTRA.items():
            if req.get(prop) is not None:
                setattr(a_input, attr, req[prop])
        self.input_id = a_input.id

    def _update(self, new_props: dict[str, Any]) -> None:
        req = _ml(new_props, "CreateInputRequest")
        a_input = mlx.get_input(self.ml, self.input_id)
        self.ml.update_input(
            destinations=req.get("Destinations"),
            input_devices=req.get("InputDevices") or [],
            input_id=self.input_id,
            input_security_groups=req.get("InputSecurityGroups") or [],
            media_connect_flows=req.get("MediaConnectFlows") or [],
            name=new_props.get("Name") or a_input.name,
            role_arn=req.get("RoleArn"),
            sources=req.get("Sources") or [],
        )
        a_input.tags = req.get("Tags") or {}
        for prop, attr in self.EXTRA.items():
            setattr(a_input, attr, req.get(prop))

    def _delete(self) -> None:
        a_input = self.ml._inputs.get(self.input_id)
        if a_input is None:
            return
        mlx.sync_attachments(self.ml)
        if a_input.attached_channels:
            raise BadRequestException(
                f"Input {self.input_id} is attached to channel(s) {', '.join(a_input.attached_channels)}."
            )
        mlx.remove_input(self.ml, self.input_id)

    def _attribute(self, name: str) -> Any:
        a_input = mlx.get_input(self.ml, self.input_id)
        if name == "Id":
            return a_input.id
        if name == "Arn":
            return a_input.arn
        if name == "Destinations":
            return [d.get("Url") for d in a_input.destinations or []]
        return [s.get("Url") for s in a_input.sources or []]


class MediaLiveChannel(_MediaLiveResource, CloudFormationModel):
    CFN_TYPE = "AWS::MediaLive::Channel"
    NAME_PROPERTY = "Name"
    ATTRIBUTES = ("Id", "Arn", "Inputs")
    CREATE_ONLY = ("Vpc",)
    # CreateChannelRequest member -> moto Channel attribute.
    FIELDS = {
        "CdiInputSpecification": "cdi_input_specification",
        "Destinations": "destinations",
        "EncoderSettings": "encoder_settings",
        "InputAttachments": "input_attachments",
        "InputSpecification": "input_specification",
        "LogLevel": "log_level",
        "RoleArn": "role_arn",
        "Maintenance": "maintenance",
        "AnywhereSettings": "anywhere_settings",
        "ChannelEngineVersion": "channel_engine_version",
        "LinkedChannelSettings": "linked_channel_settings",
        "ChannelSecurityGroups": "channel_security_groups",
        "InferenceSettings": "inference_settings",
    }

    channel_id = ""

    @property
    def physical_resource_id(self) -> str:
        return self.channel_id

    def _create(self) -> None:
        req = _ml(self.properties, "CreateChannelRequest")
        channel = self.ml.create_channel(
            cdi_input_specification=req.get("CdiInputSpecification"),
            channel_class=req.get("ChannelClass") or "STANDARD",
            destinations=req.get("Destinations") or [],
            encoder_settings=req.get("EncoderSettings"),
            input_attachments=req.get("InputAttachments") or [],
            input_specification=req.get("InputSpecification"),
            log_level=req.get("LogLevel"),
            name=self.resource_name,
            role_arn=req.get("RoleArn"),
            tags=req.get("Tags") or {},
        )
        channel.state = "IDLE"  # CloudFormation waits until the channel is IDLE
        for prop in ("Maintenance", "AnywhereSettings", "ChannelEngineVersion", "LinkedChannelSettings",
                     "ChannelSecurityGroups", "InferenceSettings"):
            if req.get(prop) is not None:
                setattr(channel, self.FIELDS[prop], req[prop])
        if req.get("Vpc") is not None:
            channel.vpc = req["Vpc"]
        self.channel_id = channel.id

    def _update(self, new_props: dict[str, Any]) -> None:
        req = _ml(new_props, "CreateChannelRequest")
        channel = mlx.get_channel(self.ml, self.channel_id)
        fields = {attr: req.get(prop) for prop, attr in self.FIELDS.items()}
        fields["destinations"] = fields["destinations"] or []
        fields["input_attachments"] = fields["input_attachments"] or []
        # MediaLive refuses edits unless the channel is IDLE (ConflictException).
        mlx.ensure_idle(channel)
        if req.get("ChannelClass") and req["ChannelClass"] != channel.channel_class:
            mlx.validate_destinations(req["ChannelClass"], fields["destinations"])
            channel.channel_class = req["ChannelClass"]
        mlx.validate_attachments(self.ml, channel.id, fields["input_attachments"])
        mlx.validate_destinations(channel.channel_class, fields["destinations"])
        for attr, value in fields.items():
            setattr(channel, attr, value)
        channel.name = new_props.get("Name") or channel.name
        channel.tags = req.get("Tags") or {}
        mlx.sync_attachments(self.ml)

    def _delete(self) -> None:
        mlx.remove_channel(self.ml, self.channel_id)

    def _attribute(self, name: str) -> Any:
        channel = mlx.get_channel(self.ml, self.channel_id)
        if name == "Id":
            return channel.id
        if name == "Arn":
            return channel.arn
        return [a.get("InputId") for a in channel.input_attachments or []]


# ====================================================================== CloudWatch


class CloudWatchAlarm(_Resource, CloudFormationModel):
    """moto 5.2.1 has the CloudWatch alarm API but no AWS::CloudWatch::Alarm model."""

    CFN_TYPE = "AWS::CloudWatch::Alarm"
    NAME_PROPERTY = "AlarmName"
    ATTRIBUTES = ("Arn",)
    CREATE_ONLY = ("AlarmName",)

    alarm_name = ""

    @property
    def physical_resource_id(self) -> str:
        return self.alarm_name

    @property
    def cw(self) -> Any:
        return cloudwatch_backends[self.account_id][self.region_name]

    @staticmethod
    def _int(value: Any) -> int | None:
        return None if value is None else int(value)

    @staticmethod
    def _metric_queries(metrics: list[dict[str, Any]] | None) -> list[MetricDataQuery] | None:
        if not metrics:
            return None
        queries = []
        for metric in metrics:
            stat = metric.get("MetricStat")
            metric_stat = None
            if stat:
                inner = stat.get("Metric") or {}
                metric_stat = MetricStat(
                    metric=Metric(
                        metric_name=inner.get("MetricName"),
                        namespace=inner.get("Namespace"),
                        dimensions=[Dimension(d.get("Name"), d.get("Value")) for d in inner.get("Dimensions") or []],
                    ),
                    period=stat.get("Period"),
                    stat=stat.get("Stat"),
                    unit=stat.get("Unit"),
                )
            queries.append(
                MetricDataQuery(
                    query_id=metric.get("Id"),
                    label=metric.get("Label"),
                    period=metric.get("Period"),
                    return_data=metric.get("ReturnData"),
                    expression=metric.get("Expression"),
                    metric_stat=metric_stat,
                )
            )
        return queries

    def _put(self, props: dict[str, Any]) -> None:
        enabled = props.get("ActionsEnabled", True)
        if isinstance(enabled, str):
            enabled = enabled.lower() == "true"
        threshold = props.get("Threshold")
        self.cw.put_metric_alarm(
            name=self.alarm_name,
            namespace=props.get("Namespace"),
            metric_name=props.get("MetricName"),
            comparison_operator=props.get("ComparisonOperator"),
            evaluation_periods=self._int(props.get("EvaluationPeriods")),
            period=self._int(props.get("Period")),
            threshold=None if threshold is None else float(threshold),
            statistic=props.get("Statistic"),
            description=props.get("AlarmDescription"),
            dimensions=[{"Name": d.get("Name"), "Value": d.get("Value")} for d in props.get("Dimensions") or []],
            alarm_actions=list(props.get("AlarmActions") or []),
            metric_data_queries=self._metric_queries(props.get("Metrics")),
            datapoints_to_alarm=self._int(props.get("DatapointsToAlarm")),
            extended_statistic=props.get("ExtendedStatistic"),
            ok_actions=list(props.get("OKActions") or []),
            insufficient_data_actions=list(props.get("InsufficientDataActions") or []),
            unit=props.get("Unit"),
            actions_enabled=enabled,
            treat_missing_data=props.get("TreatMissingData"),
            evaluate_low_sample_count_percentile=props.get("EvaluateLowSampleCountPercentile"),
            threshold_metric_id=props.get("ThresholdMetricId"),
            tags=props.get("Tags") or None,
        )

    def _create(self) -> None:
        self.alarm_name = self.properties.get("AlarmName") or self.resource_name
        self._put(self.properties)

    def _update(self, new_props: dict[str, Any]) -> None:
        self._put(new_props)

    def _delete(self) -> None:
        self.cw.delete_alarms([self.alarm_name])

    def _attribute(self, name: str) -> Any:
        alarm = self.cw.alarms.get(self.alarm_name)
        if alarm is None:
            raise BadRequestException(f"Alarm {self.alarm_name} no longer exists")
        return alarm.alarm_arn


# ====================================================================== SNS


class SnsSubscription(_Resource, CloudFormationModel):
    """moto 5.2.1 has the SNS subscription API but no AWS::SNS::Subscription model."""

    CFN_TYPE = "AWS::SNS::Subscription"
    ATTRIBUTES = ("Arn",)
    CREATE_ONLY = ("Endpoint", "Protocol", "TopicArn", "Region")
    SETTABLE = ("DeliveryPolicy", "FilterPolicy", "FilterPolicyScope", "RawMessageDelivery",
                "RedrivePolicy", "ReplayPolicy", "SubscriptionRoleArn")

    subscription_arn = ""

    @property
    def physical_resource_id(self) -> str:
        return self.subscription_arn

    @property
    def sns(self) -> Any:
        topic_arn = str(self.properties.get("TopicArn") or "")
        parts = topic_arn.split(":")
        region = self.properties.get("Region") or (parts[3] if len(parts) > 3 else self.region_name)
        return sns_backends[self.account_id][region]

    def _set_attributes(self, props: dict[str, Any]) -> None:
        for name in self.SETTABLE:
            value = props.get(name)
            if value is None:
                continue
            if isinstance(value, (dict, list)):
                value = json.dumps(value)
            elif isinstance(value, bool):
                value = "true" if value else "false"
            self.sns.set_subscription_attributes(self.subscription_arn, name, str(value))

    def _create(self) -> None:
        props = self.properties
        if not props.get("TopicArn") or not props.get("Protocol"):
            raise BadRequestException("TopicArn and Protocol are required for a subscription.")
        subscription = self.sns.subscribe(props["TopicArn"], props.get("Endpoint"), props["Protocol"])
        self.subscription_arn = subscription.arn
        self._set_attributes(props)

    def _update(self, new_props: dict[str, Any]) -> None:
        self._set_attributes(new_props)

    def _delete(self) -> None:
        self.sns.unsubscribe(self.subscription_arn)

    def _attribute(self, name: str) -> Any:
        return self.subscription_arn


class SnsTopicPolicy(_Resource, CloudFormationModel):
    """moto 5.2.1 has SetTopicAttributes(Policy) but no AWS::SNS::TopicPolicy model.

    As on AWS, the policy replaces each topic's access policy, and deleting
    the resource gives the topics their default policy back. `Ref` and
    `GetAtt Id` answer a generated id, as CloudFormation documents
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-sns-topicpolicy.html).
    Policies are stored, never enforced (no IAM evaluation here).
    """

    CFN_TYPE = "AWS::SNS::TopicPolicy"
    ATTRIBUTES = ("Id",)

    policy_id = ""

    @property
    def physical_resource_id(self) -> str:
        return self.policy_id

    @staticmethod
    def _topic(account_id: str, region_name: str, arn: str) -> Any:
        parts = str(arn).split(":")
        region = parts[3] if len(parts) > 5 else region_name
        return sns_backends[account_id][region].get_topic(str(arn))

    def _apply(self, props: dict[str, Any], old_topics: list[str]) -> None:
        document = props.get("PolicyDocument")
        topics = [str(t) for t in props.get("Topics") or []]
        if not topics or not isinstance(document, dict):
            raise BadRequestException("PolicyDocument and Topics are required for a topic policy.")
        for arn in topics:
            self._topic(self.account_id, self.region_name, arn).policy = json.dumps(document)
        for arn in old_topics:
            if arn not in topics:
                self._reset(arn)

    def _reset(self, arn: str) -> None:
        try:
            topic = self._topic(self.account_id, self.region_name, arn)
        except Exception:  # the topic is already gone
            return
        topic._policy_json = topic._create_default_topic_policy(
            topic.sns_backend.region_name, topic.account_id, topic.name
        )

    def _create(self) -> None:
        self.policy_id = f"{self.resource_name}-{uuid.uuid4().hex[:12]}"
        self._apply(self.properties, [])

    def _update(self, new_props: dict[str, Any]) -> None:
        self._apply(new_props, [str(t) for t in self.properties.get("Topics") or []])

    def _delete(self) -> None:
        for arn in self.properties.get("Topics") or []:
            self._reset(str(arn))

    def _attribute(self, name: str) -> Any:
        return self.policy_id


# ====================================================================== Step Functions


def _cfn_tags(tags: Any) -> list[dict[str, str]]:
    """CFN Tags ([{Key, Value}] or {k: v}) -> [{Key, Value}]."""
    if isinstance(tags, dict):
        return [{"Key": k, "Value": v} for k, v in tags.items()]
    return [{"Key": t.get("Key"), "Value": t.get("Value")} for t in tags or []]


class StepFunctionsStateMachine(_Resource, CloudFormationModel):
    """Replaces moto's model, which reads only `DefinitionString` and creates
    the machine in the backend that does not execute.

    As CloudFormation documents
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-stepfunctions-statemachine.html):
    `Definition` (an object) or `DefinitionString`, then every `${name}` of
    `DefinitionSubstitutions` replaced by its value; `Ref` is the ARN.
    """

    CFN_TYPE = "AWS::StepFunctions::StateMachine"
    NAME_PROPERTY = "StateMachineName"
    ATTRIBUTES = ("Arn", "Name", "StateMachineRevisionId")
    CREATE_ONLY = ("StateMachineName", "StateMachineType")

    arn = ""

    @property
    def physical_resource_id(self) -> str:
        return self.arn

    @property
    def sfn(self) -> Any:
        return sfx.backend(self.account_id, self.region_name)

    @staticmethod
    def _definition(props: dict[str, Any]) -> str:
        if props.get("DefinitionString") is not None:
            text = str(props["DefinitionString"])
        elif isinstance(props.get("Definition"), dict):
            text = json.dumps(props["Definition"])
        else:
            raise BadRequestException("A state machine needs Definition or DefinitionString.")
        for key, value in (props.get("DefinitionSubstitutions") or {}).items():
            if isinstance(value, bool):
                value = "true" if value else "false"
            text = text.replace("${" + key + "}", str(value))
        return text

    @staticmethod
    def _encryption(props: dict[str, Any]) -> dict[str, Any] | None:
        """`EncryptionConfiguration` in the API's shape, so DescribeStateMachine
        shows it. moto stores it and encrypts nothing (no key policy is
        checked here)."""
        enc = props.get("EncryptionConfiguration")
        if not enc:
            return None
        return drop_none(
            {
                "type": enc.get("Type"),
                "kmsKeyId": enc.get("KmsKeyId"),
                "kmsDataKeyReusePeriodSeconds": enc.get("KmsDataKeyReusePeriodSeconds"),
            }
        )

    def _create(self) -> None:
        props = self.properties
        name = props.get("StateMachineName") or self.resource_name
        tags = [{"key": t["Key"], "value": t["Value"]} for t in _cfn_tags(props.get("Tags"))]
        machine = self.sfn.create_state_machine(
            name=name,
            definition=self._definition(props),
            roleArn=props.get("RoleArn"),
            tags=tags or None,
            encryptionConfiguration=self._encryption(props),
        )
        self.arn = machine.arn

    def _update(self, new_props: dict[str, Any]) -> None:
        self.sfn.update_state_machine(
            self.arn,
            definition=self._definition(new_props),
            role_arn=new_props.get("RoleArn"),
            encryption_configuration=self._encryption(new_props),
        )

    def _delete(self) -> None:
        self.sfn.delete_state_machine(self.arn)

    def _attribute(self, name: str) -> Any:
        machine = self.sfn.describe_state_machine(self.arn)
        if name == "Arn":
            return machine.arn
        if name == "Name":
            return machine.name
        return getattr(machine, "revision_id", None) or machine.arn


# ====================================================================== Scheduler / Budgets


class SchedulerSchedule(_Resource, CloudFormationModel):
    """moto 5.2.1 has the EventBridge Scheduler API but no model. Stored, so
    GetSchedule reads it back (target, input, expression, zone); nothing fires."""

    CFN_TYPE = "AWS::Scheduler::Schedule"
    NAME_PROPERTY = "Name"
    ATTRIBUTES = ("Arn",)
    CREATE_ONLY = ("Name", "GroupName")

    name = ""

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @property
    def scheduler(self) -> Any:
        return scheduler_backends[self.account_id][self.region_name]

    def _kwargs(self, props: dict[str, Any]) -> dict[str, Any]:
        return {
            "description": props.get("Description"),
            "end_date": props.get("EndDate"),
            "flexible_time_window": props.get("FlexibleTimeWindow"),
            "group_name": props.get("GroupName"),
            "kms_key_arn": props.get("KmsKeyArn"),
            "name": self.name,
            "schedule_expression": props.get("ScheduleExpression"),
            "schedule_expression_timezone": props.get("ScheduleExpressionTimezone"),
            "start_date": props.get("StartDate"),
            "state": props.get("State"),
            "target": props.get("Target"),
        }

    def _create(self) -> None:
        self.name = self.properties.get("Name") or self.resource_name
        self.scheduler.create_schedule(
            **self._kwargs(self.properties), action_after_completion=None
        )

    def _update(self, new_props: dict[str, Any]) -> None:
        self.scheduler.update_schedule(**self._kwargs(new_props))

    def _delete(self) -> None:
        self.scheduler.delete_schedule(self.properties.get("GroupName"), self.name)

    def _attribute(self, name: str) -> Any:
        return self.scheduler.get_schedule(self.properties.get("GroupName"), self.name).arn


class BudgetsBudget(_Resource, CloudFormationModel):
    """moto 5.2.1 has the Budgets API but no model. Stored, so DescribeBudget
    and DescribeNotificationsForBudget read it back; nothing is measured."""

    CFN_TYPE = "AWS::Budgets::Budget"
    ATTRIBUTES = ("Id",)

    name = ""

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @property
    def budgets(self) -> Any:
        return budgets_backends[self.account_id]["aws"]

    def _put(self, props: dict[str, Any]) -> None:
        budget = copy.deepcopy(props.get("Budget") or {})
        budget["BudgetName"] = self.name
        limit = budget.get("BudgetLimit")
        if isinstance(limit, dict) and limit.get("Amount") is not None:
            limit["Amount"] = str(limit["Amount"])  # the API's type is a string
        self.budgets.create_budget(
            account_id=self.account_id,
            budget=budget,
            notifications=copy.deepcopy(props.get("NotificationsWithSubscribers") or []),
        )

    def _create(self) -> None:
        self.name = (self.properties.get("Budget") or {}).get("BudgetName") or self.resource_name
        self._put(self.properties)

    def _update(self, new_props: dict[str, Any]) -> None:
        self.budgets.delete_budget(account_id=self.account_id, budget_name=self.name)
        self._put(new_props)

    def _delete(self) -> None:
        self.budgets.delete_budget(account_id=self.account_id, budget_name=self.name)

    def _attribute(self, name: str) -> Any:
        return self.name


MODELS = (
    MediaConnectFlow,
    MediaConnectFlowSource,
    MediaConnectFlowOutput,
    MediaLiveInputSecurityGroup,
    MediaLiveInput,
    MediaLiveChannel,
    CloudWatchAlarm,
    SnsSubscription,
    SnsTopicPolicy,
    StepFunctionsStateMachine,
    SchedulerSchedule,
    BudgetsBudget,
)


# ====================================================================== KMS


def _kms_key_from_cloudformation() -> None:
    """moto 5.2.1 hands `AWS::KMS::Key`'s `Tags` to CreateKey as they are, but
    CloudFormation writes them `Key`/`Value` and CreateKey wants
    `TagKey`/`TagValue`
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-kms-key.html,
    https://docs.aws.amazon.com/kms/latest/APIReference/API_Tag.html), so every
    tagged key failed with `'TagKey'`. The policy is stored as the JSON text
    GetKeyPolicy returns. No key policy is enforced here."""
    from moto.kms.models import Key

    original = Key.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create(
        cls: Any, resource_name: str, cloudformation_json: Any, *args: Any, **kwargs: Any
    ) -> Any:
        spec = copy.deepcopy(cloudformation_json)
        props = spec.setdefault("Properties", {})
        props["Tags"] = [
            {"TagKey": t["Key"], "TagValue": t["Value"]} for t in _cfn_tags(props.get("Tags"))
        ]
        if isinstance(props.get("KeyPolicy"), dict):
            props["KeyPolicy"] = json.dumps(props["KeyPolicy"])
        return original(cls, resource_name, spec, *args, **kwargs)

    Key.create_from_cloudformation_json = classmethod(create)  # type: ignore[method-assign]


_kms_key_from_cloudformation()
