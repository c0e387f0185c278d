"""Step Functions: run state machines, with AWS's error names.

moto 5.2.1 can execute state machines (a port of LocalStack's ASL
interpreter), including `aws-sdk:` tasks, which call this server back over
HTTP (`http://localhost:$MOTO_PORT`, access key `ak`, i.e. the default
account). It is off by default; `install()` switches it on, as
`POST /moto-api/config {"stepfunctions": {"execute_state_machine": true}}`
would, and the launcher sets MOTO_PORT to the port it picked.

Error names: Step Functions names an `aws-sdk` task's error
`ServiceName.ErrorName`, both in PascalCase
(https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html,
e.g. `AcmPca.ResourceNotFoundException`). moto keeps the lower-case service
name of the resource (`mediaconnect.BadRequestException`) except for
DynamoDB and SFN, so a `Catch` written for AWS would never match here.

Second execution: StartExecution deep-copies the state machine, which holds
its backend and its earlier executions (with their threads' locks): the
second execution of any machine failed with HTTP 500 ("cannot pickle
'_thread.RLock' object"). The copy now shares the backend and versions and
starts with no executions.
"""

from __future__ import annotations

import copy
from typing import Any

from moto.core.config import default_user_config
from moto.stepfunctions.models import StateMachine

# The PascalCase service names lunora's state machines catch errors of.
SERVICE_ERROR_NAMES = {"mediaconnect": "MediaConnect", "medialive": "MediaLive"}


_SHARED = ("backend", "versions", "latest_version")


def _state_machine_deepcopy(self: Any, memo: dict[int, Any]) -> Any:
    clone = self.__class__.__new__(self.__class__)
    memo[id(self)] = clone
    for key, value in self.__dict__.items():
        if key == "executions":
            value = []
        elif key not in _SHARED:
            value = copy.deepcopy(value, memo)
        setattr(clone, key, value)
    return clone


def install() -> None:
    StateMachine.__deepcopy__ = _state_machine_deepcopy  # type: ignore[attr-defined]
    default_user_config.setdefault("stepfunctions", {})["execute_state_machine"] = True
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_aws_sdk as aws_sdk,
    )

    aws_sdk._SERVICE_ERROR_NAMES.update(SERVICE_ERROR_NAMES)


def backend(account_id: str, region_name: str):
    """The backend the API uses (the executing one once installed)."""
    from moto.stepfunctions.responses import get_backend

    return get_backend(account_id, region_name)
