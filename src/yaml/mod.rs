//! The only code that knows YAML syntax.
//!
//! - [`reader`]: bytes → `serde_json::Value` documents with go-yaml v3's scalar resolution,
//!   kustomize's document splitting, anchors/aliases/merge keys, bounded expansion.
//!   `block` is its fast path for plain block-style YAML; anything else goes to the full
//!   parser (granit-parser), and both feed the same builder.
//! - [`emit`]: `Value` → the exact bytes kustomize prints (go-yaml v2 via a JSON round trip).
//! - [`resolve`]: the Go scalar resolvers both sides share.
//! - [`natural`]: go-yaml v2's map-key order.
//! - [`spans`]: scalar positions and styles in the original bytes, for in-place edits.
//!
//! Everything above this module works on the JSON-like [`serde_json::Value`] tree and never
//! sees YAML text.

mod block;
pub mod emit;
pub mod natural;
pub mod reader;
pub mod resolve;
pub mod spans;

pub use emit::{emit_document, to_string};
pub use reader::{read_document, read_stream, Document, Limits};
pub use resolve::Dialect;

/// A YAML error, with the 1-based line and column where the YAML layer knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// What is wrong, without the position.
    pub message: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known (never without a line).
    pub column: Option<usize>,
}

impl Error {
    /// An error with no position.
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Error {
            message: message.into(),
            line: None,
            column: None,
        }
    }

    /// An error at a 1-based line and column.
    pub(crate) fn at(message: impl Into<String>, line: usize, column: usize) -> Self {
        Error {
            message: message.into(),
            line: Some(line),
            column: Some(column),
        }
    }

    /// Moves the position down by `lines` (errors found in a piece of a larger file).
    pub fn shifted(mut self, lines: usize) -> Self {
        if let Some(l) = self.line.as_mut() {
            *l += lines;
        }
        self
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "line {l}, column {c}: {}", self.message),
            (Some(l), None) => write!(f, "line {l}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for Error {}

/// Renders a list of resources as kustomize prints a build: documents joined by `---`.
/// Large streams are printed on all cores, in chunks, and joined in order.
pub fn emit_stream<'a>(
    values: impl IntoIterator<Item = &'a serde_json::Value>,
) -> Result<Vec<u8>, Error> {
    emit_stream_on(values, crate::par::available())
}

/// [`emit_stream`] on at most `threads` threads.
pub fn emit_stream_on<'a>(
    values: impl IntoIterator<Item = &'a serde_json::Value>,
    threads: usize,
) -> Result<Vec<u8>, Error> {
    let values: Vec<&serde_json::Value> = values.into_iter().collect();
    // Below this, starting threads costs more than printing.
    let threads = if values.len() >= 64 {
        threads.max(1)
    } else {
        1
    };
    let chunk = values.len().div_ceil(threads).max(1);
    let chunks: Vec<&[&serde_json::Value]> = values.chunks(chunk).collect();
    let parts = crate::par::map(&chunks, threads, |docs| {
        let mut out = Vec::new();
        for (i, v) in docs.iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(b"---\n");
            }
            emit_document(v, &mut out)?;
        }
        Ok::<_, Error>(out)
    });
    let mut out = Vec::new();
    for (i, part) in parts.into_iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b"---\n");
        }
        out.extend_from_slice(&part?);
    }
    Ok(out)
}
