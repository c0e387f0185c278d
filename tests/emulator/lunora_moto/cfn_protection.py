"""Termination protection for moto's CloudFormation (moto 5.2.1 answers
UpdateTerminationProtection with HTTP 500 and ignores the flag on delete).

lunora turns termination protection on for the flow stack after every
deploy; without this patch no deploy test could get past the flow stage.
"""

from __future__ import annotations

from typing import Any

from moto.cloudformation import responses as cfn_responses
from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.models import CloudFormationBackend
from moto.core.responses import ActionResult


def update_termination_protection(self: Any) -> ActionResult:
    name = self._get_param("StackName")
    flag = str(self._get_param("EnableTerminationProtection")).lower() == "true"
    stack = self.cloudformation_backend.get_stack(name)
    stack.enable_termination_protection = flag
    return ActionResult({"StackId": stack.stack_id})


_orig_delete_stack = CloudFormationBackend.delete_stack


def delete_stack(self: CloudFormationBackend, name_or_stack_id: str) -> None:
    stacks = [s for s in self.stacks.values() if name_or_stack_id in (s.name, s.stack_id)]
    for stack in stacks:
        if getattr(stack, "enable_termination_protection", False) and stack.status != "DELETE_COMPLETE":
            raise ValidationError(
                message=f"Stack [{stack.name}] cannot be deleted while TerminationProtection is enabled"
            )
    _orig_delete_stack(self, name_or_stack_id)


def install() -> None:
    global _orig_delete_stack
    _orig_delete_stack = CloudFormationBackend.delete_stack
    cfn_responses.CloudFormationResponse.update_termination_protection = update_termination_protection  # type: ignore[attr-defined]
    CloudFormationBackend.delete_stack = delete_stack  # type: ignore[method-assign]
