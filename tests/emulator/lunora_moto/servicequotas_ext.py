"""Service Quotas for MediaLive (moto 5.2.1 knows only `vpc`).

- ListAWSDefaultServiceQuotas / GetAWSDefaultServiceQuota for `medialive`
  answer three quotas with MediaLive's documented defaults (5 channels, 5
  push inputs, 5 input security groups per Region,
  https://docs.aws.amazon.com/medialive/latest/ug/limits.html). The names
  and codes are the emulator's choice (UNVERIFIED against AWS); the input
  security group code is made up.
- ListServiceQuotas (not in moto) answers the values applied to the account:
  only quotas raised with RequestServiceQuotaIncrease, as for a service whose
  quotas were never changed.
- RequestServiceQuotaIncrease (not in moto) is approved at once: the value
  is applied immediately (on AWS a request is reviewed and takes time).
- GetServiceQuota answers the applied value, else NoSuchResourceException.
"""

from __future__ import annotations

import json
from typing import Any

from moto.servicequotas import models as sq_models
from moto.servicequotas import responses as sq_responses
from moto.servicequotas.exceptions import NoSuchResource

MEDIALIVE_DEFAULTS = [
    ("L-D1AFAF75", "Channels", 5.0),
    ("L-9E233AF7", "Push inputs", 5.0),
    ("L-LUNORA01", "Input security groups", 5.0),
]


def _quota(backend: Any, code: str, name: str, value: float) -> dict[str, Any]:
    return {
        "Adjustable": True,
        "GlobalQuota": False,
        "QuotaArn": f"arn:aws:servicequotas:{backend.region_name}:{backend.account_id}:medialive/{code}",
        "QuotaCode": code,
        "QuotaName": name,
        "ServiceCode": "medialive",
        "ServiceName": "AWS Elemental MediaLive",
        "Unit": "None",
        "Value": value,
    }


def _applied(backend: Any) -> dict[str, float]:
    if not hasattr(backend, "lunora_applied"):
        backend.lunora_applied = {}
    return backend.lunora_applied


def _defaults(backend: Any, service_code: str) -> list[dict[str, Any]]:
    if service_code == "medialive":
        return [_quota(backend, c, n, v) for c, n, v in MEDIALIVE_DEFAULTS]
    return _original_list_defaults(backend, service_code)


_original_list_defaults = sq_models.ServiceQuotasBackend.list_aws_default_service_quotas
_original_get = sq_models.ServiceQuotasBackend.get_service_quota


def _list_defaults(self: Any, service_code: str) -> list[dict[str, Any]]:
    return _defaults(self, service_code)


def _list_applied(self: Any, service_code: str) -> list[dict[str, Any]]:
    if service_code != "medialive":
        raise NoSuchResource
    applied = _applied(self)
    return [_quota(self, c, n, applied[c]) for c, n, _ in MEDIALIVE_DEFAULTS if c in applied]


def _get(self: Any, service_code: str, quota_code: str) -> dict[str, Any]:
    if service_code == "medialive":
        for quota in _list_applied(self, service_code):
            if quota["QuotaCode"] == quota_code:
                return quota
        raise NoSuchResource
    return _original_get(self, service_code, quota_code)


def _request_increase(self: Any, service_code: str, quota_code: str, desired: float) -> dict[str, Any]:
    if service_code != "medialive" or quota_code not in {c for c, _, _ in MEDIALIVE_DEFAULTS}:
        raise NoSuchResource
    _applied(self)[quota_code] = float(desired)
    name = next(n for c, n, _ in MEDIALIVE_DEFAULTS if c == quota_code)
    return {
        "Id": f"lunora-{quota_code}",
        "ServiceCode": service_code,
        "QuotaCode": quota_code,
        "QuotaName": name,
        "DesiredValue": float(desired),
        "Status": "APPROVED",
        "Unit": "None",
        "GlobalQuota": False,
    }


def _r_list_service_quotas(self: Any) -> str:
    params = json.loads(self.body)
    quotas = self.backend.list_service_quotas(str(params.get("ServiceCode")))
    return json.dumps({"Quotas": quotas})


def _r_get_aws_default_service_quota(self: Any) -> str:
    params = json.loads(self.body)
    code = str(params.get("QuotaCode"))
    for quota in self.backend.list_aws_default_service_quotas(str(params.get("ServiceCode"))):
        if quota["QuotaCode"] == code:
            return json.dumps({"Quota": quota})
    raise NoSuchResource


def _r_request_service_quota_increase(self: Any) -> str:
    params = json.loads(self.body)
    requested = self.backend.request_service_quota_increase(
        str(params.get("ServiceCode")), str(params.get("QuotaCode")), params.get("DesiredValue", 0)
    )
    return json.dumps({"RequestedQuota": requested})


def install() -> None:
    backend = sq_models.ServiceQuotasBackend
    backend.list_aws_default_service_quotas = _list_defaults  # type: ignore[method-assign]
    backend.get_service_quota = _get  # type: ignore[method-assign]
    backend.list_service_quotas = _list_applied  # type: ignore[attr-defined]
    backend.request_service_quota_increase = _request_increase  # type: ignore[attr-defined]
    cls = sq_responses.ServiceQuotasResponse
    cls.list_service_quotas = _r_list_service_quotas  # type: ignore[attr-defined]
    cls.get_aws_default_service_quota = _r_get_aws_default_service_quota  # type: ignore[attr-defined]
    cls.request_service_quota_increase = _r_request_service_quota_increase  # type: ignore[attr-defined]
