"""Patches to moto 5.2.1's CloudFormation engine (moto.cloudformation).

Each patch is small and listed in README.md ("Patched moto behaviour"):

1. Fn::GetAtt with a dotted attribute (`["Flow", "Source.IngestIp"]`, the string
   form `"Flow.Source.IngestIp"`, and `${Flow.Source.IngestIp}` inside Fn::Sub):
   moto only looked at the first two list items / split Sub references on every dot.
2. Dynamic references `{{resolve:secretsmanager:...}}`, `{{resolve:ssm:...}}` and
   `{{resolve:ssm-secure:...}}` in resource properties are resolved against moto's
   Secrets Manager / SSM backends (moto passed the literal text through).
3. validate_outputs: an output that GetAtts a resource type moto has no model for
   crashed CreateStack with HTTP 500; such outputs are now skipped.
4. Resource failures no longer surface as API errors. CreateStack: resources are
   rolled back, the stack ends in ROLLBACK_COMPLETE with CREATE_FAILED /
   ROLLBACK_* events. UpdateStack: new resources are created and changed ones
   updated first, removed ones deleted last (moto deleted first); on failure the
   previous template is re-applied and the stack ends in UPDATE_ROLLBACK_COMPLETE
   with UPDATE_FAILED / UPDATE_ROLLBACK_* events carrying the reason. Template
   validation errors (unknown export, bad GetAtt, missing parameter) stay
   synchronous ValidationErrors, as in CloudFormation.
5. DeleteStack of a stack whose export is imported by another stack fails
   (DELETE_FAILED, "Export ... cannot be deleted as it is in use by ...");
   a resource that cannot be deleted also gives DELETE_FAILED instead of HTTP 500.
6. Exports are re-read after UpdateStack (moto kept the creation-time values).
7. UpdateStack with an identical template and no parameters raises
   "No updates are to be performed." (moto only checked when parameters were given).
8. Failed and deleted stacks no longer re-create resources when their outputs or
   resources are read (moto's lazy resource map did that).
9. ExecuteChangeSet: a CREATE change set now yields the template's outputs and
   exports (moto kept the empty placeholder template), an UPDATE change set
   refreshes outputs/exports, and both roll back on failure like 4.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from typing import Any

from moto.cloudformation import parsing
from moto.cloudformation import responses as cfn_responses
from moto.cloudformation.exceptions import (
    ExportNotFound,
    MissingParameterError,
    UnsupportedAttribute,
    ValidationError,
)
from moto.cloudformation.models import CloudFormationBackend, Event, Stack, cloudformation_backends
from moto.cloudformation.parsing import OutputMap, ResourceMap
from moto.core.exceptions import ServiceException
from moto.secretsmanager.models import secretsmanager_backends
from moto.ssm.models import ssm_backends
from werkzeug.exceptions import HTTPException

from .common import ApiError

SYNC_ERRORS = (ValidationError, ExportNotFound, MissingParameterError, UnsupportedAttribute)
MAX_ATTEMPTS = parsing.MAX_UPDATE_ATTEMPTS


class ResourceFailure(Exception):
    """A resource operation failed inside a stack operation."""

    def __init__(self, logical_id: str, resource_type: str, cause: BaseException):
        self.logical_id = logical_id
        self.resource_type = resource_type
        self.cause = cause
        super().__init__(f"{logical_id}: {cause}")

    @property
    def reason(self) -> str:
        return handler_message(self.cause, self.resource_type)


def handler_message(exc: BaseException, resource_type: str) -> str:
    """Render a failure like CloudFormation's resource-handler messages."""
    if isinstance(exc, ResourceFailure):
        return exc.reason
    parts = resource_type.split("::")
    service = parts[1] if len(parts) > 2 else resource_type
    if isinstance(exc, (ServiceException, HTTPException)):
        code = getattr(exc, "code", None)
        status = getattr(exc, "http_status", None)
        if isinstance(code, int):  # RESTError keeps the HTTP status in .code
            status, code = code, getattr(exc, "error_type", "")
        message = getattr(exc, "message", None) or str(exc)
        status = status or 400
        handler_code = {400: "InvalidRequest", 404: "NotFound", 409: "ResourceConflict"}.get(
            int(status), "GeneralServiceException"
        )
        return (
            f'Resource handler returned message: "{message} (Service: {service}, '
            f"Status Code: {status}, Request ID: {uuid.uuid4()})\" "
            f"(RequestToken: {uuid.uuid4()}, HandlerErrorCode: {handler_code})"
        )
    return str(exc) or exc.__class__.__name__


def _sync_error(exc: BaseException) -> BaseException | None:
    if isinstance(exc, SYNC_ERRORS):
        return exc
    if isinstance(exc, ResourceFailure) and isinstance(exc.cause, SYNC_ERRORS):
        return exc.cause
    return None


# ------------------------------------------------------------------ 1. GetAtt

_orig_clean_json = parsing.clean_json


def _normalise_getatt(value: Any, resources_map: Any) -> Any:
    if isinstance(value, str):
        logical, _, attr = value.partition(".")
        return [logical, attr]
    if isinstance(value, list) and len(value) > 2:
        return [value[0], ".".join(str(v) for v in value[1:])]
    if isinstance(value, list) and len(value) == 2 and isinstance(value[1], dict):
        return [value[0], clean_json(value[1], resources_map)]
    return value


def clean_json(resource_json: Any, resources_map: Any) -> Any:
    if isinstance(resource_json, dict) and "Fn::GetAtt" in resource_json:
        normalised = _normalise_getatt(resource_json["Fn::GetAtt"], resources_map)
        if normalised is not resource_json["Fn::GetAtt"]:
            resource_json = dict(resource_json, **{"Fn::GetAtt": normalised})
    return _orig_clean_json(resource_json, resources_map)


# ------------------------------------------------------------------ 2. dynamic references

DYNAMIC_REF = re.compile(r"\{\{resolve:(secretsmanager|ssm-secure|ssm):(.*?)\}\}")


def _resolve_secret(reference: str, account_id: str, region: str) -> str:
    parts = reference.split(":")
    if reference.startswith("arn:"):
        secret_id, rest = ":".join(parts[:7]), parts[7:]
    else:
        secret_id, rest = parts[0], parts[1:]
    rest += [""] * (4 - len(rest))
    string_type, json_key, version_stage, version_id = rest[:4]
    if string_type not in ("", "SecretString"):
        raise ValidationError(message=f"Invalid dynamic reference {{{{resolve:secretsmanager:{reference}}}}}")
    backend = secretsmanager_backends[account_id][region]
    try:
        value = backend.get_secret_value(
            secret_id=secret_id,
            version_id=version_id or None,
            version_stage=version_stage or None,
        )
    except Exception:
        raise ValidationError(
            message=f"Secrets Manager can't find the specified secret. (secret: {secret_id})"
        ) from None
    secret_string = value.get("SecretString")
    if secret_string is None:
        raise ValidationError(message=f"Secret {secret_id} has no SecretString")
    if not json_key:
        return secret_string
    try:
        return str(json.loads(secret_string)[json_key])
    except (ValueError, KeyError, TypeError):
        raise ValidationError(
            message=f"Could not find SecretString key {json_key} in secret {secret_id}"
        ) from None


def _resolve_ssm(reference: str, account_id: str, region: str) -> str:
    backend = ssm_backends[account_id][region]
    parameter = backend.get_parameter(reference)
    if parameter is None:
        raise ValidationError(message=f"Parameter {reference} not found in SSM")
    return parameter.value


def resolve_dynamic_references(value: Any, account_id: str, region: str) -> Any:
    if isinstance(value, dict):
        return {k: resolve_dynamic_references(v, account_id, region) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_dynamic_references(v, account_id, region) for v in value]
    if isinstance(value, str) and "{{resolve:" in value:

        def substitute(match: re.Match[str]) -> str:
            service, reference = match.group(1), match.group(2)
            if service == "secretsmanager":
                return _resolve_secret(reference, account_id, region)
            return _resolve_ssm(reference, account_id, region)

        return DYNAMIC_REF.sub(substitute, value)
    return value


_orig_parse_resource = parsing.parse_resource


def parse_resource(resource_json: dict[str, Any], resources_map: ResourceMap) -> Any:
    parsed = _orig_parse_resource(resource_json, resources_map)
    if not parsed:
        return parsed
    resource_class, cleaned, resource_type = parsed
    if "Properties" in cleaned:
        cleaned = dict(cleaned)
        cleaned["Properties"] = resolve_dynamic_references(
            cleaned["Properties"], resources_map._account_id, resources_map._region_name
        )
    return resource_class, cleaned, resource_type


# ------------------------------------------------------------------ 3. validate_outputs


def validate_outputs(self: ResourceMap) -> None:
    outputs = self._template.get("Outputs") or {}
    for output in outputs.values():
        if "Condition" in output and not self.lazy_condition_map[output["Condition"]]:
            continue
        value = output.get("Value", {})
        if not isinstance(value, dict) or "Fn::GetAtt" not in value:
            continue
        logical, attr = _normalise_getatt(value["Fn::GetAtt"], self)[:2]
        resource = self._resource_json_map.get(logical)
        if resource is None:
            raise ValidationError(
                message=f"Template format error: Unresolved resource dependencies [{logical}] in the Outputs block of the template"
            )
        if "Condition" in resource and not self.lazy_condition_map[resource["Condition"]]:
            raise ValidationError(
                message=f"Unresolved resource dependencies [{logical}] in the Outputs block of the template"
            )
        resource_type = resource["Type"]
        resource_class = parsing.resource_class_from_type(resource_type)
        if resource_class is None:
            continue  # moto cannot create it; the output will be missing
        if not resource_class.has_cfn_attr(attr):
            raise UnsupportedAttribute(resource=resource_type.rsplit(":", 1)[-1], attr=attr)


# ------------------------------------------------------------------ 4. failures and rollback

_orig_parse_and_create = parsing.parse_and_create_resource


def parse_and_create_resource(
    logical_id: str, resource_json: dict[str, Any], resources_map: ResourceMap, account_id: str, region_name: str
) -> Any:
    try:
        return _orig_parse_and_create(logical_id, resource_json, resources_map, account_id, region_name)
    except ResourceFailure:
        raise
    except Exception as exc:
        raise ResourceFailure(logical_id, resource_json.get("Type", ""), exc) from exc


def _resource_event(stack: Stack, logical_id: str, resource_type: str, physical_id: str | None,
                    status: str, reason: str | None) -> None:
    stack.events.append(
        Event(
            stack_id=stack.stack_id,
            stack_name=stack.name,
            logical_resource_id=logical_id,
            physical_resource_id=physical_id or "",
            resource_type=resource_type,
            resource_status=status,
            resource_status_reason=reason,
            resource_properties=None,
        )
    )


def _physical_id(resources_map: ResourceMap, logical_id: str) -> str | None:
    resource = resources_map._parsed_resources.get(logical_id)
    return getattr(resource, "physical_resource_id", None)


def resource_map_update(self: ResourceMap, template: dict[str, Any], parameters: dict[str, Any] | None = None) -> None:
    """CloudFormation's order: create added, update changed, then delete removed."""
    diff = self.build_resource_diff(template, parameters)
    old_resources = self._resource_json_map

    self._template = template
    if parameters:
        self.input_parameters = parameters
    self.load_mapping()
    self.load_parameters()
    self.load_conditions()
    self._resource_json_map = template["Resources"]

    for logical_id in diff["Add"]:
        _ = self[logical_id]

    pending = list(diff["Modify"])
    failures: dict[str, BaseException] = {}
    for _attempt in range(1, MAX_ATTEMPTS):
        if not pending:
            break
        for logical_id in list(pending):
            try:
                changed = parsing.parse_and_update_resource(
                    logical_id, self._resource_json_map[logical_id], self,
                    account_id=self._account_id, region_name=self._region_name,
                )
            except Exception as exc:  # retried: may depend on another change
                failures[logical_id] = exc
            else:
                if changed is not None:
                    self._parsed_resources[logical_id] = changed
                pending.remove(logical_id)
                failures.pop(logical_id, None)
    if pending:
        logical_id = pending[0]
        exc = failures[logical_id]
        if isinstance(exc, ResourceFailure):
            raise exc
        raise ResourceFailure(logical_id, self._resource_json_map[logical_id]["Type"], exc) from exc

    removals = [r for r in diff["Remove"] if r in self._parsed_resources]
    for _attempt in range(1, MAX_ATTEMPTS):
        if not removals:
            break
        for logical_id in list(removals):
            try:
                self._delete_resource(self._parsed_resources[logical_id], old_resources[logical_id])
            except Exception as exc:
                failures[logical_id] = exc
            else:
                self._parsed_resources.pop(logical_id, None)
                removals.remove(logical_id)
    if removals:
        logical_id = removals[0]
        raise ResourceFailure(logical_id, old_resources[logical_id]["Type"], failures[logical_id])


def _neutralise(stack: Stack) -> None:
    """A stack without live resources: reading outputs/resources must not
    lazily (re-)create anything."""
    stack.resource_map._resource_json_map = {}
    stack.output_map = OutputMap(stack.resource_map, {"Outputs": {}}, stack.stack_id)


def _drop_exports(backend: CloudFormationBackend, stack: Stack) -> None:
    for name, export in list(backend.exports.items()):
        if export.exporting_stack_id == stack.stack_id:
            del backend.exports[name]


def _backend_of(stack: Stack) -> CloudFormationBackend:
    return cloudformation_backends[stack.account_id][stack.region_name]


_orig_create_stack = CloudFormationBackend.create_stack


def create_stack(self: CloudFormationBackend, name: str, template: str, parameters: dict[str, Any], *args: Any, **kwargs: Any) -> Stack:
    before = set(self.stacks)
    try:
        return _orig_create_stack(self, name, template, parameters, *args, **kwargs)
    except Exception as exc:
        created = [sid for sid in self.stacks if sid not in before]
        if not created:
            raise
        stack = self.stacks[created[0]]
        sync = _sync_error(exc)
        if sync is not None:
            # Template problems are reported synchronously by CreateStack.
            try:
                stack.resource_map.delete()
            finally:
                _drop_exports(self, stack)
                del self.stacks[stack.stack_id]
            raise sync from None
        _fail_creation(self, stack, exc)
        return stack


def _fail_creation(backend: CloudFormationBackend, stack: Stack, exc: BaseException) -> None:
    if isinstance(exc, ResourceFailure):
        logical_id, resource_type, reason = exc.logical_id, exc.resource_type, exc.reason
    else:
        logical_id, resource_type, reason = stack.name, "AWS::CloudFormation::Stack", str(exc)
    if logical_id != stack.name:
        _resource_event(stack, logical_id, resource_type, None, "CREATE_FAILED", reason)
    stack_reason = f"The following resource(s) failed to create: [{logical_id}]. Rollback requested by user."
    stack._add_stack_event("ROLLBACK_IN_PROGRESS", resource_status_reason=stack_reason)
    stack.status = "ROLLBACK_IN_PROGRESS"
    stack.status_reason = stack_reason
    _drop_exports(backend, stack)
    try:
        stack.resource_map.delete()
    except Exception as delete_exc:
        stack.status = "ROLLBACK_FAILED"
        stack.status_reason = handler_message(delete_exc, resource_type)
        stack._add_stack_event("ROLLBACK_FAILED", resource_status_reason=stack.status_reason)
    else:
        stack.status = "ROLLBACK_COMPLETE"
        stack._add_stack_event("ROLLBACK_COMPLETE")
    _neutralise(stack)


def stack_update(self: Stack, template: str, role_arn: str | None = None,
                 parameters: dict[str, Any] | None = None, tags: dict[str, str] | None = None) -> None:
    previous_template = self.template
    previous_template_dict = copy.deepcopy(self.template_dict)
    previous_parameters = dict(self.resource_map.input_parameters or {})
    previous_status = self.status
    events_before = len(self.events)

    self._add_stack_event("UPDATE_IN_PROGRESS", resource_status_reason="User Initiated")
    self.status = "UPDATE_IN_PROGRESS"
    self.template = template
    self._parse_template()
    try:
        self.resource_map.update(self.template_dict, parameters)
    except Exception as exc:
        rollback_error = _roll_back_update(self, previous_template_dict, previous_parameters)
        self.template = previous_template
        self._parse_template()
        self.output_map = self._create_output_map()
        sync = _sync_error(exc)
        if sync is not None and rollback_error is None:
            del self.events[events_before:]
            self.status = previous_status
            raise sync from None
        _record_update_failure(self, exc, rollback_error)
        return
    self.output_map = self._create_output_map()
    self.role_arn = role_arn
    if parameters:
        self.parameters = parameters
    if tags is not None:
        self.tags = tags
    self._add_stack_event("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
    self._add_stack_event("UPDATE_COMPLETE")
    self.status = "UPDATE_COMPLETE"
    self.status_reason = None


def _roll_back_update(stack: Stack, template_dict: dict[str, Any], parameters: dict[str, Any]) -> BaseException | None:
    stack.resource_map.input_parameters = parameters
    try:
        stack.resource_map.update(template_dict, parameters or None)
    except Exception as exc:  # noqa: BLE001 - reported as UPDATE_ROLLBACK_FAILED
        return exc
    return None


def _record_update_failure(stack: Stack, exc: BaseException, rollback_error: BaseException | None) -> None:
    if isinstance(exc, ResourceFailure):
        _resource_event(
            stack, exc.logical_id, exc.resource_type,
            _physical_id(stack.resource_map, exc.logical_id), "UPDATE_FAILED", exc.reason,
        )
        reason = f"The following resource(s) failed to update: [{exc.logical_id}]. "
    else:
        reason = str(exc)
    stack._add_stack_event("UPDATE_ROLLBACK_IN_PROGRESS", resource_status_reason=reason)
    if rollback_error is not None:
        stack.status = "UPDATE_ROLLBACK_FAILED"
        stack.status_reason = handler_message(rollback_error, "AWS::CloudFormation::Stack")
        stack._add_stack_event("UPDATE_ROLLBACK_FAILED", resource_status_reason=stack.status_reason)
        return
    stack._add_stack_event("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
    stack._add_stack_event("UPDATE_ROLLBACK_COMPLETE")
    stack.status = "UPDATE_ROLLBACK_COMPLETE"
    stack.status_reason = reason


# ------------------------------------------------------------------ 5./6. exports

_orig_update_stack = CloudFormationBackend.update_stack
_orig_delete_stack = CloudFormationBackend.delete_stack


def update_stack(self: CloudFormationBackend, *args: Any, **kwargs: Any) -> Stack:
    stack = _orig_update_stack(self, *args, **kwargs)
    _drop_exports(self, stack)
    for export in stack.exports:
        self.exports[export.name] = export
    return stack


def _imported_names(stack: Stack) -> set[str]:
    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "Fn::ImportValue" in node:
                try:
                    names.add(str(clean_json(node["Fn::ImportValue"], stack.resource_map)))
                except Exception:  # noqa: BLE001 - unresolvable name imports nothing
                    pass
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(stack.template_dict.get("Resources", {}))
    walk(stack.template_dict.get("Outputs", {}))
    return names


def delete_stack(self: CloudFormationBackend, name_or_stack_id: str) -> None:
    stack = self.stacks.get(name_or_stack_id) or next(
        (s for s in self.stacks.values() if s.name == name_or_stack_id), None
    )
    if stack is None:
        return _orig_delete_stack(self, name_or_stack_id)
    exported = [n for n, e in self.exports.items() if e.exporting_stack_id == stack.stack_id]
    for other in self.stacks.values():
        if other is stack or other.status in ("DELETE_COMPLETE", "ROLLBACK_COMPLETE"):
            continue
        in_use = sorted(set(exported) & _imported_names(other))
        if in_use:
            stack._add_stack_event("DELETE_IN_PROGRESS", resource_status_reason="User Initiated")
            stack.status = "DELETE_FAILED"
            stack.status_reason = f"Export {in_use[0]} cannot be deleted as it is in use by {other.name}"
            stack._add_stack_event("DELETE_FAILED", resource_status_reason=stack.status_reason)
            return None
    try:
        _orig_delete_stack(self, stack.stack_id)
    except Exception as exc:
        # moto left the stack half-deleted; put it back as DELETE_FAILED.
        self.deleted_stacks.pop(stack.stack_id, None)
        self.stacks[stack.stack_id] = stack
        stack.status = "DELETE_FAILED"
        stack.status_reason = handler_message(exc, "AWS::CloudFormation::Stack")
        stack._add_stack_event("DELETE_FAILED", resource_status_reason=stack.status_reason)
        return None
    stack.status_reason = None
    _neutralise(stack)
    return None


# ------------------------------------------------------------------ 7. no-op updates

_orig_validate_different_update = cfn_responses.CloudFormationResponse._validate_different_update


def validate_different_update(self: Any, incoming_params: Any, stack_body: str, old_stack: Stack) -> None:
    _orig_validate_different_update(self, incoming_params, stack_body, old_stack)
    if self._get_action() != "UpdateStack":
        return  # CreateChangeSet reports "no changes" through the change set status
    if stack_body and not incoming_params and not old_stack.parameters and old_stack.template == stack_body:
        raise ValidationError(old_stack.name, message="No updates are to be performed.")


# ------------------------------------------------------------------ 9. change sets


def _find_change_set(backend: CloudFormationBackend, change_set_name: str, stack_name: str | None) -> Any:
    if change_set_name in backend.change_sets:
        return backend.change_sets[change_set_name]
    for change_set in backend.change_sets.values():
        if change_set.change_set_name == change_set_name and (
            not stack_name or stack_name in (change_set.stack_name, change_set.stack_id)
        ):
            return change_set
    raise ValidationError(message=f"ChangeSet [{change_set_name}] does not exist")


def execute_change_set(self: CloudFormationBackend, change_set_name: str, stack_name: str | None = None) -> None:
    change_set = _find_change_set(self, change_set_name, stack_name)
    if change_set.execution_status != "AVAILABLE":
        raise ValidationError(
            message=f"ChangeSet [{change_set.change_set_id}] cannot be executed in its current "
            f"execution status of [{change_set.execution_status}]"
        )
    stack = self.stacks[change_set.stack_id]
    if change_set.change_set_type == "CREATE":
        stack.template = change_set.template
        stack._parse_template()
        stack.description = stack.template_dict.get("Description")
        stack.parameters = change_set.parameters or {}
        stack.tags = change_set.tags or stack.tags
        stack.cross_stack_resources = self.exports
        stack.resource_map = stack._create_resource_map()
        stack.output_map = stack._create_output_map()
        stack._add_stack_event("CREATE_IN_PROGRESS", resource_status_reason="User Initiated")
        try:
            self._validate_export_uniqueness(stack)
            for export in stack.exports:
                self.exports[export.name] = export
            stack.create_resources()
        except Exception as exc:
            _fail_creation(self, stack, exc)
    else:
        stack.update(change_set.template, change_set.role_arn, parameters=change_set.parameters, tags=change_set.tags)
        _drop_exports(self, stack)
        for export in stack.exports:
            self.exports[export.name] = export
    failed = stack.status.endswith("ROLLBACK_COMPLETE") or stack.status.endswith("FAILED")
    change_set.execution_status = "EXECUTE_FAILED" if failed else "EXECUTE_COMPLETE"
    for other in self.change_sets.values():
        if other is not change_set and other.stack_id == stack.stack_id and other.execution_status == "AVAILABLE":
            other.execution_status = "OBSOLETE"


# ------------------------------------------------------------------ install


def install() -> None:
    parsing.clean_json = clean_json
    parsing.parse_resource = parse_resource
    parsing.parse_and_create_resource = parse_and_create_resource
    ResourceMap.validate_outputs = validate_outputs  # type: ignore[method-assign]
    ResourceMap.update = resource_map_update  # type: ignore[method-assign]
    Stack.update = stack_update  # type: ignore[method-assign]
    Stack.status_reason = None  # type: ignore[attr-defined]
    CloudFormationBackend.create_stack = create_stack  # type: ignore[method-assign]
    CloudFormationBackend.update_stack = update_stack  # type: ignore[method-assign]
    CloudFormationBackend.delete_stack = delete_stack  # type: ignore[method-assign]
    CloudFormationBackend.execute_change_set = execute_change_set  # type: ignore[method-assign]
    cfn_responses.CloudFormationResponse._validate_different_update = validate_different_update  # type: ignore[method-assign]
    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()


__all__ = ["install", "ResourceFailure", "ApiError"]
