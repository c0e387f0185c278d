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
   updated first (a resource that refers to a replaced one is re-evaluated);
   replaced and removed resources are deleted in a cleanup step after success
   (moto deleted removed resources first and never revisited dependents). On
   failure replacements are dropped, the originals restored, the previous
   template re-applied and the stack ends in UPDATE_ROLLBACK_COMPLETE with
   *_FAILED / UPDATE_ROLLBACK_* events carrying the reason. An update that
   would change or drop an export another stack imports fails the same way
   ("Export X cannot be updated as it is in use by Y"). Template validation
   errors (unknown export, bad GetAtt, missing parameter, unresolvable dynamic
   reference) stay synchronous ValidationErrors, as in CloudFormation.
5. DeleteStack of a stack whose export is imported by another stack fails
   (DELETE_FAILED, "Export ... cannot be deleted as it is in use by ...");
   a resource that cannot be deleted also gives DELETE_FAILED instead of HTTP 500.
6. Exports are re-read after UpdateStack (moto kept the creation-time values).
7. UpdateStack with an identical template and identical parameter values raises
   "No updates are to be performed." (moto compared typed with string values and
   skipped the check without parameters).
8. Failed and deleted stacks no longer re-create resources when their outputs or
   resources are read (moto's lazy resource map did that).
9. ExecuteChangeSet: a CREATE change set now yields the template's outputs and
   exports (moto kept the empty placeholder template), an UPDATE change set
   refreshes outputs/exports, and both roll back on failure like 4. Change set
   Changes include resources affected only by changed parameter values.
10. DescribeStacks: ExportName is set only on outputs that declare an Export
    (moto gave it to every output whose value equalled an exported value).
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
from moto.cloudformation.models import (
    Change,
    ChangeSet,
    CloudFormationBackend,
    Event,
    Stack,
    cloudformation_backends,
)
from moto.cloudformation.parsing import OutputMap, ResourceMap
from moto.core.exceptions import ServiceException
from moto.secretsmanager.models import secretsmanager_backends
from moto.ssm.models import ssm_backends
from werkzeug.exceptions import HTTPException

from . import journal

SYNC_ERRORS = (ValidationError, ExportNotFound, MissingParameterError, UnsupportedAttribute)
MAX_ATTEMPTS = parsing.MAX_UPDATE_ATTEMPTS


class ResourceFailure(Exception):
    """A resource operation failed inside a stack operation."""

    def __init__(self, logical_id: str, resource_type: str, cause: BaseException, action: str = "CREATE"):
        self.logical_id = logical_id
        self.resource_type = resource_type
        self.cause = cause
        self.action = action  # CREATE | UPDATE | DELETE
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


def _references(node: Any) -> set[str]:
    """Logical ids a template fragment refers to (Ref, Fn::GetAtt, Fn::Sub)."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                target = value.split(".", 1)[0] if isinstance(value, str) else value[0]
                found.add(str(target))
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                if isinstance(text, str):
                    found.update(m.split(".", 1)[0] for m in re.findall(r"\$\{([^!}][^}]*)\}", text))
                if isinstance(value, list) and len(value) > 1:
                    found.update(_references(value[1]))
            else:
                found.update(_references(value))
    elif isinstance(node, list):
        for item in node:
            found.update(_references(item))
    return found


def resource_map_update(self: ResourceMap, template: dict[str, Any], parameters: dict[str, Any] | None = None) -> None:
    """CloudFormation's order: create added resources, update changed ones
    (re-evaluating resources that refer to a replaced one), and leave the
    deletion of removed / replaced resources to run_cleanup() after success."""
    diff = self.build_resource_diff(template, parameters)
    old_resources = self._resource_json_map

    self._template = template
    if parameters:
        self.input_parameters = parameters
    self.load_mapping()
    self.load_parameters()
    self.load_conditions()
    self._resource_json_map = template["Resources"]
    self.lunora_replaced = journal.begin()
    self.lunora_removals = []
    # Rollback: also revisit what the failed update re-evaluated as a dependent.
    forced = [
        name for name in getattr(self, "lunora_force_modify", [])
        if name in self._resource_json_map and name in self._parsed_resources and name not in diff["Modify"]
    ]
    self.lunora_force_modify = []
    self.lunora_propagated = []
    try:
        for logical_id in diff["Add"]:
            _ = self[logical_id]

        pending = list(diff["Modify"]) + forced
        queued = set(pending)
        failures: dict[str, BaseException] = {}
        stalled = 0
        while pending and stalled < MAX_ATTEMPTS:
            progressed = False
            for logical_id in list(pending):
                before = getattr(self._parsed_resources.get(logical_id), "physical_resource_id", None)
                try:
                    changed = parsing.parse_and_update_resource(
                        logical_id, self._resource_json_map[logical_id], self,
                        account_id=self._account_id, region_name=self._region_name,
                    )
                except Exception as exc:  # retried: may depend on another change
                    failures[logical_id] = exc
                    continue
                if changed is not None:
                    self._parsed_resources[logical_id] = changed
                pending.remove(logical_id)
                failures.pop(logical_id, None)
                progressed = True
                if getattr(changed, "physical_resource_id", before) != before:
                    # Replaced: whatever refers to it sees new values.
                    for other, body in self._resource_json_map.items():
                        if other not in queued and other in self._parsed_resources and logical_id in _references(body):
                            queued.add(other)
                            pending.append(other)
                            self.lunora_propagated.append(other)
            stalled = 0 if progressed else stalled + 1
        if pending:
            logical_id = pending[0]
            exc = failures[logical_id]
            if isinstance(exc, ResourceFailure):
                raise exc
            raise ResourceFailure(logical_id, self._resource_json_map[logical_id]["Type"], exc, "UPDATE") from exc
    finally:
        journal.end()
    self.lunora_removals = [
        (name, self._parsed_resources[name], old_resources[name])
        for name in diff["Remove"]
        if name in self._parsed_resources
    ]


def undo_replacements(resources_map: ResourceMap) -> None:
    """Failed update: drop the replacements, put the original resources back."""
    for original, replacement in reversed(getattr(resources_map, "lunora_replaced", [])):
        try:
            replacement._delete()
        except Exception:  # noqa: BLE001 - best effort, like a rollback
            pass
        resources_map._parsed_resources[original.logical_resource_id] = original
    resources_map.lunora_replaced = []


def run_cleanup(stack: Stack) -> None:
    """UPDATE_COMPLETE_CLEANUP_IN_PROGRESS: delete replaced and removed resources.
    Failures are reported as DELETE_FAILED events but do not fail the update."""
    resources_map = stack.resource_map
    for original, _replacement in getattr(resources_map, "lunora_replaced", []):
        try:
            original._delete()
        except Exception as exc:  # noqa: BLE001
            _resource_event(stack, original.logical_resource_id, original.CFN_TYPE,
                            original.physical_resource_id, "DELETE_FAILED",
                            handler_message(exc, original.CFN_TYPE))
    resources_map.lunora_replaced = []
    removals = list(getattr(resources_map, "lunora_removals", []))
    failures: dict[str, BaseException] = {}
    for _attempt in range(1, MAX_ATTEMPTS):
        for entry in list(removals):
            name, resource, body = entry
            try:
                resources_map._delete_resource(resource, body)
            except Exception as exc:  # noqa: BLE001 - retried: dependency order
                failures[name] = exc
            else:
                if resources_map._parsed_resources.get(name) is resource:
                    resources_map._parsed_resources.pop(name, None)
                removals.remove(entry)
        if not removals:
            break
    for name, resource, body in removals:
        _resource_event(stack, name, body.get("Type", ""), getattr(resource, "physical_resource_id", None),
                        "DELETE_FAILED", handler_message(failures[name], body.get("Type", "")))
    resources_map.lunora_removals = []


class ExportInUse(Exception):
    pass


def check_exports(stack: Stack, output_map: OutputMap) -> None:
    """CloudFormation refuses to change or drop an export another stack imports."""
    backend = _backend_of(stack)
    old = {n: e.value for n, e in backend.exports.items() if e.exporting_stack_id == stack.stack_id}
    new = {e.name: e.value for e in output_map.exports}
    changed = sorted(n for n in old if n not in new or new[n] != old[n])
    if not changed:
        return
    for other in backend.stacks.values():
        if other is stack or other.status in ("DELETE_COMPLETE", "ROLLBACK_COMPLETE"):
            continue
        imported = _imported_names(other)
        for name in changed:
            if name in imported:
                verb = "updated" if name in new else "deleted"
                raise ExportInUse(f"Export {name} cannot be {verb} as it is in use by {other.name}")


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
        output_map = self._create_output_map()
        check_exports(self, output_map)
    except Exception as exc:
        undo_replacements(self.resource_map)
        self.resource_map.lunora_removals = []
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
    self.output_map = output_map
    self.role_arn = role_arn
    if parameters:
        self.parameters = parameters
    if tags is not None:
        self.tags = tags
    self._add_stack_event("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
    run_cleanup(self)
    self._add_stack_event("UPDATE_COMPLETE")
    self.status = "UPDATE_COMPLETE"
    self.status_reason = None


def _roll_back_update(stack: Stack, template_dict: dict[str, Any], parameters: dict[str, Any]) -> BaseException | None:
    # Parameters the failed update introduced go back to their template defaults.
    rollback_parameters = dict(parameters)
    declared = template_dict.get("Parameters") or {}
    for key in stack.resource_map.input_parameters or {}:
        if key not in rollback_parameters and "Default" in declared.get(key, {}):
            rollback_parameters[key] = str(declared[key]["Default"])
    stack.resource_map.lunora_force_modify = list(getattr(stack.resource_map, "lunora_propagated", []))
    try:
        stack.resource_map.update(template_dict, rollback_parameters or None)
        run_cleanup(stack)  # removes what the failed update had added
    except Exception as exc:  # noqa: BLE001 - reported as UPDATE_ROLLBACK_FAILED
        return exc
    finally:
        stack.resource_map.input_parameters = parameters
    return None


def _record_update_failure(stack: Stack, exc: BaseException, rollback_error: BaseException | None) -> None:
    if isinstance(exc, ResourceFailure):
        _resource_event(
            stack, exc.logical_id, exc.resource_type,
            _physical_id(stack.resource_map, exc.logical_id), f"{exc.action}_FAILED", exc.reason,
        )
        reason = f"The following resource(s) failed to {exc.action.lower()}: [{exc.logical_id}]. "
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
    if not stack_body or old_stack.template != stack_body:
        return
    previous = {k: str(v) for k, v in (old_stack.parameters or {}).items()}
    requested = {}
    for param in incoming_params or []:
        key = param["ParameterKey"]
        requested[key] = previous.get(key) if param.get("UsePreviousValue") else str(param.get("ParameterValue"))
    if requested == previous:
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


def change_set_diff(self: ChangeSet) -> list[Change]:
    """moto listed only template differences; parameter-only changes count too."""
    actions = self.stack.resource_map.build_resource_diff(self.template_dict, self.parameters or None)
    old_resources = self.stack.resource_map._resource_json_map
    new_resources = self.template_dict.get("Resources", {})
    changes = []
    for action, names in actions.items():
        for name in names:
            source = old_resources if action == "Remove" else new_resources
            changes.append(Change(action=action, logical_resource_id=name, resource_type=source[name]["Type"]))
    return changes


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
    from . import request_log

    if stack.name in request_log.stuck_stacks:
        # A test asked for a stack that never settles (POST /lunora-api/stuck/<name>).
        request_log.stuck_stacks.discard(stack.name)
        stack.status = f"{change_set.change_set_type}_IN_PROGRESS"
        return
    if not failed:
        # "After you execute a change set, CloudFormation removes all change
        # sets that are associated with the stack because they aren't
        # applicable to the updated stack."
        # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-changesets-execute.html
        for key in [k for k, cs in self.change_sets.items() if cs.stack_id == stack.stack_id]:
            del self.change_sets[key]
        return
    for other in self.change_sets.values():
        if other is not change_set and other.stack_id == stack.stack_id and other.execution_status == "AVAILABLE":
            other.execution_status = "OBSOLETE"


def list_change_sets(self: Any) -> Any:
    """moto ignored ListChangeSets' required StackName and listed every
    stack's change sets; list only the named stack's (name or id).
    https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ListChangeSets.html"""
    from moto.core.responses import ActionResult

    stack_name = self._get_param("StackName")
    change_sets = [
        cs
        for cs in self.cloudformation_backend.list_change_sets()
        if stack_name in (cs.stack_name, cs.stack_id)
    ]
    return ActionResult({"Summaries": change_sets})


# ------------------------------------------------------------------ 10. ExportName


def stack_outputs(self: Stack) -> list[dict[str, Any]] | None:
    """moto matched outputs to exports by *value*, so every output with the same
    value as an exported one got its ExportName; use the output's own Export."""
    declared = self.output_map._output_json_map or {}
    outputs = []
    for output in self.output_map.values():
        if not output:
            continue
        export = (declared.get(output.key) or {}).get("Export")
        export_name = clean_json(export.get("Name"), self.resource_map) if export else None
        outputs.append(
            {
                "OutputKey": output.key,
                "OutputValue": output.value,
                "Description": output.description,
                "ExportName": export_name,
            }
        )
    return outputs or None


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
    cfn_responses.CloudFormationResponse.list_change_sets = list_change_sets  # type: ignore[method-assign]
    ChangeSet.diff = change_set_diff  # type: ignore[method-assign]
    Stack.outputs = property(stack_outputs)  # type: ignore[assignment,method-assign]
    cfn_responses.CloudFormationResponse._validate_different_update = validate_different_update  # type: ignore[method-assign]
    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()


__all__ = ["install", "ResourceFailure"]
