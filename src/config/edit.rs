//! Editing `lunora.yaml` in place: adding and removing a destination the
//! way a person would, keeping every other byte of the file.
//!
//! No maintained Rust YAML crate both parses and writes back comments, so
//! this is a careful text edit: the YAML parser (yaml-rust2) locates the
//! `destinations:` list, each destination's lines and each stage's list of
//! destination ids; the edit then inserts or deletes whole lines (or one
//! `, id` inside a flow list `[a, b]`). Untouched lines stay byte-identical:
//! comments, blank lines, key order, quoting, line endings (LF or CRLF).
//! The new block copies the indentation of the existing destinations.
//! Removing what [`add_destination`] added gives back the original bytes.
//!
//! Layouts this cannot edit safely (a flow-style `destinations: [...]`, a
//! destination not written as `- key: value` lines) are refused with a
//! typed [`EditError`] naming the line, never guessed at. Everything here
//! is text in, text out: no file system, no validation of the result
//! (the caller validates the new text with [`super::from_text`]).

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// A new RTMP destination, as the command line gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDestination {
    pub id: String,
    pub platform: String,
    pub preset: String,
    pub ingest_url: Option<String>,
    /// The Secrets Manager ARN of the stream key.
    pub stream_key_secret: String,
    /// The key inside the secret's JSON string.
    pub json_key: Option<String>,
}

/// Why the file cannot be edited as asked. Each names the 1-based line
/// where it can.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error("the file is not YAML lunora can edit: {0}")]
    Unreadable(String),
    #[error("the file has no top-level `destinations:` list")]
    NoDestinations,
    #[error("line {line}: `{what}` is written in flow style (`[...]` or `{{...}}`); lunora edits block-style lists only, rewrite it as `- ...` lines")]
    FlowStyle { what: String, line: usize },
    #[error(
        "line {line}: `{what}` has a layout lunora does not edit ({why}); edit the file by hand"
    )]
    Layout {
        what: String,
        line: usize,
        why: &'static str,
    },
    #[error("a destination with the id `{0}` already exists")]
    Duplicate(String),
    #[error("no destination has the id `{0}`")]
    UnknownDestination(String),
    #[error("no stage is named `{name}`; the config has {}", known.join(", "))]
    UnknownStage { name: String, known: Vec<String> },
    #[error("stage `{0}` has no `destinations:` list to add to")]
    StageWithoutList(String),
    #[error("the config uses the default stages (no `stages:` list), so there is no stage `{0}` to add to")]
    NoStages(String),
    #[error("`{0}` is the only destination; a config needs at least one")]
    LastDestination(String),
    #[error("the value of `{0}` contains a line break or control character")]
    BadValue(&'static str),
}

/// A node of the parsed document, with where it starts and ends.
#[derive(Debug, Clone)]
enum Node {
    Scalar {
        value: String,
        start: usize,
    },
    Seq {
        items: Vec<Node>,
        start: usize,
        end: usize,
        flow: bool,
    },
    Map {
        entries: Vec<(String, Node)>,
        start: usize,
        flow: bool,
    },
}

impl Node {
    fn start(&self) -> usize {
        match self {
            Self::Scalar { start, .. } | Self::Seq { start, .. } | Self::Map { start, .. } => {
                *start
            }
        }
    }

    fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Self::Map { entries, .. } => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn scalar(&self) -> Option<&str> {
        match self {
            Self::Scalar { value, .. } => Some(value),
            _ => None,
        }
    }
}

/// Builds a [`Node`] tree from parser events; positions are byte offsets.
struct TreeBuilder<'a> {
    text: &'a str,
    /// Byte offset of every char index (and of the end).
    offsets: Vec<usize>,
    stack: Vec<Node>,
    /// Pending mapping keys, one per open mapping.
    keys: Vec<Option<String>>,
    root: Option<Node>,
    complex_key: bool,
}

impl TreeBuilder<'_> {
    fn byte(&self, mark: Marker) -> usize {
        self.offsets
            .get(mark.index())
            .copied()
            .unwrap_or(self.text.len())
    }

    fn push_value(&mut self, node: Node) {
        let pending_key = match self.stack.last() {
            Some(Node::Map { .. }) => self.keys.last_mut().and_then(Option::take),
            _ => None,
        };
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Node::Seq { items, .. }) => items.push(node),
            Some(Node::Map {
                entries,
                start,
                flow,
            }) => match pending_key {
                Some(k) => entries.push((k, node)),
                // This node is a key. A block mapping's start event is
                // marked after its first key, so the first key is where
                // the mapping starts.
                None => match node {
                    Node::Scalar { value, start: at } => {
                        if entries.is_empty() && !*flow {
                            *start = at;
                        }
                        if let Some(slot) = self.keys.last_mut() {
                            *slot = Some(value);
                        }
                    }
                    _ => self.complex_key = true,
                },
            },
            Some(Node::Scalar { .. }) => {}
        }
    }
}

impl MarkedEventReceiver for TreeBuilder<'_> {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let at = self.byte(mark);
        let flow = |c: char| self.text[at..].starts_with(c);
        match ev {
            Event::Scalar(value, ..) => self.push_value(Node::Scalar { value, start: at }),
            Event::Alias(_) => self.push_value(Node::Scalar {
                value: "*".to_owned(),
                start: at,
            }),
            Event::SequenceStart(..) => {
                let flow = flow('[');
                self.stack.push(Node::Seq {
                    items: Vec::new(),
                    start: at,
                    end: at,
                    flow,
                });
            }
            Event::MappingStart(..) => {
                let flow = flow('{');
                self.stack.push(Node::Map {
                    entries: Vec::new(),
                    start: at,
                    flow,
                });
                self.keys.push(None);
            }
            Event::SequenceEnd => {
                if let Some(mut node) = self.stack.pop() {
                    if let Node::Seq { end, .. } = &mut node {
                        *end = at;
                    }
                    self.push_value(node);
                }
            }
            Event::MappingEnd => {
                self.keys.pop();
                if let Some(node) = self.stack.pop() {
                    self.push_value(node);
                }
            }
            _ => {}
        }
    }
}

fn parse(text: &str) -> Result<Node, EditError> {
    let mut offsets: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
    offsets.push(text.len());
    let mut builder = TreeBuilder {
        text,
        offsets,
        stack: Vec::new(),
        keys: Vec::new(),
        root: None,
        complex_key: false,
    };
    let mut parser = Parser::new_from_str(text);
    parser
        .load(&mut builder, false)
        .map_err(|e| EditError::Unreadable(e.to_string()))?;
    if builder.complex_key {
        return Err(EditError::Unreadable(
            "a mapping key is not a plain value".to_owned(),
        ));
    }
    builder
        .root
        .ok_or_else(|| EditError::Unreadable("the file is empty".to_owned()))
}

/// The file's text with line arithmetic in bytes.
struct Text<'a> {
    text: &'a str,
    eol: &'static str,
}

impl<'a> Text<'a> {
    fn new(text: &'a str) -> Self {
        let eol = match text.find('\n') {
            Some(i) if i > 0 && text.as_bytes()[i - 1] == b'\r' => "\r\n",
            _ => "\n",
        };
        Self { text, eol }
    }

    fn line_start(&self, at: usize) -> usize {
        self.text[..at].rfind('\n').map_or(0, |i| i + 1)
    }

    /// The offset after the line's end of line (or the end of the text).
    fn next_line(&self, at: usize) -> usize {
        self.text[at..]
            .find('\n')
            .map_or(self.text.len(), |i| at + i + 1)
    }

    fn line_no(&self, at: usize) -> usize {
        self.text[..at].matches('\n').count() + 1
    }

    /// The lines `[from, to)` minus trailing blank and comment-only lines.
    fn trim_trailing(&self, from: usize, mut to: usize) -> usize {
        while to > from {
            let body_end = if self.text[..to].ends_with('\n') {
                to - 1
            } else {
                to
            };
            let start = self.line_start(body_end);
            let line = self.text[start..body_end].trim();
            if line.is_empty() || line.starts_with('#') {
                to = start;
            } else {
                break;
            }
        }
        to
    }

    /// The start of the comment lines right above the line at `start`
    /// (no blank line between) that are indented by `indent`: the comment
    /// of a list item, which goes with it.
    fn comments_above(&self, mut start: usize, indent: usize) -> usize {
        while start > 0 {
            let above = self.line_start(start - 1);
            let line = self.text[above..start].trim_end_matches(['\r', '\n']);
            let body = line.trim_start();
            if body.starts_with('#') && line.len() - body.len() == indent && !line.contains('\t') {
                start = above;
            } else {
                break;
            }
        }
        start
    }

    /// The range that deletes the whole lines `[start, end)`; when they end
    /// the file without an end of line, the end of line before them goes.
    fn delete_lines(&self, start: usize, end: usize) -> (usize, usize) {
        if end == self.text.len() && !self.text.ends_with('\n') && start > 0 {
            let before = if self.text[..start].ends_with("\r\n") {
                2
            } else {
                1
            };
            (start - before, end)
        } else {
            (start, end)
        }
    }

    /// The edit that inserts `lines` after the line that ends at `end`
    /// (an offset after an end of line, or the end of the text).
    fn insert_lines(&self, end: usize, lines: &[String]) -> Edit {
        let mut out = String::new();
        if end == self.text.len() && !self.text.is_empty() && !self.text.ends_with('\n') {
            for line in lines {
                out.push_str(self.eol);
                out.push_str(line);
            }
        } else {
            for line in lines {
                out.push_str(line);
                out.push_str(self.eol);
            }
        }
        Edit {
            from: end,
            to: end,
            with: out,
        }
    }
}

/// Replace `[from, to)` with `with`.
#[derive(Debug)]
struct Edit {
    from: usize,
    to: usize,
    with: String,
}

fn apply(text: &str, mut edits: Vec<Edit>) -> String {
    edits.sort_by_key(|e| std::cmp::Reverse(e.from));
    let mut out = text.to_owned();
    for e in edits {
        out.replace_range(e.from..e.to, &e.with);
    }
    out
}

/// One `- key: value` item of a block sequence: its lines and columns.
#[derive(Debug)]
struct Item {
    /// Byte range of its lines (trailing blank and comment lines excluded).
    start: usize,
    end: usize,
    /// Column of the `-` and of the first key.
    dash: usize,
    key: usize,
}

/// The items of a block sequence of mappings, located by lines.
fn items(t: &Text<'_>, seq: &Node, what: &str) -> Result<Vec<Item>, EditError> {
    let Node::Seq {
        items, end, flow, ..
    } = seq
    else {
        return Err(EditError::Layout {
            what: what.to_owned(),
            line: t.line_no(seq.start()),
            why: "it is not a list",
        });
    };
    if *flow {
        return Err(EditError::FlowStyle {
            what: what.to_owned(),
            line: t.line_no(seq.start()),
        });
    }
    let mut out: Vec<Item> = Vec::new();
    for node in items {
        let at = node.start();
        let line = t.line_start(at);
        let prefix = &t.text[line..at];
        let dash = prefix.len() - prefix.trim_start().len();
        let ok = matches!(node, Node::Map { flow: false, .. })
            && prefix.trim_start().starts_with('-')
            && prefix.trim_start()[1..].chars().all(|c| c == ' ')
            && prefix.trim_start().len() > 1
            && !prefix.contains('\t');
        if !ok {
            return Err(EditError::Layout {
                what: what.to_owned(),
                line: t.line_no(at),
                why: "each item must start with `- key: value` on one line",
            });
        }
        if let Some(prev) = out.last_mut() {
            prev.end = t.trim_trailing(prev.start, line);
        }
        out.push(Item {
            start: line,
            end: line,
            dash,
            key: prefix.len(),
        });
    }
    if let Some(last) = out.last_mut() {
        let region_end = if *end >= t.text.len() {
            t.text.len()
        } else {
            t.line_start(*end).max(last.start)
        };
        last.end = t.trim_trailing(last.start, region_end);
    }
    Ok(out)
}

fn top<'n>(root: &'n Node, key: &str) -> Option<&'n Node> {
    root.get(key)
}

/// The destinations list and its items.
fn destinations<'n>(t: &Text<'_>, root: &'n Node) -> Result<(&'n Node, Vec<Item>), EditError> {
    let seq = top(root, "destinations").ok_or(EditError::NoDestinations)?;
    let located = items(t, seq, "destinations")?;
    if located.is_empty() {
        return Err(EditError::NoDestinations);
    }
    Ok((seq, located))
}

fn ids(seq: &Node) -> Vec<String> {
    match seq {
        Node::Seq { items, .. } => items
            .iter()
            .filter_map(|d| d.get("id").and_then(Node::scalar).map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// A YAML scalar for `value`: plain when that reads back as the same
/// string, quoted otherwise.
fn scalar(field: &'static str, value: &str) -> Result<String, EditError> {
    if value.chars().any(char::is_control) {
        return Err(EditError::BadValue(field));
    }
    let text = serde_yaml::to_string(value).map_err(|_| EditError::BadValue(field))?;
    Ok(text.trim_end_matches('\n').to_owned())
}

/// The lines of a new destination block, without indentation.
/// `step` is the indentation of a nested mapping.
fn block_lines(d: &NewDestination, step: usize) -> Result<Vec<String>, EditError> {
    let pad = " ".repeat(step);
    let mut lines = vec![
        format!("id: {}", scalar("id", &d.id)?),
        "kind: rtmp".to_owned(),
        format!("platform: {}", scalar("platform", &d.platform)?),
        format!("preset: {}", scalar("preset", &d.preset)?),
    ];
    if let Some(url) = &d.ingest_url {
        lines.push(format!("ingest_url: {}", scalar("ingest_url", url)?));
    }
    let arn = scalar("stream_key_secret", &d.stream_key_secret)?;
    match &d.json_key {
        None => lines.push(format!("stream_key: {arn}")),
        Some(key) => {
            lines.push("stream_key:".to_owned());
            lines.push(format!("{pad}secret_arn: {arn}"));
            lines.push(format!("{pad}json_key: {}", scalar("json_key", key)?));
        }
    }
    Ok(lines)
}

/// The indentation of a nested mapping inside the destinations (the
/// `stream_key:` or `mediapackage:` of an existing one), else 2.
fn nested_step(seq: &Node, t: &Text<'_>) -> usize {
    let Node::Seq { items, .. } = seq else {
        return 2;
    };
    for item in items {
        let Node::Map { entries, start, .. } = item else {
            continue;
        };
        let key_col = *start - t.line_start(*start);
        for (_, value) in entries {
            if let Node::Map {
                start: inner,
                flow: false,
                ..
            } = value
            {
                let col = *inner - t.line_start(*inner);
                if col > key_col && t.line_start(*inner) != t.line_start(*start) {
                    return col - key_col;
                }
            }
        }
    }
    2
}

/// The text of the block [`add_destination`] inserts, as it would appear
/// in the file (indented, with the file's line endings).
pub fn added_block(text: &str, d: &NewDestination) -> Result<String, EditError> {
    let t = Text::new(text);
    let root = parse(text)?;
    let (seq, located) = destinations(&t, &root)?;
    let lines = indented_block(&t, seq, &located, d)?;
    Ok(lines.iter().map(|l| format!("{l}{}", t.eol)).collect())
}

fn indented_block(
    t: &Text<'_>,
    seq: &Node,
    located: &[Item],
    d: &NewDestination,
) -> Result<Vec<String>, EditError> {
    let last = located.last().ok_or(EditError::NoDestinations)?;
    let raw = block_lines(d, nested_step(seq, t))?;
    Ok(raw
        .iter()
        .enumerate()
        .map(|(i, line)| {
            if i == 0 {
                format!(
                    "{}-{}{line}",
                    " ".repeat(last.dash),
                    " ".repeat(last.key - last.dash - 1)
                )
            } else {
                format!("{}{line}", " ".repeat(last.key))
            }
        })
        .collect())
}

/// The stage entries of the top-level `stages:` list: (name, node).
fn stages(root: &Node) -> Vec<(String, &Node)> {
    match top(root, "stages") {
        Some(Node::Seq { items, .. }) => items
            .iter()
            .filter_map(|s| {
                s.get("name")
                    .and_then(Node::scalar)
                    .map(|n| (n.to_owned(), s))
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The byte length of the scalar token starting at `at` (plain or quoted).
fn token_len(text: &str, at: usize) -> usize {
    let rest = &text[at..];
    if let Some(q) = rest.chars().next().filter(|c| *c == '\'' || *c == '"') {
        return rest[1..].find(q).map_or(rest.len(), |i| i + 2);
    }
    let end = rest
        .find([',', ']', '}', '\r', '\n', '#'])
        .unwrap_or(rest.len());
    rest[..end].trim_end().len()
}

/// The edit adding `id` at the end of a stage's `destinations:` list.
fn add_to_list(t: &Text<'_>, list: &Node, id: &str) -> Result<Edit, EditError> {
    let Node::Seq {
        items, start, flow, ..
    } = list
    else {
        return Err(EditError::Layout {
            what: "stages".to_owned(),
            line: t.line_no(list.start()),
            why: "a stage's `destinations:` is not a list",
        });
    };
    let scalar_text = scalar("id", id)?;
    if *flow {
        return Ok(match items.last() {
            Some(last) => {
                let end = last.start() + token_len(t.text, last.start());
                Edit {
                    from: end,
                    to: end,
                    with: format!(", {scalar_text}"),
                }
            }
            None => Edit {
                from: start + 1,
                to: start + 1,
                with: scalar_text,
            },
        });
    }
    let last = items.last().ok_or(EditError::Layout {
        what: "stages".to_owned(),
        line: t.line_no(*start),
        why: "an empty block list",
    })?;
    let (line, dash) = list_item_line(t, last)?;
    let end = t.next_line(line);
    Ok(t.insert_lines(end, &[format!("{}- {scalar_text}", " ".repeat(dash))]))
}

/// The line start and dash column of a block list item `- value`.
fn list_item_line(t: &Text<'_>, item: &Node) -> Result<(usize, usize), EditError> {
    let at = item.start();
    let line = t.line_start(at);
    let prefix = &t.text[line..at];
    let rest = t.text[at + token_len(t.text, at)..t.next_line(at)].trim();
    let ok = prefix.trim_start().starts_with('-')
        && prefix.trim_start()[1..].trim().is_empty()
        && (rest.is_empty() || rest.starts_with('#'));
    if !ok {
        return Err(EditError::Layout {
            what: "stages".to_owned(),
            line: t.line_no(at),
            why: "each destination of a block list must be on its own `- id` line",
        });
    }
    Ok((line, prefix.len() - prefix.trim_start().len()))
}

/// The edits removing every `id` from a stage's list; the whole stage
/// goes when nothing would be left in it.
fn remove_from_list(t: &Text<'_>, list: &Node, id: &str) -> Result<Vec<Edit>, EditError> {
    let Node::Seq { items, flow, .. } = list else {
        return Ok(Vec::new());
    };
    let mut edits = Vec::new();
    for (k, item) in items.iter().enumerate() {
        if item.scalar() != Some(id) {
            continue;
        }
        let start = item.start();
        let end = start + token_len(t.text, start);
        if *flow {
            let (from, to) = if k > 0 {
                let prev = items[k - 1].start();
                (prev + token_len(t.text, prev), end)
            } else if let Some(next) = items.get(1) {
                (start, next.start())
            } else {
                (start, end)
            };
            edits.push(Edit {
                from,
                to,
                with: String::new(),
            });
        } else {
            let (line, _) = list_item_line(t, item)?;
            let (from, to) = t.delete_lines(line, t.next_line(line));
            edits.push(Edit {
                from,
                to,
                with: String::new(),
            });
        }
    }
    Ok(edits)
}

/// Adds `d` after the last destination and, when `stage` is given, its
/// id at the end of that stage's `destinations:` list.
pub fn add_destination(
    text: &str,
    d: &NewDestination,
    stage: Option<&str>,
) -> Result<String, EditError> {
    let t = Text::new(text);
    let root = parse(text)?;
    let (seq, located) = destinations(&t, &root)?;
    if ids(seq).contains(&d.id) {
        return Err(EditError::Duplicate(d.id.clone()));
    }
    let lines = indented_block(&t, seq, &located, d)?;
    let last = located.last().ok_or(EditError::NoDestinations)?;
    let mut edits = vec![t.insert_lines(last.end, &lines)];
    if let Some(name) = stage {
        if top(&root, "stages").is_none() {
            return Err(EditError::NoStages(name.to_owned()));
        }
        let all = stages(&root);
        let (_, node) =
            all.iter()
                .find(|(n, _)| n == name)
                .ok_or_else(|| EditError::UnknownStage {
                    name: name.to_owned(),
                    known: all.iter().map(|(n, _)| n.clone()).collect(),
                })?;
        let list = node
            .get("destinations")
            .filter(|l| matches!(l, Node::Seq { .. }))
            .ok_or_else(|| EditError::StageWithoutList(name.to_owned()))?;
        edits.push(add_to_list(&t, list, &d.id)?);
    }
    Ok(apply(text, edits))
}

/// Removes destination `id` (with the comment lines right above it, at
/// its indentation) and its mentions in `stages:`; a stage left with
/// nothing to deploy goes too.
pub fn remove_destination(text: &str, id: &str) -> Result<String, EditError> {
    let t = Text::new(text);
    let root = parse(text)?;
    let (seq, located) = destinations(&t, &root)?;
    let all_ids = ids(seq);
    let k = all_ids
        .iter()
        .position(|i| i == id)
        .ok_or_else(|| EditError::UnknownDestination(id.to_owned()))?;
    if all_ids.len() == 1 {
        return Err(EditError::LastDestination(id.to_owned()));
    }
    let item = &located[k];
    let (from, to) = t.delete_lines(t.comments_above(item.start, item.dash), item.end);
    let mut edits = vec![Edit {
        from,
        to,
        with: String::new(),
    }];
    if let Some(stage_seq) = top(&root, "stages") {
        let stage_items = if matches!(stage_seq, Node::Seq { items, .. } if !items.is_empty()) {
            Some(items(&t, stage_seq, "stages"))
        } else {
            None
        };
        let Node::Seq { items: nodes, .. } = stage_seq else {
            return Ok(apply(text, edits));
        };
        for (si, stage) in nodes.iter().enumerate() {
            let Some(list) = stage.get("destinations") else {
                continue;
            };
            let Node::Seq { items: listed, .. } = list else {
                continue;
            };
            if !listed.iter().any(|n| n.scalar() == Some(id)) {
                continue;
            }
            let left = listed.iter().filter(|n| n.scalar() != Some(id)).count();
            let stacks = match stage.get("stacks") {
                Some(Node::Seq { items, .. }) => items.len(),
                _ => 0,
            };
            if left == 0 && stacks == 0 {
                let located = match &stage_items {
                    Some(Ok(l)) => l,
                    Some(Err(e)) => return Err(e.clone()),
                    None => continue,
                };
                let s = &located[si];
                let (from, to) = t.delete_lines(s.start, s.end);
                edits.push(Edit {
                    from,
                    to,
                    with: String::new(),
                });
            } else {
                edits.extend(remove_from_list(&t, list, id)?);
            }
        }
    }
    Ok(apply(text, edits))
}

/// The stage that holds the other destinations of `kind` (the stage of
/// the last such destination in the file), when the file lists stages.
pub fn default_stage(
    config: &super::Config,
    kind: super::model::DestinationKind,
) -> Option<String> {
    let stages = config.stages.as_ref()?;
    config
        .destinations
        .iter()
        .rev()
        .filter(|d| d.kind == kind)
        .find_map(|d| {
            stages
                .iter()
                .find(|s| s.destinations.contains(&d.id))
                .map(|s| s.name.clone())
        })
}

#[cfg(test)]
mod tests;
