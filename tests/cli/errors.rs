//! Bad input gets one clear line per problem: file, line, field, hint; exit
//! 1; never a panic, never a secret echoed back. Each case edits the
//! example config (or adds a preset file next to it) and runs
//! `lunora validate` on the result.

use std::path::Path;

use crate::util::{lunora, root};

struct Case {
    name: &'static str,
    /// Text replacements applied to the example, in order (first match).
    edits: &'static [(&'static str, &'static str)],
    /// Extra files next to the config: (relative path, content).
    files: Vec<(&'static str, String)>,
    /// What stderr must contain.
    expect: &'static [&'static str],
    /// The line the error must point at, as `file:LINE:`.
    line: Option<usize>,
    /// What stderr must not contain (secrets).
    never: &'static [&'static str],
}

const fn case(
    name: &'static str,
    edits: &'static [(&'static str, &'static str)],
    expect: &'static [&'static str],
    line: Option<usize>,
) -> Case {
    Case {
        name,
        edits,
        files: Vec::new(),
        expect,
        line,
        never: &[],
    }
}

/// A Twitch preset file, with `edits` applied: the base is sound, each
/// edit breaks one rule.
fn twitch_preset(id: &str, edits: &[(&str, &str)]) -> String {
    let mut text = format!(
        "id: {id}
description: a preset that breaks one rule
platform: twitch
renditions:
  - name: 1080p60
    width: 1920
    height: 1080
    framerate: 60
    rate_control: CBR
    bitrate_kbps: 6000
    profile: MAIN
    level: H264_LEVEL_4_2
    gop_seconds: 2
audio:
  profile: LC
  coding_mode: CODING_MODE_2_0
  sample_rate: 48000
  bitrate_kbps: 128
"
    );
    for (from, to) in edits {
        text = text.replacen(from, to, 1);
    }
    text
}

fn cases() -> Vec<Case> {
    vec![
        case("malformed yaml", &[("  availability_zone: us-east-1a", "  availability_zone: [us-east-1a")], &["invalid YAML"], None),
        case("unknown field", &[("    preset: youtube-1080p30", "    prest: youtube-1080p30")], &["`destinations[1].prest`: unknown field `prest`", "did you mean `preset`?"], Some(51)),
        case("wrong type", &[("    port: 9998", "    port: high")], &["`flow.source.port`: invalid type: string \"high\"", "a port is a number"], Some(25)),
        case("missing field", &[("account_id: \"123456789012\"\n", "")], &["missing field `account_id`"], None),
        case("unknown enum value", &[("input_mode: rtp-fec", "input_mode: rtmp")], &["`input_mode`: unknown variant `rtmp`", "use `rtp-fec` or `mediaconnect`"], Some(14)),
        case("bad project name", &[("project: lunora-player", "project: Lunora_Player")], &["`project`: `Lunora_Player` is not a valid project name"], Some(10)),
        case("bad account id", &[("account_id: \"123456789012\"", "account_id: \"12345\"")], &["`account_id`: `12345` is not a 12-digit AWS account id"], Some(13)),
        case("availability zone of another region", &[("  availability_zone: us-east-1a", "  availability_zone: us-west-2a")], &["`us-west-2a` is not an Availability Zone of us-east-1"], Some(22)),
        case("invalid cidr", &[("203.0.113.10/32", "203.0.113.300/32")], &["`flow.source.allowed_cidr`: `203.0.113.300/32` is not an IPv4 CIDR"], Some(26)),
        case("cidr with host bits", &[("203.0.113.10/32", "203.0.113.10/24")], &["has host bits set", "write `203.0.113.0/24`"], Some(26)),
        case("open to the internet", &[("203.0.113.10/32", "0.0.0.0/0")], &["lets anyone on the internet send to the flow", "allow_any_source: true"], Some(26)),
        case("private cidr", &[("203.0.113.10/32", "10.1.2.3/32")], &["is a private address range"], Some(26)),
        case("reserved port", &[("    port: 9998", "    port: 2077")], &["port 2077 is reserved by MediaConnect"], Some(25)),
        case("port out of range", &[("    port: 9998", "    port: 80")], &["port 80 is outside 1024-65535"], Some(25)),
        case("backup on the source's port", &[("    port: 9999", "    port: 9998")], &["`flow.backup.port`: port 9998 is already the primary source's port"], Some(32)),
        case("duplicate destination id", &[("  - id: twitch", "  - id: youtube")], &["destination id `youtube` is already used by destinations[1]"], None),
        case("unknown preset", &[("preset: twitch-1080p60", "preset: twitch-1080p90")], &["unknown preset `twitch-1080p90`", "did you mean `twitch-1080p60`?"], None),
        case("preset for another platform", &[("preset: twitch-1080p60", "preset: youtube-1080p30")], &["preset `youtube-1080p30` is made for youtube, this destination is twitch"], None),
        case("stage names an unknown destination", &[("destinations: [youtube, twitch, linkedin, custom]", "destinations: [youtube, twitch, linkedin, custom, tiktok]")], &["`stages[3].destinations[4]`: no destination has the id `tiktok`"], None),
        case("destination in no stage", &[("destinations: [youtube, twitch, linkedin, custom]", "destinations: [youtube, twitch, linkedin]")], &["destination `custom` is in no stage"], None),
        case("destination in two stages", &[("destinations: [primary]", "destinations: [primary, youtube]")], &["destination `youtube` is already in stage `primary`"], None),
        case("stages out of order", &[("  - name: base\n    stacks: [base]\n  - name: flow\n    stacks: [flow]", "  - name: flow\n    stacks: [flow]\n  - name: base\n    stacks: [base]")], &["the `flow` stack must deploy in a stage after `base`"], None),
        Case { never: &["hunter2"], ..case("inline srt passphrase", &[("passphrase_secret_arn: arn:aws:secretsmanager:us-east-1:123456789012:secret:lunora/srt-passphrase-Ab12Cd", "passphrase_secret_arn: hunter2hunter2")], &["`flow.source.passphrase_secret_arn`: this looks like the SRT passphrase itself", "store it in Secrets Manager"], Some(28)) },
        Case { never: &["abcd-efgh"], ..case("inline stream key", &[("    stream_key:\n      secret_arn: arn:aws:secretsmanager:us-east-1:123456789012:secret:lunora/stream-keys-Xy34Zw\n      json_key: youtube", "    stream_key: abcd-efgh-ijkl-mnop-qrst")], &["`destinations[1].stream_key`: this looks like the stream key itself"], Some(52)) },
        case("secret in another region", &[("      secret_arn: arn:aws:secretsmanager:us-east-1:", "      secret_arn: arn:aws:secretsmanager:eu-west-1:")], &["the secret is in eu-west-1 / account 123456789012, the deployment in us-east-1"], Some(53)),
        case("stream key in the ingest url", &[("rtmp://stream.example.com/live", "rtmp://stream.example.com/live/abcd-efgh-ijkl-mnop")], &["the ingest URL seems to end with the stream key"], None),
        Case { never: &["s3cr3t"], ..case("credentials in the ingest url", &[("rtmp://stream.example.com/live", "rtmp://ops:s3cr3t@stream.example.com/live")], &["the ingest URL carries credentials"], None) },
        case("plain rtmp to an rtmps-only platform", &[("rtmps://1a2b3c.channel", "rtmp://1a2b3c.channel")], &["LinkedIn Live accepts RTMPS only"], None),
        case("failover to an unknown source", &[("    primary_source: primary", "    primary_source: main")], &["`flow.failover.primary_source`: no source is named `main`"], Some(40)),
        case("recovery window out of range", &[("recovery_window_ms: 200", "recovery_window_ms: 50")], &["50 ms is outside MediaConnect's 100-15000 ms"], Some(39)),
        case("empty file", &[], &["the file is empty"], None),
        case("duplicate key", &[("region: us-east-1\n", "region: us-east-1\nregion: us-west-2\n")], &["invalid YAML: ", "duplicate entry with key \"region\""], None),
        case("reserved tag", &[("alarms:", "tags:\n  managed-by: me\nalarms:")], &["`tags.managed-by`: lunora sets the `managed-by` tag itself"], None),
        case("mediapackage without a channel", &[("    mediapackage:\n      channel_id: lunora-player-prod-channel\n", "")], &["a MediaPackage destination needs the existing channel's id"], Some(43)),
        case("rtmp without a platform", &[("    platform: youtube\n", "")], &["an RTMP destination needs a platform"], None),
        case("encoder bitrate above any input class", &[("  bitrate_mbps: 12", "  bitrate_mbps: 80")], &["80 Mbit/s is outside what a MediaLive input takes"], Some(19)),
        case("invalid e-mail", &[("[streaming-ops@example.com]", "[streaming-ops]")], &["`alarms.emails[0]`: `streaming-ops` is not an e-mail address"], None),
        Case {
            files: vec![("presets/twitch-fast.yaml", twitch_preset("twitch-fast", &[("bitrate_kbps: 6000", "bitrate_kbps: 8000")]))],
            ..case("preset above its platform's bitrate", &[("preset: twitch-1080p60", "preset: twitch-fast")], &["presets/twitch-fast.yaml:10:5: `renditions[0].bitrate_kbps`: 8000 kbit/s is above Twitch's 6000 kbit/s for 1080p60 (preset `twitch-fast`)"], None)
        },
        Case {
            files: vec![("presets/twitch-low-level.yaml", twitch_preset("twitch-low-level", &[("H264_LEVEL_4_2", "H264_LEVEL_4_1")]))],
            ..case("H.264 level too low", &[("preset: twitch-1080p60", "preset: twitch-low-level")], &["presets/twitch-low-level.yaml:12:5: `renditions[0].level`: H.264 level 4.1 cannot carry 1920x1080 at 60 fps", "use level 4.2 or higher"], None)
        },
        Case {
            files: vec![("presets/twitch-bad-aac.yaml", twitch_preset("twitch-bad-aac", &[("bitrate_kbps: 128", "bitrate_kbps: 100")]))],
            ..case("invalid AAC combination", &[("preset: twitch-1080p60", "preset: twitch-bad-aac")], &["`audio.bitrate_kbps`: 100 kbit/s is not a valid AAC bitrate", "use one of 96, 128, 160, 192 kbit/s"], None)
        },
        case("partial secret arn", &[("srt-passphrase-Ab12Cd\n    description: Videon Edge, studio", "srt-passphrase\n    description: Videon Edge, studio")], &["`flow.source.passphrase_secret_arn`: the secret ARN lacks its 6-character suffix"], Some(28)),
        Case { never: &["8675309912"], ..case("secret typed as a number", &[("passphrase_secret_arn: arn:aws:secretsmanager:us-east-1:123456789012:secret:lunora/srt-passphrase-Ab12Cd", "passphrase_secret_arn: 8675309912")], &["invalid type: integer (value not shown), expected a string"], Some(28)) },
        Case { never: &["MySecretPass123"], ..case("not an arn", &[("passphrase_secret_arn: arn:aws:secretsmanager:us-east-1:123456789012:secret:lunora/srt-passphrase-Ab12Cd", "passphrase_secret_arn: arn:MySecretPass123")], &["this is not a Secrets Manager secret ARN"], Some(28)) },
        case("control characters in a value", &[("project: lunora-player", "project: \"lunora\\nplayer\"")], &["`lunora\\nplayer` is not a valid project name"], Some(10)),
        case("ingest cidr far too wide", &[("203.0.113.10/32", "128.0.0.0/1")], &["`128.0.0.0/1` lets 2147483648 addresses send to the flow"], Some(26)),
        case("multicast cidr", &[("203.0.113.10/32", "224.0.0.0/4")], &["is a multicast, broadcast, reserved or carrier-grade NAT range"], Some(26)),
        case("ingest url without an application", &[("rtmp://stream.example.com/live", "rtmp://stream.example.com")], &["the ingest URL has no application name"], None),
        case("tag key with characters aws refuses", &[("alarms:", "tags:\n  \"team!#\": video\nalarms:")], &["is not a valid tag key"], None),
        case("hls ladder on an rtmp destination", &[("preset: generic-720p30", "preset: hls-ladder")], &["preset `hls-ladder` is made for mediapackage, this destination is custom"], None),
    ]
}

fn run_case(c: &Case) {
    let example = std::fs::read_to_string(root().join("examples/lunora.yaml")).unwrap();
    let mut text = if c.name == "empty file" {
        String::new()
    } else {
        example
    };
    for (from, to) in c.edits {
        assert!(
            text.contains(from),
            "case `{}`: `{from}` is not in the example",
            c.name
        );
        text = text.replacen(from, to, 1);
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("lunora.yaml");
    std::fs::write(&config, &text).unwrap();
    for (rel, content) in &c.files {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    let output = lunora()
        .arg("-c")
        .arg(&config)
        .arg("validate")
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    let name = c.name;
    assert_eq!(
        output.status.code(),
        Some(1),
        "case `{name}`: exit code; stderr:\n{stderr}"
    );
    assert!(
        output.stdout.is_empty(),
        "case `{name}`: stdout must stay empty on error"
    );
    assert!(
        !stderr.contains("panicked"),
        "case `{name}` panicked:\n{stderr}"
    );
    for line in stderr.lines() {
        assert!(
            line.starts_with("error: ") || line.starts_with("warning: "),
            "case `{name}`: stray line `{line}`"
        );
    }
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert!(!errors.is_empty(), "case `{name}`: no error line");
    for e in &errors {
        assert!(e.contains("(hint: "), "case `{name}`: no hint in `{e}`");
        let shown = Path::new(&e[7..e[7..].find(':').map_or(e.len(), |i| i + 7)]);
        assert!(
            shown.is_absolute() || shown.exists() || shown.starts_with("presets"),
            "case `{name}`: `{e}` names no file"
        );
    }
    for expect in c.expect {
        assert!(
            stderr.contains(expect),
            "case `{name}`: expected `{expect}` in:\n{stderr}"
        );
    }
    if let Some(line) = c.line {
        let needle = format!("lunora.yaml:{line}:");
        assert!(
            errors.iter().any(|e| e.contains(&needle)),
            "case `{name}`: expected `{needle}` in:\n{stderr}"
        );
    }
    for secret in c.never {
        assert!(
            !stderr.contains(secret),
            "case `{name}`: the secret was echoed:\n{stderr}"
        );
    }
}

#[test]
fn bad_inputs_get_located_one_line_errors() {
    let cases = cases();
    assert!(cases.len() >= 20);
    let mut names = std::collections::BTreeSet::new();
    let mut failures = Vec::new();
    for c in &cases {
        assert!(names.insert(c.name), "case `{}` twice", c.name);
        if let Err(e) = std::panic::catch_unwind(|| run_case(c)) {
            let msg = e.downcast_ref::<String>().cloned().unwrap_or_default();
            failures.push(msg);
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n---\n")
    );
}

#[test]
fn more_destinations_than_a_flow_has_outputs() {
    let mut text = std::fs::read_to_string(root().join("examples/lunora.yaml")).unwrap();
    let cut = text.find("stages:").unwrap();
    text.truncate(cut);
    let cut = text.find("destinations:").unwrap();
    text.truncate(cut);
    text.push_str("destinations:\n");
    for i in 0..51 {
        text.push_str(&format!(
            "  - id: d{i}\n    kind: rtmp\n    platform: twitch\n    preset: twitch-720p30\n    stream_key: arn:aws:secretsmanager:us-east-1:123456789012:secret:k-{i:06}\n"
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("lunora.yaml");
    std::fs::write(&config, text).unwrap();
    lunora()
        .arg("-c")
        .arg(&config)
        .arg("validate")
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "51 destinations need more than the 50 outputs a MediaConnect flow allows",
        ));
}

#[test]
fn a_missing_config_file_is_one_clear_error() {
    lunora()
        .args(["-c", "no/such/lunora.yaml", "validate"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("error: no/such/lunora.yaml: cannot read the config file: no such file or directory (hint: pass the file with `-c PATH`"));
}

#[test]
fn a_bad_file_in_a_preset_directory_is_located() {
    let dir = tempfile::tempdir().unwrap();
    let example = std::fs::read_to_string(root().join("examples/lunora.yaml")).unwrap();
    std::fs::write(dir.path().join("lunora.yaml"), example).unwrap();
    std::fs::create_dir_all(dir.path().join("presets")).unwrap();
    std::fs::write(dir.path().join("presets/odd.yaml"), "id: odd\ndescription: x\nrenditions: []\naudio:\n  profile: LC\n  coding_mode: STEREO\n  sample_rate: 48000\n  bitrate_kbps: 128\n").unwrap();
    lunora()
        .arg("-c")
        .arg(dir.path().join("lunora.yaml"))
        .arg("validate")
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "presets/odd.yaml:6:3: `audio.coding_mode`: unknown variant `STEREO`",
        ));
}
