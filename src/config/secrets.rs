//! Secret-shaped values in the config: refused wherever they would be
//! written out.
//!
//! `lunora.yaml` holds references to secrets (Secrets Manager ARNs, SSM
//! parameter names), never secrets. Every string of the config lands
//! somewhere visible: names and tags in resource names and tags,
//! descriptions in the console, ingest URLs and JSON keys in templates,
//! plans and plan files. A stream key pasted into any of them would be
//! published. So one detector, [`detect`], looks at every string of the
//! config (values and map keys, see [`scan`]) and the checks refuse what it
//! flags, without ever repeating the value.
//!
//! The shapes (documented in the README, "Secrets"):
//! - YouTube stream keys: four or five groups of four letters or digits,
//!   `xxxx-xxxx-xxxx-xxxx-xxxx` (as YouTube Studio shows them; the format is
//!   not documented by Google: UNVERIFIED).
//! - Twitch stream keys: `live_<digits>_<token>` (as the Twitch dashboard
//!   shows them; UNVERIFIED).
//! - Facebook persistent stream keys: `FB-<digits>-...` (UNVERIFIED).
//! - AWS access key ids: `AKIA` or `ASIA` and 16 more characters
//!   (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-unique-ids>).
//! - Stripe-style secret keys `sk_live_`/`sk_test_`/`rk_...`
//!   (<https://docs.stripe.com/keys>), GitHub tokens `ghp_`, `gho_`, `ghu_`,
//!   `ghs_`, `ghr_`, `github_pat_`
//!   (<https://github.blog/engineering/platform-security/behind-githubs-new-authentication-token-formats/>),
//!   Slack tokens `xoxb-`, `xoxp-`, ... (<https://api.slack.com/authentication/token-types>).
//! - PEM private keys (`-----BEGIN ... PRIVATE KEY-----`).
//! - Long random tokens: 20 or more letters and digits that mix character
//!   classes the way random strings do (short runs), such as an AWS secret
//!   access key or most platforms' keys.
//!
//! Not flagged: ARNs (they are references; only the fixed-prefix shapes
//! above are looked for inside them), `{{resolve:...}}` dynamic references,
//! canonical UUIDs (resource ids such as MediaPackage's), and ordinary names
//! and words, CamelCase and years included.

use std::fmt;

use serde_json::Value;

/// Which secret shape a value has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    YouTubeKey,
    TwitchKey,
    FacebookKey,
    AwsAccessKey,
    ApiKey,
    PrivateKey,
    RandomToken,
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::YouTubeKey => "a YouTube stream key (xxxx-xxxx-xxxx-xxxx)",
            Self::TwitchKey => "a Twitch stream key (live_...)",
            Self::FacebookKey => "a Facebook stream key (FB-...)",
            Self::AwsAccessKey => "an AWS access key id",
            Self::ApiKey => "an API token",
            Self::PrivateKey => "a private key",
            Self::RandomToken => "a long random token",
        })
    }
}

/// The secret shape of `value`, if it has one.
pub fn detect(value: &str) -> Option<Shape> {
    let trimmed = value.trim();
    if trimmed.starts_with("{{resolve:") && trimmed.ends_with("}}") {
        return None;
    }
    if value.contains("PRIVATE KEY-----") {
        return Some(Shape::PrivateKey);
    }
    let is_arn = trimmed.starts_with("arn:");
    // Fine tokens keep `-` and `_` (stream keys use them); coarse tokens
    // also keep base64's `+`, `/` and `=`.
    let fine = value.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    for token in fine.filter(|t| !t.is_empty()) {
        if let Some(shape) = fixed_shape(token) {
            return Some(shape);
        }
        if !is_arn && random_token(token) {
            return Some(Shape::RandomToken);
        }
    }
    if is_arn {
        return None;
    }
    let coarse = value.split(|c: char| !(c.is_ascii_alphanumeric() || "-_+/=".contains(c)));
    coarse
        .filter(|t| !t.is_empty())
        .any(random_token)
        .then_some(Shape::RandomToken)
}

/// Shapes with a fixed form or prefix.
fn fixed_shape(token: &str) -> Option<Shape> {
    let groups: Vec<&str> = token.split('-').collect();
    let four_alnum = |g: &&str| g.len() == 4 && g.chars().all(|c| c.is_ascii_alphanumeric());
    if groups.iter().all(four_alnum)
        && (groups.len() == 5 || (groups.len() == 4 && token.chars().any(|c| c.is_ascii_digit())))
    {
        return Some(Shape::YouTubeKey);
    }
    if let Some(rest) = token.strip_prefix("live_") {
        let (digits, key) = rest.split_once('_').unwrap_or(("", ""));
        if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) && key.len() >= 8 {
            return Some(Shape::TwitchKey);
        }
    }
    if let Some(rest) = token.strip_prefix("FB-") {
        let digits = rest.split('-').next().unwrap_or_default();
        if digits.len() >= 8 && digits.chars().all(|c| c.is_ascii_digit()) {
            return Some(Shape::FacebookKey);
        }
    }
    if token.len() == 20
        && (token.starts_with("AKIA") || token.starts_with("ASIA"))
        && token
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        return Some(Shape::AwsAccessKey);
    }
    const PREFIXES: [&str; 16] = [
        "sk_live_",
        "sk_test_",
        "rk_live_",
        "rk_test_",
        "ghp_",
        "gho_",
        "ghu_",
        "ghs_",
        "ghr_",
        "github_pat_",
        "xoxb-",
        "xoxp-",
        "xoxa-",
        "xoxr-",
        "xoxs-",
        "xoxe-",
    ];
    PREFIXES
        .iter()
        .any(|p| token.len() >= p.len() + 16 && token.starts_with(p))
        .then_some(Shape::ApiKey)
}

/// `8-4-4-4-12` hexadecimal digits.
fn is_uuid(token: &str) -> bool {
    let groups: Vec<&str> = token.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// A long token whose letters and digits change class (upper, lower,
/// digit) as often as random text does. Words keep a class for several
/// characters, and a capital that starts a word (`Edge`) counts with it,
/// so `VideonEdgeStudio2024` is a name, `wJalrXUtnFEMIK7MDENG` a token.
fn random_token(token: &str) -> bool {
    if is_uuid(token) {
        return false;
    }
    #[derive(PartialEq, Clone, Copy)]
    enum Class {
        Upper,
        Lower,
        Digit,
    }
    let classes: Vec<Class> = token
        .chars()
        .filter_map(|c| {
            if c.is_ascii_uppercase() {
                Some(Class::Upper)
            } else if c.is_ascii_lowercase() {
                Some(Class::Lower)
            } else if c.is_ascii_digit() {
                Some(Class::Digit)
            } else {
                None
            }
        })
        .collect();
    let len = classes.len();
    if len < 20 {
        return false;
    }
    let has_digit = classes.contains(&Class::Digit);
    let has_letter = classes.iter().any(|c| *c != Class::Digit);
    let mixed_case = classes.contains(&Class::Upper) && classes.contains(&Class::Lower);
    if !(has_digit && has_letter || mixed_case) {
        return false;
    }
    let mut runs = 1;
    let mut run_len = 1;
    for pair in classes.windows(2) {
        let same = pair[0] == pair[1];
        let word_start = pair == [Class::Upper, Class::Lower] && run_len == 1;
        if same || word_start {
            run_len += 1;
        } else {
            runs += 1;
            run_len = 1;
        }
    }
    // Random base62 text averages under 2 characters a run, random
    // lowercase-and-digit text 2.5; names and words 4 or more. The bound
    // is 3.5.
    2 * len <= 7 * runs
}

/// A secret-shaped string found in the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The field path: the value's, or the map's for a map key.
    pub field: String,
    pub shape: Shape,
    /// True when a map key (e.g. a tag key) has the shape.
    pub key: bool,
    /// The string itself: never to be printed, only to keep other messages
    /// from repeating it.
    pub value: String,
}

/// Every string in `config` that has a secret shape: the field path is written the way the locator and serde write it
/// (`destinations[1].ingest_url`, `tags.team`). A map key with a secret
/// shape is reported at the map, so the field path never repeats it.
/// `skip` names string fields that have their own secret checks.
pub fn scan(config: &Value, skip: &dyn Fn(&str) -> bool) -> Vec<Finding> {
    let mut found = Vec::new();
    walk(config, String::new(), skip, &mut found);
    found
}

fn walk(value: &Value, path: String, skip: &dyn Fn(&str) -> bool, found: &mut Vec<Finding>) {
    match value {
        Value::String(_) if skip(&path) => {}
        Value::String(s) => {
            if let Some(shape) = detect(s) {
                found.push(Finding {
                    field: path,
                    shape,
                    key: false,
                    value: s.clone(),
                });
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(item, format!("{path}[{i}]"), skip, found);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                if let Some(shape) = detect(key) {
                    found.push(Finding {
                        field: path.clone(),
                        shape,
                        key: true,
                        value: key.clone(),
                    });
                    continue;
                }
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                walk(item, child, skip, found);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_the_documented_shapes() {
        for (value, shape) in [
            ("abcd-efgh-ijkl-mnop-qrst", Shape::YouTubeKey),
            ("x7fq-2k9d-mm4p-ab1c", Shape::YouTubeKey),
            (
                "rtmp://a.rtmp.youtube.com/live2/x7fq-2k9d-mm4p-ab1c-3def",
                Shape::YouTubeKey,
            ),
            ("live_123456789_AbCdEfGhIjKlMnOpQr", Shape::TwitchKey),
            ("FB-1234567890123456-0-AbCdEfGhIjKlMnOp", Shape::FacebookKey),
            ("AKIAIOSFODNN7EXAMPLE", Shape::AwsAccessKey),
            ("sk_live_4eC39HqLyjWDarjtT1zdp7dc", Shape::ApiKey),
            ("ghp_16C7e42F292c6912E7710c838347Ae178B4a", Shape::ApiKey),
            (
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                Shape::RandomToken,
            ),
            (
                "studio feed key=9f8e7d6c5b4a39281706f5e4d3c2b1a0",
                Shape::RandomToken,
            ),
            ("-----BEGIN RSA PRIVATE KEY-----", Shape::PrivateKey),
        ] {
            assert_eq!(detect(value), Some(shape), "{value}");
        }
    }

    #[test]
    fn leaves_names_ids_arns_and_references_alone() {
        for value in [
            "lunora-player",
            "lunora-player-prod-channel",
            "east-west-main-feed",
            "Videon Edge, studio uplink",
            "VideonEdgeStudio2024Uplink",
            "MyChannel2024Production",
            "/prod/2024/rtmp/password1234",
            "rtmps://1a2b3c.channel.media.azure.net:2935/live/4d5e6f",
            "rtmps://a.rtmps.youtube.com:443/live2",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:lunora/srt-passphrase-Ab12Cd",
            "arn:aws:mediapackage:us-east-1:123456789012:channels/6d2a1f86a8f5498c8a1a3e4b5c6d7e8f",
            "arn:aws:mediaconnect:us-east-1:111122223333:flow:1-23aBC45dEF67hiJ8-12AbC34DE5fG:game",
            "{{resolve:secretsmanager:lunora/keys:SecretString:youtube}}",
            "123e4567-e89b-12d3-a456-426614174000",
            "streaming-ops@example.com",
            "203.0.113.10/32",
            "us-east-1a",
        ] {
            assert_eq!(detect(value), None, "{value}");
        }
    }

    #[test]
    fn scans_values_and_keys_without_naming_a_secret_key() {
        let config = serde_json::json!({
            "project": "p",
            "tags": {"team": "live_123456789_AbCdEfGhIjKlMnOpQr", "AKIAIOSFODNN7EXAMPLE": "x"},
            "destinations": [{"id": "a"}, {"description": "abcd-efgh-ijkl-mnop-qrst"}],
            "flow": {"source": {"passphrase_secret_arn": "abcd-efgh-ijkl-mnop-qrst"}},
            "stream_key": {"secret_arn": "abcd-efgh-ijkl-mnop-qrst", "json_key": "live_123456789_AbCdEfGhIjKl"},
        });
        let found = scan(&config, &|p| {
            p.ends_with("passphrase_secret_arn") || p.ends_with("stream_key.secret_arn")
        });
        let mut fields: Vec<&str> = found.iter().map(|f| f.field.as_str()).collect();
        fields.sort_unstable();
        assert_eq!(
            fields,
            [
                "destinations[1].description",
                "stream_key.json_key",
                "tags",
                "tags.team"
            ]
        );
        assert!(found
            .iter()
            .any(|f| f.key && f.value == "AKIAIOSFODNN7EXAMPLE"));
    }
}
