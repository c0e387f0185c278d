"""lunora's extension of moto 5.2.1 (test infrastructure, not shipped).

Importing this package installs everything: CloudFormation models for
AWS::MediaConnect::{Flow,FlowSource,FlowOutput}, AWS::MediaLive::{Input,
InputSecurityGroup,Channel} and AWS::CloudWatch::Alarm, plus the patches to
moto's CloudFormation engine and its MediaConnect / MediaLive / MediaPackage
services (incl. the health APIs: alerts, thumbnails, source metadata, an HLS
origin), CloudWatch (Smithy RPC v2 CBOR, dimension matching) and Step Functions
(state machines run, AWS error names; models for AWS::StepFunctions::StateMachine,
AWS::Scheduler::Schedule and AWS::Budgets::Budget) described in
../README.md. The CBOR protocol adapter is WSGI middleware the launcher adds
(cloudwatch_ext.CborAdapter). Import it before the moto server handles a request.
"""

from __future__ import annotations

MOTO_VERSION = "5.2.1"

_installed = False


def install() -> None:
    """Apply all patches (idempotent)."""
    global _installed
    if _installed:
        return
    import moto

    if moto.__version__ != MOTO_VERSION:
        raise RuntimeError(
            f"lunora_moto is written against moto {MOTO_VERSION}, found {moto.__version__}; "
            "run: pip install -r tests/emulator/requirements.txt"
        )
    from . import (
        cfn_engine,
        cfn_models,
        cfn_protection,
        cloudwatch_ext,
        mediaconnect_ext,
        mediaconnect_health,
        medialive_ext,
        medialive_health,
        mediapackage_ext,
        servicequotas_ext,
        stepfunctions_ext,
    )

    cloudwatch_ext.install()
    mediaconnect_ext.install()
    mediaconnect_health.install()
    medialive_ext.install()
    medialive_health.install()
    mediapackage_ext.install()
    servicequotas_ext.install()
    stepfunctions_ext.install()
    cfn_engine.install()  # also clears moto's cached model list
    cfn_protection.install()  # after cfn_engine: wraps its delete_stack
    assert cfn_models.MODELS
    _installed = True


install()
