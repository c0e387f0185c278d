//! Tests of the local AWS emulator (moto_server + `tests/emulator/lunora_moto`)
//! through the AWS SDK clients: CloudFormation stacks holding MediaConnect and
//! MediaLive resources, read back through the service APIs.
//!
//! Each test starts its own emulator process (see `tests/common/emulator.rs`).
//! Needs `pip install -r tests/emulator/requirements.txt`.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use crate::common::emulator;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use aws_sdk_cloudformation::types::{Capability, ChangeSetType, Parameter};
use aws_sdk_mediaconnect::types::{OutputStatus, SourcePriority, UpdateFailoverConfig};
use emulator::Emulator;
use serde_json::Value;

const BASE: &str = include_str!("fixtures/emulator/base.json");
const FLOW: &str = include_str!("fixtures/emulator/flow.json");
const DEST_YOUTUBE: &str = include_str!("fixtures/emulator/dest-youtube.json");
const DEST_PRIMARY: &str = include_str!("fixtures/emulator/dest-primary.json");

const YOUTUBE_SECRET_ARN: &str =
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:lunora/youtube-AbCdEf";
const YOUTUBE_STREAM_KEY: &str = "yt-stream-key-0123";
const SRT_PASSPHRASE: &str = "correct-horse-battery";

struct Aws {
    cfn: aws_sdk_cloudformation::Client,
    mc: aws_sdk_mediaconnect::Client,
    ml: aws_sdk_medialive::Client,
    sm: aws_sdk_secretsmanager::Client,
}

impl Aws {
    async fn new(emulator: &Emulator) -> Self {
        let config = emulator.sdk_config().await;
        Self {
            cfn: aws_sdk_cloudformation::Client::new(&config),
            mc: aws_sdk_mediaconnect::Client::new(&config),
            ml: aws_sdk_medialive::Client::new(&config),
            sm: aws_sdk_secretsmanager::Client::new(&config),
        }
    }

    /// Create a secret whose ARN ends in `-<suffix>` (moto's `_custom_id_` tag).
    async fn secret(&self, name: &str, suffix: &str, value: &str) -> String {
        let tag = aws_sdk_secretsmanager::types::Tag::builder()
            .key("_custom_id_")
            .value(suffix)
            .build();
        self.sm
            .create_secret()
            .name(name)
            .secret_string(value)
            .tags(tag)
            .send()
            .await
            .expect("CreateSecret")
            .arn()
            .expect("secret ARN")
            .to_owned()
    }

    async fn standard_secrets(&self) -> String {
        let key = serde_json::json!({ "key": YOUTUBE_STREAM_KEY }).to_string();
        let arn = self.secret("lunora/youtube", "AbCdEf", &key).await;
        assert_eq!(arn, YOUTUBE_SECRET_ARN);
        self.secret("lunora/srt-passphrase", "Ab12Cd", SRT_PASSPHRASE)
            .await
    }

    async fn create(&self, name: &str, body: &str, params: &[(&str, &str)]) -> Stack {
        self.cfn
            .create_stack()
            .stack_name(name)
            .template_body(body)
            .set_parameters(Some(parameters(params)))
            .capabilities(Capability::CapabilityNamedIam)
            .send()
            .await
            .unwrap_or_else(|e| panic!("CreateStack {name}: {}", describe(&e)));
        self.settled(name).await
    }

    async fn update(&self, name: &str, body: &str, params: &[(&str, &str)]) -> Stack {
        self.cfn
            .update_stack()
            .stack_name(name)
            .template_body(body)
            .set_parameters(Some(parameters(params)))
            .capabilities(Capability::CapabilityNamedIam)
            .send()
            .await
            .unwrap_or_else(|e| panic!("UpdateStack {name}: {}", describe(&e)));
        self.settled(name).await
    }

    /// Poll DescribeStacks until the stack leaves every *_IN_PROGRESS state
    /// (the emulator is synchronous, but callers should not rely on that).
    async fn settled(&self, name: &str) -> Stack {
        for _ in 0..100 {
            let stack = self.stack(name).await;
            if !stack.status.ends_with("_IN_PROGRESS") {
                return stack;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("stack {name} stayed in progress");
    }

    async fn stack(&self, name: &str) -> Stack {
        let out = self
            .cfn
            .describe_stacks()
            .stack_name(name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("DescribeStacks {name}: {}", describe(&e)));
        let stack = out.stacks().first().expect("one stack");
        Stack {
            status: stack.stack_status().expect("status").as_str().to_owned(),
            reason: stack.stack_status_reason().map(str::to_owned),
            exports: stack
                .outputs()
                .iter()
                .filter_map(|o| Some((o.output_key()?.to_owned(), o.export_name()?.to_owned())))
                .collect(),
            outputs: stack
                .outputs()
                .iter()
                .map(|o| {
                    (
                        o.output_key().expect("key").to_owned(),
                        o.output_value().unwrap_or_default().to_owned(),
                    )
                })
                .collect(),
        }
    }

    async fn events(&self, name: &str) -> Vec<(String, String, String)> {
        self.cfn
            .describe_stack_events()
            .stack_name(name)
            .send()
            .await
            .expect("DescribeStackEvents")
            .stack_events()
            .iter()
            .map(|e| {
                (
                    e.logical_resource_id().unwrap_or_default().to_owned(),
                    e.resource_status()
                        .map(|s| s.as_str().to_owned())
                        .unwrap_or_default(),
                    e.resource_status_reason().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }

    async fn delete(&self, name: &str) {
        self.cfn
            .delete_stack()
            .stack_name(name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("DeleteStack {name}: {}", describe(&e)));
    }

    async fn flow(&self, arn: &str) -> aws_sdk_mediaconnect::types::Flow {
        self.mc
            .describe_flow()
            .flow_arn(arn)
            .send()
            .await
            .unwrap_or_else(|e| panic!("DescribeFlow {arn}: {}", describe(&e)))
            .flow()
            .expect("flow")
            .clone()
    }

    async fn channel(
        &self,
        id: &str,
    ) -> aws_sdk_medialive::operation::describe_channel::DescribeChannelOutput {
        self.ml
            .describe_channel()
            .channel_id(id)
            .send()
            .await
            .unwrap_or_else(|e| panic!("DescribeChannel {id}: {}", describe(&e)))
    }

    /// base + flow + youtube destination, as most tests need them.
    async fn deploy_youtube(&self) -> (Stack, Stack, Stack) {
        let srt = self.standard_secrets().await;
        let base = self.create("emu-base", BASE, &[]).await;
        assert_eq!(base.status, "CREATE_COMPLETE", "{base:?}");
        let flow = self
            .create("emu-flow", FLOW, &[("SrtSecretArn", srt.as_str())])
            .await;
        assert_eq!(flow.status, "CREATE_COMPLETE", "{flow:?}");
        let dest = self.create("emu-youtube", DEST_YOUTUBE, &[]).await;
        assert_eq!(dest.status, "CREATE_COMPLETE", "{dest:?}");
        (base, flow, dest)
    }
}

#[derive(Debug)]
struct Stack {
    status: String,
    reason: Option<String>,
    outputs: BTreeMap<String, String>,
    /// Output key -> ExportName, for outputs that declare an Export.
    exports: BTreeMap<String, String>,
}

impl Stack {
    fn out(&self, key: &str) -> &str {
        self.outputs
            .get(key)
            .unwrap_or_else(|| panic!("output {key} missing from {:?}", self.outputs))
    }
}

fn parameters(params: &[(&str, &str)]) -> Vec<Parameter> {
    params
        .iter()
        .map(|(k, v)| {
            Parameter::builder()
                .parameter_key(*k)
                .parameter_value(*v)
                .build()
        })
        .collect()
}

fn describe<E: ProvideErrorMetadata + std::fmt::Debug>(err: &E) -> String {
    match (err.code(), err.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        _ => format!("{err:?}"),
    }
}

fn in_net(ip: &str, net: &str) -> bool {
    ip.strip_prefix(net)
        .and_then(|rest| rest.strip_prefix('.'))
        .and_then(|host| host.parse::<u8>().ok())
        .is_some()
}

fn bitrate(channel: &aws_sdk_medialive::operation::describe_channel::DescribeChannelOutput) -> i32 {
    channel
        .encoder_settings()
        .expect("encoder settings")
        .video_descriptions()
        .first()
        .and_then(|v| v.codec_settings())
        .and_then(|c| c.h264_settings())
        .and_then(|h| h.bitrate())
        .expect("H.264 bitrate")
}

// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn flow_stack_resolves_every_getatt_and_describe_flow_matches() {
    let emulator = Emulator::start();
    let aws = Aws::new(&emulator).await;
    let srt = aws.standard_secrets().await;
    let base = aws.create("emu-base", BASE, &[]).await;
    assert_eq!(base.status, "CREATE_COMPLETE", "{base:?}");
    let role = base.out("MediaConnectRoleArn");
    assert!(
        role.starts_with("arn:aws:iam::123456789012:role/"),
        "{role}"
    );
    assert!(base
        .out("AlarmTopicArn")
        .starts_with("arn:aws:sns:us-east-1:123456789012:"));

    let flow = aws
        .create("emu-flow", FLOW, &[("SrtSecretArn", srt.as_str())])
        .await;
    assert_eq!(flow.status, "CREATE_COMPLETE", "{flow:?}");
    let flow_arn = flow.out("FlowArn");
    assert!(flow_arn.starts_with("arn:aws:mediaconnect:us-east-1:123456789012:flow:"));
    assert!(flow_arn.ends_with(":lunora-emu-flow"), "{flow_arn}");
    assert_eq!(flow.out("FlowRef"), flow_arn, "Ref Flow is the FlowArn");
    assert_eq!(flow.out("FlowAvailabilityZone"), "us-east-1a");
    let ingest_ip = flow.out("IngestIp");
    let egress_ip = flow.out("EgressIp");
    assert!(in_net(ingest_ip, "203.0.113"), "ingest IP {ingest_ip}");
    assert!(in_net(egress_ip, "198.51.100"), "egress IP {egress_ip}");
    assert_eq!(flow.out("SourceIngestPort"), "9998");
    assert_eq!(
        flow.out("IngestEndpoint"),
        format!("srt://{ingest_ip}:9998"),
        "Fn::Sub with ${{Flow.Source.IngestIp}}"
    );
    assert_eq!(flow.out("BackupSourceRef"), flow.out("BackupSourceArn"));
    assert!(flow.out("BackupSourceArn").ends_with(":backup"));
    assert_eq!(flow.out("BackupIngestIp"), ingest_ip);
    assert_eq!(flow.out("BackupIngestPort"), "9999");
    let isg_id = flow.out("InputSecurityGroupId");
    assert!(isg_id.chars().all(|c| c.is_ascii_digit()), "{isg_id}");
    assert_eq!(flow.out("InputSecurityGroupRef"), isg_id);
    assert_eq!(
        flow.out("InputSecurityGroupArn"),
        format!("arn:aws:medialive:us-east-1:123456789012:inputSecurityGroup:{isg_id}")
    );

    assert_eq!(
        flow.exports,
        BTreeMap::from(
            [
                ("EgressIp", "lunora-emu-EgressIp"),
                ("FlowArn", "lunora-emu-FlowArn"),
                ("InputSecurityGroupId", "lunora-emu-InputSecurityGroupId"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
        ),
        "ExportName only on outputs that declare an Export"
    );
    let exports = aws.cfn.list_exports().send().await.expect("ListExports");
    let exported: BTreeMap<_, _> = exports
        .exports()
        .iter()
        .filter_map(|e| Some((e.name()?, e.value()?)))
        .collect();
    assert_eq!(exported.get("lunora-emu-FlowArn"), Some(&flow_arn));
    assert_eq!(
        exported.get("lunora-emu-MediaLiveRoleArn"),
        Some(&base.out("MediaLiveRoleArn"))
    );
    assert_eq!(exported.len(), 6, "{exported:?}");

    let described = aws.flow(flow_arn).await;
    assert_eq!(described.name(), Some("lunora-emu-flow"));
    assert_eq!(
        described.status().map(|s| s.as_str()),
        Some("STANDBY"),
        "flows are created in STANDBY"
    );
    assert_eq!(described.egress_ip(), Some(egress_ip));
    assert_eq!(described.availability_zone(), Some("us-east-1a"));
    let source = described.source().expect("source");
    assert_eq!(source.name(), Some("primary"));
    assert_eq!(source.ingest_ip(), Some(ingest_ip));
    assert_eq!(source.ingest_port(), Some(9998));
    assert_eq!(source.whitelist_cidr(), Some("203.0.113.10/32"));
    assert_eq!(source.source_arn(), Some(flow.out("SourceArn")));
    let decryption = source.decryption().expect("decryption");
    assert_eq!(
        decryption.key_type().map(|k| k.as_str()),
        Some("srt-password")
    );
    assert_eq!(decryption.role_arn(), Some(role));
    assert_eq!(decryption.secret_arn(), Some(srt.as_str()));
    let transport = source.transport().expect("transport");
    assert_eq!(
        transport.protocol().map(|p| p.as_str()),
        Some("srt-listener")
    );
    assert_eq!(transport.min_latency(), Some(2000));

    let names: Vec<_> = described
        .sources()
        .iter()
        .filter_map(|s| s.name())
        .collect();
    assert_eq!(names, ["primary", "backup"]);
    let backup = &described.sources()[1];
    assert_eq!(backup.ingest_port(), Some(9999));
    assert_eq!(backup.source_arn(), Some(flow.out("BackupSourceArn")));
    assert_eq!(
        backup.decryption().and_then(|d| d.secret_arn()),
        Some(srt.as_str())
    );

    let failover = described.source_failover_config().expect("failover config");
    assert_eq!(failover.state().map(|s| s.as_str()), Some("ENABLED"));
    assert_eq!(
        failover.failover_mode().map(|m| m.as_str()),
        Some("FAILOVER")
    );
    assert_eq!(failover.recovery_window(), Some(200));
    assert_eq!(
        failover.source_priority().and_then(|p| p.primary_source()),
        Some("primary")
    );

    let flows = aws.mc.list_flows().send().await.expect("ListFlows");
    assert_eq!(
        flows
            .flows()
            .iter()
            .filter_map(|f| f.flow_arn())
            .collect::<Vec<_>>(),
        [flow_arn]
    );

    let isg = aws
        .ml
        .describe_input_security_group()
        .input_security_group_id(isg_id)
        .send()
        .await
        .expect("DescribeInputSecurityGroup");
    let cidrs: Vec<_> = isg
        .whitelist_rules()
        .iter()
        .filter_map(|r| r.cidr())
        .collect();
    assert_eq!(cidrs, [format!("{egress_ip}/32")]);
    assert_eq!(isg.state().map(|s| s.as_str()), Some("IDLE"));
}

#[tokio::test]
async fn destination_stacks_create_inputs_outputs_and_channels() {
    let emulator = Emulator::start();
    let aws = Aws::new(&emulator).await;
    let (base, flow, dest) = aws.deploy_youtube().await;
    let flow_arn = flow.out("FlowArn");

    // RTP_PUSH input: two rtp:// endpoints on port 5000.
    let input_id = dest.out("InputId");
    assert_eq!(dest.out("InputRef"), input_id);
    let input = aws
        .ml
        .describe_input()
        .input_id(input_id)
        .send()
        .await
        .expect("DescribeInput");
    assert_eq!(input.arn(), Some(dest.out("InputArn")));
    assert_eq!(input.r#type().map(|t| t.as_str()), Some("RTP_PUSH"));
    assert_eq!(input.security_groups(), [flow.out("InputSecurityGroupId")]);
    let urls: Vec<_> = input
        .destinations()
        .iter()
        .filter_map(|d| d.url())
        .collect();
    assert_eq!(urls.len(), 2, "{urls:?}");
    for destination in input.destinations() {
        let ip = destination.ip().expect("ip");
        assert!(in_net(ip, "192.0.2"), "{ip}");
        assert_eq!(destination.port(), Some("5000"));
        assert_eq!(destination.url(), Some(format!("rtp://{ip}:5000").as_str()));
    }
    assert_eq!(dest.out("InputDestinations"), urls.join(","));
    assert_eq!(
        dest.out("InputSources"),
        "",
        "an RTP push input has no sources"
    );
    let first_ip = input.destinations()[0].ip().expect("ip");
    assert_eq!(dest.out("OutputDestination"), first_ip);
    assert_eq!(input.attached_channels(), [dest.out("ChannelId")]);
    assert_eq!(input.state().map(|s| s.as_str()), Some("ATTACHED"));

    // rtp-fec flow output to the input's first endpoint.
    let described = aws.flow(flow_arn).await;
    let output = described
        .outputs()
        .iter()
        .find(|o| o.output_arn() == Some(dest.out("OutputArn")))
        .expect("flow output listed by DescribeFlow");
    assert_eq!(dest.out("OutputRef"), dest.out("OutputArn"));
    assert_eq!(output.name(), Some("to-youtube"));
    assert_eq!(output.description(), Some("Feed for YouTube"));
    assert_eq!(output.destination(), Some(first_ip));
    assert_eq!(output.port(), Some(5000));
    assert_eq!(output.output_status().map(|s| s.as_str()), Some("ENABLED"));
    let transport = output.transport().expect("transport");
    assert_eq!(transport.protocol().map(|p| p.as_str()), Some("rtp-fec"));
    assert_eq!(transport.smoothing_latency(), Some(100));

    // RTMP channel, stream key resolved from Secrets Manager.
    let channel_id = dest.out("ChannelId");
    assert_eq!(dest.out("ChannelRef"), channel_id);
    assert_eq!(dest.out("ChannelInputs"), input_id);
    let channel = aws.channel(channel_id).await;
    assert_eq!(channel.arn(), Some(dest.out("ChannelArn")));
    assert_eq!(
        channel.arn(),
        Some(format!("arn:aws:medialive:us-east-1:123456789012:channel:{channel_id}").as_str())
    );
    assert_eq!(
        channel.state().map(|s| s.as_str()),
        Some("IDLE"),
        "channels are created IDLE"
    );
    assert_eq!(
        channel.channel_class().map(|c| c.as_str()),
        Some("SINGLE_PIPELINE")
    );
    assert_eq!(channel.role_arn(), Some(base.out("MediaLiveRoleArn")));
    assert_eq!(channel.name(), Some("emu-youtube-channel"));
    assert_eq!(channel.log_level().map(|l| l.as_str()), Some("WARNING"));
    assert_eq!(
        channel
            .input_attachments()
            .first()
            .and_then(|a| a.input_id()),
        Some(input_id)
    );
    let rtmp = channel.destinations().first().expect("destination");
    assert_eq!(rtmp.id(), Some("rtmp-dest"));
    let settings = rtmp.settings();
    assert_eq!(settings.len(), 1);
    assert_eq!(settings[0].url(), Some("rtmp://a.rtmp.youtube.com/live2"));
    assert_eq!(settings[0].stream_name(), Some(YOUTUBE_STREAM_KEY));
    assert_eq!(bitrate(&channel), 6_000_000);
    assert_eq!(
        channel
            .tags()
            .and_then(|t| t.get("lunora:destination"))
            .map(String::as_str),
        Some("youtube")
    );
    assert_eq!(dest.out("AlarmName"), "emu-youtube-input-loss");
    assert_eq!(
        dest.out("AlarmArn"),
        "arn:aws:cloudwatch:us-east-1:123456789012:alarm:emu-youtube-input-loss"
    );

    let isg = aws
        .ml
        .describe_input_security_group()
        .input_security_group_id(flow.out("InputSecurityGroupId"))
        .send()
        .await
        .expect("DescribeInputSecurityGroup");
    assert_eq!(isg.inputs(), [input_id]);
    assert_eq!(isg.state().map(|s| s.as_str()), Some("IN_USE"));

    // MEDIACONNECT input + MediaPackage channel.
    let primary = aws.create("emu-primary", DEST_PRIMARY, &[]).await;
    assert_eq!(primary.status, "CREATE_COMPLETE", "{primary:?}");
    let mc_input = aws
        .ml
        .describe_input()
        .input_id(primary.out("InputId"))
        .send()
        .await
        .expect("DescribeInput");
    assert_eq!(mc_input.r#type().map(|t| t.as_str()), Some("MEDIACONNECT"));
    assert_eq!(
        mc_input.input_class().map(|c| c.as_str()),
        Some("SINGLE_PIPELINE")
    );
    assert_eq!(
        mc_input
            .media_connect_flows()
            .iter()
            .filter_map(|f| f.flow_arn())
            .collect::<Vec<_>>(),
        [flow_arn]
    );
    assert!(mc_input.destinations().is_empty());
    let managed: Vec<_> = aws
        .flow(flow_arn)
        .await
        .outputs()
        .iter()
        .filter_map(|o| o.media_live_input_arn().map(str::to_owned))
        .collect();
    assert_eq!(
        managed,
        [primary.out("InputArn")],
        "MediaLive-managed flow output"
    );
    let mp = aws.channel(primary.out("ChannelId")).await;
    assert_eq!(mp.state().map(|s| s.as_str()), Some("IDLE"));
    let mp_dest = mp.destinations().first().expect("destination");
    assert_eq!(
        mp_dest
            .media_package_settings()
            .first()
            .and_then(|s| s.channel_id()),
        Some("existing-mp-channel")
    );
    assert_eq!(primary.out("ChannelInputs"), primary.out("InputId"));

    let channels = aws.ml.list_channels().send().await.expect("ListChannels");
    let ids: BTreeSet<_> = channels.channels().iter().filter_map(|c| c.id()).collect();
    assert_eq!(ids, BTreeSet::from([channel_id, primary.out("ChannelId")]));
}

#[tokio::test]
async fn stack_updates_change_the_resources() {
    let emulator = Emulator::start();
    let aws = Aws::new(&emulator).await;
    let (_, flow, dest) = aws.deploy_youtube().await;

    // Parameter change (bitrate) + template change (output description).
    let mut template: Value = serde_json::from_str(DEST_YOUTUBE).expect("fixture JSON");
    template["Resources"]["FlowOutput"]["Properties"]["Description"] =
        Value::from("Feed for YouTube, edited");
    let edited = template.to_string();
    let updated = aws
        .update("emu-youtube", &edited, &[("VideoBitrate", "4500000")])
        .await;
    assert_eq!(updated.status, "UPDATE_COMPLETE", "{updated:?}");
    assert_eq!(
        updated.out("ChannelId"),
        dest.out("ChannelId"),
        "updated in place"
    );
    assert_eq!(
        updated.out("OutputArn"),
        dest.out("OutputArn"),
        "updated in place"
    );

    let channel = aws.channel(dest.out("ChannelId")).await;
    assert_eq!(bitrate(&channel), 4_500_000);
    assert_eq!(channel.state().map(|s| s.as_str()), Some("IDLE"));
    let described = aws.flow(flow.out("FlowArn")).await;
    let output = described
        .outputs()
        .iter()
        .find(|o| o.output_arn() == Some(dest.out("OutputArn")))
        .expect("output");
    assert_eq!(output.description(), Some("Feed for YouTube, edited"));
    assert_eq!(output.port(), Some(5000), "untouched settings survive");

    // Same template and parameters again: CloudFormation's no-op error.
    let err = aws
        .cfn
        .update_stack()
        .stack_name("emu-youtube")
        .template_body(&edited)
        .set_parameters(Some(parameters(&[("VideoBitrate", "4500000")])))
        .send()
        .await
        .expect_err("no-op update must be rejected");
    assert_eq!(err.message(), Some("No updates are to be performed."));

    // A flow update in place: whitelist CIDR via parameter.
    let srt = aws
        .sm
        .describe_secret()
        .secret_id("lunora/srt-passphrase")
        .send()
        .await
        .expect("DescribeSecret")
        .arn()
        .expect("arn")
        .to_owned();
    let flow_updated = aws
        .update(
            "emu-flow",
            FLOW,
            &[
                ("SrtSecretArn", srt.as_str()),
                ("EncoderCidr", "203.0.113.77/32"),
            ],
        )
        .await;
    assert_eq!(flow_updated.status, "UPDATE_COMPLETE", "{flow_updated:?}");
    assert_eq!(flow_updated.out("FlowArn"), flow.out("FlowArn"));
    let described = aws.flow(flow.out("FlowArn")).await;
    for source in described.sources() {
        assert_eq!(source.whitelist_cidr(), Some("203.0.113.77/32"));
    }
    assert_eq!(
        described.source().and_then(|s| s.ingest_ip()),
        Some(flow.out("IngestIp")),
        "ingest IP is stable across updates"
    );
}

#[tokio::test]
async fn running_channel_cannot_be_updated() {
    let emulator = Emulator::start();
    let aws = Aws::new(&emulator).await;
    let (_, _, dest) = aws.deploy_youtube().await;
    let channel_id = dest.out("ChannelId");

    let started = aws
        .ml
        .start_channel()
        .channel_id(channel_id)
        .send()
        .await
        .expect("StartChannel");
    assert_eq!(started.state().map(|s| s.as_str()), Some("STARTING"));
    let channel = aws.channel(channel_id).await;
    assert_eq!(channel.state().map(|s| s.as_str()), Some("RUNNING"));

    // MediaLive API.
    let err = aws
        .ml
        .update_channel()
        .channel_id(channel_id)
        .name("renamed")
        .send()
        .await
        .expect_err("UpdateChannel on a RUNNING channel");
    assert_eq!(err.code(), Some("ConflictException"), "{err:?}");
    assert!(
        err.message().unwrap_or_default().contains("must be idle"),
        "{err:?}"
    );
    assert!(err
        .as_service_error()
        .is_some_and(|e| e.is_conflict_exception()));

    // CloudFormation: the update fails, rolls back, the reason is in the events.
    let stack = aws
        .update("emu-youtube", DEST_YOUTUBE, &[("VideoBitrate", "3000000")])
        .await;
    assert_eq!(stack.status, "UPDATE_ROLLBACK_COMPLETE", "{stack:?}");
    assert_eq!(
        stack.reason.as_deref(),
        Some("The following resource(s) failed to update: [Channel]. ")
    );
    let events = aws.events("emu-youtube").await;
    let failed = events
        .iter()
        .find(|(logical, status, _)| logical == "Channel" && status == "UPDATE_FAILED")
        .unwrap_or_else(|| panic!("no UPDATE_FAILED event for Channel in {events:#?}"));
    assert!(failed.2.contains("must be idle"), "{failed:?}");
    assert!(failed.2.contains("Status Code: 409"), "{failed:?}");
    assert_eq!(
        events[0].1, "UPDATE_ROLLBACK_COMPLETE",
        "newest event first"
    );
    let channel = aws.channel(channel_id).await;
    assert_eq!(
        bitrate(&channel),
        6_000_000,
        "channel keeps its old settings"
    );
    assert_eq!(channel.name(), Some("emu-youtube-channel"));
    assert_eq!(channel.state().map(|s| s.as_str()), Some("RUNNING"));

    // Stopped, the same update goes through.
    let stopped = aws
        .ml
        .stop_channel()
        .channel_id(channel_id)
        .send()
        .await
        .expect("StopChannel");
    assert_eq!(stopped.state().map(|s| s.as_str()), Some("STOPPING"));
    assert_eq!(
        aws.channel(channel_id).await.state().map(|s| s.as_str()),
        Some("IDLE")
    );
    let stack = aws
        .update("emu-youtube", DEST_YOUTUBE, &[("VideoBitrate", "3000000")])
        .await;
    assert_eq!(stack.status, "UPDATE_COMPLETE", "{stack:?}");
    assert_eq!(bitrate(&aws.channel(channel_id).await), 3_000_000);
}

#[tokio::test]
async fn start_stop_operations_work_on_stack_resources() {
    let emulator = Emulator::start();
    let aws = Aws::new(&emulator).await;
    let (_, flow, dest) = aws.deploy_youtube().await;
    let flow_arn = flow.out("FlowArn");
    let output_arn = dest.out("OutputArn");

    let started = aws
        .mc
        .start_flow()
        .flow_arn(flow_arn)
        .send()
        .await
        .expect("StartFlow");
    assert_eq!(started.status().map(|s| s.as_str()), Some("STARTING"));
    assert_eq!(
        aws.flow(flow_arn).await.status().map(|s| s.as_str()),
        Some("ACTIVE")
    );

    let updated = aws
        .mc
        .update_flow_output()
        .flow_arn(flow_arn)
        .output_arn(output_arn)
        .output_status(OutputStatus::Disabled)
        .send()
        .await
        .expect("UpdateFlowOutput");
    assert_eq!(
        updated
            .output()
            .and_then(|o| o.output_status())
            .map(|s| s.as_str()),
        Some("DISABLED")
    );
    let described = aws.flow(flow_arn).await;
    let output = described
        .outputs()
        .iter()
        .find(|o| o.output_arn() == Some(output_arn))
        .expect("output");
    assert_eq!(output.output_status().map(|s| s.as_str()), Some("DISABLED"));
    assert_eq!(
        output.destination(),
        Some(dest.out("OutputDestination")),
        "partial update"
    );
    assert_eq!(output.port(), Some(5000));
    assert_eq!(
        output
            .transport()
            .and_then(|t| t.protocol())
            .map(|p| p.as_str()),
        Some("rtp-fec")
    );

    let updated = aws
        .mc
        .update_flow()
        .flow_arn(flow_arn)
        .source_failover_config(
            UpdateFailoverConfig::builder()
                .source_priority(SourcePriority::builder().primary_source("backup").build())
                .build(),
        )
        .send()
        .await
        .expect("UpdateFlow");
    let failover = updated
        .flow()
        .and_then(|f| f.source_failover_config())
        .expect("failover config");
    assert_eq!(
        failover.source_priority().and_then(|p| p.primary_source()),
        Some("backup")
    );
    assert_eq!(
        failover.state().map(|s| s.as_str()),
        Some("ENABLED"),
        "merged, not replaced"
    );
    let described = aws.flow(flow_arn).await;
    assert_eq!(
        described
            .source_failover_config()
            .and_then(|c| c.source_priority())
            .and_then(|p| p.primary_source()),
        Some("backup")
    );
    let err = aws
        .mc
        .update_flow()
        .flow_arn(flow_arn)
        .source_failover_config(
            UpdateFailoverConfig::builder()
                .source_priority(SourcePriority::builder().primary_source("nope").build())
                .build(),
        )
        .send()
        .await
        .expect_err("unknown primary source");
    assert_eq!(err.code(), Some("BadRequestException"), "{err:?}");

    let channel_id = dest.out("ChannelId");
    aws.ml
        .start_channel()
        .channel_id(channel_id)
        .send()
        .await
        .expect("StartChannel");
    assert_eq!(
        aws.channel(channel_id).await.state().map(|s| s.as_str()),
        Some("RUNNING")
    );
    aws.ml
        .stop_channel()
        .channel_id(channel_id)
        .send()
        .await
        .expect("StopChannel");
    assert_eq!(
        aws.channel(channel_id).await.state().map(|s| s.as_str()),
        Some("IDLE")
    );
    let stopped = aws
        .mc
        .stop_flow()
        .flow_arn(flow_arn)
        .send()
        .await
        .expect("StopFlow");
    assert_eq!(stopped.status().map(|s| s.as_str()), Some("STOPPING"));
    assert_eq!(
        aws.flow(flow_arn).await.status().map(|s| s.as_str()),
        Some("STANDBY")
    );
}

#[tokio::test]
async fn flow_replacement_is_refused_while_its_export_is_imported() {
    let emulator = Emulator::start();
    let aws = Aws::new(&emulator).await;
    let (_, flow, _) = aws.deploy_youtube().await;
    let srt = aws
        .sm
        .describe_secret()
        .secret_id("lunora/srt-passphrase")
        .send()
        .await
        .expect("DescribeSecret")
        .arn()
        .expect("arn")
        .to_owned();
    let params = [("SrtSecretArn", srt.as_str())];
    // Flow Name is createOnly: renaming replaces the flow (new FlowArn).
    let mut template: Value = serde_json::from_str(FLOW).expect("fixture JSON");
    template["Resources"]["Flow"]["Properties"]["Name"] = Value::from("lunora-emu-flow-2");
    let renamed = template.to_string();

    let refused = aws.update("emu-flow", &renamed, &params).await;
    assert_eq!(refused.status, "UPDATE_ROLLBACK_COMPLETE", "{refused:?}");
    assert_eq!(
        refused.reason.as_deref(),
        Some("Export lunora-emu-FlowArn cannot be updated as it is in use by emu-youtube")
    );
    assert_eq!(
        refused.outputs, flow.outputs,
        "rolled back to the original resources"
    );
    let flows = aws.mc.list_flows().send().await.expect("ListFlows");
    let arns: Vec<_> = flows.flows().iter().filter_map(|f| f.flow_arn()).collect();
    assert_eq!(arns, [flow.out("FlowArn")], "the replacement flow is gone");
    let original = aws.flow(flow.out("FlowArn")).await;
    assert_eq!(original.sources().len(), 2);
    assert_eq!(
        original.outputs().len(),
        1,
        "the destination's output is untouched"
    );
    let isg = aws
        .ml
        .describe_input_security_group()
        .input_security_group_id(flow.out("InputSecurityGroupId"))
        .send()
        .await
        .expect("DescribeInputSecurityGroup");
    assert_eq!(
        isg.whitelist_rules().first().and_then(|r| r.cidr()),
        Some(format!("{}/32", flow.out("EgressIp")).as_str()),
        "dependent resources are rolled back too"
    );

    // Without importers the replacement goes through.
    aws.delete("emu-youtube").await;
    let replaced = aws.update("emu-flow", &renamed, &params).await;
    assert_eq!(replaced.status, "UPDATE_COMPLETE", "{replaced:?}");
    let new_arn = replaced.out("FlowArn");
    assert_ne!(new_arn, flow.out("FlowArn"));
    assert!(new_arn.ends_with(":lunora-emu-flow-2"), "{new_arn}");
    assert_ne!(replaced.out("BackupSourceArn"), flow.out("BackupSourceArn"));
    let flows = aws.mc.list_flows().send().await.expect("ListFlows");
    let arns: Vec<_> = flows.flows().iter().filter_map(|f| f.flow_arn()).collect();
    assert_eq!(arns, [new_arn], "the old flow is deleted in cleanup");
    let described = aws.flow(new_arn).await;
    let names: Vec<_> = described
        .sources()
        .iter()
        .filter_map(|s| s.name())
        .collect();
    assert_eq!(
        names,
        ["primary", "backup"],
        "backup source follows the new flow"
    );
    let isg = aws
        .ml
        .describe_input_security_group()
        .input_security_group_id(replaced.out("InputSecurityGroupId"))
        .send()
        .await
        .expect("DescribeInputSecurityGroup");
    assert_eq!(
        isg.whitelist_rules().first().and_then(|r| r.cidr()),
        Some(format!("{}/32", replaced.out("EgressIp")).as_str())
    );
    let exports = aws.cfn.list_exports().send().await.expect("ListExports");
    let flow_export = exports
        .exports()
        .iter()
        .find(|e| e.name() == Some("lunora-emu-FlowArn"))
        .and_then(|e| e.value());
    assert_eq!(flow_export, Some(new_arn), "exports follow the update");
}

#[tokio::test]
async fn deleting_stacks_removes_the_resources() {
    let emulator = Emulator::start();
    let aws = Aws::new(&emulator).await;
    let (_, flow, dest) = aws.deploy_youtube().await;
    let primary = aws.create("emu-primary", DEST_PRIMARY, &[]).await;
    assert_eq!(primary.status, "CREATE_COMPLETE", "{primary:?}");
    let flow_arn = flow.out("FlowArn");

    // Exports in use block the deletion of the exporting stack.
    aws.delete("emu-flow").await;
    let blocked = aws.stack("emu-flow").await;
    assert_eq!(blocked.status, "DELETE_FAILED", "{blocked:?}");
    let reason = blocked.reason.unwrap_or_default();
    assert!(reason.starts_with("Export lunora-emu-"), "{reason}");
    assert!(reason.contains("in use by emu-"), "{reason}");
    assert_eq!(
        aws.flow(flow_arn).await.sources().len(),
        2,
        "flow untouched"
    );

    for name in ["emu-youtube", "emu-primary"] {
        aws.delete(name).await;
        let err = aws
            .cfn
            .describe_stacks()
            .stack_name(name)
            .send()
            .await
            .expect_err("deleted stack is gone by name");
        assert!(
            err.message().unwrap_or_default().contains("does not exist"),
            "{err:?}"
        );
    }
    for (id, what) in [
        (dest.out("ChannelId"), "channel"),
        (primary.out("ChannelId"), "channel"),
    ] {
        let err = aws
            .ml
            .describe_channel()
            .channel_id(id)
            .send()
            .await
            .expect_err(what);
        assert_eq!(err.code(), Some("NotFoundException"), "{err:?}");
    }
    for id in [dest.out("InputId"), primary.out("InputId")] {
        let err = aws
            .ml
            .describe_input()
            .input_id(id)
            .send()
            .await
            .expect_err("input deleted");
        assert_eq!(err.code(), Some("NotFoundException"), "{err:?}");
    }
    assert!(
        aws.flow(flow_arn).await.outputs().is_empty(),
        "FlowOutput and the MediaLive-managed output are gone"
    );

    aws.delete("emu-flow").await;
    let flows = aws.mc.list_flows().send().await.expect("ListFlows");
    assert!(flows.flows().is_empty(), "{flows:?}");
    let err = aws
        .mc
        .describe_flow()
        .flow_arn(flow_arn)
        .send()
        .await
        .expect_err("flow deleted");
    assert_eq!(err.code(), Some("NotFoundException"), "{err:?}");
    let isgs = aws
        .ml
        .list_input_security_groups()
        .send()
        .await
        .expect("ListInputSecurityGroups");
    assert!(isgs.input_security_groups().is_empty(), "{isgs:?}");

    aws.delete("emu-base").await;
    let summaries = aws.cfn.list_stacks().send().await.expect("ListStacks");
    for summary in summaries.stack_summaries() {
        assert_eq!(
            summary.stack_status().map(|s| s.as_str()),
            Some("DELETE_COMPLETE"),
            "{summary:?}"
        );
    }
}

#[tokio::test]
async fn failed_resources_roll_the_stack_back() {
    let emulator = Emulator::start();
    let aws = Aws::new(&emulator).await;

    // A push input without an input security group is refused by MediaLive;
    // the already created security group is rolled back.
    let template = serde_json::json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "Isg": {"Type": "AWS::MediaLive::InputSecurityGroup",
                    "Properties": {"WhitelistRules": [{"Cidr": "198.51.100.1/32"}]}},
            "Input": {"Type": "AWS::MediaLive::Input", "DependsOn": "Isg",
                      "Properties": {"Name": "no-isg", "Type": "RTP_PUSH"}}
        },
        "Outputs": {"InputId": {"Value": {"Fn::GetAtt": ["Input", "Id"]}}}
    })
    .to_string();
    let stack = aws.create("emu-broken", &template, &[]).await;
    assert_eq!(stack.status, "ROLLBACK_COMPLETE", "{stack:?}");
    assert!(stack.outputs.is_empty());
    let events = aws.events("emu-broken").await;
    let failed = events
        .iter()
        .find(|(logical, status, _)| logical == "Input" && status == "CREATE_FAILED")
        .unwrap_or_else(|| panic!("no CREATE_FAILED event in {events:#?}"));
    assert!(failed.2.contains("input security group"), "{failed:?}");
    let isgs = aws
        .ml
        .list_input_security_groups()
        .send()
        .await
        .expect("ListInputSecurityGroups");
    assert!(
        isgs.input_security_groups().is_empty(),
        "rolled back: {isgs:?}"
    );

    // Template-level problems stay synchronous errors, as in CloudFormation.
    let missing_secret = DEST_YOUTUBE.replace("lunora/youtube-AbCdEf", "lunora/absent-AbCdEf");
    let srt = aws.standard_secrets().await;
    aws.create("emu-base", BASE, &[]).await;
    aws.create("emu-flow", FLOW, &[("SrtSecretArn", srt.as_str())])
        .await;
    let err = aws
        .cfn
        .create_stack()
        .stack_name("emu-absent")
        .template_body(missing_secret)
        .send()
        .await
        .expect_err("unresolvable dynamic reference");
    assert_eq!(err.code(), Some("ValidationError"), "{err:?}");
    let err = aws
        .cfn
        .create_stack()
        .stack_name("emu-noexport")
        .template_body(DEST_YOUTUBE)
        .set_parameters(Some(parameters(&[("Prefix", "nobody")])))
        .send()
        .await
        .expect_err("missing export");
    assert_eq!(err.code(), Some("ValidationError"), "{err:?}");
    assert!(
        err.message()
            .unwrap_or_default()
            .contains("No export named nobody-"),
        "{err:?}"
    );
    let channels = aws.ml.list_channels().send().await.expect("ListChannels");
    assert!(
        channels.channels().is_empty(),
        "nothing left behind: {channels:?}"
    );
}

#[tokio::test]
async fn change_sets_create_and_update_stacks() {
    let emulator = Emulator::start();
    let aws = Aws::new(&emulator).await;
    let srt = aws.standard_secrets().await;
    aws.create("emu-base", BASE, &[]).await;
    aws.create("emu-flow", FLOW, &[("SrtSecretArn", srt.as_str())])
        .await;

    let created = aws
        .cfn
        .create_change_set()
        .stack_name("emu-youtube")
        .change_set_name("create")
        .change_set_type(ChangeSetType::Create)
        .template_body(DEST_YOUTUBE)
        .send()
        .await
        .expect("CreateChangeSet");
    let id = created.id().expect("change set id").to_owned();
    let described = aws
        .cfn
        .describe_change_set()
        .change_set_name(&id)
        .send()
        .await
        .expect("DescribeChangeSet");
    let mut adds: Vec<_> = described
        .changes()
        .iter()
        .filter_map(|c| c.resource_change())
        .map(|r| {
            format!(
                "{}:{}",
                r.action().map(|a| a.as_str()).unwrap_or_default(),
                r.logical_resource_id().unwrap_or_default()
            )
        })
        .collect();
    adds.sort();
    assert_eq!(
        adds,
        [
            "Add:Channel",
            "Add:FlowOutput",
            "Add:InputLossAlarm",
            "Add:RtpInput"
        ]
    );
    aws.cfn
        .execute_change_set()
        .change_set_name(&id)
        .send()
        .await
        .expect("ExecuteChangeSet");
    let stack = aws.settled("emu-youtube").await;
    assert_eq!(stack.status, "CREATE_COMPLETE", "{stack:?}");
    let channel_id = stack.out("ChannelId").to_owned();
    assert_eq!(bitrate(&aws.channel(&channel_id).await), 6_000_000);

    let update = aws
        .cfn
        .create_change_set()
        .stack_name("emu-youtube")
        .change_set_name("bitrate")
        .change_set_type(ChangeSetType::Update)
        .template_body(DEST_YOUTUBE)
        .set_parameters(Some(parameters(&[("VideoBitrate", "5000000")])))
        .send()
        .await
        .expect("CreateChangeSet UPDATE");
    let id = update.id().expect("id").to_owned();
    let described = aws
        .cfn
        .describe_change_set()
        .change_set_name(&id)
        .send()
        .await
        .expect("DescribeChangeSet");
    let modified: Vec<_> = described
        .changes()
        .iter()
        .filter_map(|c| c.resource_change())
        .map(|r| {
            (
                r.action().map(|a| a.as_str().to_owned()),
                r.logical_resource_id().map(str::to_owned),
            )
        })
        .collect();
    assert_eq!(
        modified,
        [(Some("Modify".to_owned()), Some("Channel".to_owned()))]
    );
    aws.cfn
        .execute_change_set()
        .change_set_name(&id)
        .send()
        .await
        .expect("ExecuteChangeSet UPDATE");
    let stack = aws.settled("emu-youtube").await;
    assert_eq!(stack.status, "UPDATE_COMPLETE", "{stack:?}");
    assert_eq!(stack.out("ChannelId"), channel_id);
    assert_eq!(bitrate(&aws.channel(&channel_id).await), 5_000_000);
}

// ------------------------------------------------------------------------------------------

/// Secrets referenced by ARN in a template: name-with-suffix -> JSON keys used.
fn secret_references(text: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut found: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (start, _) in text.match_indices("arn:aws:secretsmanager:") {
        let rest = &text[start..];
        let end = rest
            .find(|c: char| c == '"' || c == '}' || c.is_whitespace())
            .unwrap_or(rest.len());
        let parts: Vec<&str> = rest[..end].split(':').collect();
        if parts.len() < 7 {
            continue;
        }
        let keys = found.entry(parts[6].to_owned()).or_default();
        if parts.get(7) == Some(&"SecretString") {
            if let Some(key) = parts.get(8).filter(|k| !k.is_empty()) {
                keys.insert((*key).to_owned());
            }
        }
    }
    found
}

fn rendered_stacks() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("stacks");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .collect()
        })
        .unwrap_or_default();
    let rank = |p: &PathBuf| {
        let stem = p.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        if stem.ends_with("-base") {
            0
        } else if stem.ends_with("-flow") {
            1
        } else {
            2
        }
    };
    files.sort_by_key(|p| (rank(p), p.clone()));
    files
}

#[tokio::test]
async fn lunora_rendered_stacks_deploy() {
    let files = rendered_stacks();
    assert!(
        !files.is_empty(),
        "no stacks/*.json in {}: render them with lunora first",
        env!("CARGO_MANIFEST_DIR")
    );
    let emulator = Emulator::start();
    let aws = Aws::new(&emulator).await;

    let mut secrets: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut templates = Vec::new();
    for file in &files {
        let body = std::fs::read_to_string(file).expect("read stack template");
        for (secret, keys) in secret_references(&body) {
            secrets.entry(secret).or_default().extend(keys);
        }
        let name = file
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("name")
            .to_owned();
        templates.push((name, body));
    }
    let mut stream_keys = BTreeSet::new();
    for (secret, keys) in &secrets {
        let (name, suffix) = secret
            .rsplit_once('-')
            .expect("secret ARN has a -XXXXXX suffix");
        let value = if keys.is_empty() {
            "emulator-srt-passphrase".to_owned()
        } else {
            let object: serde_json::Map<String, Value> = keys
                .iter()
                .map(|k| {
                    let key = format!("emulator-stream-key-{k}");
                    stream_keys.insert(key.clone());
                    (k.clone(), Value::from(key))
                })
                .collect();
            Value::Object(object).to_string()
        };
        aws.secret(name, suffix, &value).await;
    }

    for (name, body) in &templates {
        let stack = aws.create(name, body, &[]).await;
        let events = if stack.status == "CREATE_COMPLETE" {
            Vec::new()
        } else {
            aws.events(name).await
        };
        assert_eq!(
            stack.status, "CREATE_COMPLETE",
            "{name}: {stack:?}\n{events:#?}"
        );
        let template: Value = serde_json::from_str(body).expect("template JSON");
        let declared: BTreeSet<&str> = template["Outputs"]
            .as_object()
            .map(|o| {
                o.iter()
                    .filter(|(_, v)| v.get("Condition").is_none())
                    .map(|(k, _)| k.as_str())
                    .collect()
            })
            .unwrap_or_default();
        let present: BTreeSet<&str> = stack.outputs.keys().map(String::as_str).collect();
        assert_eq!(present, declared, "{name}: outputs");
        for (key, value) in &stack.outputs {
            assert!(!value.is_empty(), "{name}: output {key} is empty");
        }
        if let Some(channel_id) = stack.outputs.get("ChannelId") {
            let channel = aws.channel(channel_id).await;
            assert_eq!(channel.state().map(|s| s.as_str()), Some("IDLE"), "{name}");
            for destination in channel.destinations() {
                for settings in destination.settings() {
                    let key = settings.stream_name().unwrap_or_default();
                    assert!(
                        !key.contains("{{resolve"),
                        "{name}: unresolved stream key {key}"
                    );
                    if !key.is_empty() {
                        assert!(stream_keys.contains(key), "{name}: stream key {key}");
                    }
                }
            }
        }
        if let Some(flow_arn) = stack.outputs.get("FlowArn") {
            let flow = aws.flow(flow_arn).await;
            assert_eq!(flow.status().map(|s| s.as_str()), Some("STANDBY"), "{name}");
        }
    }
}
