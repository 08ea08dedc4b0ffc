//! Where each scalar sits in the original bytes, in which style, and which comments Flux
//! would attach to it: what the setters need to change one value and nothing else.
//!
//! This is toml_edit's idea applied to YAML: instead of a tree that has to be re-serialised,
//! [`scan`] reports the raw byte span of every scalar so that an edit can splice exactly
//! those bytes. It splits a file into documents the way kyaml does (at `\n---` lines, with
//! [`super::reader::split_documents`]), runs libyaml-safer's event parser over each piece
//! (event marks are byte offsets) and records, for every scalar that is not a mapping key:
//!
//! - its decoded value, [`Style`], byte span (without anchor or tag), path from the
//!   document root, and whether it sits in a flow collection;
//! - its *line comment*: a `#` comment after the scalar on the line where it ends, or on
//!   the header line of a `|`/`>` block (go-yaml v3's `LineComment`);
//! - its *head comment*, only for block-sequence items: one comment line directly above
//!   `- value` (go-yaml v3's `HeadComment` there; a two-line head comment is recorded as
//!   none, because Flux could not read a marker from it anyway).
//!
//! Comments are not parser events, so they are found in the source text. A comment only
//! counts if it starts after the end of the previous scalar, so `#` lines inside a block
//! scalar or a multi-line quoted string are never taken for comments.
//!
//! ```
//! use rustomize::yaml::spans::{scan, Style};
//!
//! let src = "spec:\n  image: nginx:1.0 # {\"$imagepolicy\": \"ns:web\"}\n";
//! let docs = scan(src.as_bytes()).unwrap();
//! let image = &docs[0].scalars[0];
//! assert_eq!(image.value, "nginx:1.0");
//! assert_eq!(&src[image.span.clone()], "nginx:1.0");
//! assert_eq!(image.style, Style::Plain);
//! let comment = image.line_comment.as_ref().unwrap();
//! assert_eq!(comment.text, "# {\"$imagepolicy\": \"ns:web\"}");
//! ```
//!
//! What it does not do: resolve plain scalars to types (that is [`super::reader`]'s job),
//! expand aliases, or look inside any document of a piece but the first (as the reader).

use std::ops::Range;

use libyaml_safer::{Event, EventData, MappingStyle, Parser, ScalarStyle, SequenceStyle};

use super::reader::split_documents;
use super::Error;

/// How a scalar is written in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    /// `|` block.
    Literal,
    /// `>` block.
    Folded,
}

/// What a scalar is to its parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The whole document is this scalar.
    Root,
    /// The value of a mapping entry.
    Value,
    /// An element of a sequence.
    Item,
}

/// One step of the path from the document root to a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSeg {
    Key(String),
    Index(usize),
}

/// A comment found in the source: its bytes (from `#` to the end of the line, trailing
/// whitespace excluded) and that text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub span: Range<usize>,
    pub text: String,
}

/// The parts of a `|` or `>` block scalar, for edits that keep the block style.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockParts {
    /// The indicator and its chomping/indentation characters (`|`, `>-`, `|2+` …).
    pub header: Range<usize>,
    /// The lines after the header line, up to the end of the scalar (trailing blank
    /// lines included), each with its line break.
    pub body: Range<usize>,
    /// The smallest indentation of a non-blank body line; `None` for an empty body.
    pub indent: Option<usize>,
    /// The header line's line break (`"\n"` or `"\r\n"`).
    pub line_break: &'static str,
}

/// One scalar that is not a mapping key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScalarSpan {
    /// The decoded value.
    pub value: String,
    pub style: Style,
    /// The scalar's own bytes in the file: after any anchor or tag; for blocks, from the
    /// indicator to the end of the body.
    pub span: Range<usize>,
    /// 1-based line and column (in characters) of `span.start`.
    pub line: usize,
    pub column: usize,
    pub role: Role,
    /// Inside a flow collection (`[...]`, `{...}`), where plain scalars have fewer rights.
    pub in_flow: bool,
    /// Carries an explicit tag such as `!!str`.
    pub tagged: bool,
    pub path: Vec<PathSeg>,
    pub line_comment: Option<Comment>,
    pub head_comment: Option<Comment>,
    /// Set for [`Style::Literal`] and [`Style::Folded`].
    pub block: Option<BlockParts>,
}

/// What the document's top-level node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootKind {
    Mapping,
    Sequence,
    Scalar,
    Alias,
}

/// One non-empty document of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentSpans {
    /// The piece of the file this document was parsed from.
    pub span: Range<usize>,
    /// 1-based line where the piece starts.
    pub line: usize,
    pub root: RootKind,
    /// Every non-key scalar, in document order.
    pub scalars: Vec<ScalarSpan>,
}

/// Scans a YAML stream. Empty and null documents are dropped, as kyaml drops them.
///
/// Errors carry the 1-based line and column: invalid UTF-8, a bad `---` separator, YAML
/// syntax errors.
pub fn scan(bytes: &[u8]) -> Result<Vec<DocumentSpans>, Error> {
    if let Err(e) = std::str::from_utf8(bytes) {
        let (line, column) = line_col(bytes, e.valid_up_to());
        return Err(Error::at("invalid UTF-8 in input", line, column));
    }
    let mut docs = Vec::new();
    for piece in split_documents(bytes)? {
        // `split_documents` hands out subslices of `bytes`.
        let base = (piece.text.as_ptr() as usize).saturating_sub(bytes.as_ptr() as usize);
        if let Some(doc) = scan_piece(bytes, base, piece.text.len(), piece.line)? {
            docs.push(doc);
        }
    }
    Ok(docs)
}

/// Makes input safe for libyaml-safer 0.3, which panics instead of failing on a few
/// inputs: it needs a final line break (a `|` block or a `"…\` at the end of input panics
/// without one), and it cannot handle a tag directly followed by `,` in a flow collection.
/// Returns the text to parse: `bytes`, or a copy with a line break appended.
///
/// The reader ([`super::read_stream`]) shares the parser, so callers that read untrusted
/// files can pass them through here first.
pub fn guard_parser_input(bytes: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>, Error> {
    if let Some(at) = find_tag_before_comma(bytes) {
        let (line, column) = line_col(bytes, at);
        return Err(Error::at(
            "a tag directly followed by ',' is not supported",
            line,
            column,
        ));
    }
    if bytes.is_empty() || bytes.ends_with(b"\n") {
        return Ok(std::borrow::Cow::Borrowed(bytes));
    }
    let mut owned = Vec::with_capacity(bytes.len() + 1);
    owned.extend_from_slice(bytes);
    owned.push(b'\n');
    Ok(std::borrow::Cow::Owned(owned))
}

/// A `!` that starts a token (after whitespace, a line start or a flow indicator) and whose
/// tag runs straight into a `,`. Over-approximates: such text inside a quoted string is
/// reported too, which only costs a parse error on a file nobody writes.
fn find_tag_before_comma(b: &[u8]) -> Option<usize> {
    let mut i = 0;
    while let Some(p) = b
        .get(i..)
        .and_then(|rest| rest.iter().position(|&c| c == b'!'))
    {
        let at = i + p;
        let starts_token = at == 0
            || matches!(
                b.get(at - 1),
                Some(b' ' | b'\t' | b'\n' | b'\r' | b'[' | b'{' | b',' | b':')
            );
        if starts_token {
            let mut j = at + 1;
            while let Some(&c) = b.get(j) {
                if matches!(
                    c,
                    b' ' | b'\t' | b'\n' | b'\r' | b',' | b'[' | b']' | b'{' | b'}'
                ) {
                    break;
                }
                j += 1;
            }
            if b.get(j) == Some(&b',') {
                return Some(at);
            }
        }
        i = at + 1;
    }
    None
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

fn parse_events(text: &[u8]) -> Result<Vec<Event>, Error> {
    let guarded = guard_parser_input(text)?;
    // A panic inside the parser is a bug there, not a property of the input; it must still
    // not take the caller down, so it becomes an error like any other bad input.
    let result = std::panic::catch_unwind(|| {
        let mut parser = Parser::new();
        let mut input: &[u8] = &guarded;
        parser.set_input_string(&mut input);
        let mut events = Vec::new();
        let mut depth = 0usize;
        loop {
            let ev = parser.parse().map_err(|e| convert_error(&e))?;
            let done = match ev.data {
                EventData::StreamEnd | EventData::DocumentEnd { .. } => true,
                EventData::SequenceStart { .. } | EventData::MappingStart { .. } => {
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return Err(Error::at(
                            format!("nesting deeper than {MAX_DEPTH} levels"),
                            ev.start_mark.line as usize + 1,
                            ev.start_mark.column as usize + 1,
                        ));
                    }
                    false
                }
                EventData::SequenceEnd | EventData::MappingEnd => {
                    depth = depth.saturating_sub(1);
                    false
                }
                _ => false,
            };
            events.push(ev);
            if done {
                return Ok(events);
            }
        }
    });
    result.unwrap_or_else(|_| Err(Error::new("the YAML parser failed on this input")))
}

/// Same bound as the reader's default [`super::Limits`].
const MAX_DEPTH: usize = 1000;

fn convert_error(e: &libyaml_safer::Error) -> Error {
    let mut msg = e.problem().to_string();
    if let Some(ctx) = e.context() {
        msg = format!("{msg} {ctx}");
    }
    match e.problem_mark() {
        Some(m) => Error::at(msg, m.line as usize + 1, m.column as usize + 1),
        None => Error::new(msg),
    }
}

fn scan_piece(
    src: &[u8],
    base: usize,
    len: usize,
    first_line: usize,
) -> Result<Option<DocumentSpans>, Error> {
    let piece = src.get(base..base + len).unwrap_or_default();
    let events = parse_events(piece).map_err(|e| e.shifted(first_line - 1))?;
    // libyaml's marks do not count a leading byte-order mark.
    let origin = base + if piece.starts_with(BOM) { BOM.len() } else { 0 };
    let mut w = Walker {
        src,
        origin,
        start: base,
        limit: base + len,
        first_line,
        stack: Vec::new(),
        scalars: Vec::new(),
        last_scalar_end: base,
        root: None,
    };
    for ev in &events {
        w.event(ev);
    }
    Ok(w.root.map(|root| DocumentSpans {
        span: base..base + len,
        line: first_line,
        root,
        scalars: w.scalars,
    }))
}

/// Where a scalar's text is: byte offsets, where its event (properties included) starts,
/// and the 1-based line and column of `start`.
struct Position {
    start: usize,
    end: usize,
    event_start: usize,
    line: usize,
    column: usize,
}

enum Frame {
    Map {
        flow: bool,
        key: Option<String>,
        want_key: bool,
    },
    Seq {
        flow: bool,
        index: usize,
    },
}

struct Walker<'a> {
    src: &'a [u8],
    /// Absolute offset of the parser's index 0.
    origin: usize,
    /// The piece: `start..limit`.
    start: usize,
    limit: usize,
    first_line: usize,
    stack: Vec<Frame>,
    scalars: Vec<ScalarSpan>,
    last_scalar_end: usize,
    root: Option<RootKind>,
}

impl Walker<'_> {
    fn offset(&self, m: libyaml_safer::Mark) -> usize {
        (self.origin + m.index as usize).min(self.limit)
    }

    fn in_flow(&self) -> bool {
        matches!(
            self.stack.last(),
            Some(Frame::Map { flow: true, .. } | Frame::Seq { flow: true, .. })
        )
    }

    fn wants_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Map { want_key: true, .. }))
    }

    /// A child node of the top frame is complete.
    fn child_done(&mut self) {
        match self.stack.last_mut() {
            Some(Frame::Map { key, want_key, .. }) => {
                *key = None;
                *want_key = true;
            }
            Some(Frame::Seq { index, .. }) => *index += 1,
            None => {}
        }
    }

    /// A key is complete: its value comes next.
    fn key_done(&mut self, k: String) {
        if let Some(Frame::Map { key, want_key, .. }) = self.stack.last_mut() {
            *key = Some(k);
            *want_key = false;
        }
    }

    fn path(&self) -> Vec<PathSeg> {
        self.stack
            .iter()
            .map(|f| match f {
                Frame::Map { key, .. } => PathSeg::Key(key.clone().unwrap_or_default()),
                Frame::Seq { index, .. } => PathSeg::Index(*index),
            })
            .collect()
    }

    fn event(&mut self, ev: &Event) {
        match &ev.data {
            EventData::MappingStart { style, .. } => {
                self.open(RootKind::Mapping, *style == MappingStyle::Flow, true)
            }
            EventData::SequenceStart { style, .. } => {
                self.open(RootKind::Sequence, *style == SequenceStyle::Flow, false)
            }
            EventData::MappingEnd | EventData::SequenceEnd => {
                self.stack.pop();
                if self.wants_key() {
                    // A collection used as a key (`? [a, b]`): no usable name.
                    self.key_done(String::from("?"));
                } else {
                    self.child_done();
                }
            }
            EventData::Alias { anchor } => {
                if self.stack.is_empty() {
                    self.root = Some(RootKind::Alias);
                } else if self.wants_key() {
                    self.key_done(format!("*{anchor}"));
                } else {
                    self.child_done();
                }
            }
            EventData::Scalar {
                anchor,
                tag,
                value,
                style,
                ..
            } => {
                let end = self.offset(ev.end_mark);
                if self.wants_key() {
                    self.key_done(value.clone());
                    self.last_scalar_end = end;
                    return;
                }
                let tagged = tag.is_some();
                let role = match self.stack.last() {
                    None => {
                        let null = *style == ScalarStyle::Plain
                            && !tagged
                            && matches!(value.as_str(), "" | "~" | "null" | "Null" | "NULL");
                        if !null {
                            self.root = Some(RootKind::Scalar);
                        }
                        Role::Root
                    }
                    Some(Frame::Map { .. }) => Role::Value,
                    Some(Frame::Seq { .. }) => Role::Item,
                };
                let event_start = self.offset(ev.start_mark);
                let start = if anchor.is_some() || tagged {
                    skip_properties(self.src, event_start, end)
                } else {
                    event_start
                };
                // Position of `start` from the event's mark, without rescanning the file.
                let (mut line, mut column) = (
                    self.first_line + ev.start_mark.line as usize,
                    ev.start_mark.column as usize + 1,
                );
                for c in
                    String::from_utf8_lossy(self.src.get(event_start..start).unwrap_or_default())
                        .chars()
                {
                    if c == '\n' {
                        line += 1;
                        column = 1;
                    } else {
                        column += 1;
                    }
                }
                let at = Position {
                    start,
                    end,
                    event_start,
                    line,
                    column,
                };
                let scalar = self.record(value, *style, at, role, tagged);
                self.last_scalar_end = scalar.span.end.max(end);
                self.scalars.push(scalar);
                self.child_done();
            }
            _ => {}
        }
    }

    fn open(&mut self, kind: RootKind, flow: bool, map: bool) {
        if self.stack.is_empty() {
            self.root = Some(kind);
        }
        let flow = flow || self.in_flow();
        self.stack.push(if map {
            Frame::Map {
                flow,
                key: None,
                want_key: true,
            }
        } else {
            Frame::Seq { flow, index: 0 }
        });
    }

    fn record(
        &self,
        value: &str,
        style: ScalarStyle,
        at: Position,
        role: Role,
        tagged: bool,
    ) -> ScalarSpan {
        let Position {
            start,
            end,
            event_start,
            line,
            column,
        } = at;
        let style = match style {
            ScalarStyle::SingleQuoted => Style::SingleQuoted,
            ScalarStyle::DoubleQuoted => Style::DoubleQuoted,
            ScalarStyle::Literal => Style::Literal,
            ScalarStyle::Folded => Style::Folded,
            _ => Style::Plain,
        };
        let mut scalar = ScalarSpan {
            value: value.to_string(),
            style,
            span: start..end.max(start),
            line,
            column,
            role,
            in_flow: self.in_flow(),
            tagged,
            path: self.path(),
            line_comment: None,
            head_comment: None,
            block: None,
        };
        if matches!(style, Style::Literal | Style::Folded) {
            let block = self.block_parts(start, end);
            scalar.line_comment = comment_after(self.src, block.header.end, self.limit);
            scalar.span = start..block.body.end;
            scalar.block = Some(block);
        } else if start < end {
            // An empty plain scalar has no text of its own; its marks point at whatever
            // follows, so a comment "after" it belongs to something else.
            scalar.line_comment = comment_after(self.src, end, self.limit);
        }
        if role == Role::Item && !scalar.in_flow && scalar.line_comment.is_none() {
            scalar.head_comment = self.head_comment(event_start);
        }
        scalar
    }

    fn block_parts(&self, start: usize, end: usize) -> BlockParts {
        let src = self.src;
        let mut h = start + 1;
        while h < self.limit && matches!(src.get(h), Some(b'0'..=b'9' | b'+' | b'-')) {
            h += 1;
        }
        let header_eol = line_end(src, h, self.limit);
        let line_break = if header_eol > 0 && src.get(header_eol - 1) == Some(&b'\r') {
            "\r\n"
        } else {
            "\n"
        };
        let body_start = (header_eol + 1).min(self.limit);
        // libyaml ends a block scalar after the indentation of the first line that is not
        // part of it; that indentation belongs to the next line.
        let end = end.min(self.limit);
        let ls = line_start(src, end, self.start);
        let body_end = if src
            .get(ls..end)
            .is_some_and(|pre| pre.iter().all(|&c| c == b' '))
        {
            ls
        } else {
            end
        }
        .max(body_start);
        let mut indent: Option<usize> = None;
        let mut i = body_start;
        while i < body_end {
            let e = line_end(src, i, body_end);
            let line = src.get(i..e).unwrap_or_default();
            let spaces = line.iter().take_while(|&&c| c == b' ').count();
            if line.iter().skip(spaces).any(|c| !c.is_ascii_whitespace()) {
                indent = Some(indent.map_or(spaces, |n| n.min(spaces)));
            }
            i = e + 1;
        }
        BlockParts {
            header: start..h,
            body: body_start..body_end,
            indent,
            line_break,
        }
    }

    /// The single comment line directly above `- value`, if the line of the item is only
    /// that dash before the node.
    fn head_comment(&self, event_start: usize) -> Option<Comment> {
        let src = self.src;
        let ls = line_start(src, event_start, self.start);
        let prefix = src.get(ls..event_start)?;
        let trimmed: Vec<u8> = prefix
            .iter()
            .copied()
            .filter(|c| !matches!(c, b' ' | b'\t'))
            .collect();
        if trimmed != b"-" || !(prefix.ends_with(b" ") || prefix.ends_with(b"\t")) {
            return None;
        }
        if ls <= self.start {
            return None;
        }
        let above = line_start(src, ls - 1, self.start);
        let comment = self.comment_line(above, ls - 1)?;
        if above > self.start {
            let above2 = line_start(src, above - 1, self.start);
            if self.comment_line(above2, above - 1).is_some() {
                // Two comment lines make one head comment that no marker can parse from.
                return None;
            }
        }
        Some(comment)
    }

    /// The line `ls..eol` as a comment, if it is nothing but one and starts after the last
    /// scalar (so it is not text inside a block scalar or a quoted string).
    fn comment_line(&self, ls: usize, eol: usize) -> Option<Comment> {
        let line = self.src.get(ls..eol)?;
        let blanks = line
            .iter()
            .take_while(|&&c| c == b' ' || c == b'\t')
            .count();
        let hash = ls + blanks;
        if line.get(blanks) != Some(&b'#') || hash < self.last_scalar_end {
            return None;
        }
        comment_after(self.src, hash, self.limit)
    }
}

/// Skips an anchor and/or tag (and the blanks, line breaks and comments between them and
/// the content) from `i`.
fn skip_properties(src: &[u8], mut i: usize, end: usize) -> usize {
    loop {
        while i < end && matches!(src.get(i), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            i += 1;
        }
        match src.get(i) {
            Some(b'#') if i < end => {
                while i < end && src.get(i) != Some(&b'\n') {
                    i += 1;
                }
            }
            Some(b'&') | Some(b'!') if i < end => {
                if src.get(i..i + 2) == Some(b"!<") {
                    while i < end && src.get(i) != Some(&b'>') {
                        i += 1;
                    }
                    i += 1;
                } else {
                    while i < end
                        && !matches!(
                            src.get(i),
                            Some(b' ' | b'\t' | b'\r' | b'\n' | b',' | b']' | b'}')
                        )
                    {
                        i += 1;
                    }
                }
            }
            _ => return i.min(end),
        }
    }
}

/// The comment starting at the first non-blank byte from `i` on this line, if any.
fn comment_after(src: &[u8], mut i: usize, limit: usize) -> Option<Comment> {
    while i < limit && matches!(src.get(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    if i >= limit || src.get(i) != Some(&b'#') {
        return None;
    }
    let mut e = line_end(src, i, limit);
    while e > i && matches!(src.get(e - 1), Some(b' ' | b'\t' | b'\r')) {
        e -= 1;
    }
    let text = String::from_utf8_lossy(src.get(i..e)?).into_owned();
    Some(Comment { span: i..e, text })
}

/// Index of the `\n` ending the line that contains `i`, or `limit`.
fn line_end(src: &[u8], i: usize, limit: usize) -> usize {
    src.get(i..limit)
        .and_then(|rest| rest.iter().position(|&c| c == b'\n'))
        .map_or(limit, |p| i + p)
}

/// Index of the first byte of the line that contains `i`, not before `floor`.
fn line_start(src: &[u8], i: usize, floor: usize) -> usize {
    src.get(floor..i)
        .and_then(|before| before.iter().rposition(|&c| c == b'\n'))
        .map_or(floor, |p| floor + p + 1)
}

/// 1-based line and column (in characters) of byte `offset`.
pub fn line_col(text: &[u8], offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or_default();
    let line = before.iter().filter(|&&c| c == b'\n').count() + 1;
    let line_begin = before
        .iter()
        .rposition(|&c| c == b'\n')
        .map_or(0, |p| p + 1);
    let column = String::from_utf8_lossy(before.get(line_begin..).unwrap_or_default())
        .chars()
        .count()
        + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalars(src: &str) -> Vec<ScalarSpan> {
        scan(src.as_bytes())
            .unwrap()
            .into_iter()
            .flat_map(|d| d.scalars)
            .collect()
    }

    fn find<'a>(all: &'a [ScalarSpan], value: &str) -> &'a ScalarSpan {
        all.iter().find(|s| s.value == value).unwrap()
    }

    #[test]
    fn spans_cover_exactly_the_scalar_text() {
        let src = "a: plain\nb: 'single'\nc: \"double\"\nd: &x !!str tagged # c\ne: [f1, \"f2\"]\n";
        let all = scalars(src);
        for s in &all {
            let text = &src[s.span.clone()];
            match s.style {
                Style::Plain => assert_eq!(text, s.value),
                _ => assert!(text.contains(&s.value), "{text:?} vs {:?}", s.value),
            }
        }
        let tagged = find(&all, "tagged");
        assert!(tagged.tagged);
        assert_eq!(&src[tagged.span.clone()], "tagged");
        assert_eq!(tagged.line_comment.as_ref().unwrap().text, "# c");
        assert!(find(&all, "f1").in_flow);
        assert!(!find(&all, "plain").in_flow);
    }

    #[test]
    fn line_comment_is_on_the_value_not_the_key() {
        let all = scalars("a: # on the key\n  - b\nc: d # on the value\n");
        assert_eq!(find(&all, "b").line_comment, None);
        assert_eq!(
            find(&all, "d").line_comment.as_ref().unwrap().text,
            "# on the value"
        );
    }

    #[test]
    fn head_comment_only_for_sequence_items() {
        let src = "k:\n  # above a key\n  v: x\nl:\n  # one line\n  - item\n  # two\n  # lines\n  - other\n";
        let all = scalars(src);
        assert_eq!(find(&all, "x").head_comment, None);
        assert_eq!(
            find(&all, "item").head_comment.as_ref().unwrap().text,
            "# one line"
        );
        assert_eq!(find(&all, "other").head_comment, None);
    }

    #[test]
    fn comment_lines_inside_block_scalars_are_text() {
        let src = "l:\n- |\n  # not a comment\n- item\n";
        let all = scalars(src);
        assert_eq!(find(&all, "item").head_comment, None);
        assert_eq!(find(&all, "# not a comment\n").line_comment, None);
    }

    #[test]
    fn block_scalar_parts() {
        let src = "a: |- # header\n  one\n  two\n\nb: c\n";
        let all = scalars(src);
        let a = find(&all, "one\ntwo");
        let block = a.block.as_ref().unwrap();
        assert_eq!(&src[block.header.clone()], "|-");
        assert_eq!(&src[block.body.clone()], "  one\n  two\n\n");
        assert_eq!(block.indent, Some(2));
        assert_eq!(a.line_comment.as_ref().unwrap().text, "# header");
    }

    #[test]
    fn nested_block_scalar_ends_before_next_key_indentation() {
        let src = "x:\n  a: |\n    text\n  b: c\n";
        let all = scalars(src);
        let block = find(&all, "text\n").block.clone().unwrap();
        assert_eq!(&src[block.body], "    text\n");
    }

    #[test]
    fn documents_paths_and_offsets() {
        let src = "a: 1\n---\nkind: K\nmetadata:\n  name: n\nlist: [x, y]\n";
        let docs = scan(src.as_bytes()).unwrap();
        assert_eq!(docs.len(), 2);
        let name = find(&docs[1].scalars, "n");
        assert_eq!(
            name.path,
            vec![PathSeg::Key("metadata".into()), PathSeg::Key("name".into())]
        );
        assert_eq!(&src[name.span.clone()], "n");
        assert_eq!((name.line, name.column), (5, 9));
        let y = find(&docs[1].scalars, "y");
        assert_eq!(y.path, vec![PathSeg::Key("list".into()), PathSeg::Index(1)]);
    }

    #[test]
    fn byte_order_mark_and_crlf_offsets() {
        let src = "\u{feff}a: b # c\r\nl:\r\n- x\r\n";
        let all = scalars(src);
        assert_eq!(&src[find(&all, "b").span.clone()], "b");
        assert_eq!(&src[find(&all, "x").span.clone()], "x");
        assert_eq!(find(&all, "b").line_comment.as_ref().unwrap().text, "# c");
    }

    #[test]
    fn empty_and_null_documents_are_dropped() {
        assert!(scan(b"").unwrap().is_empty());
        assert!(scan(b"# only a comment\n---\nnull\n").unwrap().is_empty());
        assert_eq!(scan(b"- a\n").unwrap()[0].root, RootKind::Sequence);
    }

    #[test]
    fn inputs_that_crash_the_parser_are_errors() {
        assert!(scan(b"a: |\n  text").is_ok());
        assert!(scan(b"a: \"abc\\").is_err());
        assert!(scan(b"a: [!x,b]\n").is_err());
        assert!(scan(b"a: \"hello!, world\"\n").is_ok());
    }

    #[test]
    fn errors_name_the_line() {
        let e = scan(b"a: 1\n---\nb: [\n").unwrap_err();
        assert!(e.line.unwrap_or(0) >= 3, "{e}");
    }
}
