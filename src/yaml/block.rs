//! The fast path for the YAML real manifests are written in: block mappings and sequences,
//! plain and one-line quoted scalars, literal block scalars, comments, `{}` and `[]`.
//!
//! It reads one piece (see [`super::reader::split_documents`]) line by line, borrowing
//! scalar text from the input, and drives the same [`Builder`] as the full parser, so key
//! resolution, duplicate keys, annotation text, empty entries and the size count are one
//! code path for both readers. Whatever it does not know for certain — flow collections,
//! anchors, aliases, tags, folded or multi-line scalars, complex keys, tabs in indentation,
//! unusual characters, any error — makes it give up (`None`), and the caller reads the
//! piece again with granit-parser. It never reports an error of its own: an error's text
//! and position are always the full parser's.
//!
//! The two readers must agree on every document the fast path accepts: the differential
//! property test in `tests/yaml_fast_path.rs` and the `yaml_read` fuzz target check that.

use std::borrow::Cow;

use granit_parser::{Marker, ScalarStyle};
use serde_json::Value;

use super::reader::{Builder, Limits};

/// The fast path gave up: read the piece with the full parser.
struct GiveUp;

type Step<T> = Result<T, GiveUp>;

/// Nesting deeper than this is left to the full parser (which enforces the real limit);
/// it keeps this reader's recursion shallow.
const MAX_DEPTH: usize = 128;

/// Reads the first document of `src` into `b`, or `None` when the fast path does not
/// apply (the builder is then in an unspecified state and must be discarded).
pub(super) fn read(src: &str, b: &mut Builder<'_>, limits: Limits) -> Option<Value> {
    let bytes = src.as_bytes();
    if !tame_bytes(bytes) {
        return None;
    }
    let mut r = BlockReader {
        src,
        b: bytes,
        pos: 0,
        builder: b,
        depth: 0,
        max_depth: MAX_DEPTH.min(limits.max_depth),
        peeked: std::cell::Cell::new(None),
    };
    r.document().ok()?;
    b.take_root()
}

/// Bytes the fast path can take at face value: no control characters but tab and line
/// feed, no carriage return (kyaml turned CRLF into LF already; a lone CR is a line break
/// to YAML), and none of the characters YAML treats specially (NEL, LS, PS, BOM,
/// non-characters) or rejects (C1 controls, DEL).
fn tame_bytes(b: &[u8]) -> bool {
    let mut i = 0;
    while i < b.len() {
        // Runs of printable ASCII, tab and line feed: eight at a time while they last.
        while i + 8 <= b.len() && b[i..i + 8].iter().all(|&c| ASCII_TEXT[c as usize]) {
            i += 8;
        }
        if i >= b.len() {
            break;
        }
        let c = b[i];
        if ASCII_TEXT[c as usize] {
            i += 1;
            continue;
        }
        match c {
            0xC2 if matches!(b.get(i + 1), Some(0x80..=0x9F)) => return false,
            0xE2 if b.get(i + 1) == Some(&0x80) && matches!(b.get(i + 2), Some(0xA8 | 0xA9)) => {
                return false
            }
            0xEF if b.get(i + 1) == Some(&0xBB) && b.get(i + 2) == Some(&0xBF) => return false,
            0xEF if b.get(i + 1) == Some(&0xBF) && matches!(b.get(i + 2), Some(0xBE | 0xBF)) => {
                return false
            }
            0x80..=0xFF => {}
            _ => return false,
        }
        i += 1;
    }
    true
}

/// Printable ASCII, tab and line feed.
static ASCII_TEXT: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0x20;
    while c < 0x7F {
        t[c] = true;
        c += 1;
    }
    t[b'\t' as usize] = true;
    t[b'\n' as usize] = true;
    t
};

/// One line with content (not blank, not only a comment).
#[derive(Clone, Copy)]
struct Line {
    /// Index of the first byte of the line.
    start: usize,
    /// Spaces before the content.
    indent: usize,
    /// Index just past the line's last byte (its `\n`, or the end of the input).
    end: usize,
}

impl Line {
    fn body(&self) -> usize {
        self.start + self.indent
    }
}

struct BlockReader<'s, 'b, 'r> {
    src: &'s str,
    b: &'s [u8],
    /// Start of the next unread line.
    pos: usize,
    builder: &'b mut Builder<'r>,
    depth: usize,
    max_depth: usize,
    /// The last [`Self::peek_line`] answer, and the `pos` it was for.
    peeked: std::cell::Cell<Option<(usize, Option<Line>)>>,
}

fn mark() -> Marker {
    Marker::new(0, 1, 0)
}

fn ok<T, E>(r: Result<T, E>) -> Step<T> {
    r.map_err(|_| GiveUp)
}

impl<'s> BlockReader<'s, '_, '_> {
    fn line_end(&self, from: usize) -> usize {
        memchr::memchr(b'\n', &self.b[from..]).map_or(self.b.len(), |p| from + p)
    }

    /// The next line with content at or after `self.pos`, skipping blank and comment lines;
    /// `self.pos` is not moved.
    fn peek_line(&self) -> Step<Option<Line>> {
        // The same line is asked for by the value that ends before it and by the
        // collection that goes on with it.
        if let Some((pos, line)) = self.peeked.get() {
            if pos == self.pos {
                return Ok(line);
            }
        }
        let line = self.peek_line_raw()?;
        match line {
            // `---` or `...` at the start of a line: a document marker, not content.
            Some(l) if l.indent == 0 && is_document_marker(self.b, l.start, l.end) => Err(GiveUp),
            _ => {
                self.peeked.set(Some((self.pos, line)));
                Ok(line)
            }
        }
    }

    /// [`Self::peek_line`] without the document-marker check.
    fn peek_line_raw(&self) -> Step<Option<Line>> {
        let mut start = self.pos;
        while start < self.b.len() {
            let end = self.line_end(start);
            let mut i = start;
            while i < end && self.b[i] == b' ' {
                i += 1;
            }
            match self.b.get(i) {
                _ if i == end => {}
                Some(b'#') => {}
                Some(b'\t') => return Err(GiveUp),
                _ => {
                    return Ok(Some(Line {
                        start,
                        indent: i - start,
                        end,
                    }))
                }
            }
            start = end + 1;
        }
        Ok(None)
    }

    fn enter(&mut self) -> Step<()> {
        self.depth += 1;
        if self.depth > self.max_depth {
            return Err(GiveUp);
        }
        Ok(())
    }

    fn document(&mut self) -> Step<()> {
        let Some(mut first) = self.peek_line_raw()? else {
            // Only comments: the full parser decides what an empty piece is.
            return Err(GiveUp);
        };
        if first.indent == 0 && self.b[first.start..].starts_with(b"---") {
            // An explicit document start, alone on its line or before a comment.
            let after = first.start + 3;
            if !rest_is_comment(self.b, after, first.end) {
                return Err(GiveUp);
            }
            self.pos = first.end + 1;
            first = match self.peek_line()? {
                Some(l) => l,
                None => return Err(GiveUp),
            };
        }
        self.node_at(first, false)?;
        // Anything after the root node (a second root, `...`, `---`): not ours.
        if self.peek_line()?.is_some() {
            return Err(GiveUp);
        }
        Ok(())
    }

    /// A block collection whose first line is `line`.
    fn node_at(&mut self, line: Line, _indentless: bool) -> Step<()> {
        let body = line.body();
        if is_entry(self.b, body, line.end) {
            self.sequence(line.indent, body, line.end)
        } else if self.key_at(body, line.end)?.is_some() {
            self.mapping(line.indent, body, line.end)
        } else {
            Err(GiveUp)
        }
    }

    /// Where an entry's value starts on its line, after the `-` or `:` that ends at `from`:
    /// `None` when the line has nothing more (or only a comment).
    fn value_start(&self, from: usize, end: usize) -> Step<Option<usize>> {
        let mut i = from;
        while i < end && self.b[i] == b' ' {
            i += 1;
        }
        match self.b[..end].get(i) {
            None | Some(b'#') => Ok(None),
            Some(b'\t') => Err(GiveUp),
            Some(_) => Ok(Some(i)),
        }
    }

    /// A block sequence at `indent`; its first `-` is at `at`.
    fn sequence(&mut self, indent: usize, mut at: usize, mut end: usize) -> Step<()> {
        self.enter()?;
        ok(self.builder.start_sequence(0, mark()))?;
        loop {
            match self.value_start(at + 1, end)? {
                None => {
                    self.pos = end + 1;
                    self.empty_value(indent, false)?;
                }
                // `- - x`: a compact nested sequence.
                Some(i) if is_entry(self.b, i, end) => return Err(GiveUp),
                // `- key: value`: a compact mapping at the item's column.
                Some(i) if self.key_at(i, end)?.is_some() => {
                    self.mapping(i - (at - indent), i, end)?
                }
                Some(i) => self.inline_value(indent, i, end)?,
            }
            match self.peek_line()? {
                Some(l) if l.indent == indent && is_entry(self.b, l.body(), l.end) => {
                    at = l.body();
                    end = l.end;
                }
                Some(l) if l.indent > indent => return Err(GiveUp),
                _ => break,
            }
        }
        ok(self.builder.end_collection(mark()))?;
        self.depth -= 1;
        Ok(())
    }

    /// A block mapping at `indent`; its first key starts at `at`.
    fn mapping(&mut self, indent: usize, mut at: usize, mut end: usize) -> Step<()> {
        self.enter()?;
        ok(self.builder.start_mapping(0, false, mark()))?;
        loop {
            let Some(key) = self.key_at(at, end)? else {
                return Err(GiveUp);
            };
            ok(self.builder.scalar(key.text, None, key.style, 0, mark()))?;
            match self.value_start(key.after_colon, end)? {
                None => {
                    self.pos = end + 1;
                    self.empty_value(indent, true)?;
                }
                Some(i) => self.inline_value(indent, i, end)?,
            }
            match self.peek_line()? {
                Some(l) if l.indent == indent && !is_entry(self.b, l.body(), l.end) => {
                    at = l.body();
                    end = l.end;
                }
                Some(l) if l.indent >= indent => return Err(GiveUp),
                _ => break,
            }
        }
        ok(self.builder.end_collection(mark()))?;
        self.depth -= 1;
        Ok(())
    }

    /// The value of an entry with nothing after `key:` or `-` on its line: a block node on
    /// the following lines, an indentless sequence (map values only), or null.
    fn empty_value(&mut self, parent_indent: usize, map_value: bool) -> Step<()> {
        match self.peek_line()? {
            Some(l) if l.indent > parent_indent => self.node_at(l, false),
            Some(l)
                if map_value && l.indent == parent_indent && is_entry(self.b, l.body(), l.end) =>
            {
                self.sequence(l.indent, l.body(), l.end)
            }
            _ => ok(self
                .builder
                .scalar(Cow::Borrowed(""), None, ScalarStyle::Plain, 0, mark())),
        }
    }

    /// A value that starts on the entry's line at `i` (before the line's end `end`).
    fn inline_value(&mut self, parent_indent: usize, i: usize, end: usize) -> Step<()> {
        let b = self.b;
        // The end of the last line the value takes.
        let mut last_end = end;
        match b[i] {
            b'|' => return self.literal(parent_indent, i, end),
            b'"' | b'\'' => {
                let (text, after) = quoted_lines(self.src, i, end, Some(parent_indent))?;
                last_end = self.line_end(after);
                if !rest_is_comment(b, after, last_end) {
                    return Err(GiveUp);
                }
                let style = if b[i] == b'"' {
                    ScalarStyle::DoubleQuoted
                } else {
                    ScalarStyle::SingleQuoted
                };
                ok(self.builder.scalar(text, None, style, 0, mark()))?;
            }
            b'{' | b'[' => {
                let mut flow = Flow {
                    src: self.src,
                    i,
                    end,
                    depth: self.depth,
                    max_depth: self.max_depth,
                };
                flow.node(self.builder)?;
                if !rest_is_comment(b, flow.i, end) {
                    return Err(GiveUp);
                }
            }
            _ => {
                let (first, comment) = plain_value(self.src, i, end)?;
                self.pos = end + 1;
                if !comment {
                    return self.plain_lines(parent_indent, first);
                }
                // A comment ends the scalar on its first line.
                ok(self
                    .builder
                    .scalar(Cow::Borrowed(first), None, ScalarStyle::Plain, 0, mark()))?;
            }
        }
        self.pos = last_end + 1;
        // A more indented line would continue a plain scalar over lines, or be an error.
        match self.peek_line()? {
            Some(l) if l.indent > parent_indent => Err(GiveUp),
            _ => Ok(()),
        }
    }

    /// A plain scalar whose first line is `first`, continued on the following lines that are
    /// indented more than its collection (`parent_indent`): lines join with a space, and
    /// each blank line between them is a line break.
    fn plain_lines(&mut self, parent_indent: usize, first: &'s str) -> Step<()> {
        let b = self.b;
        let mut text: Option<String> = None;
        let mut blanks = 0;
        let mut line = self.pos;
        let mut consumed = self.pos;
        while line < b.len() {
            let line_end = self.line_end(line);
            let spaces = b[line..line_end].iter().take_while(|&&c| c == b' ').count();
            let body = line + spaces;
            if body == line_end {
                blanks += 1;
                line = line_end + 1;
                continue;
            }
            if spaces <= parent_indent || b[body] == b'#' {
                // The scalar ended: a line of the parent, or a comment (after which a more
                // indented line would be an error, caught below).
                break;
            }
            let more = plain_continuation(self.src, body, line_end)?;
            let t = text.get_or_insert_with(|| first.to_string());
            if blanks == 0 {
                t.push(' ');
            } else {
                t.extend(std::iter::repeat_n('\n', blanks));
            }
            t.push_str(more);
            blanks = 0;
            line = line_end + 1;
            consumed = line;
        }
        self.pos = consumed;
        let text = match text {
            Some(t) => Cow::Owned(t),
            None => Cow::Borrowed(first),
        };
        ok(self
            .builder
            .scalar(text, None, ScalarStyle::Plain, 0, mark()))?;
        match self.peek_line()? {
            Some(l) if l.indent > parent_indent => Err(GiveUp),
            _ => Ok(()),
        }
    }

    /// A literal block scalar (`|`, `|-`, `|+`, with an optional indentation digit) whose
    /// indicator is at `i`; the entry belongs to a collection at `parent_indent`.
    fn literal(&mut self, parent_indent: usize, i: usize, end: usize) -> Step<()> {
        let b = self.b;
        let mut j = i + 1;
        let mut chomp = b' ';
        let mut explicit = 0usize;
        while j < end && j < i + 3 {
            match b[j] {
                c @ (b'-' | b'+') if chomp == b' ' => chomp = c,
                c @ b'1'..=b'9' if explicit == 0 => explicit = (c - b'0') as usize,
                _ => break,
            }
            j += 1;
        }
        if !rest_is_comment(b, j, end) || end == b.len() {
            return Err(GiveUp);
        }
        // Leading blank lines, then the first content line sets the indentation.
        let mut start = end + 1;
        let mut max_blank = 0;
        let indent = loop {
            if start >= b.len() {
                return Err(GiveUp);
            }
            let line_end = self.line_end(start);
            let spaces = b[start..line_end]
                .iter()
                .take_while(|&&c| c == b' ')
                .count();
            if start + spaces < line_end {
                if b[start + spaces] == b'\t' {
                    // A tab where libyaml expects indentation: an error.
                    return Err(GiveUp);
                }
                if explicit > 0 {
                    break parent_indent + explicit;
                }
                if spaces <= parent_indent || spaces < max_blank {
                    // An empty block scalar, or leading blanks longer than the content's
                    // indentation (an error): both the full parser's business.
                    return Err(GiveUp);
                }
                break spaces;
            }
            if line_end == b.len() {
                return Err(GiveUp);
            }
            max_blank = max_blank.max(spaces);
            start = line_end + 1;
        };
        if explicit > 0 && max_blank > indent {
            return Err(GiveUp);
        }
        // Content lines: indented at least `indent`, or blank (shorter). `text` collects the
        // lines with their breaks; `pending` counts breaks not yet known to be interior.
        let mut text = String::new();
        let mut pending = 0usize;
        let mut line = end + 1;
        let mut seen_content = false;
        while line < b.len() {
            let line_end = self.line_end(line);
            let spaces = b[line..line_end].iter().take_while(|&&c| c == b' ').count();
            if line + spaces == line_end && spaces <= indent {
                // Blank within the scalar.
                if line_end == b.len() {
                    return Err(GiveUp);
                }
                pending += 1;
                line = line_end + 1;
                continue;
            }
            if spaces < indent {
                break;
            }
            if line_end == b.len() {
                // The last line has no line feed: libyaml's end-of-input rules apply.
                return Err(GiveUp);
            }
            if seen_content {
                pending += 1;
            }
            text.extend(std::iter::repeat_n('\n', pending));
            pending = 0;
            text.push_str(&self.src[line + indent..line_end]);
            seen_content = true;
            line = line_end + 1;
        }
        if !seen_content {
            return Err(GiveUp);
        }
        // `pending` holds the breaks after the last content line, less its own.
        match chomp {
            b'-' => {}
            b'+' => text.extend(std::iter::repeat_n('\n', pending + 1)),
            _ => text.push('\n'),
        }
        self.pos = line;
        ok(self
            .builder
            .scalar(Cow::Owned(text), None, ScalarStyle::Literal, 0, mark()))?;
        match self.peek_line()? {
            Some(l) if l.indent > parent_indent => Err(GiveUp),
            _ => Ok(()),
        }
    }

    /// The key of a mapping entry starting at `i`: its text, style, and the index after
    /// its `:`. `None` when the line is not a `key:` line.
    fn key_at(&self, i: usize, end: usize) -> Step<Option<Key<'s>>> {
        let b = self.b;
        match b[i] {
            b'"' | b'\'' => {
                let Ok((text, after)) = quoted(self.src, i, end) else {
                    return Ok(None);
                };
                let mut j = after;
                while j < end && b[j] == b' ' {
                    j += 1;
                }
                if j < end && b[j] == b':' && (j + 1 == end || b[j + 1] == b' ') {
                    if j - i > 1000 {
                        return Err(GiveUp);
                    }
                    let style = if b[i] == b'"' {
                        ScalarStyle::DoubleQuoted
                    } else {
                        ScalarStyle::SingleQuoted
                    };
                    return Ok(Some(Key {
                        text,
                        style,
                        after_colon: j + 1,
                    }));
                }
                Ok(None)
            }
            // `-x` starts a plain scalar; `- ` is an entry, never a key.
            b'-' if is_entry(b, i, end) => Ok(None),
            c if c != b'-' && is_indicator(c) => Ok(None),
            _ => {
                let mut j = i;
                while j < end {
                    match b[j] {
                        b':' if j + 1 == end || b[j + 1] == b' ' => {
                            let text = self.src[i..j].trim_end_matches(' ');
                            if j - i > 1000 || text.contains('\t') {
                                return Err(GiveUp);
                            }
                            return Ok(Some(Key {
                                text: Cow::Borrowed(text),
                                style: ScalarStyle::Plain,
                                after_colon: j + 1,
                            }));
                        }
                        b'#' if b[j - 1] == b' ' => return Ok(None),
                        b'\t' => return Err(GiveUp),
                        _ => {}
                    }
                    j += 1;
                }
                Ok(None)
            }
        }
    }
}

struct Key<'s> {
    text: Cow<'s, str>,
    style: ScalarStyle,
    after_colon: usize,
}

/// Characters that cannot start a plain scalar (or start something else) in block context.
fn is_indicator(c: u8) -> bool {
    matches!(
        c,
        b'-' | b'?'
            | b':'
            | b','
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'#'
            | b'&'
            | b'*'
            | b'!'
            | b'|'
            | b'>'
            | b'\''
            | b'"'
            | b'%'
            | b'@'
            | b'`'
    )
}

/// `-` followed by a space or the end of the line: a sequence entry.
fn is_entry(b: &[u8], i: usize, end: usize) -> bool {
    b[i] == b'-' && (i + 1 == end || b[i + 1] == b' ')
}

/// Only spaces, then nothing or a comment (a `#` after at least one space), up to `end`.
fn rest_is_comment(b: &[u8], from: usize, end: usize) -> bool {
    let mut j = from;
    while j < end && b[j] == b' ' {
        j += 1;
    }
    j == end || (b[j] == b'#' && j > from)
}

/// The first line of a plain scalar value, from `i` to the line's end or a comment,
/// trailing spaces trimmed; and whether a comment ended it.
fn plain_value(src: &str, i: usize, end: usize) -> Step<(&str, bool)> {
    let b = src.as_bytes();
    let c = b[i];
    if is_indicator(c) && (c != b'-' || is_entry(b, i, end)) {
        return Err(GiveUp);
    }
    let mut j = i;
    let mut stop = end;
    while j < end {
        match b[j] {
            b':' if j + 1 == end || b[j + 1] == b' ' => return Err(GiveUp),
            b'#' if b[j - 1] == b' ' => {
                stop = j;
                break;
            }
            b'\t' => return Err(GiveUp),
            _ => {}
        }
        j += 1;
    }
    Ok((src[i..stop].trim_end_matches(' '), stop < end))
}

/// A quoted scalar that opens at `i` and closes on the same line: its value and the index
/// after the closing quote.
fn quoted(src: &str, i: usize, end: usize) -> Step<(Cow<'_, str>, usize)> {
    quoted_lines(src, i, end, None)
}

/// A quoted scalar that opens at `i`, before `end` or, with `lines: Some(parent_indent)`,
/// on the following lines indented more than `parent_indent`. Line breaks fold as
/// libyaml folds them in quoted scalars: blanks around a break are dropped, one break is a
/// space, each further (blank) line a `\n`. Returns the value and the index after the
/// closing quote.
fn quoted_lines(
    src: &str,
    i: usize,
    end: usize,
    lines: Option<usize>,
) -> Step<(Cow<'_, str>, usize)> {
    let b = src.as_bytes();
    let quote = b[i];
    let limit = if lines.is_some() { b.len() } else { end };
    let mut j = i + 1;
    // Text is borrowed until something (an escape, a fold) makes it differ from the input.
    let mut owned: Option<String> = None;
    let mut run = j;
    // Where the raw blanks before `j` start (never before `run`): a fold drops them;
    // blanks written as escapes stay.
    let mut blanks_from: Option<usize> = None;
    while j < limit {
        let c = b[j];
        if c == quote {
            if quote == b'\'' && j + 1 < limit && b[j + 1] == b'\'' {
                let s = owned.get_or_insert_with(String::new);
                s.push_str(&src[run..=j]);
                blanks_from = None;
                j += 2;
                run = j;
                continue;
            }
            let text = match owned {
                Some(mut s) => {
                    s.push_str(&src[run..j]);
                    Cow::Owned(s)
                }
                None => Cow::Borrowed(&src[run..j]),
            };
            return Ok((text, j + 1));
        }
        match c {
            b'\\' if quote == b'"' => {
                let s = owned.get_or_insert_with(String::new);
                s.push_str(&src[run..j]);
                let (ch, len) = escape(b, j + 1, limit)?;
                s.push(ch);
                blanks_from = None;
                j += 1 + len;
                run = j;
            }
            b'\n' => {
                let Some(parent_indent) = lines else {
                    return Err(GiveUp);
                };
                let s = owned.get_or_insert_with(String::new);
                s.push_str(&src[run..blanks_from.unwrap_or(j)]);
                // Count the breaks and skip the next content line's leading blanks.
                let mut breaks = 0;
                loop {
                    breaks += 1;
                    j += 1;
                    let line = j;
                    while j < b.len() && (b[j] == b' ' || b[j] == b'\t') {
                        j += 1;
                    }
                    if j < b.len() && b[j] == b'\n' {
                        continue;
                    }
                    let spaces = b[line..j].iter().take_while(|&&c| c == b' ').count();
                    if j >= b.len() || spaces <= parent_indent || b[line..j].contains(&b'\t') {
                        return Err(GiveUp);
                    }
                    break;
                }
                if breaks == 1 {
                    s.push(' ');
                } else {
                    s.extend(std::iter::repeat_n('\n', breaks - 1));
                }
                blanks_from = None;
                run = j;
            }
            b' ' | b'\t' => {
                blanks_from.get_or_insert(j);
                j += 1;
            }
            _ => {
                blanks_from = None;
                j += 1;
            }
        }
    }
    Err(GiveUp)
}

/// The character of a double-quoted escape whose letter is at `i`, and the escape's length
/// after the backslash.
fn escape(b: &[u8], i: usize, end: usize) -> Step<(char, usize)> {
    if i >= end {
        return Err(GiveUp);
    }
    let simple = match b[i] {
        b'0' => '\0',
        b'a' => '\x07',
        b'b' => '\x08',
        b't' => '\t',
        b'n' => '\n',
        b'v' => '\x0B',
        b'f' => '\x0C',
        b'r' => '\r',
        b'e' => '\x1B',
        b' ' => ' ',
        b'"' => '"',
        b'/' => '/',
        b'\\' => '\\',
        b'N' => '\u{85}',
        b'_' => '\u{A0}',
        b'L' => '\u{2028}',
        b'P' => '\u{2029}',
        b'x' => return hex_escape(b, i + 1, 2, end),
        b'u' => return hex_escape(b, i + 1, 4, end),
        b'U' => return hex_escape(b, i + 1, 8, end),
        _ => return Err(GiveUp),
    };
    Ok((simple, 1))
}

fn hex_escape(b: &[u8], i: usize, digits: usize, end: usize) -> Step<(char, usize)> {
    if i + digits > end {
        return Err(GiveUp);
    }
    let hex = std::str::from_utf8(&b[i..i + digits]).map_err(|_| GiveUp)?;
    let v = u32::from_str_radix(hex, 16).map_err(|_| GiveUp)?;
    let c = char::from_u32(v).ok_or(GiveUp)?;
    Ok((c, 1 + digits))
}

/// A line that is `---` or `...` alone or before a blank: a document marker.
fn is_document_marker(b: &[u8], start: usize, end: usize) -> bool {
    let line = &b[start..end];
    (line.starts_with(b"---") || line.starts_with(b"..."))
        && matches!(line.get(3), None | Some(b' ' | b'\t'))
}

/// A continuation line of a plain scalar, from its first non-space at `i`: the whole line
/// but trailing spaces. Anything that would end the scalar or make it an error (`: `, a
/// comment, a tab) is the full parser's.
fn plain_continuation(src: &str, i: usize, end: usize) -> Step<&str> {
    let b = src.as_bytes();
    let mut j = i;
    while j < end {
        match b[j] {
            b':' if j + 1 == end || b[j + 1] == b' ' => return Err(GiveUp),
            b'#' if b[j - 1] == b' ' => return Err(GiveUp),
            b'\t' => return Err(GiveUp),
            _ => {}
        }
        j += 1;
    }
    Ok(src[i..end].trim_end_matches(' '))
}

/// A flow collection written on one line (`[a, "b"]`, `{k: v, n: [1]}`): plain items
/// without `:` or `#`, one-line quoted items, nested flow collections. Empty entries,
/// missing values, `?` keys and anything spanning lines are the full parser's.
struct Flow<'s> {
    src: &'s str,
    i: usize,
    end: usize,
    depth: usize,
    max_depth: usize,
}

impl<'s> Flow<'s> {
    fn skip_spaces(&mut self) {
        let b = self.src.as_bytes();
        while self.i < self.end && b[self.i] == b' ' {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.src.as_bytes()[..self.end].get(self.i).copied()
    }

    /// The node at `self.i` (a collection or a scalar), into `builder`.
    fn node(&mut self, builder: &mut Builder<'_>) -> Step<()> {
        match self.peek() {
            Some(b'[') => self.collection(builder, false),
            Some(b'{') => self.collection(builder, true),
            _ => {
                let (text, style) = self.scalar()?;
                ok(builder.scalar(text, None, style, 0, mark()))
            }
        }
    }

    fn collection(&mut self, builder: &mut Builder<'_>, map: bool) -> Step<()> {
        self.depth += 1;
        if self.depth > self.max_depth {
            return Err(GiveUp);
        }
        let close = if map { b'}' } else { b']' };
        if map {
            ok(builder.start_mapping(0, true, mark()))?;
        } else {
            ok(builder.start_sequence(0, mark()))?;
        }
        self.i += 1;
        self.skip_spaces();
        if self.peek() == Some(close) {
            self.i += 1;
        } else {
            loop {
                if map {
                    let (key, style) = self.scalar()?;
                    ok(builder.scalar(key, None, style, 0, mark()))?;
                    self.skip_spaces();
                    let b = self.src.as_bytes();
                    if self.peek() != Some(b':') || !matches!(b.get(self.i + 1), Some(b' ')) {
                        return Err(GiveUp);
                    }
                    self.i += 1;
                    self.skip_spaces();
                }
                if matches!(self.peek(), None | Some(b',' | b']' | b'}')) {
                    return Err(GiveUp);
                }
                self.node(builder)?;
                self.skip_spaces();
                match self.peek() {
                    Some(b',') => {
                        self.i += 1;
                        self.skip_spaces();
                        // A trailing comma is allowed in YAML; leave it to the full parser.
                        if matches!(self.peek(), None | Some(b']' | b'}')) {
                            return Err(GiveUp);
                        }
                    }
                    Some(c) if c == close => {
                        self.i += 1;
                        break;
                    }
                    _ => return Err(GiveUp),
                }
            }
        }
        self.depth -= 1;
        ok(builder.end_collection(mark()))
    }

    /// A `-` that starts a plain scalar (not followed by a blank or a flow indicator).
    fn plain_dash(&self) -> bool {
        let next = self.src.as_bytes()[..self.end].get(self.i + 1);
        !matches!(
            next,
            None | Some(b' ' | b'\t' | b',' | b'[' | b']' | b'{' | b'}')
        )
    }

    /// A quoted scalar, or a plain one up to the next `,`, `]`, `}` (trailing spaces
    /// trimmed).
    fn scalar(&mut self) -> Step<(Cow<'s, str>, ScalarStyle)> {
        let b = self.src.as_bytes();
        match self.peek() {
            Some(q @ (b'"' | b'\'')) => {
                let (text, after) = quoted(self.src, self.i, self.end)?;
                self.i = after;
                let style = if q == b'"' {
                    ScalarStyle::DoubleQuoted
                } else {
                    ScalarStyle::SingleQuoted
                };
                Ok((text, style))
            }
            Some(c) if !is_indicator(c) || c == b'-' && self.plain_dash() => {
                let start = self.i;
                while self.i < self.end {
                    match b[self.i] {
                        b',' | b'[' | b']' | b'{' | b'}' => break,
                        b':' | b'#' | b'\t' | b'"' | b'\'' => return Err(GiveUp),
                        _ => self.i += 1,
                    }
                }
                let text = self.src[start..self.i].trim_end_matches(' ');
                Ok((Cow::Borrowed(text), ScalarStyle::Plain))
            }
            _ => Err(GiveUp),
        }
    }
}
