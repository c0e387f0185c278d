#!/usr/bin/env python3
"""Smoke test of the emulator's health APIs (MediaLive alerts / thumbnails,
MediaConnect source metadata / thumbnail, MediaPackage HLS origin, CloudWatch
over JSON 1.0 and Smithy RPC v2 CBOR, request journal).

Usage: python3 tests/emulator/test_health_ext.py   (starts its own emulator; ~10 s)
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from botocore.parsers import RpcV2CBORParser
from botocore.serialize import create_serializer

HERE = Path(__file__).resolve().parent


def http(url: str, method: str = "GET", body: object | None = None, headers: dict | None = None) -> tuple[int, bytes]:
    data = body if isinstance(body, bytes) else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def error_of(call, **kwargs) -> tuple[str, int]:
    try:
        call(**kwargs)
    except ClientError as exc:
        return exc.response["Error"]["Code"], exc.response["ResponseMetadata"]["HTTPStatusCode"]
    raise AssertionError(f"{call.__name__} succeeded")


def check_medialive(url: str, client) -> None:
    ml = client("medialive")
    cid = ml.create_channel(Name="c", ChannelClass="SINGLE_PIPELINE")["Channel"]["Id"]
    assert ml.list_alerts(ChannelId=cid)["Alerts"] == []
    status, body = http(f"{url}/lunora-api/medialive/alerts/{cid}", "POST", {"alertType": "INPUT_LOSS", "message": "lost", "pipelineId": "0"})
    assert status == 200, body
    first = json.loads(body)["id"]
    second = json.loads(http(f"{url}/lunora-api/medialive/alerts/{cid}", "POST", {"alertType": "X", "message": "m"})[1])["id"]
    status, body = http(f"{url}/lunora-api/medialive/alerts/{cid}/{first}", "DELETE")
    assert status == 200 and json.loads(body)["state"] == "CLEARED", body
    alerts = ml.list_alerts(ChannelId=cid)["Alerts"]
    assert [a["State"] for a in alerts] == ["CLEARED", "SET"], alerts
    assert isinstance(alerts[0]["ClearedTimestamp"], datetime.datetime) and "ClearedTimestamp" not in alerts[1]
    assert [a["Id"] for a in ml.list_alerts(ChannelId=cid, StateFilter="SET")["Alerts"]] == [second]
    page = ml.list_alerts(ChannelId=cid, MaxResults=1)
    assert len(page["Alerts"]) == 1 and page["NextToken"]
    assert ml.list_alerts(ChannelId=cid, MaxResults=1, NextToken=page["NextToken"])["Alerts"][0]["Id"] == second
    assert json.loads(http(f"{url}/lunora-api/medialive/alerts/{cid}", "DELETE")[1]) == {"cleared": 1}
    assert http(f"{url}/lunora-api/medialive/alerts/1", "POST", {})[0] == 404
    # Raw wire shape: lowerCamelCase members, ISO-8601 ...Z timestamps.
    http(f"{url}/lunora-api/medialive/alerts/{cid}", "POST", {"alertType": "Y", "message": "m"})
    auth = "AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/medialive/aws4_request, SignedHeaders=host, Signature=x"
    status, body = http(f"{url}/prod/channels/{cid}/alerts?stateFilter=SET", headers={"Authorization": auth})
    wire = json.loads(body)["alerts"][0]
    assert status == 200 and set(wire) == {"alertType", "id", "message", "pipelineId", "setTimestamp", "state"}, body
    assert wire["setTimestamp"].endswith("Z") and wire["setTimestamp"][10] == "T", wire
    assert error_of(ml.list_alerts, ChannelId="9999999") == ("NotFoundException", 404)
    assert error_of(ml.list_alerts, ChannelId=cid, StateFilter="NOPE") == ("BadRequestException", 400)

    kwargs = dict(ChannelId=cid, PipelineId="0", ThumbnailType="CURRENT_ACTIVE")
    assert error_of(ml.describe_thumbnails, **kwargs) == ("BadRequestException", 400)
    ml.start_channel(ChannelId=cid)
    details = ml.describe_thumbnails(**kwargs)["ThumbnailDetails"]
    thumb = details[0]["Thumbnails"][0]
    assert details[0]["PipelineId"] == "0" and thumb["ContentType"] == "image/jpeg"
    jpeg = base64.b64decode(thumb["Body"])
    assert jpeg[:2] == b"\xff\xd8" and jpeg[-2:] == b"\xff\xd9"
    assert isinstance(thumb["TimeStamp"], datetime.datetime)
    assert error_of(ml.describe_thumbnails, ChannelId=cid, PipelineId="1", ThumbnailType="CURRENT_ACTIVE")[1] == 400


def check_mediaconnect(url: str, client) -> None:
    mc = client("mediaconnect")
    source = {"Name": "s", "Protocol": "srt-listener", "IngestPort": 5000, "WhitelistCidr": "0.0.0.0/0"}
    arn = mc.create_flow(Name="f", Source=source)["Flow"]["FlowArn"]
    meta = mc.describe_flow_source_metadata(FlowArn=arn)
    assert "TransportMediaInfo" not in meta and meta["Messages"][0]["Code"], meta
    thumb = mc.describe_flow_source_thumbnail(FlowArn=arn)["ThumbnailDetails"]
    assert "Thumbnail" not in thumb and thumb["ThumbnailMessages"], thumb
    mc.start_flow(FlowArn=arn)
    meta = mc.describe_flow_source_metadata(FlowArn=arn)
    streams = meta["TransportMediaInfo"]["Programs"][0]["Streams"]
    assert meta["Messages"] == [] and isinstance(meta["Timestamp"], datetime.datetime)
    assert streams[0]["Codec"] == "h264" and streams[0]["FrameResolution"] == {"FrameHeight": 1080, "FrameWidth": 1920}
    assert streams[1]["Codec"] == "aac"
    video = {"codec": "h264", "width": 1280, "height": 720, "frameRate": "60000/1001"}
    status, body = http(f"{url}/lunora-api/mediaconnect/source-metadata", "POST", {"flowArn": arn, "video": video})
    assert status == 200, body
    stream = mc.describe_flow_source_metadata(FlowArn=arn)["TransportMediaInfo"]["Programs"][0]["Streams"][0]
    assert stream["FrameRate"] == "60000/1001" and stream["FrameResolution"]["FrameWidth"] == 1280
    info = {"programs": [{"programNumber": 7, "streams": []}]}
    http(f"{url}/lunora-api/mediaconnect/source-metadata", "POST", {"flowArn": arn, "transportMediaInfo": info})
    assert mc.describe_flow_source_metadata(FlowArn=arn)["TransportMediaInfo"]["Programs"][0]["ProgramNumber"] == 7
    thumb = mc.describe_flow_source_thumbnail(FlowArn=arn)["ThumbnailDetails"]
    assert base64.b64decode(thumb["Thumbnail"])[:2] == b"\xff\xd8" and thumb["Timecode"] == "00:00:00:00"
    assert error_of(mc.describe_flow_source_metadata, FlowArn=arn + "x") == ("NotFoundException", 404)
    assert http(f"{url}/lunora-api/mediaconnect/source-metadata", "POST", {"flowArn": "arn:x"})[0] == 404


def check_mediapackage(url: str, client) -> None:
    mp = client("mediapackage")
    mp.create_channel(Id="mp-a")
    mp.create_channel(Id="mp-b")
    endpoint = mp.create_origin_endpoint(ChannelId="mp-a", Id="ep-a", HlsPackage={})
    mp.create_origin_endpoint(ChannelId="mp-b", Id="ep-b")
    assert endpoint["Url"] == f"{url}/lunora-hls/ep-a/index.m3u8", endpoint["Url"]
    listed = mp.list_origin_endpoints(ChannelId="mp-a")["OriginEndpoints"]
    assert [(e["Id"], e["Url"]) for e in listed] == [("ep-a", endpoint["Url"])], listed

    def sequence() -> int:
        status, body = http(endpoint["Url"])
        assert status == 200, status
        lines = body.decode().splitlines()
        assert lines[:3] == ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:1"], lines
        assert lines[4] == "#EXTINF:0.200," and len([x for x in lines if x.endswith(".ts")]) == 3, lines
        return int(lines[3].split(":")[1])

    first = sequence()
    time.sleep(0.45)
    assert sequence() >= first + 2
    http(f"{url}/lunora-api/hls/ep-a", "POST", {"frozen": True})
    frozen = sequence()
    time.sleep(0.3)
    assert sequence() == frozen
    http(f"{url}/lunora-api/hls/ep-a", "POST", {"frozen": False})
    time.sleep(0.3)
    assert sequence() > frozen
    assert http(f"{url}/lunora-api/hls/ep-a", "POST", {"status": 404})[0] == 200
    assert http(endpoint["Url"])[0] == 404
    assert http(f"{url}/lunora-hls/nope/index.m3u8")[0] == 404
    assert http(f"{url}/lunora-api/hls/nope", "POST", {})[0] == 404


def cbor_call(url: str, operation: str, params: dict) -> tuple[int, dict]:
    """A CloudWatch call as aws-sdk-cloudwatch (Rust) sends it: Smithy RPC v2 CBOR."""
    model = botocore.session.get_session().get_service_model("cloudwatch")
    op = model.operation_model(operation)
    request = create_serializer("smithy-rpc-v2-cbor").serialize_to_request(params, op)
    aws = AWSRequest(method="POST", url=url + request["url_path"], data=request["body"], headers=dict(request["headers"]))
    SigV4Auth(Credentials("testing", "testing"), "monitoring", "us-east-1").add_auth(aws)
    prepared = aws.prepare()
    status, body = http(prepared.url, "POST", prepared.body, dict(prepared.headers))
    parser = RpcV2CBORParser()
    response = {"body": body, "headers": {"content-type": "application/cbor"}, "status_code": status}
    return status, parser.parse(response, op.output_shape)


def check_cloudwatch(url: str, client) -> None:
    cw = client("cloudwatch")
    now = datetime.datetime.now(datetime.timezone.utc).replace(second=0, microsecond=0) - datetime.timedelta(minutes=2)

    def put(namespace: str, dims: list[tuple[str, str]], values: list[float]) -> None:
        cw.put_metric_data(
            Namespace=namespace,
            MetricData=[
                {
                    "MetricName": "M",
                    "Dimensions": [{"Name": k, "Value": v} for k, v in dims],
                    "Value": value,
                    "Timestamp": now + datetime.timedelta(seconds=5 * i),
                }
                for i, value in enumerate(values)
            ],
        )

    put("AWS/MediaConnect", [("FlowARN", "f"), ("SourceARN", "s")], [5, 7])
    put("AWS/MediaConnect", [("FlowARN", "f")], [100])
    put("AWS/MediaConnect", [("SourceARN", "s")], [200])
    put("AWS/MediaLive", [("ChannelId", "c"), ("Pipeline", "0")], [1, 3])
    put("AWS/MediaLive", [("ChannelId", "c")], [50])
    put("AWS/MediaLive", [("ChannelId", "c"), ("Pipeline", "0"), ("Extra", "x")], [70])
    queries = []
    for stat in ("Maximum", "Average", "Sum"):
        for ns, dims in (("AWS/MediaConnect", [("FlowARN", "f"), ("SourceARN", "s")]), ("AWS/MediaLive", [("Pipeline", "0"), ("ChannelId", "c")])):
            metric = {"Namespace": ns, "MetricName": "M", "Dimensions": [{"Name": k, "Value": v} for k, v in dims]}
            queries.append({"Id": f"q{len(queries)}", "MetricStat": {"Metric": metric, "Period": 60, "Stat": stat}})
    window = {"StartTime": now - datetime.timedelta(minutes=5), "EndTime": now + datetime.timedelta(minutes=5)}
    expected = [[7.0], [3.0], [6.0], [2.0], [12.0], [4.0]]
    results = cw.get_metric_data(MetricDataQueries=queries, **window)["MetricDataResults"]
    assert [r["Values"] for r in results] == expected, results
    # awsJson1_0 by hand (boto3 uses it too).
    status, body = http(
        url + "/",
        "POST",
        json.dumps({}).encode(),
        {
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "GraniteServiceVersion20100801.DescribeAlarms",
            "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/monitoring/aws4_request, SignedHeaders=host, Signature=x",
        },
    )
    assert status == 200 and "MetricAlarms" in json.loads(body), body
    # Smithy RPC v2 CBOR, as the Rust SDK sends it.
    status, parsed = cbor_call(url, "GetMetricData", {"MetricDataQueries": queries, **window})
    assert status == 200 and [r["Values"] for r in parsed["MetricDataResults"]] == expected, parsed
    assert isinstance(parsed["MetricDataResults"][0]["Timestamps"][0], datetime.datetime)
    status, parsed = cbor_call(url, "PutMetricData", {"Namespace": "N", "MetricData": [{"MetricName": "X", "Value": 1.0}]})
    assert status == 200, parsed
    status, parsed = cbor_call(url, "DescribeAlarms", {})
    assert status == 200 and parsed["MetricAlarms"] == [], parsed
    status, parsed = cbor_call(url, "GetMetricData", {"MetricDataQueries": queries, "StartTime": window["EndTime"], "EndTime": window["StartTime"]})
    assert status == 400 and parsed["Error"]["Code"], parsed


def check_journal(url: str) -> None:
    requests = json.loads(http(f"{url}/lunora-api/requests")[1])["requests"]
    seen = {f"{r['service']}:{r['operation']}" for r in requests}
    for label in (
        "medialive:ListAlerts",
        "medialive:DescribeThumbnails",
        "mediaconnect:DescribeFlowSourceMetadata",
        "mediaconnect:DescribeFlowSourceThumbnail",
        "mediapackage:ListOriginEndpoints",
        "lunora-hls:GetPlaylist",
        "monitoring:GetMetricData",
        "monitoring:PutMetricData",
        "monitoring:DescribeAlarms",
    ):
        assert label in seen, (label, sorted(seen))
    assert not any(r["path"].startswith("POST /lunora-api") for r in requests if "path" in r)


def main() -> None:
    process = subprocess.Popen(
        [sys.executable, str(HERE / "launch.py"), "--port", "0"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
    )
    try:
        url = process.stdout.readline().decode().strip()
        assert url.startswith("http://127.0.0.1:"), f"launcher printed {url!r}"

        def client(service: str):
            return boto3.client(
                service,
                endpoint_url=url,
                region_name="us-east-1",
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )

        for check in (check_medialive, check_mediaconnect, check_mediapackage, check_cloudwatch):
            check(url, client)
            print(f"ok  {check.__name__}")
        check_journal(url)
        print("ok  check_journal")
    finally:
        process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


if __name__ == "__main__":
    main()
