//! Bad input gets one clear line per problem: file, line, field, hint; exit
//! 1; never a panic, never a secret echoed back. Each case edits the
//! example config (or adds a preset file next to it) and runs
//! `lunora validate` on the result.

use std::path::Path;

use super::util::{lunora, root};

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
        // Positions of bytes YAML refuses (issue 8, item 12).
        case("NUL byte", &[("environment: prod", "environment: pr\u{0}od")], &["lunora.yaml:11:16: the file contains a NUL byte, which YAML does not allow"], Some(11)),
        case("escape character", &[("    description: Videon Edge, studio uplink", "    description: Videon Edge,\u{1b}[2J studio uplink")], &["lunora.yaml:29:30: the file contains the control character U+001B"], Some(29)),
        // Secret-shaped values wherever they would be written out (item 11).
        Case { never: &["live_123456789_AbCdEfGhIjKlMnOpQr"], ..case("stream key as the json key", &[("      json_key: youtube", "      json_key: live_123456789_AbCdEfGhIjKlMnOpQr")], &["`destinations[1].stream_key.json_key`: this looks like a Twitch stream key (live_...) (value not shown)"], Some(54)) },
        Case { never: &["x7fq-2k9d-mm4p-ab1c-3def"], ..case("stream key in a middle segment of the ingest url", &[("rtmp://stream.example.com/live", "rtmp://stream.example.com/x7fq-2k9d-mm4p-ab1c-3def/live")], &["`destinations[4].ingest_url`: this looks like a YouTube stream key"], Some(74)) },
        Case { never: &["x7fq-2k9d-mm4p-ab1c-3def"], ..case("stream key in the query of the ingest url", &[("rtmp://stream.example.com/live", "rtmp://stream.example.com/live?key=x7fq-2k9d-mm4p-ab1c-3def")], &["`destinations[4].ingest_url`: this looks like a YouTube stream key"], Some(74)) },
        Case { never: &["x7fq-2k9d-mm4p-ab1c-3def"], ..case("stream key in the source description", &[("    description: Videon Edge, studio uplink", "    description: Videon Edge, key x7fq-2k9d-mm4p-ab1c-3def")], &["`flow.source.description`: this looks like a YouTube stream key"], Some(29)) },
        Case { never: &["FB-1234567890123456-0-AbCdEfGhIjKlMnOp"], ..case("stream key in the backup description", &[("    description: Videon Edge, cellular bonding backup", "    description: FB-1234567890123456-0-AbCdEfGhIjKlMnOp")], &["`flow.backup.description`: this looks like a Facebook stream key"], Some(36)) },
        Case { never: &["AKIAIOSFODNN7EXAMPLE"], ..case("access key in a destination description", &[("    preset: youtube-1080p30\n", "    preset: youtube-1080p30\n    description: AKIAIOSFODNN7EXAMPLE\n")], &["`destinations[1].description`: this looks like an AWS access key id"], Some(52)) },
        Case { never: &["live_123456789_AbCdEfGhIjKlMnOpQr"], ..case("stream key as a tag value", &[("alarms:", "tags:\n  team: live_123456789_AbCdEfGhIjKlMnOpQr\nalarms:")], &["`tags.team`: this looks like a Twitch stream key"], Some(90)) },
        Case { never: &["x7fq-2k9d-mm4p-ab1c-3def"], ..case("stream key as a tag key", &[("alarms:", "tags:\n  x7fq-2k9d-mm4p-ab1c-3def: video\nalarms:")], &["`tags`: a key here looks like a YouTube stream key"], Some(89)) },
        Case { never: &["x7fq-2k9d-mm4p-ab1c-3def"], ..case("stream key as the project name", &[("project: lunora-player", "project: x7fq-2k9d-mm4p-ab1c-3def")], &["`project`: this looks like a YouTube stream key"], Some(10)) },
        Case { never: &["x7fq-2k9d-mm4p-ab1c"], ..case("stream key as a stage name", &[("  - name: platforms", "  - name: x7fq-2k9d-mm4p-ab1c")], &["`stages[3].name`: this looks like a YouTube stream key"], Some(86)) },
        Case { never: &["9f8e7d6c5b4a39281706f5e4d3c2b1a0"], ..case("token as the mediapackage channel id", &[("channel_id: lunora-player-prod-channel", "channel_id: 9f8e7d6c5b4a39281706f5e4d3c2b1a0")], &["`destinations[0].mediapackage.channel_id`: this looks like a long random token"], Some(47)) },
        Case { never: &["sk_live_4eC39HqLyjWDarjtT1zdp7dc"], ..case("api key as the rtmp user name", &[("    ingest_url: rtmp://stream.example.com/live\n", "    ingest_url: rtmp://stream.example.com/live\n    auth:\n      username: sk_live_4eC39HqLyjWDarjtT1zdp7dc\n      password_parameter: /lunora/rtmp-password\n")], &["`destinations[4].auth.username`: this looks like an API token"], Some(76)) },
        Case { never: &["live_123456789_AbCdEfGhIjKlMnOpQr"], ..case("stream key as a destination id", &[("  - id: twitch", "  - id: live_123456789_AbCdEfGhIjKlMnOpQr"), ("[youtube, twitch, linkedin, custom]", "[youtube, live_123456789_AbCdEfGhIjKlMnOpQr, linkedin, custom]")], &["`destinations[2].id`: this looks like a Twitch stream key", "`stages[3].destinations[1]`: this looks like a Twitch stream key"], Some(55)) },
        Case {
            files: vec![("presets/twitch-leak.yaml", twitch_preset("twitch-leak", &[("description: a preset that breaks one rule", "description: live_123456789_AbCdEfGhIjKlMnOpQr")]))],
            never: &["live_123456789_AbCdEfGhIjKlMnOpQr"],
            ..case("stream key in a preset description", &[("preset: twitch-1080p60", "preset: twitch-leak")], &["presets/twitch-leak.yaml:2:1: `description`: this looks like a Twitch stream key (live_...) (value not shown)"], None)
        },
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

/// A config directory with the example config and a `presets/` directory.
fn example_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let example = std::fs::read_to_string(root().join("examples/lunora.yaml")).unwrap();
    std::fs::write(dir.path().join("lunora.yaml"), example).unwrap();
    std::fs::create_dir_all(dir.path().join("presets/platforms")).unwrap();
    dir
}

/// `lunora validate` on the config in `dir`, bounded in time: exit 1, one
/// error line, and that line, which is returned.
fn validate_fails(dir: &Path) -> String {
    let started = std::time::Instant::now();
    let out = lunora()
        .arg("-c")
        .arg(dir.join("lunora.yaml"))
        .arg("validate")
        .timeout(std::time::Duration::from_secs(20))
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].contains("(hint: "), "{stderr}");
    errors[0].to_owned()
}

#[test]
fn invalid_utf8_and_latin1_name_the_line_and_column_of_the_byte() {
    let text = std::fs::read_to_string(root().join("examples/lunora.yaml")).unwrap();
    // Latin-1 `é` (0xE9) in the source description, line 29.
    let mut bytes = text
        .replacen("studio uplink", "studio \u{1}", 1)
        .into_bytes();
    let at = bytes.iter().position(|b| *b == 1).unwrap();
    bytes[at] = 0xE9;
    let dir = example_dir();
    std::fs::write(dir.path().join("lunora.yaml"), &bytes).unwrap();
    let line = validate_fails(dir.path());
    assert!(
        line.contains("lunora.yaml:29:38: the config file is not UTF-8 text: byte 0xE9"),
        "{line}"
    );
    assert!(line.contains("Latin-1"), "{line}");
    // A stray 0xFF on line 12 of a preset file.
    let preset =
        "id: bad-bytes\ndescription: x\n".to_owned() + &"# comment\n".repeat(9) + "name: \u{1}\n";
    let mut bytes = preset.into_bytes();
    let at = bytes.iter().position(|b| *b == 1).unwrap();
    bytes[at] = 0xFF;
    let dir = example_dir();
    std::fs::write(dir.path().join("presets/bad-bytes.yaml"), &bytes).unwrap();
    let line = validate_fails(dir.path());
    assert!(
        line.contains("presets/bad-bytes.yaml:12:7: the preset file is not UTF-8 text: byte 0xFF"),
        "{line}"
    );
}

#[test]
fn a_nul_byte_in_a_platform_file_is_located() {
    let dir = example_dir();
    let platform = std::fs::read_to_string(root().join("presets/platforms/twitch.yaml")).unwrap();
    let mut lines: Vec<String> = platform.lines().map(str::to_owned).collect();
    lines[10].push('\0');
    let column = lines[10].chars().count();
    std::fs::write(
        dir.path().join("presets/platforms/twitch.yaml"),
        lines.join("\n"),
    )
    .unwrap();
    let line = validate_fails(dir.path());
    assert!(
        line.contains(&format!(
            "presets/platforms/twitch.yaml:11:{column}: the file contains a NUL byte"
        )),
        "{line}"
    );
}

#[cfg(unix)]
#[test]
fn an_unreadable_file_in_a_preset_directory_is_an_error_naming_it() {
    use std::os::unix::fs::symlink;
    type Setup = fn(&Path);
    let cases: [(&str, &str, Setup); 6] = [
        (
            "dangling symlink",
            "a symbolic link to a file that does not exist",
            |p| symlink(p.with_file_name("gone.yaml"), p).unwrap(),
        ),
        (
            "symlink loop",
            "a symbolic link that cannot be followed",
            |p| {
                let other = p.with_file_name("loop-b");
                symlink(&other, p).unwrap();
                symlink(p, other).unwrap();
            },
        ),
        ("directory", "it is a directory, not a regular file", |p| {
            std::fs::create_dir(p).unwrap()
        }),
        (
            "fifo",
            "it is a FIFO (named pipe), not a regular file",
            |p| {
                let status = std::process::Command::new("mkfifo")
                    .arg(p)
                    .status()
                    .unwrap();
                assert!(status.success());
            },
        ),
        (
            "device",
            "it is a character device, not a regular file",
            |p| symlink("/dev/zero", p).unwrap(),
        ),
        ("socket", "it is a socket, not a regular file", |p| {
            // Left bound: the listener is dropped, the socket file stays.
            std::os::unix::net::UnixListener::bind(p).unwrap();
        }),
    ];
    for (name, reason, setup) in cases {
        for rel in [
            "presets/youtube-1080p30.yaml",
            "presets/platforms/youtube.yaml",
        ] {
            let dir = example_dir();
            let path = dir.path().join(rel);
            setup(&path);
            let line = validate_fails(dir.path());
            assert!(
                line.contains(&format!(
                    "{}: cannot read the preset file: {reason}",
                    path.display()
                )),
                "{name} at {rel}: {line}"
            );
        }
    }
}

#[test]
fn endless_and_oversized_inputs_stop_at_the_limit() {
    // The config is /dev/zero.
    let started = std::time::Instant::now();
    lunora()
        .args(["-c", "/dev/zero", "validate"])
        .timeout(std::time::Duration::from_secs(20))
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicates::str::contains(
            "error: /dev/zero: the config file is larger than lunora's limit of 1 MiB (hint: ",
        ));
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // A config of limit + 1 bytes, and one of exactly the limit (read, then
    // refused for what it holds).
    let dir = example_dir();
    let config = dir.path().join("lunora.yaml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("\n#");
    let fill = 1024 * 1024 - text.len();
    text.push_str(&"x".repeat(fill));
    assert_eq!(text.len(), 1024 * 1024);
    std::fs::write(&config, &text).unwrap();
    lunora()
        .arg("-c")
        .arg(&config)
        .arg("validate")
        .assert()
        .success();
    text.push('x');
    std::fs::write(&config, &text).unwrap();
    let line = validate_fails(dir.path());
    assert!(
        line.contains("lunora.yaml: the config file is larger than lunora's limit of 1 MiB"),
        "{line}"
    );
    // A preset file of limit + 1 bytes.
    let dir = example_dir();
    let path = dir.path().join("presets/huge.yaml");
    std::fs::write(&path, "#".repeat(1024 * 1024 + 1)).unwrap();
    let line = validate_fails(dir.path());
    assert!(
        line.contains("presets/huge.yaml: the preset file is larger than lunora's limit of 1 MiB"),
        "{line}"
    );
    // `presets list` reads the config the same way.
    lunora()
        .args(["-c", "/dev/zero", "presets", "list"])
        .timeout(std::time::Duration::from_secs(20))
        .assert()
        .code(1)
        .stderr(predicates::str::contains("limit of 1 MiB"));
}

#[test]
fn uuid_and_arn_ids_are_not_taken_for_secrets() {
    let dir = example_dir();
    let config = dir.path().join("lunora.yaml");
    let text = std::fs::read_to_string(&config).unwrap().replacen(
        "      channel_id: lunora-player-prod-channel\n",
        "      channel_id: 123e4567-e89b-12d3-a456-426614174000\n      channel_arn: arn:aws:mediapackage:us-east-1:123456789012:channels/6d2a1f86a8f5498c8a1a3e4b5c6d7e8f\n",
        1,
    );
    std::fs::write(&config, text).unwrap();
    lunora()
        .arg("-c")
        .arg(&config)
        .arg("validate")
        .assert()
        .success();
}
