//! Property tests of the parsers: arbitrary text, and arbitrary edits of a
//! valid config, never panic; a config either validates or yields located
//! diagnostics, and what validates always renders.

use proptest::prelude::*;

use super::util::root;

fn example() -> String {
    std::fs::read_to_string(root().join("examples/lunora.yaml")).unwrap()
}

fn library() -> lunora::presets::Library {
    lunora::presets::Library::built_in().unwrap()
}

fn check(text: &str, lib: &lunora::presets::Library) {
    let path = std::path::Path::new("fuzz.yaml");
    match lunora::config::from_text(path, text, lib) {
        Ok(deployment) => {
            lunora::render::render(&deployment).expect("a valid config renders");
        }
        Err(diagnostics) => {
            assert!(!diagnostics.0.is_empty());
            for d in &diagnostics.0 {
                assert!(!d.message.is_empty());
                assert!(!d.to_string().contains('\n'), "multi-line diagnostic: {d}");
            }
        }
    }
}

/// A small edit of one line of the example.
#[derive(Debug, Clone)]
enum Edit {
    Delete(usize),
    Duplicate(usize),
    Indent(usize, usize),
    ReplaceValue(usize, String),
    Truncate(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        any::<usize>().prop_map(Edit::Delete),
        any::<usize>().prop_map(Edit::Duplicate),
        (any::<usize>(), 0usize..6).prop_map(|(l, n)| Edit::Indent(l, n)),
        (
            any::<usize>(),
            prop_oneof![
                Just(String::new()),
                Just("~".to_owned()),
                Just("[]".to_owned()),
                Just("{}".to_owned()),
                Just("-1".to_owned()),
                Just("4294967296".to_owned()),
                Just(".nan".to_owned()),
                Just("\"\"".to_owned()),
                "[ -~]{0,40}",
            ]
        )
            .prop_map(|(l, v)| Edit::ReplaceValue(l, v)),
        any::<usize>().prop_map(Edit::Truncate),
    ]
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    for e in edits {
        if lines.is_empty() {
            break;
        }
        let n = lines.len();
        match e {
            Edit::Delete(l) => {
                lines.remove(l % n);
            }
            Edit::Duplicate(l) => {
                let line = lines[l % n].clone();
                lines.insert(l % n, line);
            }
            Edit::Indent(l, k) => {
                let line = format!("{}{}", " ".repeat(*k), lines[l % n].trim_start());
                lines[l % n] = line;
            }
            Edit::ReplaceValue(l, v) => {
                let line = &lines[l % n];
                if let Some(i) = line.find(": ") {
                    lines[l % n] = format!("{}: {v}", &line[..i]);
                }
            }
            Edit::Truncate(l) => lines.truncate(l % n),
        }
    }
    lines.join("\n")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
        check(&text, &library());
    }

    #[test]
    fn edited_examples_never_panic(edits in proptest::collection::vec(edit(), 1..5)) {
        check(&apply(&example(), &edits), &library());
    }

    #[test]
    fn arbitrary_presets_never_panic(
        width in any::<u32>(), height in any::<u32>(), num in any::<u32>(), den in any::<u32>(),
        kbps in any::<u32>(), gop in any::<f64>(), b in any::<u32>(), rate in any::<u32>(), abr in any::<u32>(),
    ) {
        let text = format!(
            "id: p\ndescription: d\nrenditions:\n  - name: r\n    width: {width}\n    height: {height}\n    framerate: {num}/{den}\n    rate_control: CBR\n    bitrate_kbps: {kbps}\n    profile: HIGH\n    level: H264_LEVEL_4_1\n    gop_seconds: {gop:?}\n    b_frames: {b}\naudio:\n  profile: LC\n  coding_mode: CODING_MODE_2_0\n  sample_rate: {rate}\n  bitrate_kbps: {abr}\n"
        );
        let no_hint = |_: &str, _: &str| None;
        if let Ok(loaded) = lunora::yaml::from_str::<lunora::presets::model::Preset>(std::path::Path::new("p.yaml"), &text, &no_hint) {
            let _ = lunora::presets::rules::medialive_problems(&loaded.value);
            for platform in library().platforms.values() {
                let _ = lunora::presets::rules::platform_problems(&loaded.value, &platform.value);
            }
        }
    }
}
