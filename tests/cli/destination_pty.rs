//! `lunora add destination` and `remove destination` driven through a
//! pseudo-terminal, as a person at a terminal would: the questions, the
//! answers, the file and the output; and that nothing asks with `CI=true`.
//!
//! The binary runs under `sh -c` on the pty, with stdout sent to a file:
//! what the pty shows is stderr (the questions), the file holds the data.

use std::path::{Path, PathBuf};
use std::process::Command;

use rexpect::session::PtySession;

use super::{hash, workspace, ARN};

/// A Twitch stream key's shape, typed where the ARN is asked.
const KEY: &str = "live_123456789_AbCdEfGhIjKlMnOpQrStUv";

const DOWN: &str = "\x1b[B";
const ENTER: &str = "\r";
const ESC: &str = "\x1b";

/// Starts `lunora -c config ARGS` on a 100x40 pseudo-terminal, stdout to
/// `out`, and prints `[exit N]` when it ends.
fn spawn(config: &Path, out: &Path, args: &[&str], ci: bool) -> PtySession {
    let bin = assert_cmd::cargo::cargo_bin("lunora");
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(r#"stty cols 100 rows 40; out="$1"; shift; "$@" >"$out"; echo "[exit $?]""#)
        .arg("sh")
        .arg(out)
        .arg(bin)
        .arg("-c")
        .arg(config)
        .args(args)
        .env_remove("LUNORA_CONFIG")
        .env_remove("AWS_ENDPOINT_URL")
        .env("NO_COLOR", "1")
        .env("TERM", "xterm-256color");
    if ci {
        cmd.env("CI", "true");
    } else {
        cmd.env_remove("CI");
    }
    rexpect::session::spawn_command(cmd, Some(20_000)).unwrap()
}

/// Types keys (rexpect buffers what it sends until a flush).
fn send(p: &mut PtySession, keys: &str) {
    p.send(keys).unwrap();
    p.flush().unwrap();
}

/// Everything the pty shows until the end, and the exit code.
fn finish(p: &mut PtySession, seen: &mut String) -> i32 {
    let rest = p.exp_eof().unwrap();
    seen.push_str(&rest);
    let at = seen.rfind("[exit ").expect("no exit line");
    seen[at + 6..]
        .split(']')
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn out_file(dir: &Path) -> PathBuf {
    dir.join("stdout.txt")
}

#[test]
fn add_asks_for_each_missing_option_and_writes_the_answers() {
    let (dir, path) = workspace(&[]);
    let out = out_file(dir.path());
    let mut p = spawn(&path, &out, &["add", "destination", "twitch-2"], false);
    let mut seen = String::new();

    seen += &p.exp_string("Platform:").unwrap();
    // The RTMP platforms only, filtered by typing.
    send(&mut p, "twit");
    send(&mut p, ENTER);
    seen += &p
        .exp_string("Preset (those that pass twitch's limits):")
        .unwrap();
    let menu = p.exp_string("(recommended)").unwrap();
    seen += &menu;
    // Twitch's recommended preset is the one under the cursor.
    assert!(menu.contains("twitch-720p60"), "{menu}");
    assert!(menu.contains("1280x720@60"), "resolution and fps: {menu}");
    assert!(menu.contains("kbit/s"), "bitrate: {menu}");
    assert!(
        !menu.contains("youtube-"),
        "presets of other platforms: {menu}"
    );
    send(&mut p, ENTER);
    seen += &p.exp_string("Ingest URL").unwrap();
    seen += &p.exp_string("rtmp://live.twitch.tv/app").unwrap();
    send(&mut p, ENTER);
    seen += &p.exp_string("Stream key secret ARN").unwrap();
    // A stream key is refused, and never shown.
    send(&mut p, KEY);
    send(&mut p, ENTER);
    seen += &p.exp_string("not the stream key itself").unwrap();
    send(&mut p, &"\x7f".repeat(KEY.len()));
    // A partial ARN too.
    send(
        &mut p,
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:keys",
    );
    send(&mut p, ENTER);
    seen += &p.exp_string("6-character suffix").unwrap();
    send(&mut p, &"\x7f".repeat(80));
    send(&mut p, ARN);
    send(&mut p, ENTER);
    seen += &p.exp_string("JSON key").unwrap();
    send(&mut p, "twitch-2");
    send(&mut p, ENTER);
    let code = finish(&mut p, &mut seen);
    assert_eq!(code, 0, "{seen}");
    assert!(!seen.contains(KEY), "the key was echoed: {seen}");
    assert!(!seen.contains(ARN), "the ARN was echoed: {seen}");

    let stdout = std::fs::read_to_string(&out).unwrap();
    assert!(
        stdout.starts_with("added destination `twitch-2`"),
        "stdout holds the report only: {stdout}"
    );
    assert!(stdout.contains("in stage `platforms` (the stage of the other RTMP destinations)"));
    assert!(stdout.contains("preset: twitch-720p60"), "{stdout}");
    assert!(
        !stdout.contains("Platform:"),
        "a question on stdout: {stdout}"
    );
    let text = std::fs::read_to_string(&path).unwrap();
    let block = "  - id: twitch-2\n    kind: rtmp\n    platform: twitch\n    preset: twitch-720p60\n    stream_key:\n      secret_arn: ".to_owned()
        + ARN
        + "\n      json_key: twitch-2\n";
    assert!(text.contains(&block), "{text}");
    assert!(
        !text.contains("ingest_url: rtmp://live.twitch.tv"),
        "the default URL is not written"
    );
    assert!(text.contains("destinations: [youtube, twitch, linkedin, custom, twitch-2]"));
}

#[test]
fn a_second_preset_and_an_own_url_can_be_chosen() {
    let (dir, path) = workspace(&[]);
    let out = out_file(dir.path());
    let mut p = spawn(
        &path,
        &out,
        &["add", "destination", "yt-backup", "--platform", "youtube"],
        false,
    );
    let mut seen = p.exp_string("Preset").unwrap();
    seen += &p.exp_string("(recommended)").unwrap();
    // The cursor starts on the recommended youtube-1080p30; one down.
    send(&mut p, DOWN);
    send(&mut p, ENTER);
    seen += &p.exp_string("Ingest URL").unwrap();
    send(&mut p, &"\x7f".repeat(60));
    send(&mut p, "rtmps://b.rtmps.youtube.com:443/live2");
    send(&mut p, ENTER);
    seen += &p.exp_string("Stream key secret ARN").unwrap();
    send(&mut p, ARN);
    send(&mut p, ENTER);
    seen += &p.exp_string("JSON key").unwrap();
    send(&mut p, ENTER);
    let code = finish(&mut p, &mut seen);
    assert_eq!(code, 0, "{seen}");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("preset: youtube-1080p60"), "{text}");
    assert!(
        text.contains("ingest_url: rtmps://b.rtmps.youtube.com:443/live2"),
        "{text}"
    );
    assert!(!text.contains("json_key: yt-backup"), "{text}");
}

#[test]
fn esc_or_ctrl_c_in_a_question_writes_nothing() {
    for (name, key) in [("esc", ESC), ("ctrl-c", "\x03")] {
        let (dir, path) = workspace(&[]);
        let before = hash(&path);
        let out = out_file(dir.path());
        let mut p = spawn(&path, &out, &["add", "destination", "x"], false);
        let mut seen = p.exp_string("Platform:").unwrap();
        send(&mut p, key);
        let code = finish(&mut p, &mut seen);
        assert_eq!(code, 1, "{name}: {seen}");
        assert!(
            seen.contains("cancelled; nothing was written"),
            "{name}: {seen}"
        );
        assert_eq!(hash(&path), before, "{name}: the file changed");
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "", "{name}");
    }
}

#[test]
fn a_wrong_option_or_id_is_refused_before_any_question() {
    for (args, expect) in [
        (
            &["add", "destination", "youtube", "--platform", "twitch"][..],
            "exists already",
        ),
        (
            &["add", "destination", "x", "--platform", "twich"][..],
            "did you mean `twitch`?",
        ),
    ] {
        let (dir, path) = workspace(&[]);
        let out = out_file(dir.path());
        let mut p = spawn(&path, &out, args, false);
        let mut seen = String::new();
        let code = finish(&mut p, &mut seen);
        assert_eq!(code, 1, "{seen}");
        assert!(seen.contains(expect), "{seen}");
        assert!(!seen.contains("Preset"), "asked: {seen}");
    }
}

#[test]
fn with_ci_true_nothing_asks_and_the_missing_options_are_named() {
    let (dir, path) = workspace(&[]);
    let before = hash(&path);
    let out = out_file(dir.path());
    let mut p = spawn(&path, &out, &["add", "destination", "x"], true);
    let mut seen = String::new();
    let code = finish(&mut p, &mut seen);
    assert_eq!(code, 1, "{seen}");
    assert!(
        seen.contains("missing --platform and --stream-key-secret"),
        "{seen}"
    );
    assert!(!seen.contains("Platform:"), "asked: {seen}");
    assert_eq!(hash(&path), before);

    let mut p = spawn(
        &path,
        &out,
        &[
            "add",
            "destination",
            "x",
            "--platform",
            "twitch",
            "--stream-key-secret",
            ARN,
        ],
        true,
    );
    let mut seen = String::new();
    let code = finish(&mut p, &mut seen);
    assert_eq!(code, 1, "{seen}");
    assert!(seen.contains("missing --preset"), "{seen}");
    assert!(
        seen.contains("(recommended: `--preset twitch-720p60`)"),
        "{seen}"
    );
    assert_eq!(hash(&path), before);

    // `remove` does not ask either: it needs --yes.
    let mut p = spawn(&path, &out, &["remove", "destination", "twitch"], true);
    let mut seen = String::new();
    let code = finish(&mut p, &mut seen);
    assert_eq!(code, 1, "{seen}");
    assert!(seen.contains("needs `--yes`"), "{seen}");
    assert!(!seen.contains("these lines leave"), "{seen}");
    assert_eq!(hash(&path), before);
}

#[test]
fn remove_shows_the_block_and_the_stages_before_asking() {
    let (dir, path) = workspace(&[]);
    let out = out_file(dir.path());
    let original = std::fs::read_to_string(&path).unwrap();

    // `n` keeps the file.
    let mut p = spawn(&path, &out, &["remove", "destination", "twitch"], false);
    let shown = p.exp_string("[y/N]").unwrap();
    assert!(shown.contains("these lines leave"), "{shown}");
    assert!(shown.contains("- id: twitch"), "{shown}");
    assert!(shown.contains("platform: twitch"), "{shown}");
    assert!(shown.contains("stage `platforms`"), "{shown}");
    assert!(
        shown.contains("the next deploy deletes the stack"),
        "{shown}"
    );
    p.send_line("n").unwrap();
    let mut seen = shown;
    let code = finish(&mut p, &mut seen);
    assert_eq!(code, 1, "{seen}");
    assert!(
        seen.contains("not confirmed; nothing was written"),
        "{seen}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), original);

    // `y` removes it.
    let mut p = spawn(&path, &out, &["remove", "destination", "twitch"], false);
    let mut seen = p.exp_string("[y/N]").unwrap();
    p.send_line("y").unwrap();
    let code = finish(&mut p, &mut seen);
    assert_eq!(code, 0, "{seen}");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("- id: twitch\n"), "{text}");
    let stdout = std::fs::read_to_string(&out).unwrap();
    assert!(
        stdout.starts_with("removed destination `twitch`"),
        "{stdout}"
    );
}
