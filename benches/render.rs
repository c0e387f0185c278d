//! Benchmarks of a whole `lunora render`: read and validate the config,
//! load the presets, render every stack, write the files.
//! Targets (issue #2): the example in under 10 ms, 50 destinations in
//! under 50 ms, growing linearly. Run with `cargo bench --bench render`.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use lunora::cli::{ColorChoice, OutputFormat};
use lunora::output::Console;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The example with its destinations replaced by `n` RTMP destinations.
fn config_with(n: usize) -> String {
    let example = std::fs::read_to_string(root().join("examples/lunora.yaml")).unwrap();
    let mut text = example[..example.find("destinations:").unwrap()].to_owned();
    text.push_str("destinations:\n");
    let presets = [
        "youtube-1080p30",
        "twitch-720p60",
        "facebook-1080p30",
        "linkedin-720p30",
    ];
    let platforms = ["youtube", "twitch", "facebook", "linkedin"];
    for i in 0..n {
        let k = i % 4;
        let url = if platforms[k] == "linkedin" {
            "    ingest_url: rtmps://ingest.example.net/live\n"
        } else {
            ""
        };
        text.push_str(&format!(
            "  - id: d{i}\n    kind: rtmp\n    platform: {}\n    preset: {}\n{url}    stream_key:\n      secret_arn: arn:aws:secretsmanager:us-east-1:123456789012:secret:keys-AbCdEf\n      json_key: d{i}\n",
            platforms[k], presets[k]
        ));
    }
    text
}

fn whole_render(c: &mut Criterion) {
    let console = Console::new(OutputFormat::Text, ColorChoice::Never, true, 0);
    let out = tempfile::tempdir().unwrap();
    let example = root().join("examples/lunora.yaml");
    c.bench_function("render/example (file to stacks/)", |b| {
        b.iter(|| {
            lunora::commands::render::run(&example, Some(out.path()), false, &console).unwrap()
        });
    });
    let mut group = c.benchmark_group("render/destinations");
    for n in [1, 10, 25, 50] {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("lunora.yaml");
        std::fs::write(&config, config_with(n)).unwrap();
        let stacks = dir.path().join("stacks");
        group.bench_with_input(
            BenchmarkId::from_parameter(n),
            &config,
            |b, config: &PathBuf| {
                b.iter(|| {
                    lunora::commands::render::run(Path::new(config), Some(&stacks), false, &console)
                        .unwrap()
                });
            },
        );
    }
    group.finish();
}

criterion_group!(benches, whole_render);
criterion_main!(benches);
