//! MediaConnect, MediaLive and CloudWatch calls for operating a deployment:
//! `status`, `start`, `stop`, `failover` and `outputs`.
//!
//! This module exists so that the operating commands never touch an SDK
//! client themselves: every resource they act on is named by a deployed
//! stack's outputs (the commands look those up), and every call on those
//! resources (flow and channel state, flow-output switching, the manual
//! source switch, alarm states and metrics) lives here, each turning SDK
//! errors into one line that names the call and AWS's code and message.
//!
//! Waiting is by polling with a growing delay (200 ms up to 5 s); a channel
//! start may take up to 10 minutes on AWS (domain brief, §1.6), so waits
//! give up after 15 minutes (`--wait-timeout` changes that) with a
//! [`super::TimedOut`] naming the flow or channel.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, ScanBy};
use aws_sdk_mediaconnect::types::{OutputStatus, SourcePriority, UpdateFailoverConfig};

use time::OffsetDateTime;

use super::{error_code, sdk_error, Aws};
use crate::health::{Alert, Feed, Reading};

/// How long a wait for a flow or channel state lasts at most, by default.
const WAIT_LIMIT: Duration = super::Timeouts::MEDIA_WAIT;

/// One source of a flow, as DescribeFlow reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowSource {
    pub name: String,
    pub arn: String,
    pub ingest_ip: Option<String>,
    pub ingest_port: Option<i32>,
}

/// One output of a flow, as DescribeFlow reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowOutput {
    pub name: String,
    pub arn: String,
    /// `ENABLED` or `DISABLED`.
    pub status: Option<String>,
}

/// What DescribeFlow says about a flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowInfo {
    pub arn: String,
    pub name: String,
    /// `STANDBY`, `ACTIVE`, `STARTING`, `STOPPING`, `UPDATING`, `ERROR`, ...
    pub status: String,
    pub sources: Vec<FlowSource>,
    pub outputs: Vec<FlowOutput>,
    /// `SourceFailoverConfig.State` (`ENABLED`/`DISABLED`).
    pub failover_state: Option<String>,
    /// `SourceFailoverConfig.SourcePriority.PrimarySource`: the preferred source.
    pub primary_source: Option<String>,
    /// `SourceFailoverConfig.FailoverMode` (`FAILOVER`/`MERGE`).
    pub failover_mode: Option<String>,
}

impl FlowInfo {
    /// The output with this ARN.
    pub fn output(&self, arn: &str) -> Option<&FlowOutput> {
        self.outputs.iter().find(|o| o.arn == arn)
    }

    /// The source with this ARN.
    pub fn source(&self, arn: &str) -> Option<&FlowSource> {
        self.sources.iter().find(|s| s.arn == arn)
    }
}

/// DescribeFlow; `None` when the flow does not exist.
pub async fn describe_flow(aws: &Aws, flow_arn: &str) -> anyhow::Result<Option<FlowInfo>> {
    let out = match aws
        .mediaconnect
        .describe_flow()
        .flow_arn(flow_arn)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) if error_code(&e) == Some("NotFoundException") => return Ok(None),
        Err(e) => {
            return Err(sdk_error("mediaconnect:DescribeFlow", e))
                .with_context(|| format!("cannot read flow `{flow_arn}`"))
        }
    };
    let Some(flow) = out.flow() else {
        return Ok(None);
    };
    let mut sources: Vec<FlowSource> = flow
        .sources()
        .iter()
        .chain(flow.source())
        .map(|s| FlowSource {
            name: s.name().unwrap_or_default().to_owned(),
            arn: s.source_arn().unwrap_or_default().to_owned(),
            ingest_ip: s.ingest_ip().map(str::to_owned),
            ingest_port: s.ingest_port(),
        })
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    sources.retain(|s| seen.insert(s.arn.clone()));
    let failover = flow.source_failover_config();
    Ok(Some(FlowInfo {
        arn: flow.flow_arn().unwrap_or(flow_arn).to_owned(),
        name: flow.name().unwrap_or_default().to_owned(),
        status: flow
            .status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        sources,
        outputs: flow
            .outputs()
            .iter()
            .map(|o| FlowOutput {
                name: o.name().unwrap_or_default().to_owned(),
                arn: o.output_arn().unwrap_or_default().to_owned(),
                status: o.output_status().map(|s| s.as_str().to_owned()),
            })
            .collect(),
        failover_state: failover
            .and_then(|f| f.state())
            .map(|s| s.as_str().to_owned()),
        primary_source: failover
            .and_then(|f| f.source_priority())
            .and_then(|p| p.primary_source())
            .map(str::to_owned),
        failover_mode: failover
            .and_then(|f| f.failover_mode())
            .map(|m| m.as_str().to_owned()),
    }))
}

async fn flow_status(aws: &Aws, flow_arn: &str) -> anyhow::Result<String> {
    describe_flow(aws, flow_arn)
        .await?
        .map(|f| f.status)
        .with_context(|| format!("flow `{flow_arn}` does not exist"))
}

/// Polls until the flow is in `want`; an `ERROR` state ends the wait.
pub async fn wait_flow(aws: &Aws, flow_arn: &str, want: &str) -> anyhow::Result<()> {
    let mut delay = Duration::from_millis(200);
    let limit = aws.timeouts.wait(WAIT_LIMIT);
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let status = flow_status(aws, flow_arn).await?;
        if status == want {
            return Ok(());
        }
        anyhow::ensure!(
            status != "ERROR",
            "the flow went into ERROR instead of {want} (see the flow's alerts in the MediaConnect console)"
        );
        if tokio::time::Instant::now() >= deadline {
            return Err(super::TimedOut::wait(
                format!("flow `{flow_arn}` did not reach {want} (it is {status})"),
                limit,
            )
            .into());
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 3 / 2).min(Duration::from_secs(5));
    }
}

/// StartFlow (the flow must be in STANDBY).
pub async fn start_flow(aws: &Aws, flow_arn: &str) -> anyhow::Result<()> {
    aws.mediaconnect
        .start_flow()
        .flow_arn(flow_arn)
        .send()
        .await
        .map_err(|e| sdk_error("mediaconnect:StartFlow", e))?;
    Ok(())
}

/// StopFlow (the flow must be ACTIVE).
pub async fn stop_flow(aws: &Aws, flow_arn: &str) -> anyhow::Result<()> {
    aws.mediaconnect
        .stop_flow()
        .flow_arn(flow_arn)
        .send()
        .await
        .map_err(|e| sdk_error("mediaconnect:StopFlow", e))?;
    Ok(())
}

/// UpdateFlowOutput with only `OutputStatus` (ENABLED or DISABLED).
pub async fn set_output_enabled(
    aws: &Aws,
    flow_arn: &str,
    output_arn: &str,
    enabled: bool,
) -> anyhow::Result<()> {
    let status = if enabled {
        OutputStatus::Enabled
    } else {
        OutputStatus::Disabled
    };
    aws.mediaconnect
        .update_flow_output()
        .flow_arn(flow_arn)
        .output_arn(output_arn)
        .output_status(status)
        .send()
        .await
        .map_err(|e| sdk_error("mediaconnect:UpdateFlowOutput", e))
        .with_context(|| format!("cannot switch flow output `{output_arn}`"))?;
    Ok(())
}

/// UpdateFlow with only `SourceFailoverConfig.SourcePriority.PrimarySource`.
/// This makes the flow differ from its stack (domain brief, G10).
pub async fn set_primary_source(aws: &Aws, flow_arn: &str, source: &str) -> anyhow::Result<()> {
    aws.mediaconnect
        .update_flow()
        .flow_arn(flow_arn)
        .source_failover_config(
            UpdateFailoverConfig::builder()
                .source_priority(SourcePriority::builder().primary_source(source).build())
                .build(),
        )
        .send()
        .await
        .map_err(|e| sdk_error("mediaconnect:UpdateFlow", e))
        .with_context(|| format!("cannot make `{source}` the flow's preferred source"))?;
    Ok(())
}

/// For `lunora plan`: a note when the flow's preferred source is not the
/// one the template sets (after `lunora failover`); `None` when it matches
/// or the flow cannot be read.
pub async fn flow_drift(aws: &Aws, flow_arn: &str, expected_primary: &str) -> Option<String> {
    let flow = describe_flow(aws, flow_arn).await.ok()??;
    let live = flow.primary_source?;
    (live != expected_primary).then(|| {
        format!(
            "the flow prefers source `{live}` (set by `lunora failover` or by hand), the template `{expected_primary}`; deploy and rollback keep `{live}` unless `--restore-source`"
        )
    })
}

/// What DescribeChannel says about a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelInfo {
    pub id: String,
    /// `IDLE`, `STARTING`, `RUNNING`, `STOPPING`, `RECOVERING`, ...
    pub state: String,
}

/// DescribeChannel; `None` when the channel does not exist.
pub async fn describe_channel(aws: &Aws, channel_id: &str) -> anyhow::Result<Option<ChannelInfo>> {
    Ok(super::channel_state(aws, channel_id)
        .await?
        .map(|state| ChannelInfo {
            id: channel_id.to_owned(),
            state,
        }))
}

/// StartChannel; MediaLive's refusal (code and message) is the error.
pub async fn start_channel(aws: &Aws, channel_id: &str) -> anyhow::Result<()> {
    aws.medialive
        .start_channel()
        .channel_id(channel_id)
        .send()
        .await
        .map_err(|e| sdk_error("medialive:StartChannel", e))?;
    Ok(())
}

/// StopChannel.
pub async fn stop_channel(aws: &Aws, channel_id: &str) -> anyhow::Result<()> {
    aws.medialive
        .stop_channel()
        .channel_id(channel_id)
        .send()
        .await
        .map_err(|e| sdk_error("medialive:StopChannel", e))?;
    Ok(())
}

/// Polls until the channel is in `want`. Waiting for `RUNNING`, a channel
/// that falls back to `IDLE` after it was seen starting failed to start.
pub async fn wait_channel(aws: &Aws, channel_id: &str, want: &str) -> anyhow::Result<()> {
    let mut delay = Duration::from_millis(200);
    let limit = aws.timeouts.wait(WAIT_LIMIT);
    let deadline = tokio::time::Instant::now() + limit;
    let mut left_idle = false;
    loop {
        let state = super::channel_state(aws, channel_id)
            .await?
            .with_context(|| format!("channel `{channel_id}` does not exist"))?;
        if state == want {
            return Ok(());
        }
        if want == "RUNNING" {
            if state != "IDLE" {
                left_idle = true;
            } else if left_idle {
                anyhow::bail!(
                    "MediaLive stopped the channel while it was starting (state went back to IDLE; its alerts in the MediaLive console say why)"
                );
            }
            anyhow::ensure!(
                !matches!(state.as_str(), "CREATE_FAILED" | "DELETED" | "DELETING"),
                "the channel is {state} and cannot start"
            );
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(super::TimedOut::wait(
                format!("channel `{channel_id}` did not reach {want} (it is {state})"),
                limit,
            )
            .into());
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 3 / 2).min(Duration::from_secs(5));
    }
}

/// DescribeAlarms for these alarm names: name -> state (`OK`, `ALARM`,
/// `INSUFFICIENT_DATA`). Names that do not exist are absent.
pub async fn alarm_states(aws: &Aws, names: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    let mut states = BTreeMap::new();
    // DescribeAlarms takes at most 100 names per call.
    for chunk in names.chunks(100) {
        let mut token: Option<String> = None;
        loop {
            let out = aws
                .cloudwatch
                .describe_alarms()
                .set_alarm_names(Some(chunk.to_vec()))
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| sdk_error("cloudwatch:DescribeAlarms", e))?;
            for alarm in out.metric_alarms() {
                if let (Some(name), Some(state)) = (alarm.alarm_name(), alarm.state_value()) {
                    states.insert(name.to_owned(), state.as_str().to_owned());
                }
            }
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => break,
            }
        }
    }
    Ok(states)
}

/// One CloudWatch metric to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricQuery {
    /// Caller's key for the result.
    pub key: String,
    pub namespace: String,
    pub metric: String,
    pub dimensions: Vec<(String, String)>,
    /// `Average`, `Maximum`, `Sum`, ...
    pub stat: String,
    /// Seconds per datapoint: 60, or 10 for a state that should describe
    /// the last seconds (MediaLive and MediaConnect publish one-second
    /// metrics: https://docs.aws.amazon.com/medialive/latest/ug/eml-metrics-gen-info.html,
    /// https://docs.aws.amazon.com/mediaconnect/latest/ug/monitor-with-cloudwatch.html).
    pub period: i32,
}

/// The most recent datapoint of each metric over the last 15
/// minutes, in one GetMetricData call per 500 metrics: key -> value.
/// Metrics without datapoints are absent.
pub async fn latest_metrics(
    aws: &Aws,
    queries: &[MetricQuery],
) -> anyhow::Result<BTreeMap<String, f64>> {
    Ok(latest_readings(aws, queries)
        .await?
        .into_iter()
        .map(|(k, r)| (k, r.value))
        .collect())
}

/// Like [`latest_metrics`], with each datapoint's time, so that a caller
/// can tell a reading of the last minute from one of ten minutes ago.
pub async fn latest_readings(
    aws: &Aws,
    queries: &[MetricQuery],
) -> anyhow::Result<BTreeMap<String, Reading>> {
    let mut values = BTreeMap::new();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let now = i64::try_from(now).unwrap_or(i64::MAX);
    // A minute ahead: the newest datapoint may carry this very second.
    let end = aws_sdk_cloudwatch::primitives::DateTime::from_secs(now + 60);
    let start = aws_sdk_cloudwatch::primitives::DateTime::from_secs(now - 15 * 60);
    for (chunk_index, chunk) in queries.chunks(500).enumerate() {
        let mut ids = BTreeMap::new();
        let mut built = Vec::new();
        for (i, q) in chunk.iter().enumerate() {
            // Query ids: a lower-case letter, then letters, digits, `_`.
            let id = format!("m{chunk_index}_{i}");
            let mut metric = Metric::builder()
                .namespace(&q.namespace)
                .metric_name(&q.metric);
            for (name, value) in &q.dimensions {
                metric = metric.dimensions(Dimension::builder().name(name).value(value).build());
            }
            built.push(
                MetricDataQuery::builder()
                    .id(&id)
                    .metric_stat(
                        MetricStat::builder()
                            .metric(metric.build())
                            .period(q.period)
                            .stat(&q.stat)
                            .build(),
                    )
                    .return_data(true)
                    .build(),
            );
            ids.insert(id, q.key.clone());
        }
        let mut token: Option<String> = None;
        loop {
            let out = aws
                .cloudwatch
                .get_metric_data()
                .set_metric_data_queries(Some(built.clone()))
                .start_time(start)
                .end_time(end)
                .scan_by(ScanBy::TimestampDescending)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| sdk_error("cloudwatch:GetMetricData", e))?;
            for r in out.metric_data_results() {
                let Some(key) = r.id().and_then(|id| ids.get(id)) else {
                    continue;
                };
                // Newest first (TimestampDescending), but do not rely on it.
                let newest = r
                    .timestamps()
                    .iter()
                    .zip(r.values())
                    .max_by_key(|(t, _)| (t.secs(), t.subsec_nanos()));
                if let Some((t, v)) = newest {
                    let at = OffsetDateTime::from_unix_timestamp(t.secs())
                        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
                    values
                        .entry(key.clone())
                        .or_insert(Reading { value: *v, at });
                }
            }
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => break,
            }
        }
    }
    Ok(values)
}

/// MediaLive ListAlerts with `stateFilter=SET`: the channel's alerts that
/// are set now (a cleared alert is not returned).
/// https://docs.aws.amazon.com/medialive/latest/ug/monitoring-api.html
/// (IAM: `medialive:ListAlerts`).
pub async fn channel_alerts(aws: &Aws, channel_id: &str) -> anyhow::Result<Vec<Alert>> {
    let mut alerts = Vec::new();
    let mut token: Option<String> = None;
    // At most 20 pages: a channel with more than 2000 alerts set has
    // told enough.
    for _ in 0..20 {
        let out = aws
            .medialive
            .list_alerts()
            .channel_id(channel_id)
            .state_filter("SET")
            .max_results(100)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| sdk_error("medialive:ListAlerts", e))?;
        for a in out.alerts() {
            if a.state().is_some_and(|s| s.as_str() != "SET") {
                continue;
            }
            alerts.push(Alert {
                alert_type: a.alert_type().unwrap_or_default().to_owned(),
                message: a.message().unwrap_or_default().to_owned(),
                set_at: a.set_timestamp().and_then(|t| {
                    OffsetDateTime::from_unix_timestamp(t.secs())
                        .ok()
                        .map(crate::health::rfc3339)
                }),
            });
        }
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => break,
        }
    }
    Ok(alerts)
}

/// MediaConnect DescribeFlowSourceMetadata: what the source in use sends
/// (the first video stream's codec, picture size and frame rate); `None`
/// when MediaConnect has no stream data (flow not active, nothing sent).
/// https://docs.aws.amazon.com/mediaconnect/latest/api/API_DescribeFlowSourceMetadata.html
/// (IAM: `mediaconnect:DescribeFlowSourceMetadata`).
pub async fn flow_feed(aws: &Aws, flow_arn: &str) -> anyhow::Result<Option<Feed>> {
    let out = aws
        .mediaconnect
        .describe_flow_source_metadata()
        .flow_arn(flow_arn)
        .send()
        .await
        .map_err(|e| sdk_error("mediaconnect:DescribeFlowSourceMetadata", e))?;
    let Some(info) = out.transport_media_info() else {
        return Ok(None);
    };
    // The first stream with a picture size or frame rate is the video.
    let video = info.programs().iter().flat_map(|p| p.streams()).find(|s| {
        s.frame_resolution().is_some()
            || s.frame_rate().is_some()
            || s.stream_type()
                .is_some_and(|t| t.to_ascii_lowercase().contains("video"))
    });
    Ok(video.map(|v| Feed {
        codec: v.codec().map(str::to_owned),
        width: v
            .frame_resolution()
            .and_then(|r| r.frame_width())
            .and_then(|w| u32::try_from(w).ok()),
        height: v
            .frame_resolution()
            .and_then(|r| r.frame_height())
            .and_then(|h| u32::try_from(h).ok()),
        fps: v.frame_rate().and_then(crate::health::parse_fps),
    }))
}

/// MediaLive DescribeThumbnails (pipeline 0, `CURRENT_ACTIVE`, the only
/// type): the channel's latest JPEG; `None` when the channel has none
/// (thumbnails off, or nothing decoded yet).
/// https://docs.aws.amazon.com/medialive/latest/ug/thumbnails-work-cli.html
/// (IAM: `medialive:DescribeThumbnails`).
pub async fn channel_thumbnail(aws: &Aws, channel_id: &str) -> anyhow::Result<Option<Vec<u8>>> {
    let out = aws
        .medialive
        .describe_thumbnails()
        .channel_id(channel_id)
        .pipeline_id("0")
        .thumbnail_type("CURRENT_ACTIVE")
        .send()
        .await
        .map_err(|e| sdk_error("medialive:DescribeThumbnails", e))?;
    let body = out
        .thumbnail_details()
        .iter()
        .flat_map(|d| d.thumbnails())
        .find_map(|t| t.body());
    body.map(|b| {
        aws_smithy_types::base64::decode(b.trim())
            .map_err(|e| anyhow::anyhow!("MediaLive sent a thumbnail that is not base64: {e}"))
    })
    .transpose()
}

/// MediaConnect DescribeFlowSourceThumbnail: the JPEG of the source the
/// flow uses now, or MediaConnect's messages saying why there is none.
/// https://docs.aws.amazon.com/mediaconnect/latest/api/API_DescribeFlowSourceThumbnail.html
/// (IAM: `mediaconnect:DescribeFlowSourceThumbnail`).
pub async fn flow_thumbnail(
    aws: &Aws,
    flow_arn: &str,
) -> anyhow::Result<Result<Vec<u8>, Vec<String>>> {
    let out = aws
        .mediaconnect
        .describe_flow_source_thumbnail()
        .flow_arn(flow_arn)
        .send()
        .await
        .map_err(|e| sdk_error("mediaconnect:DescribeFlowSourceThumbnail", e))?;
    let details = out.thumbnail_details();
    match details.and_then(|d| d.thumbnail()) {
        Some(b) if !b.trim().is_empty() => Ok(Ok(aws_smithy_types::base64::decode(b.trim())
            .map_err(|e| {
                anyhow::anyhow!("MediaConnect sent a thumbnail that is not base64: {e}")
            })?)),
        _ => Ok(Err(details
            .map(|d| {
                d.thumbnail_messages()
                    .iter()
                    .filter_map(|m| m.message().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default())),
    }
}

/// MediaPackage (v1) ListOriginEndpoints filtered by channel: the URL of
/// the channel's first HLS origin endpoint, the one players load.
/// https://docs.aws.amazon.com/mediapackage/latest/apireference/origin_endpoints.html
/// (IAM: `mediapackage:ListOriginEndpoints`).
pub async fn hls_endpoint_url(aws: &Aws, channel_id: &str) -> anyhow::Result<Option<String>> {
    let mut token: Option<String> = None;
    // A MediaPackage channel has at most 10 endpoints (its quota): one
    // or two pages.
    for _ in 0..10 {
        let out = aws
            .mediapackage
            .list_origin_endpoints()
            .channel_id(channel_id)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| sdk_error("mediapackage:ListOriginEndpoints", e))?;
        if let Some(url) = out
            .origin_endpoints()
            .iter()
            .filter(|e| e.hls_package().is_some())
            .find_map(|e| e.url())
        {
            return Ok(Some(url.to_owned()));
        }
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => break,
        }
    }
    Ok(None)
}
