//! How wide a text screen may be, and fitting lines and tables to it.
//!
//! Every text report that can outgrow a terminal (plan, cost, releases,
//! the deploy and rollback summaries; status has its own columns) is
//! drawn to one width, decided here:
//!
//! - `--wide`: no limit, every column and line in full;
//! - else `COLUMNS`, when it is set to a number of at least 40 (shells
//!   export it; tests set `COLUMNS=80`);
//! - else the terminal's width, when the stream is a terminal;
//! - else 80: output piped to a file, a pager or a CI log is 80 columns
//!   wide. A script that wants long lines whole asks for `--wide` or
//!   `--output json`.
//!
//! Long lines wrap at spaces with a hanging indent (a word longer than
//! the line, such as an ARN, is broken); tables wrap their widest cells
//! (comfy-table). Widths are measured in displayed characters, ANSI
//! colour codes excluded.

use std::io::IsTerminal;

use comfy_table::{CellAlignment, ContentArrangement, Table};

/// The width when nothing else says: not a terminal, no `COLUMNS`.
pub const DEFAULT_WIDTH: usize = 80;

/// Narrower than this is taken for a mistake (`COLUMNS=0`, a tiny pane):
/// the screen is drawn this wide.
pub const MIN_WIDTH: usize = 40;

/// The stream a screen is written to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// `COLUMNS`, when it holds a usable width.
fn columns_env() -> Option<usize> {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|c| *c > 0)
        .map(|c| c.max(MIN_WIDTH))
}

/// The width to draw to on `stream`: `None` (no limit) with `--wide`.
pub fn width(wide: bool, stream: Stream) -> Option<usize> {
    if wide {
        return None;
    }
    let terminal = match stream {
        Stream::Stdout if std::io::stdout().is_terminal() => {
            terminal_size::terminal_size_of(std::io::stdout())
        }
        Stream::Stderr if std::io::stderr().is_terminal() => {
            terminal_size::terminal_size_of(std::io::stderr())
        }
        _ => None,
    };
    Some(
        columns_env()
            .or_else(|| terminal.map(|(w, _)| usize::from(w.0).max(MIN_WIDTH)))
            .unwrap_or(DEFAULT_WIDTH),
    )
}

/// Displayed width of `text`: characters, ANSI colour codes excluded.
pub fn display_width(text: &str) -> usize {
    textwrap::core::display_width(text)
}

/// Every line of `text` no wider than `width`: a longer line wraps at
/// spaces, its continuation lines indented 4 more than the line itself.
/// `None` leaves the text as it is.
pub fn fit(text: &str, width: Option<usize>) -> String {
    let Some(width) = width else {
        return text.to_owned();
    };
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let (body, newline) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line, ""),
        };
        for (i, l) in wrap_line(body, width).iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            out.push_str(l);
        }
        out.push_str(newline);
    }
    out
}

/// One line in lines of at most `width` columns (see [`fit`]).
pub fn wrap_line(line: &str, width: usize) -> Vec<String> {
    let body = line.trim_end();
    if display_width(body) <= width {
        return vec![body.to_owned()];
    }
    let text = body.trim_start();
    let indent = &body[..body.len() - text.len()];
    // Keep at least half the line for text, however deep the indent.
    let indent = if indent.len() > width / 2 { "" } else { indent };
    let hang = format!("{indent}    ");
    let hang = if hang.len() > width / 2 {
        indent
    } else {
        &hang
    };
    let options = textwrap::Options::new(width)
        .initial_indent(indent)
        .subsequent_indent(hang)
        // Stack names, ARNs and flags stay whole: no break at hyphens.
        .word_splitter(textwrap::WordSplitter::NoHyphenation)
        .break_words(true);
    textwrap::wrap(text, options)
        .into_iter()
        .map(|l| l.trim_end().to_owned())
        .collect()
}

/// How a column of a [`table`] is aligned, and whether its cells may
/// wrap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
    /// Left, never wrapped: an id an operator copies (a release id).
    Whole,
}

/// A borderless table: a header row, then the rows, columns two spaces
/// apart (one after a first column without a header, a mark), each line
/// indented by `indent` spaces. With a width, the widest
/// cells wrap so that every line fits; with `None` nothing wraps.
/// Trailing spaces are trimmed; the text ends with a newline.
pub fn table(
    header: &[&str],
    align: &[Align],
    rows: &[Vec<String>],
    width: Option<usize>,
    indent: usize,
) -> String {
    let mut t = Table::new();
    t.load_preset(comfy_table::presets::NOTHING);
    match width {
        Some(w) => {
            t.set_content_arrangement(ContentArrangement::Dynamic);
            // comfy-table takes a u16; a screen is never that wide.
            t.set_width(u16::try_from(w.saturating_sub(indent)).unwrap_or(u16::MAX));
        }
        None => {
            t.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    t.set_header(header.iter().copied());
    for row in rows {
        t.add_row(row.iter().map(String::as_str));
    }
    for (i, a) in align.iter().enumerate() {
        if let Some(c) = t.column_mut(i) {
            // One space each side of a cell: two between columns. The
            // first column gets none on its left, the last none on its
            // right; a first column without a header (a one-character
            // mark such as `*`) none at all: one space after it.
            let left = u16::from(i > 0);
            let right = u16::from(i + 1 < header.len() && !(i == 0 && header[0].is_empty()));
            c.set_padding((left, right));
            c.set_cell_alignment(match a {
                Align::Left | Align::Whole => CellAlignment::Left,
                Align::Right => CellAlignment::Right,
            });
            if *a == Align::Whole {
                c.set_constraint(comfy_table::ColumnConstraint::ContentWidth);
            }
        }
    }
    let pad = " ".repeat(indent);
    let mut out = String::new();
    for line in t.lines() {
        out.push_str(&pad);
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_wrap_with_a_hanging_indent() {
        let text = "  - rates marked * are unverified: the MediaConnect and single-pipeline MediaLive price lists could not be checked\nshort\n";
        let out = fit(text, Some(40));
        for line in out.lines() {
            assert!(display_width(line) <= 40, "{line:?}");
        }
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[0].starts_with("  - rates"), "{out}");
        assert!(lines[1].starts_with("      "), "{out}");
        assert_eq!(lines.last(), Some(&"short"));
        assert!(out.ends_with('\n'));
        assert_eq!(fit(text, None), text);
    }

    #[test]
    fn a_word_longer_than_the_line_is_broken_and_colour_is_not_counted() {
        let arn = format!("arn:aws:iam::123456789012:role/{}", "x".repeat(60));
        for line in wrap_line(&format!("  caller {arn}"), 40) {
            assert!(display_width(&line) <= 40, "{line:?}");
        }
        assert_eq!(display_width("\x1b[31mred\x1b[0m"), 3);
        assert_eq!(
            wrap_line("\x1b[31mred\x1b[0m", 5),
            vec!["\x1b[31mred\x1b[0m"]
        );
    }

    #[test]
    fn tables_fit_the_width_and_keep_their_columns() {
        let rows = vec![
            vec![
                "MediaLive output AVC HD <=10 Mbps <=30 fps, single-pipeline".to_owned(),
                "500".to_owned(),
                "210.60".to_owned(),
            ],
            vec!["total".to_owned(), String::new(), "654.46".to_owned()],
        ];
        let align = [Align::Left, Align::Right, Align::Right];
        let narrow = table(&["ITEM", "QTY", "$"], &align, &rows, Some(40), 2);
        for line in narrow.lines() {
            assert!(display_width(line) <= 40, "{line:?}\n{narrow}");
            assert!(line.starts_with("  "), "{narrow}");
        }
        assert!(narrow.lines().count() > 3, "the item wraps:\n{narrow}");
        let right_edge: Vec<usize> = narrow
            .lines()
            .filter(|l| l.ends_with("210.60") || l.ends_with("654.46"))
            .map(display_width)
            .collect();
        assert_eq!(right_edge.len(), 2, "{narrow}");
        assert_eq!(right_edge[0], right_edge[1], "{narrow}");
        let wide = table(&["ITEM", "QTY", "$"], &align, &rows, None, 0);
        assert_eq!(wide.lines().count(), 3, "{wide}");
        assert!(wide
            .lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("MediaLive output")));
    }
}
