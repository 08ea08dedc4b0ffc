//! Writing a new value in place of a scalar: the bytes to splice, chosen so the scalar
//! keeps its style unless the new value cannot be read back in that style.
//!
//! Flux keeps the node's style and then applies kyaml's `FormatNonStringStyle`: a plain
//! value that YAML 1.1 would read as a non-string (`1.10`, `yes`, `0x1F`) is
//! double-quoted; go-yaml v3's encoder then double-quotes plain values that YAML 1.2
//! would not read as a string (the empty string, `null`, timestamps), and its emitter
//! falls back from plain to single-quoted to double-quoted when the characters demand it
//! (`a: b`, a leading `-`, a trailing space). The same decisions are made here, on the
//! scalar alone: a quoted scalar stays quoted, a `|`/`>` block stays a block when the value
//! fits one, and every value is written on one line otherwise (escaped in double quotes).

use std::ops::Range;

use crate::yaml::resolve::{resolve_plain, Resolved};
use crate::yaml::spans::{ScalarSpan, Style};
use crate::yaml::{read_document, Dialect, Limits};

/// Replace `range` of the original bytes with `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Splice {
    /// Byte offsets into the original.
    pub range: Range<usize>,
    /// The replacement bytes.
    pub text: String,
}

/// The splices that make `scalar` hold `value`.
pub fn replacement(src: &[u8], scalar: &ScalarSpan, value: &str) -> Vec<Splice> {
    match scalar.style {
        Style::Literal | Style::Folded => block_replacement(src, scalar, value),
        style => {
            let mut text = match flow_style(style, value, scalar.in_flow) {
                Out::Plain => value.to_string(),
                Out::Single => single_quoted(value),
                Out::Double => double_quoted(value),
            };
            // An empty scalar has no bytes of its own: keep the new text off the tag or
            // indicator it would otherwise touch.
            if scalar.span.is_empty()
                && scalar.span.start > 0
                && !matches!(src.get(scalar.span.start - 1), Some(b' ' | b'\t' | b'\n'))
            {
                text.insert(0, ' ');
            }
            vec![Splice {
                range: scalar.span.clone(),
                text,
            }]
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Out {
    Plain,
    Single,
    Double,
}

fn flow_style(style: Style, value: &str, in_flow: bool) -> Out {
    let a = analyze(value);
    match style {
        Style::DoubleQuoted => Out::Double,
        Style::SingleQuoted if a.single_ok => Out::Single,
        Style::Plain if !reads_back_as_string(value) => Out::Double,
        Style::Plain if (in_flow && a.flow_plain_ok) || (!in_flow && a.block_plain_ok) => {
            Out::Plain
        }
        Style::Plain if a.single_ok => Out::Single,
        _ => Out::Double,
    }
}

/// Would `value`, written plain, read back as the same string under both YAML 1.1 (what
/// kyaml checks, and what older consumers use) and YAML 1.2 (go-yaml v3)?
fn reads_back_as_string(value: &str) -> bool {
    if !matches!(resolve_plain(value, Dialect::V3), Resolved::Str) {
        return false;
    }
    if value.is_empty() || value.contains('\n') {
        return true;
    }
    // kyaml asks a YAML 1.1 parser to read the whole value; anything but a string
    // (a number, a bool, null, a map for `a: b`) must be quoted. A value that fails to
    // parse is left to the character rules.
    match read_document(value.as_bytes(), Dialect::V2, Limits::default()) {
        Ok(Some(v)) => v.is_string(),
        // Only a comment, or `---`: Go reads nil.
        Ok(None) => false,
        Err(_) => true,
    }
}

/// go-yaml v3's scalar analysis, for one value on one line.
struct Analysis {
    flow_plain_ok: bool,
    block_plain_ok: bool,
    single_ok: bool,
}

fn is_printable(c: char) -> bool {
    matches!(c, '\n' | '\u{20}'..='\u{7E}' | '\u{85}' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
        && c != '\u{FEFF}'
}

fn is_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn analyze(value: &str) -> Analysis {
    if value.is_empty() {
        return Analysis {
            flow_plain_ok: false,
            block_plain_ok: false,
            single_ok: true,
        };
    }
    let chars: Vec<char> = value.chars().collect();
    let blank_or_end = |i: usize| {
        chars
            .get(i)
            .is_none_or(|&c| c == ' ' || c == '\t' || is_break(c))
    };
    let mut flow_indicators = value.starts_with("---") || value.starts_with("...");
    let mut block_indicators = flow_indicators;
    let mut special = false;
    let mut breaks = false;
    let mut preceded_by_blank = true;
    for (i, &c) in chars.iter().enumerate() {
        let followed_by_blank = blank_or_end(i + 1);
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                '?' | ':' => {
                    flow_indicators = true;
                    block_indicators |= followed_by_blank;
                }
                '-' if followed_by_blank => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                _ => {}
            }
        } else {
            match c {
                ',' | '?' | '[' | ']' | '{' | '}' => flow_indicators = true,
                ':' => {
                    flow_indicators = true;
                    block_indicators |= followed_by_blank;
                }
                '#' if preceded_by_blank => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                _ => {}
            }
        }
        // Tabs and anything unprintable need escapes: double quotes only.
        special |= c == '\t' || !is_printable(c) || c == '\r';
        breaks |= is_break(c);
        preceded_by_blank = c == ' ' || c == '\t' || is_break(c);
    }
    let edge_space = value.starts_with(' ') || value.ends_with(' ');
    let plain_ok = !special && !breaks && !edge_space;
    Analysis {
        flow_plain_ok: plain_ok && !flow_indicators,
        block_plain_ok: plain_ok && !block_indicators,
        // Multi-line single quotes would depend on indentation; keep them to one line.
        single_ok: !special && !breaks,
    }
}

fn single_quoted(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// A one-line double-quoted scalar: `"` and `\` escaped, line breaks, tabs and
/// unprintable characters as escapes.
pub fn double_quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            '\u{85}' => out.push_str("\\N"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            c if (c as u32) < 0x20 || c == '\u{7F}' => {
                out.push_str(&format!("\\x{:02X}", c as u32));
            }
            c if !is_printable(c) => {
                if (c as u32) <= 0xFFFF {
                    out.push_str(&format!("\\u{:04X}", c as u32));
                } else {
                    out.push_str(&format!("\\U{:08X}", c as u32));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A `|` or `>` block keeps its style when the value can be written as block lines with
/// the same indentation; otherwise the block becomes a double-quoted scalar on the header
/// line. Either way a comment on the header line stays where it is, and trailing blank
/// lines after the body are kept (without their spaces).
fn block_replacement(src: &[u8], scalar: &ScalarSpan, value: &str) -> Vec<Splice> {
    let Some(block) = &scalar.block else {
        return vec![Splice {
            range: scalar.span.clone(),
            text: double_quoted(value),
        }];
    };
    let nl = block.line_break;
    let body = src.get(block.body.clone()).unwrap_or_default();
    let kept_blank = nl.repeat(trailing_blank_lines(body));
    let header_line = src
        .get(..block.header.start)
        .and_then(|before| before.iter().rposition(|&c| c == b'\n'))
        .map_or(0, |p| p + 1);
    let before_header = src.get(header_line..block.header.start).unwrap_or_default();
    let splices = |header: String, body: String| {
        vec![
            Splice {
                range: block.header.clone(),
                text: header,
            },
            Splice {
                range: block.body.clone(),
                text: body,
            },
        ]
    };
    if value.is_empty() {
        return splices("|-".into(), kept_blank);
    }
    let fits = !value.starts_with([' ', '\n'])
        && !value.ends_with("\n\n")
        && !value
            .chars()
            .any(|c| (c != '\n' && is_break(c)) || (c != '\t' && !is_printable(c)));
    if !fits {
        // The parser accepts a header alone on its line only when it is indented past its
        // parent, so the quoted scalar can take the header's place as it is.
        return splices(double_quoted(value), kept_blank);
    }
    // The body's own indentation; for an empty body, two more than what starts the
    // header's line (the key, or the node after `- `), which is deeper than the parent.
    let indent = block.indent.unwrap_or_else(|| {
        before_header
            .iter()
            .take_while(|&&c| c == b' ' || c == b'-')
            .count()
            + 2
    });
    let content = value.strip_suffix('\n');
    let lines = content.unwrap_or(value);
    // A folded block would join lines; several lines need a literal one.
    let indicator = if scalar.style == Style::Folded && !lines.contains('\n') {
        '>'
    } else {
        '|'
    };
    let chomp = if content.is_some() { "" } else { "-" };
    let pad = " ".repeat(indent);
    let mut new_body = String::new();
    if src.get(block.body.start.wrapping_sub(1)) != Some(&b'\n') {
        // The header line ends the file: the body needs its own line.
        new_body.push_str(nl);
    }
    for line in lines.split('\n') {
        if !line.is_empty() {
            new_body.push_str(&pad);
            new_body.push_str(line);
        }
        new_body.push_str(nl);
    }
    new_body.push_str(&kept_blank);
    splices(format!("{indicator}{chomp}"), new_body)
}

/// Whitespace-only lines at the end of a block body: not part of the value (or, with
/// `+` chomping, part of the old value only), kept as empty lines after the new body.
fn trailing_blank_lines(body: &[u8]) -> usize {
    body.split_inclusive(|&c| c == b'\n')
        .rev()
        .take_while(|line| line.iter().all(u8::is_ascii_whitespace))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn style_for(value: &str) -> Out {
        flow_style(Style::Plain, value, false)
    }

    #[test]
    fn plain_values_that_read_as_other_types_are_double_quoted() {
        for v in [
            "1.10",
            "123",
            "yes",
            "on",
            "NO",
            "1e3",
            "0x1F",
            "~",
            "null",
            "",
            "2024-01-02",
            "true",
            "<<",
        ] {
            assert_eq!(style_for(v), Out::Double, "{v:?}");
        }
        for v in [
            "v1.10",
            "1.0.1",
            "nginx:1.27",
            "sha256:abc",
            "reg.io/a/b:1-rc.1",
            "a b",
        ] {
            assert_eq!(style_for(v), Out::Plain, "{v:?}");
        }
    }

    #[test]
    fn characters_that_break_plain_style() {
        assert_eq!(style_for("a: b"), Out::Double); // YAML 1.1 reads a map
        assert_eq!(style_for("a #b"), Out::Single);
        assert_eq!(style_for("-x"), Out::Plain);
        assert_eq!(style_for("- x"), Out::Double); // YAML 1.1 reads a list
        assert_eq!(style_for("x "), Out::Single);
        assert_eq!(style_for("tab\there"), Out::Double);
        assert_eq!(flow_style(Style::Plain, "a,b", true), Out::Single);
        assert_eq!(flow_style(Style::Plain, "a,b", false), Out::Plain);
    }

    fn rewrite(src: &str, value: &str) -> String {
        let docs = crate::yaml::spans::scan(src.as_bytes()).unwrap();
        let scalar = docs[0].scalars.last().unwrap();
        let mut splices = replacement(src.as_bytes(), scalar, value);
        splices.sort_by_key(|s| s.range.start);
        let mut out = String::new();
        let mut at = 0;
        for s in splices {
            out.push_str(&src[at..s.range.start]);
            out.push_str(&s.text);
            at = s.range.end;
        }
        out + &src[at..]
    }

    #[test]
    fn blocks_that_cannot_hold_the_value_become_quoted_in_place() {
        assert_eq!(rewrite("a: |\n  x\n", " lead"), "a: \" lead\"\n");
        // A header alone on its line is indented past the key already.
        assert_eq!(
            rewrite("a:\n  |\n    x\n", "bell\u{7}"),
            "a:\n  \"bell\\x07\"\n"
        );
        assert_eq!(
            rewrite("a:\n  |\n    x\n", "tab\t"),
            "a:\n  |-\n    tab\t\n"
        );
        assert_eq!(
            rewrite("a: >-\n  x\n  y\n", "one\ntwo\n"),
            "a: |\n  one\n  two\n"
        );
    }

    #[test]
    fn quoted_scalars_stay_quoted() {
        assert_eq!(flow_style(Style::SingleQuoted, "1.0", false), Out::Single);
        assert_eq!(flow_style(Style::DoubleQuoted, "x", false), Out::Double);
        assert_eq!(flow_style(Style::SingleQuoted, "a\nb", false), Out::Double);
        assert_eq!(single_quoted("it's"), "'it''s'");
        assert_eq!(double_quoted("a\"b\\c\nd\u{1}"), "\"a\\\"b\\\\c\\nd\\x01\"");
    }
}
