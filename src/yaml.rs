//! Loading YAML files into typed values with located errors.
//!
//! serde tells us *what* is wrong and at which field path; it does not keep
//! source positions once a value is built. So every file is read twice from
//! the same text: once by serde_yaml into a `Value` (syntax errors come with a
//! line), then deserialized into the typed model through
//! `serde_path_to_error` (type errors come with a field path), and once by an
//! event parser that records where every field path starts, so that both the
//! type errors and the later semantic checks can name a line.

use std::collections::HashMap;
use std::path::Path;

use serde::de::DeserializeOwned;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

use crate::diagnostic::Diagnostic;

/// Where each field path of a YAML document starts.
///
/// Paths are written the way `serde_path_to_error` writes them:
/// `destinations[1].preset`.
#[derive(Debug, Default, Clone)]
pub struct Locator {
    positions: HashMap<String, (usize, usize)>,
}

impl Locator {
    /// Indexes `text`. Text the event parser cannot read yields an empty
    /// index: locations are then missing, never wrong.
    pub fn new(text: &str) -> Self {
        let mut builder = LocatorBuilder::default();
        let mut parser = Parser::new_from_str(text);
        if parser.load(&mut builder, false).is_err() {
            return Self::default();
        }
        Self {
            positions: builder.positions,
        }
    }

    /// The 1-based line and column of `path`, or of its nearest ancestor
    /// that exists in the document.
    pub fn locate(&self, path: &str) -> Option<(usize, usize)> {
        let mut path = path;
        loop {
            if let Some(pos) = self.positions.get(path) {
                return Some(*pos);
            }
            let cut = path.rfind(['.', '['])?;
            path = &path[..cut];
        }
    }
}

#[derive(Debug)]
enum Frame {
    Mapping {
        key: Option<String>,
        expect_key: bool,
    },
    Sequence {
        index: usize,
    },
    /// A complex (non-scalar) mapping key: nothing below it is indexed.
    Ignored {
        depth: usize,
    },
}

#[derive(Debug, Default)]
struct LocatorBuilder {
    stack: Vec<Frame>,
    positions: HashMap<String, (usize, usize)>,
}

impl LocatorBuilder {
    fn path(&self) -> String {
        let mut out = String::new();
        for frame in &self.stack {
            match frame {
                Frame::Mapping {
                    key: Some(k),
                    expect_key: false,
                } => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(k);
                }
                Frame::Sequence { index } => {
                    out.push('[');
                    out.push_str(&index.to_string());
                    out.push(']');
                }
                _ => {}
            }
        }
        out
    }

    fn record(&mut self, mark: Marker) {
        let path = self.path();
        if !path.is_empty() {
            // Line is 1-based in yaml-rust2; the column is 0-based.
            self.positions
                .entry(path)
                .or_insert((mark.line(), mark.col() + 1));
        }
    }

    /// Called when a complete value (scalar, alias, or the end of a
    /// collection) has been consumed in the current parent.
    fn value_done(&mut self) {
        match self.stack.last_mut() {
            Some(Frame::Mapping { expect_key, .. }) => *expect_key = true,
            Some(Frame::Sequence { index }) => *index += 1,
            _ => {}
        }
    }

    /// Returns true when the node starting now is a mapping key.
    fn starting_key(&self) -> bool {
        matches!(
            self.stack.last(),
            Some(Frame::Mapping {
                expect_key: true,
                ..
            })
        )
    }
}

impl MarkedEventReceiver for LocatorBuilder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if let Some(Frame::Ignored { depth }) = self.stack.last_mut() {
            match ev {
                Event::MappingStart(..) | Event::SequenceStart(..) => *depth += 1,
                Event::MappingEnd | Event::SequenceEnd => {
                    *depth -= 1;
                    if *depth == 0 {
                        self.stack.pop();
                        // The complex key is done; its value follows.
                        if let Some(Frame::Mapping { key, expect_key }) = self.stack.last_mut() {
                            *key = Some("?".to_owned());
                            *expect_key = false;
                        }
                    }
                }
                _ => {}
            }
            return;
        }
        match ev {
            Event::Scalar(value, ..) => {
                if self.starting_key() {
                    if let Some(Frame::Mapping { key, expect_key }) = self.stack.last_mut() {
                        *key = Some(value);
                        *expect_key = false;
                    }
                    self.record(mark);
                } else {
                    self.record(mark);
                    self.value_done();
                }
            }
            Event::Alias(_) => {
                if self.starting_key() {
                    if let Some(Frame::Mapping { key, expect_key }) = self.stack.last_mut() {
                        *key = Some("*".to_owned());
                        *expect_key = false;
                    }
                } else {
                    self.record(mark);
                    self.value_done();
                }
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                if self.starting_key() {
                    self.stack.push(Frame::Ignored { depth: 1 });
                    return;
                }
                self.record(mark);
                if matches!(ev, Event::MappingStart(..)) {
                    self.stack.push(Frame::Mapping {
                        key: None,
                        expect_key: true,
                    });
                } else {
                    self.stack.push(Frame::Sequence { index: 0 });
                }
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
                self.value_done();
            }
            _ => {}
        }
    }
}

/// A parsed YAML file: its typed value and the locator for its fields.
#[derive(Debug)]
pub struct Loaded<T> {
    pub value: T,
    pub locator: Locator,
}

/// Parses `text` (read from `file`) into `T`, or returns a located
/// diagnostic. `hint_for` supplies the hint for a type error at a path.
pub fn from_str<T: DeserializeOwned>(
    file: &Path,
    text: &str,
    hint_for: &dyn Fn(&str, &str) -> Option<String>,
) -> Result<Loaded<T>, Diagnostic> {
    if text.trim().is_empty() {
        return Err(Diagnostic::new(file, "", "the file is empty")
            .hint("see the example in `examples/` for a complete file"));
    }
    if let Some(d) = forbidden_character(file, text) {
        return Err(d);
    }
    let value: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| {
        let position = e.location().map(|l| (l.line(), l.column()));
        Diagnostic::new(
            file,
            "",
            format!("invalid YAML: {}", strip_location(&e.to_string())),
        )
        .at(position)
        .hint("check the indentation and quoting around this line")
    })?;
    let locator = Locator::new(text);
    if !matches!(value, serde_yaml::Value::Mapping(_)) {
        return Err(
            Diagnostic::new(file, "", "the top level must be a mapping of fields")
                .at(Some((1, 1)))
                .hint("start the file with `key: value` lines"),
        );
    }
    match serde_path_to_error::deserialize::<_, T>(value) {
        Ok(value) => Ok(Loaded { value, locator }),
        Err(err) => {
            let path = err.path().to_string();
            let path = if path == "." { String::new() } else { path };
            let mut message = strip_location(&err.inner().to_string());
            if is_secret_field(&path) {
                message = without_value(&message);
            }
            let hint = hint_for(&path, &message).unwrap_or_else(|| generic_hint(&message));
            Err(Diagnostic::new(file, path.clone(), message)
                .at(locator.locate(&path))
                .hint(hint))
        }
    }
}

/// The first character YAML does not allow in a file (a NUL byte, most
/// other control characters), located. The YAML parser reports these at
/// the start of the file or not at all; this names the line and column.
/// YAML 1.2 allows tab, line feed, carriage return, U+0085 and every other
/// character from U+0020 on, except DEL, the C1 controls, surrogates and
/// U+FFFE/U+FFFF: <https://yaml.org/spec/1.2.2/#51-character-set>.
fn forbidden_character(file: &Path, text: &str) -> Option<Diagnostic> {
    let (offset, ch) = text.char_indices().find(|&(_, ch)| {
        let allowed = matches!(ch, '\t' | '\n' | '\r' | '\u{85}')
            || ('\u{20}'..='\u{7E}').contains(&ch)
            || ('\u{A0}'..='\u{D7FF}').contains(&ch)
            || ('\u{E000}'..='\u{FFFD}').contains(&ch)
            || ch >= '\u{10000}';
        !allowed
    })?;
    let what = if ch == '\0' {
        "a NUL byte".to_owned()
    } else {
        format!("the control character U+{:04X}", u32::from(ch))
    };
    Some(
        Diagnostic::new(
            file,
            "",
            format!("the file contains {what}, which YAML does not allow"),
        )
        .at(Some(crate::fsread::text_position(&text[..offset])))
        .hint("remove it: lunora reads plain UTF-8 text, as a text editor saves it"),
    )
}

/// serde_yaml appends " at line N column M" to some messages; lunora
/// prints the position in front instead.
fn strip_location(message: &str) -> String {
    let cut = message.find(" at line ").unwrap_or(message.len());
    message[..cut].to_owned()
}

/// Fields that may hold a secret pasted in the wrong place: their values
/// are never repeated in a message.
fn is_secret_field(path: &str) -> bool {
    [
        "passphrase",
        "secret",
        "stream_key",
        "password",
        "auth",
        "ingest_url",
    ]
    .iter()
    .any(|s| path.contains(s))
}

/// serde writes "invalid type: string \"VALUE\", expected ..." and
/// "invalid value: integer `VALUE`, expected ...": keep the kind, drop the
/// value.
fn without_value(message: &str) -> String {
    for prefix in ["invalid type: ", "invalid value: ", "invalid length "] {
        if let Some(rest) = message.strip_prefix(prefix) {
            let kind = rest.split([' ', ',']).next().unwrap_or_default();
            let expected = rest
                .split(", expected")
                .nth(1)
                .map(|e| format!(", expected{e}"))
                .unwrap_or_default();
            return format!("{prefix}{kind} (value not shown){expected}");
        }
    }
    message.to_owned()
}

fn generic_hint(message: &str) -> String {
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let field = rest.split('`').next().unwrap_or_default();
        let expected: Vec<&str> = rest
            .split("expected one of ")
            .nth(1)
            .or_else(|| rest.split("expected ").nth(1))
            .map(|list| list.split(", ").map(|s| s.trim_matches('`')).collect())
            .unwrap_or_default();
        if let Some(best) = closest(field, &expected) {
            return format!("did you mean `{best}`?");
        }
        return "remove the field, or check its spelling and indentation".to_owned();
    }
    if message.starts_with("missing field") {
        return "add the field; `lunora schema` prints every field and its type".to_owned();
    }
    if message.starts_with("unknown variant") {
        return "use one of the values listed".to_owned();
    }
    "`lunora schema` prints every field and its type".to_owned()
}

/// The candidate closest to `word` by edit distance, if it is close enough
/// to be a likely typo.
pub fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::levenshtein(word, c), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min()
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_nested_paths() {
        let text = "a: 1\nlist:\n  - id: x\n    inner:\n      key: v\n  - id: y\n";
        let loc = Locator::new(text);
        assert_eq!(loc.locate("a"), Some((1, 1)));
        assert_eq!(loc.locate("list"), Some((2, 1)));
        assert_eq!(loc.locate("list[0].id"), Some((3, 5)));
        assert_eq!(loc.locate("list[0].inner.key"), Some((5, 7)));
        assert_eq!(loc.locate("list[1].id"), Some((6, 5)));
        // Missing leaf: falls back to the nearest ancestor.
        assert_eq!(loc.locate("list[1].nope").map(|p| p.0), Some(6));
    }

    #[test]
    fn locates_flow_style_and_complex_keys() {
        let text = "? [a, b]\n: 1\nx: {y: [1, {z: 2}]}\n";
        let loc = Locator::new(text);
        assert_eq!(loc.locate("x.y[1].z"), Some((3, 13)));
    }

    #[test]
    fn locates_a_nul_byte_and_control_characters() {
        let file = Path::new("f.yaml");
        let text = "a: 1\nb: x\0y\n";
        let d = forbidden_character(file, text).expect("NUL found");
        assert_eq!((d.line, d.column), (Some(2), Some(5)));
        assert!(d.message.contains("a NUL byte"), "{}", d.message);
        let d = forbidden_character(file, "a: \u{1b}[31m\n").expect("ESC found");
        assert!(d.message.contains("U+001B"), "{}", d.message);
        assert!(forbidden_character(file, "a:\tb # \u{e9}\u{2014}\r\n").is_none());
    }

    #[test]
    fn suggests_close_names() {
        assert_eq!(closest("prest", &["preset", "platform"]), Some("preset"));
        assert_eq!(closest("zzzz", &["preset", "platform"]), None);
    }
}
