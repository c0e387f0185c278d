use proptest::prelude::*;

use super::*;

const EXAMPLE: &str = include_str!("../../../examples/lunora.yaml");

fn twitch2() -> NewDestination {
    NewDestination {
        id: "twitch-backup".to_owned(),
        platform: "twitch".to_owned(),
        preset: "twitch-1080p60".to_owned(),
        ingest_url: None,
        stream_key_secret:
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:lunora/stream-keys-Xy34Zw"
                .to_owned(),
        json_key: Some("twitch-backup".to_owned()),
    }
}

/// The unified diff between two texts (line endings shown as `\r`).
fn diff(before: &str, after: &str) -> String {
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(1)
        .to_string()
        .replace('\r', "\\r")
}

fn round_trip(text: &str, d: &NewDestination, stage: Option<&str>) -> String {
    let added = add_destination(text, d, stage).expect("add");
    let removed = remove_destination(&added, &d.id).expect("remove");
    assert_eq!(removed, text, "remove after add gives back the bytes");
    added
}

fn library() -> crate::presets::Library {
    crate::presets::Library::built_in().expect("built-in presets")
}

#[test]
fn adds_to_the_example_and_the_result_validates() {
    let added = round_trip(EXAMPLE, &twitch2(), Some("platforms"));
    insta::assert_snapshot!(diff(EXAMPLE, &added));
    let d = crate::config::from_text(std::path::Path::new("lunora.yaml"), &added, &library())
        .expect("the new config is valid");
    assert!(d.destination_ids().contains(&"twitch-backup"));
}

#[test]
fn removes_a_destination_and_its_stage_mention() {
    let removed = remove_destination(EXAMPLE, "youtube").expect("remove");
    insta::assert_snapshot!(diff(EXAMPLE, &removed));
    crate::config::from_text(std::path::Path::new("lunora.yaml"), &removed, &library())
        .expect("still valid");
    // The first of a flow list, and the last.
    let removed = remove_destination(EXAMPLE, "custom").expect("remove");
    assert!(removed.contains("destinations: [youtube, twitch, linkedin]\n"));
}

#[test]
fn the_comment_right_above_a_destination_goes_with_it() {
    let text = "destinations:\n  # keep: about the list\n\n  # A, since 2024\n  # (two lines)\n  - id: a\n    kind: rtmp\n      # not this one\n  - id: b\n";
    let removed = remove_destination(text, "a").expect("remove");
    assert_eq!(
        removed,
        "destinations:\n  # keep: about the list\n\n      # not this one\n  - id: b\n"
    );
}

#[test]
fn a_stage_left_empty_goes_with_its_destination() {
    let text = "destinations:\n  - id: a\n    kind: rtmp\n  - id: b\n    kind: rtmp\nstages:\n  - name: one\n    destinations: [a]\n  - name: two\n    destinations:\n      - b\n";
    let removed = remove_destination(text, "a").expect("remove");
    assert_eq!(
        removed,
        "destinations:\n  - id: b\n    kind: rtmp\nstages:\n  - name: two\n    destinations:\n      - b\n"
    );
}

const UNUSUAL: &str = "# yaml-language-server: $schema=../schema/lunora.schema.json\r
project: 'lunora-player'   # quoted\r
destinations:\r
    # the primary\r
    -   id: primary\r
        kind: mediapackage\r
        mediapackage:\r
            channel_id: \"x\"\r
\r
    # YouTube, since 2024\r
    -   id: youtube\r
        kind: rtmp   # push\r
        stream_key:\r
            secret_arn: arn:aws:secretsmanager:us-east-1:123456789012:secret:k-Xy34Zw\r
\r
    # trailing comment\r
\r
stages:\r
    -   name: platforms\r
        destinations:\r
            - youtube   # first\r
tags: {a: b}";

#[test]
fn keeps_unusual_formatting() {
    let added = round_trip(UNUSUAL, &twitch2(), Some("platforms"));
    insta::assert_snapshot!(diff(UNUSUAL, &added));
    // Only CRLF endings in the result.
    assert!(!added.replace("\r\n", "").contains('\n'));
}

#[test]
fn two_space_lists_without_a_final_newline() {
    let text = "destinations:\n- id: a\n  kind: rtmp\n  stream_key:\n    secret_arn: x\nstages:\n- name: s\n  destinations:\n  - a";
    let added = round_trip(text, &twitch2(), Some("s"));
    insta::assert_snapshot!(diff(text, &added));
    let text = "destinations:\n  - id: a\n    kind: rtmp";
    let added = round_trip(text, &twitch2(), None);
    assert!(added.ends_with("json_key: twitch-backup"), "{added}");
}

#[test]
fn refuses_flow_style_and_odd_layouts() {
    let flow = "destinations: [{id: a, kind: rtmp}]\n";
    let err = add_destination(flow, &twitch2(), None).expect_err("flow");
    assert_eq!(
        err,
        EditError::FlowStyle {
            what: "destinations".to_owned(),
            line: 1
        }
    );
    insta::assert_snapshot!("flow_style_error", err.to_string());
    let flow_item = "destinations:\n  - {id: a, kind: rtmp}\n";
    assert!(matches!(
        add_destination(flow_item, &twitch2(), None),
        Err(EditError::Layout { line: 2, .. })
    ));
    let dangling = "destinations:\n  -\n    id: a\n";
    assert!(matches!(
        add_destination(dangling, &twitch2(), None),
        Err(EditError::Layout { line: 3, .. })
    ));
    let shared_line = "destinations:\n  - id: a\nstages:\n  - name: s\n    destinations:\n      - a\n      - b # x\n";
    assert!(add_destination(shared_line, &twitch2(), Some("s")).is_ok());
}

#[test]
fn typed_errors() {
    let mut dup = twitch2();
    dup.id = "twitch".to_owned();
    assert_eq!(
        add_destination(EXAMPLE, &dup, None),
        Err(EditError::Duplicate("twitch".to_owned()))
    );
    assert!(matches!(
        add_destination(EXAMPLE, &twitch2(), Some("nope")),
        Err(EditError::UnknownStage { .. })
    ));
    assert_eq!(
        add_destination(EXAMPLE, &twitch2(), Some("base")),
        Err(EditError::StageWithoutList("base".to_owned()))
    );
    assert_eq!(
        remove_destination(EXAMPLE, "nope"),
        Err(EditError::UnknownDestination("nope".to_owned()))
    );
    assert_eq!(
        remove_destination("destinations:\n  - id: a\n", "a"),
        Err(EditError::LastDestination("a".to_owned()))
    );
    assert_eq!(
        add_destination("a: 1\n", &twitch2(), None),
        Err(EditError::NoDestinations)
    );
    assert!(matches!(
        add_destination("a: [\n", &twitch2(), None),
        Err(EditError::Unreadable(_))
    ));
    let mut bad = twitch2();
    bad.ingest_url = Some("rtmp://x\n/y".to_owned());
    assert_eq!(
        add_destination(EXAMPLE, &bad, None),
        Err(EditError::BadValue("ingest_url"))
    );
}

#[test]
fn quotes_what_would_not_read_back() {
    let mut d = twitch2();
    d.json_key = Some("yes".to_owned());
    d.ingest_url = Some("rtmp://x/live #1".to_owned());
    let added = round_trip(EXAMPLE, &d, None);
    let parsed: serde_yaml::Value = serde_yaml::from_str(&added).expect("yaml");
    let last = &parsed["destinations"][5];
    assert_eq!(last["stream_key"]["json_key"].as_str(), Some("yes"));
    assert_eq!(last["ingest_url"].as_str(), Some("rtmp://x/live #1"));
}

#[test]
fn picks_the_stage_of_the_same_kind() {
    let config: crate::config::Config = serde_yaml::from_str(EXAMPLE).expect("example");
    assert_eq!(
        default_stage(&config, crate::config::model::DestinationKind::Rtmp).as_deref(),
        Some("platforms")
    );
    assert_eq!(
        default_stage(&config, crate::config::model::DestinationKind::Mediapackage).as_deref(),
        Some("primary")
    );
}

/// The example in several layouts: CRLF, 4-space indentation, no final
/// newline, comments between destinations.
fn variants() -> Vec<String> {
    let four = EXAMPLE
        .lines()
        .map(|l| {
            let n = l.len() - l.trim_start().len();
            let body = l.trim_start();
            let body = match body.strip_prefix("- ") {
                Some(rest) => format!("-   {rest}"),
                None => body.to_owned(),
            };
            format!("{}{body}\n", " ".repeat(n * 2))
        })
        .collect::<String>();
    let commented = EXAMPLE.replace("  - id: twitch", "  # Twitch\n\n  - id: twitch");
    vec![
        EXAMPLE.to_owned(),
        EXAMPLE.replace('\n', "\r\n"),
        four,
        EXAMPLE.trim_end().to_owned(),
        commented,
        UNUSUAL.to_owned(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn add_then_remove_restores_the_bytes(
        variant in 0usize..6,
        id in "[a-z][a-z0-9]{0,10}(-[a-z0-9]{1,5})?",
        platform in prop::sample::select(vec!["youtube", "twitch", "facebook", "custom", "my platform"]),
        preset in "[a-z0-9:#' -]{1,20}",
        url in prop::option::of("rtmps?://[a-z.]{1,12}(:[0-9]{2,4})?/[a-z/ #:]{0,12}"),
        key in prop::option::of("[a-zA-Z0-9_:' -]{1,12}"),
        staged in any::<bool>(),
    ) {
        let text = &variants()[variant];
        prop_assume!(!["primary", "youtube", "twitch", "linkedin", "custom"].contains(&id.as_str()));
        let d = NewDestination {
            id: id.clone(),
            platform: platform.to_owned(),
            preset,
            ingest_url: url,
            stream_key_secret: "arn:aws:secretsmanager:us-east-1:123456789012:secret:k-Ab12Cd".to_owned(),
            json_key: key,
        };
        let stage = staged.then_some("platforms");
        let added = add_destination(text, &d, stage).expect("add");
        // The new config parses, with the new destination's values.
        let parsed: serde_yaml::Value = serde_yaml::from_str(&added).expect("yaml");
        let dests = parsed["destinations"].as_sequence().expect("list");
        let last = dests.last().expect("one");
        prop_assert_eq!(last["id"].as_str(), Some(id.as_str()));
        prop_assert_eq!(last["preset"].as_str(), Some(d.preset.as_str()));
        prop_assert_eq!(last["platform"].as_str(), Some(platform));
        prop_assert_eq!(last["ingest_url"].as_str(), d.ingest_url.as_deref());
        // Every original line is still there, in order.
        let kept: Vec<&str> = added.lines().filter(|l| text.lines().any(|o| o == *l)).collect();
        prop_assert!(kept.len() >= text.lines().count() - usize::from(staged));
        let removed = remove_destination(&added, &id).expect("remove");
        prop_assert_eq!(&removed, text);
    }
}
