"""lunora's extension of moto 5.2.1 (test infrastructure, not shipped).

Importing this package installs everything: CloudFormation models for
AWS::MediaConnect::{Flow,FlowSource,FlowOutput}, AWS::MediaLive::{Input,
InputSecurityGroup,Channel} and AWS::CloudWatch::Alarm, plus the patches to
moto's CloudFormation engine and its MediaConnect / MediaLive services
described in ../README.md. Import it before the moto server handles a request.
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
    from . import cfn_engine, cfn_models, cfn_protection, mediaconnect_ext, medialive_ext, servicequotas_ext

    mediaconnect_ext.install()
    medialive_ext.install()
    servicequotas_ext.install()
    cfn_engine.install()  # also clears moto's cached model list
    cfn_protection.install()  # after cfn_engine: wraps its delete_stack
    assert cfn_models.MODELS
    _installed = True


install()
