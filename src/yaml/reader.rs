//! Reading YAML bytes into the document model, the way kustomize reads them.
//!
//! kustomize (kyaml's `ByteReader`) first replaces every CRLF with LF, then splits the text
//! at the regular expression `\n---.*\n` (text after `---` on that line must be a comment),
//! and parses only the first YAML document of each piece with go-yaml v3. This module does
//! the same with `granit-parser`'s event parser, in its libyaml-compatible settings (go-yaml is a port of libyaml, so the two
//! accept and reject the same syntax) and builds `serde_json::Value` trees directly from
//! the events, resolving plain scalars with [`super::resolve`].
//!
//! Anchors and aliases are expanded, `<<` merge keys applied (explicit keys win), duplicate
//! keys and non-string keys rejected. Alias expansion and nesting depth are bounded by
//! [`Limits`], so a "billion laughs" document is an error, not an out-of-memory.

use std::borrow::Cow;
use std::collections::HashMap;

use base64::Engine;
use granit_parser::{Event, Marker, Parser, ScalarStyle};
use serde_json::{Map, Number, Value};

use super::resolve::{resolve_plain, Dialect, Resolved};
use super::Error;

/// Bounds that keep hostile input from exhausting memory or stack.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Deepest nesting of maps and sequences.
    pub max_depth: usize,
    /// Most nodes that alias expansion may create in one file.
    pub max_alias_nodes: usize,
    /// Most bytes of strings that alias expansion may copy in one file (a long string
    /// aliased many times is few nodes but many bytes).
    pub max_alias_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 1000,
            max_alias_nodes: 1_000_000,
            max_alias_bytes: 64 << 20,
        }
    }
}

/// One document of a stream, with the 1-based line where its text starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The document's content.
    pub value: Value,
    /// 1-based line of the input where the document's text starts.
    pub line: usize,
    /// JSON pointers of map entries written with no value at all (`key:`), reached through
    /// maps only. They read as null like `key: null`, but kyaml drops them when it walks
    /// the resource for a strategic merge patch (corpus kubeflow-example: an
    /// `affinity.nodeAffinity` holding two empty keys prints as `{}` once patched).
    /// Recorded by [`read_resource_stream`] only.
    pub empty_nulls: Vec<String>,
    /// Keys of `metadata.annotations` whose value was written as a plain null (`~`,
    /// `null`, nothing): read as text like every annotation, but a strategic merge patch
    /// that names its target by id deletes them in kustomize. Recorded by
    /// [`read_resource_stream`] only.
    pub null_annotations: Vec<String>,
    /// Nodes in `value` (aliases expanded), for the build's budget.
    pub nodes: u64,
    /// Bytes of the strings and keys in `value` (aliases expanded), for the build's budget.
    pub bytes: u64,
}

/// Reads a resource stream the way kustomize does: CRLF to LF, split at `---` lines, first
/// document of each piece, empty and null documents dropped.
pub fn read_stream(bytes: &[u8], limits: Limits) -> Result<Vec<Document>, Error> {
    read_stream_with(bytes, limits, false)
}

/// [`read_stream`] for Kubernetes resources: annotation values keep their source text as
/// strings (`a: 1.0` reads as `"1.0"`), because kustomize rewrites every annotation map as
/// strings of the original scalar text before printing.
pub fn read_resource_stream(bytes: &[u8], limits: Limits) -> Result<Vec<Document>, Error> {
    read_stream_with(bytes, limits, true)
}

fn read_stream_with(
    bytes: &[u8],
    limits: Limits,
    annotation_text: bool,
) -> Result<Vec<Document>, Error> {
    let text = normalize_input(bytes)?;
    let mut docs = Vec::new();
    for piece in split_documents(&text)? {
        let mut empty_nulls = Vec::new();
        let mut size = Size::default();
        let read = read_first_document_sized(
            piece.text,
            Dialect::V3,
            limits,
            annotation_text.then_some(&mut empty_nulls),
            &mut size,
        )
        .map_err(|e| e.shifted(piece.line - 1))?;
        if let Some(value) = read {
            if !value.is_null() {
                docs.push(Document {
                    value,
                    line: piece.line,
                    empty_nulls,
                    null_annotations: size.null_annotations,
                    nodes: size.nodes,
                    bytes: size.bytes,
                });
            }
        }
    }
    Ok(docs)
}

/// Reads a single YAML document (the first one) with the given dialect. `Ok(None)` for an
/// empty stream.
pub fn read_document(
    bytes: &[u8],
    dialect: Dialect,
    limits: Limits,
) -> Result<Option<Value>, Error> {
    let text = normalize_input(bytes)?;
    read_first_document_sized(&text, dialect, limits, None, &mut Size::default())
}

/// What a read created: nodes, and bytes of strings and keys; and the annotation keys
/// whose values were plain nulls.
#[derive(Debug, Default, Clone)]
struct Size {
    nodes: u64,
    bytes: u64,
    null_annotations: Vec<String>,
}

/// UTF-16 (with BOM) is transcoded; CRLF becomes LF as in kyaml.
fn normalize_input(bytes: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>, Error> {
    let utf16 = match bytes {
        [0xFF, 0xFE, rest @ ..] => Some((rest, false)),
        [0xFE, 0xFF, rest @ ..] => Some((rest, true)),
        _ => None,
    };
    let decoded: std::borrow::Cow<[u8]> = if let Some((rest, big_endian)) = utf16 {
        let units: Vec<u16> = rest
            .chunks(2)
            .map(|c| {
                let pair = [c[0], *c.get(1).unwrap_or(&0)];
                if big_endian {
                    u16::from_be_bytes(pair)
                } else {
                    u16::from_le_bytes(pair)
                }
            })
            .collect();
        let s = String::from_utf16(&units).map_err(|_| Error::new("invalid UTF-16 input"))?;
        std::borrow::Cow::Owned(s.into_bytes())
    } else {
        std::borrow::Cow::Borrowed(bytes)
    };
    if memchr::memmem::find(&decoded, b"\r\n").is_some() {
        let mut out = Vec::with_capacity(decoded.len());
        let mut i = 0;
        while i < decoded.len() {
            if decoded[i] == b'\r' && decoded.get(i + 1) == Some(&b'\n') {
                i += 1;
                continue;
            }
            out.push(decoded[i]);
            i += 1;
        }
        return Ok(std::borrow::Cow::Owned(out));
    }
    Ok(decoded)
}

/// A piece of the input between `---` separators, and its 1-based first line.
pub struct Piece<'a> {
    /// The piece's bytes, a slice of the input.
    pub text: &'a [u8],
    /// 1-based line of the input where the piece starts.
    pub line: usize,
}

/// kyaml's `splitDocuments`: separators are `\n---<anything but newline>\n`; the text after
/// `---` must be empty or a comment. Each piece but the last keeps a trailing newline.
pub fn split_documents(text: &[u8]) -> Result<Vec<Piece<'_>>, Error> {
    let mut pieces = Vec::new();
    if text.is_empty() {
        return Ok(pieces);
    }
    let mut prev = 0;
    let mut prev_line = 1;
    let mut line = 1; // line number at `search`
    let mut search = 0;
    while let Some(off) = find_separator(&text[search..]) {
        let start = search + off; // index of the '\n' before ---
        let end = match memchr::memchr(b'\n', &text[start + 4..]) {
            Some(e) => start + 4 + e + 1,
            None => break, // the regex needs the closing newline
        };
        let rest = &text[start + 4..end - 1];
        let trimmed = trim_space(rest);
        if !trimmed.is_empty() && trimmed[0] != b'#' {
            let sep = String::from_utf8_lossy(trim_space(&text[start..end]));
            line += count_newlines(&text[search..start]) + 1;
            return Err(Error::at(
                format!("invalid document separator: {sep}"),
                line,
                1,
            ));
        }
        line += count_newlines(&text[search..end]);
        // The piece keeps the newline that starts the separator (kyaml appends "\n").
        pieces.push(Piece {
            text: &text[prev..start + 1],
            line: prev_line,
        });
        prev = end;
        prev_line = line;
        search = end;
    }
    pieces.push(Piece {
        text: &text[prev..],
        line: prev_line,
    });
    Ok(pieces)
}

fn find_separator(text: &[u8]) -> Option<usize> {
    memchr::memmem::find(text, b"\n---")
}

fn count_newlines(b: &[u8]) -> usize {
    memchr::memchr_iter(b'\n', b).count()
}

fn trim_space(b: &[u8]) -> &[u8] {
    let is_space = |c: &u8| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0B | 0x0C);
    let start = b.iter().position(|c| !is_space(c)).unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !is_space(c))
        .map_or(start, |e| e + 1);
    &b[start..end]
}

enum Frame {
    Map {
        map: Map<String, Value>,
        key: Option<String>,
        merge_key: bool,
        merges: Vec<Value>,
        /// Anchor id (0: none).
        anchor: usize,
        /// Written in flow style (`{a: 1}`).
        flow: bool,
    },
    Seq {
        items: Vec<Value>,
        anchor: usize,
    },
}

pub(super) struct Builder<'r> {
    dialect: Dialect,
    limits: Limits,
    stack: Vec<Frame>,
    /// Anchored values with their node count and string bytes.
    anchors: HashMap<usize, (Value, usize, usize)>,
    alias_nodes: usize,
    alias_bytes: usize,
    size: Size,
    root: Option<Value>,
    /// Keep `metadata.annotations` values as their source text.
    annotation_text: bool,
    /// Where to record empty map entries (resources only).
    empty_nulls: Option<&'r mut Vec<String>>,
}

/// granit-parser's settings for reading YAML as go-yaml does; [`super::spans`] parses with
/// the same settings (plus comments), so both accept the same files and read the same values.
pub(super) fn parser_options(limits: Limits) -> granit_parser::Options {
    // libyaml's reading of the corner cases go-yaml inherits: no line feed is added to a
    // block scalar that ends the input, and a BOM inside a document is content.
    granit_parser::options! {
        block_scalar_eof_without_line_feed: true,
        bom_inside_document_as_content: true,
        emit_comments: false,
        block_nesting_limit: limits.max_depth,
        flow_nesting_limit: limits.max_depth,
    }
}

fn mark_error(msg: impl Into<String>, mark: Marker) -> Error {
    Error::at(msg.into(), mark.line(), mark.col() + 1)
}

/// The line of a document end marker (`...`) that comes before anything else in `src`
/// but blank lines and comments. libyaml (and so go-yaml) starts an implicit document
/// there and finds no node in it, an error (yaml_parser_parse_document_start skips extra
/// `...` only after a first document); granit-parser reads an empty stream.
fn leading_document_end(src: &str) -> Option<usize> {
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    for (i, line) in src.lines().enumerate() {
        let trimmed = line.trim_start_matches([' ', '\t']);
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let is_end = line
            .strip_prefix("...")
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r']));
        return is_end.then_some(i + 1);
    }
    None
}

/// Parses the first document of `text`. `None` when there is none.
/// `resource`: read as a Kubernetes resource (annotation values as text, empty map
/// entries recorded into the given list).
fn read_first_document_sized(
    text: &[u8],
    dialect: Dialect,
    limits: Limits,
    resource: Option<&mut Vec<String>>,
    size: &mut Size,
) -> Result<Option<Value>, Error> {
    if text.is_empty() {
        return Ok(None);
    }
    if let Err(e) = std::str::from_utf8(text) {
        let (line, col) = line_col(text, e.valid_up_to());
        return Err(Error::at("invalid UTF-8 in input".to_string(), line, col));
    }
    let Ok(src) = std::str::from_utf8(text) else {
        return Err(Error::new("invalid UTF-8 in input"));
    };
    if let Some(line) = leading_document_end(src) {
        return Err(Error::at("did not find expected node content", line, 1));
    }
    let mut b = Builder::new(dialect, limits, resource);
    let mode = READER_MODE.with(|c| c.get());
    if mode != ReaderMode::FullOnly {
        if let Some(root) = super::block::read(src, &mut b, limits) {
            *size = std::mem::take(&mut b.size);
            return Ok(Some(root));
        }
        if mode == ReaderMode::FastOnly {
            return Err(Error::new(FAST_PATH_DECLINED));
        }
        // Anything the fast path does not know (or an error, whose position only the full
        // parser knows): read the whole piece again with the full parser.
        b = Builder::new(b.dialect, limits, b.empty_nulls.map(clear));
    }
    let mut parser = Parser::new_from_str_with_options(src, parser_options(limits));
    loop {
        let (ev, span) = match parser.next_event() {
            None => return Ok(None),
            Some(Err(e)) => return Err(mark_error(e.info(), *e.marker())),
            Some(Ok(x)) => x,
        };
        let mark = span.start;
        match ev {
            Event::StreamStart | Event::DocumentStart(..) => {}
            Event::StreamEnd => return Ok(None),
            Event::DocumentEnd => {
                *size = std::mem::take(&mut b.size);
                return Ok(Some(b.root.take().unwrap_or(Value::Null)));
            }
            Event::Alias(id) => {
                let (value, count, bytes) = match b.anchors.get(&id) {
                    Some(v) => v,
                    None => return Err(mark_error("unknown anchor referenced", mark)),
                };
                b.alias_nodes += count;
                b.alias_bytes += bytes;
                if b.alias_nodes > b.limits.max_alias_nodes {
                    return Err(mark_error(
                        format!(
                            "alias expansion exceeds {} nodes (a recursive-alias \"billion laughs\" document?)",
                            b.limits.max_alias_nodes
                        ),
                        mark,
                    ));
                }
                if b.alias_bytes > b.limits.max_alias_bytes {
                    return Err(mark_error(
                        format!(
                            "alias expansion exceeds {} bytes (a long string aliased many times?)",
                            b.limits.max_alias_bytes
                        ),
                        mark,
                    ));
                }
                b.size.nodes += *count as u64;
                b.size.bytes += *bytes as u64;
                let v = value.clone();
                b.add(v, 0, mark)?;
            }
            Event::Scalar(value, style, anchor, tag) => {
                let tag = tag.map(|t| format!("{}{}", t.handle(), t.suffix()));
                // granit-parser reports a missing value (`key:`) as a plain `~` with an empty
                // span; go-yaml's node has the empty text, which kustomize sometimes sees.
                let empty = span.start.index() == span.end.index() && style == ScalarStyle::Plain;
                // A missing value in a flow mapping (`{a: }`, `{a}`) is an empty string for
                // kustomize, unlike a missing block value, which is null.
                let flow_value = matches!(
                    b.stack.last(),
                    Some(Frame::Map {
                        flow: true,
                        key: Some(_),
                        ..
                    })
                );
                if empty && tag.is_none() && flow_value && b.dialect == Dialect::V3 {
                    b.scalar(
                        Cow::Borrowed(""),
                        None,
                        ScalarStyle::DoubleQuoted,
                        anchor,
                        mark,
                    )?;
                    continue;
                }
                let text = if empty {
                    Cow::Borrowed("")
                } else if style == ScalarStyle::Folded && b.dialect == Dialect::V3 {
                    Cow::Owned(folded_round_trip(value.into_owned()))
                } else {
                    value
                };
                b.scalar(text, tag, style, anchor, mark)?;
            }
            Event::SequenceStart(_, anchor, _) => b.start_sequence(anchor, mark)?,
            Event::MappingStart(structure, anchor, _) => b.start_mapping(
                anchor,
                structure == granit_parser::StructureStyle::Flow,
                mark,
            )?,
            Event::SequenceEnd | Event::MappingEnd => b.end_collection(mark)?,
            _ => {}
        }
    }
}

fn clear(list: &mut Vec<String>) -> &mut Vec<String> {
    list.clear();
    list
}

/// Which reader [`read_stream`] and friends use on the current thread.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReaderMode {
    /// The block-style fast path, and the full parser for whatever it declines (always,
    /// outside tests).
    Auto,
    /// The full parser alone.
    FullOnly,
    /// The fast path alone: a piece it declines is the error [`FAST_PATH_DECLINED`].
    FastOnly,
}

/// The error text of a piece the fast path declined in [`ReaderMode::FastOnly`].
#[doc(hidden)]
pub const FAST_PATH_DECLINED: &str = "fast path declined";

thread_local! {
    static READER_MODE: std::cell::Cell<ReaderMode> = const { std::cell::Cell::new(ReaderMode::Auto) };
}

/// Runs `f` with the given reader on this thread: for differential tests of the two
/// readers (the fast path must read exactly what the full parser reads).
#[doc(hidden)]
pub fn with_reader_mode<T>(mode: ReaderMode, f: impl FnOnce() -> T) -> T {
    let before = READER_MODE.with(|c| c.replace(mode));
    let out = f();
    READER_MODE.with(|c| c.set(before));
    out
}

/// Applies one `<<` source: keys already present (explicit, or from an earlier source) win.
fn merge_into(map: &mut Map<String, Value>, source: Value, mark: Marker) -> Result<(), Error> {
    match source {
        Value::Object(m) => {
            for (k, v) in m {
                map.entry(k).or_insert(v);
            }
            Ok(())
        }
        Value::Array(items) => {
            for item in items {
                match item {
                    Value::Object(_) => merge_into(map, item, mark)?,
                    _ => {
                        return Err(mark_error(
                            "map merge requires map or sequence of maps as the value",
                            mark,
                        ))
                    }
                }
            }
            Ok(())
        }
        _ => Err(mark_error(
            "map merge requires map or sequence of maps as the value",
            mark,
        )),
    }
}

const TAG_PREFIX: &str = "tag:yaml.org,2002:";

impl<'r> Builder<'r> {
    fn new(dialect: Dialect, limits: Limits, empty_nulls: Option<&'r mut Vec<String>>) -> Self {
        Builder {
            dialect,
            limits,
            stack: Vec::new(),
            anchors: HashMap::new(),
            alias_nodes: 0,
            alias_bytes: 0,
            size: Size::default(),
            root: None,
            annotation_text: empty_nulls.is_some(),
            empty_nulls,
        }
    }

    /// The finished document, once its root node has ended.
    pub(super) fn take_root(&mut self) -> Option<Value> {
        self.root.take()
    }

    pub(super) fn start_sequence(&mut self, anchor: usize, mark: Marker) -> Result<(), Error> {
        self.push(
            Frame::Seq {
                items: Vec::new(),
                anchor,
            },
            mark,
        )
    }

    pub(super) fn start_mapping(
        &mut self,
        anchor: usize,
        flow: bool,
        mark: Marker,
    ) -> Result<(), Error> {
        self.push(
            Frame::Map {
                map: Map::new(),
                key: None,
                merge_key: false,
                merges: Vec::new(),
                anchor,
                flow,
            },
            mark,
        )
    }

    pub(super) fn end_collection(&mut self, mark: Marker) -> Result<(), Error> {
        let frame = match self.stack.pop() {
            Some(f) => f,
            None => return Err(mark_error("unbalanced collection end", mark)),
        };
        let (value, anchor) = match frame {
            Frame::Seq { items, anchor } => (Value::Array(items), anchor),
            Frame::Map {
                mut map,
                merges,
                anchor,
                ..
            } => {
                for source in merges {
                    merge_into(&mut map, source, mark)?;
                }
                (Value::Object(map), anchor)
            }
        };
        self.add(value, anchor, mark)
    }

    fn push(&mut self, frame: Frame, mark: Marker) -> Result<(), Error> {
        if let Some(Frame::Map { key: None, .. }) = self.stack.last() {
            return Err(mark_error(
                "a map or sequence cannot be a mapping key",
                mark,
            ));
        }
        if self.stack.len() >= self.limits.max_depth {
            return Err(mark_error(
                format!("nesting deeper than {} levels", self.limits.max_depth),
                mark,
            ));
        }
        self.size.nodes += 1;
        self.stack.push(frame);
        Ok(())
    }

    pub(super) fn scalar(
        &mut self,
        text: Cow<'_, str>,
        tag: Option<String>,
        style: ScalarStyle,
        anchor: usize,
        mark: Marker,
    ) -> Result<(), Error> {
        let plain = style == ScalarStyle::Plain;
        // A mapping key: must be a string (or the merge key).
        if let Some(Frame::Map {
            key: key @ None,
            merge_key,
            ..
        }) = self.stack.last_mut()
        {
            if plain && tag.is_none() && text == "<<" {
                *merge_key = true;
                *key = Some(text.into_owned());
                return Ok(());
            }
            // Most keys are plain text that resolves as a string: take it as it is.
            let plain_string = plain
                && tag.is_none()
                && matches!(resolve_plain(&text, self.dialect), Resolved::Str);
            let k = if plain_string {
                text.into_owned()
            } else {
                match scalar_value(Cow::Borrowed(&text), tag.as_deref(), plain, self.dialect)
                    .map_err(|m| mark_error(m, mark))?
                {
                    Value::String(s) => s,
                    other if self.dialect == Dialect::V2 => match other {
                        Value::Null => "null".to_string(),
                        Value::Number(n) => super::emit::format_number(&n),
                        v => v.to_string(),
                    },
                    _ => {
                        return Err(mark_error(
                            format!(
                                "non-string map key {text:?}: kustomize accepts only string keys"
                            ),
                            mark,
                        ))
                    }
                }
            };
            if anchor != 0 {
                self.anchors
                    .insert(anchor, (Value::String(k.clone()), 1, k.len()));
            }
            self.size.bytes += k.len() as u64;
            *key = Some(k);
            return Ok(());
        }
        self.size.nodes += 1;
        self.size.bytes += text.len() as u64;
        if self.annotation_text && self.in_annotations() {
            if plain && tag.is_none() && resolve_plain(&text, Dialect::V3) == Resolved::Null {
                if let Some(Frame::Map { key: Some(k), .. }) = self.stack.last() {
                    self.size.null_annotations.push(k.clone());
                }
            }
            return self.add(Value::String(text.into_owned()), anchor, mark);
        }
        if text.is_empty() && plain && tag.is_none() {
            self.record_empty_null();
        }
        let v = scalar_value(text, tag.as_deref(), plain, self.dialect)
            .map_err(|m| mark_error(m, mark))?;
        self.add(v, anchor, mark)
    }

    /// Records the pointer of an empty map entry when every enclosing collection is a map.
    fn record_empty_null(&mut self) {
        let Some(list) = self.empty_nulls.as_deref_mut() else {
            return;
        };
        let mut pointer = String::new();
        for f in &self.stack {
            match f {
                Frame::Map {
                    key: Some(k),
                    merge_key: false,
                    ..
                } => {
                    pointer.push('/');
                    pointer.push_str(&k.replace('~', "~0").replace('/', "~1"));
                }
                _ => return,
            }
        }
        if !pointer.is_empty() {
            list.push(pointer);
        }
    }

    /// Is the next value a `metadata.annotations` entry of the document?
    fn in_annotations(&self) -> bool {
        let key_is =
            |f: &Frame, want: &str| matches!(f, Frame::Map { key: Some(k), .. } if k == want);
        self.stack.len() == 3
            && key_is(&self.stack[0], "metadata")
            && key_is(&self.stack[1], "annotations")
    }

    fn add(&mut self, value: Value, anchor: usize, mark: Marker) -> Result<(), Error> {
        if anchor != 0 {
            let (nodes, bytes) = crate::budget::measure(&value);
            self.anchors
                .insert(anchor, (value.clone(), nodes as usize, bytes as usize));
        }
        match self.stack.last_mut() {
            None => {
                self.root = Some(value);
            }
            Some(Frame::Seq { items, .. }) => items.push(value),
            Some(Frame::Map {
                map,
                key,
                merge_key,
                merges,
                ..
            }) => match key.take() {
                None => {
                    // An alias used as a key.
                    match value {
                        Value::String(s) => *key = Some(s),
                        _ => return Err(mark_error("non-string map key", mark)),
                    }
                }
                Some(k) => {
                    if *merge_key {
                        *merge_key = false;
                        merges.push(value);
                    } else if map.contains_key(&k) {
                        if self.dialect == Dialect::V2 {
                            map.insert(k, value);
                        } else {
                            return Err(mark_error(
                                format!("mapping key {k:?} already defined"),
                                mark,
                            ));
                        }
                    } else {
                        map.insert(k, value);
                    }
                }
            },
        }
        Ok(())
    }
}

/// The value of one scalar, by tag and style (go-yaml v3's `decoder.scalar`).
/// What a folded (`>`) scalar holds after kustomize has written it back out in folded style
/// with go-yaml v3 and read it again (it does so with every resource and patch it reads).
///
/// A folded scalar needs a blank line wherever a line break must survive folding, and
/// go-yaml's writer decides whether to add one by looking at the start of the *value*
/// instead of at the next line. So when the value starts with a non-blank character, a
/// break before a more-indented line (or before kept trailing breaks) gains a `\n`; when it
/// starts with a blank, breaks between two lines that do not start with a blank lose one
/// (a single break becomes a space). Breaks after a line that starts with a blank are
/// written right either way. Values go-yaml would not write in a block style (a space
/// before a break or at the end, control characters) are left alone.
fn folded_round_trip(v: String) -> String {
    let blank = |c: u8| c == b' ' || c == b'\t';
    let b = v.as_bytes();
    let Some(&first) = b.iter().find(|&&c| c != b'\n') else {
        return v;
    };
    let block_allowed = !v.ends_with(' ')
        && !v.contains(" \n")
        && !v
            .chars()
            .any(|c| (c.is_control() && c != '\n' && c != '\t') || c == '\u{feff}');
    if !block_allowed {
        return v;
    }
    let first_blank = blank(first);
    let mut out = String::with_capacity(v.len() + 8);
    let mut line_start = 0;
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\n' {
            i += 1;
            continue;
        }
        let run_end = b[i..]
            .iter()
            .position(|&c| c != b'\n')
            .map_or(b.len(), |n| i + n);
        let breaks = run_end - i;
        out.push_str(&v[line_start..i]);
        // The line before the run (none at the start of the value) and the one after.
        let after_plain_line = i > line_start && !blank(b[line_start]);
        let written = match b.get(run_end) {
            _ if !after_plain_line => breaks,
            Some(&next) if !first_blank => breaks + usize::from(blank(next)),
            Some(&next) if blank(next) => breaks,
            Some(_) => breaks - 1,
            None if !first_blank && breaks >= 2 => breaks + 1,
            None => breaks,
        };
        if written == 0 {
            out.push(' ');
        }
        out.extend(std::iter::repeat_n('\n', written));
        i = run_end;
        line_start = run_end;
    }
    out.push_str(&v[line_start..]);
    out
}

fn scalar_value(
    text: Cow<'_, str>,
    tag: Option<&str>,
    plain: bool,
    dialect: Dialect,
) -> Result<Value, String> {
    let short = tag.map(|t| {
        t.strip_prefix(TAG_PREFIX)
            .map(|s| format!("!!{s}"))
            .unwrap_or_else(|| t.to_string())
    });
    match short.as_deref() {
        None if plain => Ok(resolved_value(resolve_plain(&text, dialect), text)?),
        None | Some("!") | Some("!!str") => Ok(Value::String(text.into_owned())),
        Some("!!binary") => {
            let cleaned: String = text.chars().filter(|c| !c.is_whitespace()).collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(cleaned.as_bytes())
                .map_err(|_| format!("!!binary value contains invalid base64 data: {text:?}"))?;
            Ok(Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        }
        Some(t @ ("!!int" | "!!float" | "!!bool" | "!!null" | "!!timestamp")) => {
            let r = resolve_plain(&text, dialect);
            let ok = matches!(
                (t, &r),
                ("!!int", Resolved::Int(_) | Resolved::UInt(_))
                    | (
                        "!!float",
                        Resolved::Float(_) | Resolved::Int(_) | Resolved::UInt(_)
                    )
                    | ("!!bool", Resolved::Bool(_))
                    | ("!!null", Resolved::Null)
                    | ("!!timestamp", Resolved::Timestamp(_))
            );
            if !ok {
                return Err(format!("cannot decode {text:?} as a {t}"));
            }
            let r = match (t, r) {
                ("!!float", Resolved::Int(i)) => Resolved::Float(i as f64),
                ("!!float", Resolved::UInt(u)) => Resolved::Float(u as f64),
                (_, r) => r,
            };
            resolved_value(r, text)
        }
        // Unknown and local tags are dropped; the scalar keeps its text.
        Some(_) => Ok(Value::String(text.into_owned())),
    }
}

fn resolved_value(r: Resolved, text: Cow<'_, str>) -> Result<Value, String> {
    Ok(match r {
        Resolved::Null => Value::Null,
        Resolved::Bool(b) => Value::Bool(b),
        Resolved::Int(i) => Value::Number(i.into()),
        Resolved::UInt(u) => Value::Number(u.into()),
        Resolved::Float(f) => match Number::from_f64(f) {
            Some(n) => Value::Number(n),
            // kustomize's JSON round trip fails here too ("json: unsupported value: +Inf").
            None => {
                return Err(format!(
                    "unsupported value {text}: infinity and NaN cannot be written as JSON"
                ))
            }
        },
        Resolved::Timestamp(s) => Value::String(s),
        Resolved::Str | Resolved::Merge => Value::String(text.into_owned()),
    })
}

fn line_col(text: &[u8], offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = count_newlines(before) + 1;
    let col = before.len()
        - before
            .iter()
            .rposition(|&c| c == b'\n')
            .map_or(0, |p| p + 1)
        + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(s: &str) -> Vec<Value> {
        read_stream(s.as_bytes(), Limits::default())
            .unwrap()
            .into_iter()
            .map(|d| d.value)
            .collect()
    }

    #[test]
    fn splits_like_kyaml() {
        let docs = read("a: 1\n---\nb: 2\n--- # comment\nc: 3\n");
        assert_eq!(docs.len(), 3);
        assert_eq!(docs[2]["c"], 3);
    }

    #[test]
    fn a_document_end_before_any_document_is_an_error() {
        for bad in [
            "...\n",
            "# c\n\n...\n",
            "a: 1\n---\n...\n",
            "...\n---\na: 1\n",
        ] {
            assert!(
                read_stream(bad.as_bytes(), Limits::default()).is_err(),
                "{bad:?}"
            );
        }
        // After an explicit start, or a first document, it is fine.
        for good in [
            "---\n...\n",
            "a: 1\n...\n",
            "a: 1\n...\n---\nb: 2\n",
            "  ...x: 1\n",
        ] {
            assert!(
                read_stream(good.as_bytes(), Limits::default()).is_ok(),
                "{good:?}"
            );
        }
    }

    #[test]
    fn separator_with_content_is_an_error() {
        let e = read_stream(b"a: 1\n--- !!map\nb: 2\n", Limits::default()).unwrap_err();
        assert!(e.to_string().contains("invalid document separator"), "{e}");
        assert_eq!(e.line, Some(2));
    }

    #[test]
    fn merge_keys_explicit_wins() {
        let docs = read("base: &b {x: 1, y: 2}\nm:\n  x: 9\n  <<: *b\n");
        assert_eq!(docs[0]["m"]["x"], 9);
        assert_eq!(docs[0]["m"]["y"], 2);
    }

    #[test]
    fn billion_laughs_is_an_error() {
        let mut s = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let prev = i - 1;
            s.push_str(&format!("a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"));
        }
        let e = read_stream(s.as_bytes(), Limits::default()).unwrap_err();
        assert!(e.to_string().contains("alias expansion"), "{e}");
    }

    #[test]
    fn deep_nesting_is_an_error() {
        let s = "[".repeat(5000);
        assert!(read_stream(s.as_bytes(), Limits::default()).is_err());
    }

    #[test]
    fn duplicate_key_names_line() {
        let e = read_stream(b"a: 1\nb: 2\na: 3\n", Limits::default()).unwrap_err();
        assert_eq!(e.line, Some(3));
    }

    #[test]
    fn block_scalar_at_end_of_input_without_newline() {
        assert_eq!(read("a: |\n  x\n  y")[0]["a"], "x\ny");
        assert_eq!(read("a: |+\n  x")[0]["a"], "x");
        assert_eq!(read("a: |\n  x\n# c")[0]["a"], "x\n");
        assert_eq!(read("a: |\n  x\n  ")[0]["a"], "x\n");
        assert_eq!(read("a: b")[0]["a"], "b");
    }

    #[test]
    fn quoted_scalars_stay_strings() {
        let docs = read("a: \"012\"\nb: 012\nc: !!str 1\nd: !!int \"12\"\ne: !!binary aGVsbG8=\n");
        assert_eq!(docs[0]["a"], "012");
        assert_eq!(docs[0]["b"], 10);
        assert_eq!(docs[0]["c"], "1");
        assert_eq!(docs[0]["d"], 12);
        assert_eq!(docs[0]["e"], "hello");
    }
}
#[cfg(test)]
mod empty_null_tests {
    use super::*;
    #[test]
    fn records_empty_map_entries() {
        let docs = read_resource_stream(
            b"spec:\n  a:\n  b: null\n  l:\n  - x:\n  n:\n    e:\n",
            Limits::default(),
        )
        .unwrap();
        assert_eq!(
            docs[0].empty_nulls,
            vec!["/spec/a".to_string(), "/spec/n/e".to_string()]
        );
    }
}
