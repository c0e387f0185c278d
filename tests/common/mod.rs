//! What the integration tests share: the AWS emulator process and a
//! workspace with the example config.
#![allow(dead_code)]

pub mod contract;
pub mod emulator;
pub mod sfn;
pub mod workspace;

/// Displayed width of a line of terminal text: characters, ANSI colour
/// codes excluded.
pub fn columns(line: &str) -> usize {
    let mut n = 0;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            n += 1;
        }
    }
    n
}

/// The example's Secrets Manager secret of stream keys.
pub const KEYS_ARN: &str =
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:lunora/stream-keys-Xy34Zw";

/// `lunora add destination` of a second YouTube destination (720p30,
/// the key under `json_key` in [`KEYS_ARN`]), as the tests run it.
pub fn add_youtube_2(json_key: &str) -> [&str; 11] {
    [
        "add",
        "destination",
        "youtube-2",
        "--platform",
        "youtube",
        "--preset",
        "youtube-720p30",
        "--stream-key-secret",
        KEYS_ARN,
        "--json-key",
        json_key,
    ]
}
