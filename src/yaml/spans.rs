//! Where each scalar sits in the original bytes, in which style, and which comments Flux
//! would attach to it: what the setters need to change one value and nothing else.
//!
//! This is toml_edit's idea applied to YAML: instead of a tree that has to be re-serialised,
//! [`scan`] reports the raw byte span of every scalar so that an edit can splice exactly
//! those bytes. It splits a file into documents the way kyaml does (at `\n---` lines, with
//! [`super::reader::split_documents`]), runs granit-parser's event parser over each piece
//! with the reader's go-yaml settings (so both accept the same files), and records, for
//! every scalar that is not a mapping key:
//!
//! - its decoded value, [`Style`], byte span (without anchor or tag), path from the
//!   document root, and whether it sits in a flow collection;
//! - its *line comment*: a `#` comment after the scalar on the line where it ends, or on
//!   the header line of a `|`/`>` block (go-yaml v3's `LineComment`);
//! - its *head comment*, only for block-sequence items: one comment line directly above
//!   `- value` (go-yaml v3's `HeadComment` there; a two-line head comment is recorded as
//!   none, because Flux could not read a marker from it anyway).
//!
//! Offsets are the parser's own byte offsets into the original text, so CRLF line breaks and
//! a byte-order mark need no correction. Comments are the parser's comment events, looked up
//! by where their `#` is: a `#` line inside a block scalar or a multi-line quoted string is
//! text, never a comment. The parser reports a block scalar from its first content line; the
//! `|`/`>` indicator is found between the previous token and that line.
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
//! It also refuses files with line breaks other than `\n` and `\r\n`: a lone `\r`, and
//! U+0085, U+2028 and U+2029, which go-yaml (YAML 1.1) reads as line breaks and
//! granit-parser (YAML 1.2) as text; an edit made on one reading could be wrong on the
//! other.

use std::ops::Range;

use granit_parser::{Event, Parser, ScalarStyle, Span, StructureStyle};

use super::reader::{parser_options, split_documents, Limits};
use super::Error;

/// How a scalar is written in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Unquoted.
    Plain,
    /// `'...'`.
    SingleQuoted,
    /// `"..."`.
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
    /// The value of this mapping key.
    Key(String),
    /// The 0-based item of a sequence.
    Index(usize),
}

/// A comment found in the source: its bytes (from `#` to the end of the line, trailing
/// whitespace excluded) and that text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    /// Byte offsets into the file.
    pub span: Range<usize>,
    /// The comment as written, `#` included.
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
    /// How it is written: quoted, plain or a block.
    pub style: Style,
    /// The scalar's own bytes in the file: after any anchor or tag; for blocks, from the
    /// indicator to the end of the body.
    pub span: Range<usize>,
    /// 1-based line of `span.start`.
    pub line: usize,
    /// 1-based column (in characters) of `span.start`.
    pub column: usize,
    /// Whether it is a mapping value, a sequence item or the whole document.
    pub role: Role,
    /// Inside a flow collection (`[...]`, `{...}`), where plain scalars have fewer rights.
    pub in_flow: bool,
    /// Carries an explicit tag such as `!!str`.
    pub tagged: bool,
    /// Keys and indexes from the document root to the scalar.
    pub path: Vec<PathSeg>,
    /// The `#` comment after the scalar on its last line (after the header for blocks).
    pub line_comment: Option<Comment>,
    /// For a block-sequence item without a line comment: the single comment line directly
    /// above its `- `.
    pub head_comment: Option<Comment>,
    /// Set for [`Style::Literal`] and [`Style::Folded`].
    pub block: Option<BlockParts>,
}

/// One mapping key: where it is written, and the path of the value it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySpan {
    /// The path of the entry's value (the key is its last segment).
    pub path: Vec<PathSeg>,
    /// The key's own bytes in the file.
    pub span: Range<usize>,
    /// 1-based line of `span.start`.
    pub line: usize,
    /// 1-based column (in characters) of `span.start`.
    pub column: usize,
}

/// What the document's top-level node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootKind {
    /// A mapping, block or flow; the only kind Flux edits.
    Mapping,
    /// A sequence, block or flow.
    Sequence,
    /// A lone scalar.
    Scalar,
    /// An alias (`*name`).
    Alias,
}

/// One non-empty document of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentSpans {
    /// The piece of the file this document was parsed from.
    pub span: Range<usize>,
    /// 1-based line where the piece starts.
    pub line: usize,
    /// What the top-level node is.
    pub root: RootKind,
    /// Every non-key scalar, in document order.
    pub scalars: Vec<ScalarSpan>,
    /// Every scalar mapping key, in document order.
    pub keys: Vec<KeySpan>,
}

impl DocumentSpans {
    /// The 1-based line and column where the node at `path` is named: its key, or for a
    /// sequence item its first scalar; else the nearest enclosing entry that has one.
    pub fn position_of(&self, path: &[PathSeg]) -> Option<(usize, usize)> {
        for len in (1..=path.len()).rev() {
            let want = &path[..len];
            if let Some(k) = self.keys.iter().find(|k| k.path == want) {
                return Some((k.line, k.column));
            }
            if let Some(s) = self.scalars.iter().find(|s| s.path.starts_with(want)) {
                return Some((s.line, s.column));
            }
        }
        None
    }
}

/// Scans a YAML stream. Empty and null documents are dropped, as kyaml drops them.
///
/// Errors carry the 1-based line and column: invalid UTF-8, an unsupported line break, a
/// bad `---` separator, YAML syntax errors.
pub fn scan(bytes: &[u8]) -> Result<Vec<DocumentSpans>, Error> {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let (line, column) = line_col(bytes, e.valid_up_to());
            return Err(Error::at("invalid UTF-8 in input", line, column));
        }
    };
    if let Some((at, what)) = odd_line_break(bytes) {
        let (line, column) = line_col(bytes, at);
        return Err(Error::at(
            format!("{what} is not supported as a line break here"),
            line,
            column,
        ));
    }
    let mut docs = Vec::new();
    for piece in split_documents(bytes)? {
        // `split_documents` hands out subslices of `bytes`.
        let base = (piece.text.as_ptr() as usize).saturating_sub(bytes.as_ptr() as usize);
        let range = base..base + piece.text.len();
        if let Some(doc) = scan_piece(text, range, piece.line)? {
            docs.push(doc);
        }
    }
    Ok(docs)
}

/// One parser event with its source range made absolute (an offset into the whole file).
struct Token<'a> {
    event: Event<'a>,
    range: Range<usize>,
    /// 1-based line (within the piece) and 0-based character column of `range.start`.
    line: usize,
    col: usize,
    /// The explicit tag's `!…` text, for nodes that carry one.
    tag: Option<Range<usize>>,
}

/// The events of the first document of `piece` (which starts at byte `base` of the file),
/// comments included, up to its `DocumentEnd`.
fn parse_events(piece: &str, base: usize) -> Result<Vec<Token<'_>>, Error> {
    let mut options = parser_options(Limits::default());
    options.emit_comments = true;
    // Own-line comments before a block collection's first entry are held back until the
    // parser knows what the entry is; the default cap of 96 would make a long comment block
    // a syntax error. The input is in memory already, so the buffer cannot outgrow it.
    options.max_buffered_comment_events = usize::MAX;
    options.emit_anchor_events = true;
    let mut parser = Parser::new_from_str_with_options(piece, options);
    let absolute = |span: Span| -> Result<Range<usize>, Error> {
        let r = span.byte_range().ok_or_else(|| {
            Error::at(
                "the YAML parser gave no byte offsets",
                span.start.line(),
                span.start.col() + 1,
            )
        })?;
        Ok(base + r.start..base + r.end.max(r.start))
    };
    let mut tokens = Vec::new();
    while let Some(next) = parser.next_event() {
        let (event, span) =
            next.map_err(|e| Error::at(e.info(), e.marker().line(), e.marker().col() + 1))?;
        let done = matches!(event, Event::DocumentEnd | Event::StreamEnd);
        // A tag longer than `u32::MAX` has no span; nothing but its start is needed then.
        let tag = match (span.tag_span(), span.tag_start()) {
            (Some(t), _) => Some(absolute(t)?),
            (None, Some(m)) => Some(absolute(Span::empty(m))?),
            (None, None) => None,
        };
        tokens.push(Token {
            range: absolute(span)?,
            line: span.start.line(),
            col: span.start.col(),
            tag,
            event,
        });
        if done {
            break;
        }
    }
    Ok(tokens)
}

fn scan_piece(
    text: &str,
    range: Range<usize>,
    first_line: usize,
) -> Result<Option<DocumentSpans>, Error> {
    let Some(piece) = text.get(range.clone()) else {
        return Err(Error::at(
            "document piece is not on a character boundary",
            first_line,
            1,
        ));
    };
    let tokens =
        parse_events(piece, range.start).map_err(|e| e.shifted(first_line.saturating_sub(1)))?;
    let mut comments: Vec<Range<usize>> = tokens
        .iter()
        .filter(|t| matches!(t.event, Event::Comment(..)))
        .map(|t| t.range.clone())
        .collect();
    // A block scalar's header comment is reported after the scalar, so events are not
    // quite in source order.
    comments.sort_by_key(|r| r.start);
    let mut w = Walker {
        src: text.as_bytes(),
        start: range.start,
        limit: range.end,
        bom: piece.starts_with('\u{feff}'),
        first_line,
        comments,
        stack: Vec::new(),
        scalars: Vec::new(),
        keys: Vec::new(),
        last_end: range.start,
        root: None,
    };
    for (i, token) in tokens.iter().enumerate() {
        let anchor = match tokens.get(i + 1) {
            Some(Token {
                event: Event::Anchor(..),
                range,
                ..
            }) => Some(range.clone()),
            _ => None,
        };
        w.event(token, anchor)
            .map_err(|e| e.shifted(first_line.saturating_sub(1)))?;
    }
    Ok(w.root.map(|root| DocumentSpans {
        span: range,
        line: first_line,
        root,
        scalars: w.scalars,
        keys: w.keys,
    }))
}

/// Where a scalar sits: its content (for blocks, from the indicator), where its node
/// starts (properties included), and the 1-based line and column of `start`.
struct Position {
    start: usize,
    end: usize,
    node_start: usize,
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
    /// The piece: `start..limit`.
    start: usize,
    limit: usize,
    /// The piece starts with a byte-order mark, which the parser's columns do not count.
    bom: bool,
    first_line: usize,
    /// Every comment of the document, by start: `#` to the end of its line.
    comments: Vec<Range<usize>>,
    stack: Vec<Frame>,
    scalars: Vec<ScalarSpan>,
    keys: Vec<KeySpan>,
    /// End of the source text of the tokens walked so far that the parser reports (not
    /// comments, nor `-`, `:` and `?` indicators).
    last_end: usize,
    root: Option<RootKind>,
}

impl Walker<'_> {
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

    /// Walks one event; `anchor` is the `&name` text of the node, when it has one (the
    /// parser reports it in the event after the node's).
    fn event(&mut self, t: &Token, anchor: Option<Range<usize>>) -> Result<(), Error> {
        match &t.event {
            Event::Comment(..) => return Ok(()),
            Event::MappingStart(style, ..) => {
                self.open(RootKind::Mapping, *style == StructureStyle::Flow, true)
            }
            Event::SequenceStart(style, ..) => {
                self.open(RootKind::Sequence, *style == StructureStyle::Flow, false)
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
                if self.wants_key() {
                    // A collection used as a key (`? [a, b]`): no usable name.
                    self.key_done(String::from("?"));
                } else {
                    self.child_done();
                }
            }
            Event::Alias(_) => {
                if self.stack.is_empty() {
                    self.root = Some(RootKind::Alias);
                } else if self.wants_key() {
                    let name = self.src.get(t.range.clone()).unwrap_or_default();
                    self.key_done(String::from_utf8_lossy(name).into_owned());
                } else {
                    self.child_done();
                }
            }
            Event::Scalar(value, style, _, tag) => {
                if self.wants_key() {
                    let mut path = self.path();
                    if let Some(last) = path.last_mut() {
                        *last = PathSeg::Key(value.to_string());
                    }
                    self.keys.push(KeySpan {
                        path,
                        span: t.range.clone(),
                        line: self.first_line.saturating_sub(1) + t.line,
                        column: t.col + 1,
                    });
                    self.key_done(value.to_string());
                } else {
                    self.scalar(t, value, *style, tag.is_some(), anchor)?;
                }
            }
            _ => {}
        }
        // Only events whose range is their own source text: an implicit document start
        // takes the range of the first node, and a block collection's start is empty.
        if matches!(
            t.event,
            Event::DocumentStart(true, _)
                | Event::Scalar(..)
                | Event::Alias(_)
                | Event::Anchor(..)
                | Event::MappingEnd
                | Event::SequenceEnd
        ) {
            self.last_end = self.last_end.max(t.range.end);
        }
        Ok(())
    }

    fn scalar(
        &mut self,
        t: &Token,
        value: &str,
        style: ScalarStyle,
        tagged: bool,
        anchor: Option<Range<usize>>,
    ) -> Result<(), Error> {
        let role = match self.stack.last() {
            None => {
                let null = style == ScalarStyle::Plain
                    && !tagged
                    && matches!(value, "" | "~" | "null" | "Null" | "NULL");
                if !null {
                    self.root = Some(RootKind::Scalar);
                }
                Role::Root
            }
            Some(Frame::Map { .. }) => Role::Value,
            Some(Frame::Seq { .. }) => Role::Item,
        };
        let properties = [t.tag.as_ref(), anchor.as_ref()];
        let after_properties = properties.iter().flatten().map(|r| r.end).max();
        let node_start = properties
            .iter()
            .flatten()
            .map(|r| r.start)
            .fold(t.range.start, usize::min);
        let block = matches!(style, ScalarStyle::Literal | ScalarStyle::Folded);
        let at = if block {
            // A block scalar's reported range starts at its first content line (or after
            // the header line when it has none); the edit needs the `|`/`>` indicator too.
            let from = self.last_end.max(after_properties.unwrap_or(0));
            let Some(indicator) = self.block_indicator(from, t.range.end) else {
                return Err(Error::at(
                    "block scalar without a header",
                    t.line,
                    t.col + 1,
                ));
            };
            let breaks = count_breaks(self.src.get(indicator..t.range.start).unwrap_or_default());
            Position {
                start: indicator,
                end: t.range.end,
                node_start: node_start.min(indicator),
                line: self.first_line.saturating_sub(1) + t.line.saturating_sub(breaks),
                column: self.column_of(indicator),
            }
        } else {
            Position {
                start: t.range.start,
                end: t.range.end,
                node_start,
                line: self.first_line.saturating_sub(1) + t.line,
                column: t.col + 1,
            }
        };
        let scalar = self.record(value, style, at, role, tagged);
        self.last_end = self.last_end.max(scalar.span.end);
        self.scalars.push(scalar);
        self.child_done();
        Ok(())
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
            node_start,
            line,
            column,
        } = at;
        let style = match style {
            ScalarStyle::Plain => Style::Plain,
            ScalarStyle::SingleQuoted => Style::SingleQuoted,
            ScalarStyle::DoubleQuoted => Style::DoubleQuoted,
            ScalarStyle::Literal => Style::Literal,
            ScalarStyle::Folded => Style::Folded,
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
            scalar.line_comment = self.comment_after(block.header.end);
            scalar.span = start..block.body.end;
            scalar.block = Some(block);
        } else if start < end {
            // An empty plain scalar has no text of its own; a comment "after" it belongs to
            // the key or the dash before it.
            scalar.line_comment = self.comment_after(end);
        }
        if role == Role::Item && !scalar.in_flow && scalar.line_comment.is_none() {
            scalar.head_comment = self.head_comment(node_start);
        }
        scalar
    }

    /// The `|` or `>` that starts a block scalar: the first one in `from..end` outside the
    /// indicators, properties and comments that may come between the previous token and it.
    fn block_indicator(&self, from: usize, end: usize) -> Option<usize> {
        let src = self.src;
        let end = end.min(self.limit);
        let mut i = from.max(self.start);
        while i < end {
            match src.get(i)? {
                b'|' | b'>' => return Some(i),
                b' ' | b'\t' | b'\r' | b'\n' | b'-' | b':' | b'?' => i += 1,
                b'#' | b'&' | b'!' => {
                    let stop: &[u8] = if src.get(i) == Some(&b'#') {
                        b"\r\n"
                    } else {
                        b" \t\r\n"
                    };
                    while i < end && src.get(i).is_some_and(|c| !stop.contains(c)) {
                        i += 1;
                    }
                }
                _ if src.get(i..).is_some_and(|rest| rest.starts_with(BOM)) => i += BOM.len(),
                _ => return None,
            }
        }
        None
    }

    /// 1-based column, in characters, of byte `i` (as the parser counts: a byte-order mark
    /// at the start of the piece is not a column).
    fn column_of(&self, i: usize) -> usize {
        let ls = self
            .src
            .get(self.start..i)
            .and_then(|before| before.iter().rposition(|&c| c == b'\n' || c == b'\r'))
            .map_or(self.start, |p| self.start + p + 1);
        let chars = String::from_utf8_lossy(self.src.get(ls..i).unwrap_or_default())
            .chars()
            .count();
        let bom = usize::from(self.bom && ls == self.start);
        chars.saturating_sub(bom) + 1
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
        // The parser ends a block scalar after the indentation of the first line that is
        // not part of it; that indentation belongs to the next line.
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
    fn head_comment(&self, node_start: usize) -> Option<Comment> {
        let src = self.src;
        let ls = line_start(src, node_start, self.start);
        let prefix = src.get(ls..node_start)?;
        let mut marks = prefix.iter().filter(|c| !matches!(c, b' ' | b'\t'));
        let only_dash = marks.next() == Some(&b'-') && marks.next().is_none();
        if !only_dash || !(prefix.ends_with(b" ") || prefix.ends_with(b"\t")) {
            return None;
        }
        if ls <= self.start {
            return None;
        }
        let above = line_start(src, ls - 1, self.start);
        let comment = self.comment_line(above)?;
        if above > self.start {
            let above2 = line_start(src, above - 1, self.start);
            if self.comment_line(above2).is_some() {
                // Two comment lines make one head comment that no marker can parse from.
                return None;
            }
        }
        Some(comment)
    }

    /// The line starting at `ls` as a comment, if it is nothing but one.
    fn comment_line(&self, ls: usize) -> Option<Comment> {
        let blanks = self
            .src
            .get(ls..self.limit)?
            .iter()
            .take_while(|&&c| c == b' ' || c == b'\t')
            .count();
        self.comment_at(ls + blanks)
    }

    /// The comment after the blanks from `i` on, on the same line, if any.
    fn comment_after(&self, i: usize) -> Option<Comment> {
        let blanks = self
            .src
            .get(i..self.limit)?
            .iter()
            .take_while(|&&c| c == b' ' || c == b'\t')
            .count();
        self.comment_at(i + blanks)
    }

    /// The comment whose `#` is at byte `i`, trailing blanks left out.
    fn comment_at(&self, i: usize) -> Option<Comment> {
        let k = self.comments.binary_search_by_key(&i, |r| r.start).ok()?;
        let r = self.comments.get(k)?;
        let text = self.src.get(r.clone())?;
        let len = text
            .iter()
            .rposition(|c| !matches!(c, b' ' | b'\t' | b'\r'))
            .map_or(0, |p| p + 1);
        let text = text.get(..len)?;
        Some(Comment {
            span: r.start..r.start + len,
            text: String::from_utf8_lossy(text).into_owned(),
        })
    }
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The first line break that is neither `\n` nor `\r\n`, and its name.
fn odd_line_break(b: &[u8]) -> Option<(usize, &'static str)> {
    b.iter().enumerate().find_map(|(i, &c)| {
        let next = |k: usize| b.get(i + k).copied();
        match c {
            b'\r' if next(1) != Some(b'\n') => Some((i, "a carriage return without a line feed")),
            0xC2 if next(1) == Some(0x85) => Some((i, "U+0085 (next line)")),
            0xE2 if next(1) == Some(0x80) && matches!(next(2), Some(0xA8 | 0xA9)) => {
                Some((i, "U+2028/U+2029 (line/paragraph separator)"))
            }
            _ => None,
        }
    })
}

/// Line breaks in `b` as the parser counts them: `\r\n`, `\n` or a lone `\r`.
fn count_breaks(b: &[u8]) -> usize {
    let mut n = 0;
    let mut prev_cr = false;
    for &c in b {
        match c {
            b'\n' if prev_cr => {}
            b'\n' | b'\r' => n += 1,
            _ => {}
        }
        prev_cr = c == b'\r';
    }
    n
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
    fn block_scalar_spans_start_at_the_indicator() {
        // The parser reports these from the first content line, or after the header line.
        let src = "a: |\nb: >-\n\n  x\n\nc: # a | and a > in a comment\n  &x !!str |2-\n    y\n";
        let all = scalars(src);
        let texts: Vec<&str> = all.iter().map(|s| &src[s.span.clone()]).collect();
        // An empty body ends after the header's line break.
        assert_eq!(texts, ["|\n", ">-\n\n  x\n\n", "|2-\n    y\n"]);
        let empty = all[0].block.as_ref().unwrap();
        assert_eq!((empty.body.clone(), empty.indent), (5..5, None));
        let y = &all[2];
        assert!(y.tagged);
        assert_eq!((y.line, y.column), (7, 12));
        assert_eq!(y.line_comment, None);
        let src = "? [k]\n: |\n  x\nj: &a 1\n*a : >\n  y\n";
        let all = scalars(src);
        let texts: Vec<&str> = all.iter().map(|s| &src[s.span.clone()]).collect();
        // `k` is an item of the key, not a key itself.
        assert_eq!(texts, ["k", "|\n  x\n", "1", ">\n  y\n"]);
        assert_eq!(all[1].path, [PathSeg::Key("?".into())]);
        assert_eq!(all[3].path, [PathSeg::Key("*a".into())]);
        let root = scalars("--- >\n  folded\n");
        assert_eq!(root[0].span, 4..15);
        assert_eq!((root[0].line, root[0].column), (1, 5));
    }

    #[test]
    fn crlf_block_scalar() {
        let src = "l:\r\n# m\r\n- |- # c\r\n  x\r\n- y\r\n";
        let all = scalars(src);
        let x = find(&all, "x");
        let block = x.block.as_ref().unwrap();
        assert_eq!(&src[block.header.clone()], "|-");
        assert_eq!(&src[block.body.clone()], "  x\r\n");
        assert_eq!(block.line_break, "\r\n");
        assert_eq!(x.line_comment.as_ref().unwrap().text, "# c");
        assert_eq!(x.head_comment, None);
        assert_eq!((x.line, x.column), (3, 3));
    }

    #[test]
    fn byte_order_mark_before_a_root_block() {
        let src = "\u{feff}|\n  x\n";
        let all = scalars(src);
        assert_eq!(&src[all[0].span.clone()], "|\n  x\n");
        assert_eq!((all[0].line, all[0].column), (1, 1));
    }

    #[test]
    fn head_comment_before_properties() {
        let all = scalars("l:\n  # m\n  - &a !!str x\n");
        assert_eq!(all[0].head_comment.as_ref().unwrap().text, "# m");
    }

    #[test]
    fn long_comment_blocks() {
        // More own-line comments before an entry than granit-parser buffers by default.
        let mut src = String::from("a:\n");
        for i in 0..300 {
            src.push_str(&format!("  # {i}\n"));
        }
        src.push_str("  - x\n  # m\n  - y\n");
        let all = scalars(&src);
        assert_eq!(find(&all, "x").head_comment, None);
        assert_eq!(find(&all, "y").head_comment.as_ref().unwrap().text, "# m");
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
    fn malformed_input_is_an_error() {
        // Inputs that made the previous parser (libyaml-safer) panic.
        for bad in [
            &b"a: \"abc\\"[..],
            b"a: \"\\uD800\"\n",
            b"a: 'x",
            b"key:\n>8 # c\t\t",
            b"a: !<x",
            b"[",
        ] {
            assert!(scan(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        let src = "a: |\n  text";
        assert_eq!(&src[scalars(src)[0].span.clone()], "|\n  text");
        // YAML 1.2 tags end at a flow indicator: `!x` tags an empty scalar.
        let all = scalars("a: [!x,b]\n");
        assert_eq!((all[0].value.as_str(), all[0].tagged), ("", true));
        assert_eq!(scalars("a: \"hello!, world\"\n")[0].value, "hello!, world");
    }

    #[test]
    fn line_breaks_the_parsers_disagree_on_are_errors() {
        for (src, at) in [
            ("a: x\rb: y\n", (1, 5)),
            ("a: x # c\u{85}b: y\n", (1, 9)),
            ("a: \"x\u{2028}y\"\n", (1, 6)),
            ("a: b\r\n\u{2029}", (2, 1)),
        ] {
            let e = scan(src.as_bytes()).unwrap_err();
            assert_eq!((e.line, e.column), (Some(at.0), Some(at.1)), "{src:?}: {e}");
        }
        assert!(scan(b"a: b\r\nc: d\r\n").is_ok());
    }

    #[test]
    fn errors_name_the_line() {
        let e = scan(b"a: 1\n---\nb: [\n").unwrap_err();
        assert!(e.line.unwrap_or(0) >= 3, "{e}");
    }
}
