//! Flux's `${VAR}` substitution (fluxcd/pkg `envsubst`, a fork of drone/envsubst), the
//! language of a Flux Kustomization's `postBuild`.
//!
//! Only the braced form is a reference (`$VAR` is text). `$$` is an escaped `$` anywhere in
//! the text, so `$${x}` stays `${x}`. Inside a reference: `${#v}`, case changes `^ ^^ , ,,`,
//! substrings `${v:off[:len]}` (byte offsets), prefix and suffix removal `# ## % %%` with glob
//! patterns, replacement `/ // /# /%` (where `\/` and `\\` escape), and defaults
//! `= := :- :+ :? - + ?`, which all mean "the default when the value is empty". Parameters of
//! defaults may nest references. The parser reproduces the upstream one's corners, because
//! users' manifests depend on them: `${v-x}` does not parse ("missing closing brace"), an
//! unknown operator made of `,` and `^` is the identity, `${v/#p}` leaves the value alone.
//!
//! In strict mode (kustomize-controller's default) a missing variable is an error unless a
//! default operator handles it; otherwise a missing variable is the empty string.

use std::fmt;

/// Why a text could not be substituted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvsubstError {
    /// The text is not valid substitution syntax (upstream's parse error messages).
    Syntax(&'static str),
    /// Strict mode, and a reference without a default names a variable that is not set.
    NotSet(String),
    /// References nested deeper than [`MAX_DEPTH`].
    TooDeep,
}

impl fmt::Display for EnvsubstError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnvsubstError::Syntax(m) => f.write_str(m),
            EnvsubstError::NotSet(name) => {
                write!(f, "variable not set (strict mode): \"{name}\"")
            }
            EnvsubstError::TooDeep => write!(f, "references nested deeper than {MAX_DEPTH}"),
        }
    }
}

impl std::error::Error for EnvsubstError {}

/// How deep `${a:=${b:=...}}` may nest (upstream recurses without a bound; a hostile file
/// must not overflow the stack).
pub const MAX_DEPTH: usize = 64;

const BAD_SUBSTITUTION: EnvsubstError = EnvsubstError::Syntax("bad substitution");
const MISSING_CLOSING_BRACE: EnvsubstError = EnvsubstError::Syntax("missing closing brace");
const BAD_VARIABLE_NAME: EnvsubstError = EnvsubstError::Syntax("unable to parse variable name");
const BAD_PARAMETER: EnvsubstError =
    EnvsubstError::Syntax("unable to parse substitution within function");
const BAD_DEFAULT: EnvsubstError = EnvsubstError::Syntax("unable to parse default function");

/// Substitutes every reference in `text`. `lookup` gives a variable's value, `None` when it is
/// not set; `strict` makes an unset variable an error where no default operator covers it.
pub fn substitute(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    strict: bool,
) -> Result<String, EnvsubstError> {
    let nodes = Parser::new(text).parse_text()?;
    let mut out = String::with_capacity(text.len());
    for node in &nodes {
        eval(node, lookup, strict, &mut out)?;
    }
    Ok(out)
}

#[derive(Debug)]
enum Node {
    Text(String),
    Ref {
        var: String,
        op: String,
        args: Vec<Node>,
    },
}

/// Which characters a token may take; `len` is the token's byte length with this character.
#[derive(Clone, Copy)]
enum Accept {
    Any,
    Ident,
    Colons,
    LengthHash,
    NotClosing,
    Hashes,
    Percents,
    DefaultOp,
    ReplaceOp,
    OneEqual,
    OneColon,
    NotColonOrClosing,
    Slashes,
    NotSlash,
    CaseOp,
}

impl Accept {
    fn allows(self, c: char, len: usize) -> bool {
        match self {
            Accept::Any => true,
            Accept::Ident => c.is_alphanumeric() || c == '_',
            Accept::Colons => c == ':',
            Accept::LengthHash => c == '#' && len == 1,
            Accept::NotClosing => c != '}',
            Accept::Hashes => c == '#' && len < 3,
            Accept::Percents => c == '%' && len < 3,
            Accept::DefaultOp => {
                (len == 1 && c == ':') || (len == 2 && matches!(c, '=' | '-' | '?' | '+'))
            }
            Accept::ReplaceOp => {
                (len == 1 && c == '/') || (len == 2 && matches!(c, '/' | '#' | '%'))
            }
            Accept::OneEqual => len == 1 && c == '=',
            Accept::OneColon => len == 1 && c == ':',
            Accept::NotColonOrClosing => c != ':' && c != '}',
            Accept::Slashes => c == '/',
            Accept::NotSlash => c != '/',
            Accept::CaseOp => matches!(c, ',' | '^') && len < 3,
        }
    }
}

/// What the next token may be.
#[derive(Clone, Copy, Default)]
struct Mode {
    text: bool,
    open: bool,
    close: bool,
    escapes: Escapes,
}

/// Which escapes a token recognises: `$$` in text, and also `\/` and `\\` in the
/// parameters of a replacement.
#[derive(Clone, Copy, Default, PartialEq)]
enum Escapes {
    #[default]
    None,
    Dollar,
    All,
}

enum Token {
    Illegal,
    End,
    Text(String),
    Open,
    Close,
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn new(text: &str) -> Parser {
        Parser {
            chars: text.chars().collect(),
            pos: 0,
            depth: 0,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn at_open(&self, at: usize) -> bool {
        self.chars.get(at) == Some(&'$') && self.chars.get(at + 1) == Some(&'{')
    }

    /// The character an escape at `at` stands for.
    fn escaped(&self, at: usize, mode: Mode) -> Option<char> {
        let next = *self.chars.get(at + 1)?;
        match (self.chars[at], mode.escapes) {
            (_, Escapes::None) => None,
            ('$', _) if next == '$' => Some('$'),
            ('\\', Escapes::All) if next == '/' || next == '\\' => Some(next),
            _ => None,
        }
    }

    fn scan(&mut self, mode: Mode, accept: Accept) -> Token {
        let Some(c) = self.peek() else {
            return Token::End;
        };
        if mode.open && self.at_open(self.pos) {
            self.pos += 2;
            return Token::Open;
        }
        self.pos += 1;
        if mode.close && c == '}' {
            return Token::Close;
        }
        if !mode.text {
            return Token::Illegal;
        }
        let mut text = String::new();
        if let Some(e) = self.escaped(self.pos - 1, mode) {
            text.push(e);
            self.pos += 1;
        } else if accept.allows(c, c.len_utf8()) {
            text.push(c);
        } else {
            return Token::Illegal;
        }
        while let Some(c) = self.peek() {
            if mode.open && self.at_open(self.pos) {
                break;
            }
            if let Some(e) = self.escaped(self.pos, mode) {
                text.push(e);
                self.pos += 2;
                continue;
            }
            if !accept.allows(c, text.len() + c.len_utf8()) {
                break;
            }
            text.push(c);
            self.pos += 1;
        }
        Token::Text(text)
    }

    /// The top level: text and references until the end.
    fn parse_text(&mut self) -> Result<Vec<Node>, EnvsubstError> {
        let mode = Mode {
            text: true,
            open: true,
            escapes: Escapes::Dollar,
            ..Mode::default()
        };
        let mut nodes = Vec::new();
        loop {
            match self.scan(mode, Accept::Any) {
                Token::Text(t) => nodes.push(Node::Text(t)),
                Token::Open => nodes.push(self.parse_reference()?),
                Token::End => return Ok(nodes),
                _ => return Err(BAD_SUBSTITUTION),
            }
        }
    }

    /// After `${`.
    fn parse_reference(&mut self) -> Result<Node, EnvsubstError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(EnvsubstError::TooDeep);
        }
        let node = self.parse_reference_body();
        self.depth -= 1;
        node
    }

    fn parse_reference_body(&mut self) -> Result<Node, EnvsubstError> {
        let text = Mode {
            text: true,
            ..Mode::default()
        };
        if self.peek() == Some('#') {
            return self.parse_length();
        }
        let Token::Text(var) = self.scan(text, Accept::Ident) else {
            return Err(BAD_VARIABLE_NAME);
        };
        match self.peek() {
            Some(':') => {
                if matches!(self.chars.get(self.pos + 1), Some('=' | '-' | '?' | '+')) {
                    self.parse_default(var)
                } else {
                    self.parse_substring(var)
                }
            }
            Some('=') => self.parse_default(var),
            Some(',' | '^') => {
                let op = self.operator(Accept::CaseOp)?;
                self.close()?;
                Ok(Node::Ref {
                    var,
                    op,
                    args: Vec::new(),
                })
            }
            Some('/') => self.parse_replace(var),
            Some('#') => self.parse_remove(var, Accept::Hashes),
            Some('%') => self.parse_remove(var, Accept::Percents),
            _ => {
                let close = Mode {
                    close: true,
                    ..Mode::default()
                };
                match self.scan(close, Accept::Ident) {
                    Token::Close => Ok(Node::Ref {
                        var,
                        op: String::new(),
                        args: Vec::new(),
                    }),
                    _ => Err(MISSING_CLOSING_BRACE),
                }
            }
        }
    }

    fn operator(&mut self, accept: Accept) -> Result<String, EnvsubstError> {
        let text = Mode {
            text: true,
            ..Mode::default()
        };
        match self.scan(text, accept) {
            Token::Text(op) => Ok(op),
            _ => Err(BAD_SUBSTITUTION),
        }
    }

    fn close(&mut self) -> Result<(), EnvsubstError> {
        let close = Mode {
            close: true,
            ..Mode::default()
        };
        match self.scan(close, Accept::Any) {
            Token::Close => Ok(()),
            _ => Err(BAD_SUBSTITUTION),
        }
    }

    /// One parameter: a run of text the operator allows, or a nested reference.
    fn parameter(&mut self, accept: Accept, escapes: Escapes) -> Result<Node, EnvsubstError> {
        let mode = Mode {
            text: true,
            open: true,
            escapes,
            ..Mode::default()
        };
        match self.scan(mode, accept) {
            Token::Open => self.parse_reference(),
            Token::Text(t) => Ok(Node::Text(t)),
            _ => Err(BAD_PARAMETER),
        }
    }

    /// `${#v}`.
    fn parse_length(&mut self) -> Result<Node, EnvsubstError> {
        let op = self.operator(Accept::LengthHash)?;
        let var = self.operator(Accept::Ident)?;
        self.close()?;
        Ok(Node::Ref {
            var,
            op,
            args: Vec::new(),
        })
    }

    /// `${v:off}`, `${v:off:len}`.
    fn parse_substring(&mut self, var: String) -> Result<Node, EnvsubstError> {
        let op = self.operator(Accept::OneColon)?;
        let mut args = vec![self.parameter(Accept::NotColonOrClosing, Escapes::None)?];
        let separator_or_close = Mode {
            text: true,
            close: true,
            ..Mode::default()
        };
        match self.scan(separator_or_close, Accept::Colons) {
            Token::Close => return Ok(Node::Ref { var, op, args }),
            Token::Text(_) => {}
            _ => return Err(BAD_SUBSTITUTION),
        }
        args.push(self.parameter(Accept::NotClosing, Escapes::None)?);
        self.close()?;
        Ok(Node::Ref { var, op, args })
    }

    /// `${v#p}`, `${v##p}`, `${v%p}`, `${v%%p}`.
    fn parse_remove(&mut self, var: String, accept: Accept) -> Result<Node, EnvsubstError> {
        let op = self.operator(accept)?;
        let args = vec![self.parameter(Accept::NotClosing, Escapes::None)?];
        self.close()?;
        Ok(Node::Ref { var, op, args })
    }

    /// `${v/p/r}`, `${v//p/r}`, `${v/#p/r}`, `${v/%p/r}`.
    fn parse_replace(&mut self, var: String) -> Result<Node, EnvsubstError> {
        let op = self.operator(Accept::ReplaceOp)?;
        let mut args = vec![self.parameter(Accept::NotSlash, Escapes::All)?];
        self.operator(Accept::Slashes)?;
        if self.peek() != Some('}') {
            args.push(self.parameter(Accept::NotClosing, Escapes::All)?);
        }
        self.close()?;
        Ok(Node::Ref { var, op, args })
    }

    /// `${v=d}`, `${v:=d}`, `${v:-d}`, `${v:?d}`, `${v:+d}`: the default may hold references.
    fn parse_default(&mut self, var: String) -> Result<Node, EnvsubstError> {
        let accept = if self.peek() == Some('=') {
            Accept::OneEqual
        } else {
            Accept::DefaultOp
        };
        let op = match self.operator(accept) {
            Ok(op) => op,
            Err(_) => return Err(BAD_DEFAULT),
        };
        let mut args = Vec::new();
        while self.peek() != Some('}') {
            args.push(self.parameter(Accept::NotClosing, Escapes::None)?);
        }
        self.close()?;
        Ok(Node::Ref { var, op, args })
    }
}

fn is_default_op(op: &str) -> bool {
    matches!(op, "-" | "+" | "=" | "?" | ":-" | ":+" | ":=" | ":?")
}

fn eval(
    node: &Node,
    lookup: &dyn Fn(&str) -> Option<String>,
    strict: bool,
    out: &mut String,
) -> Result<(), EnvsubstError> {
    let (var, op, arg_nodes) = match node {
        Node::Text(t) => {
            out.push_str(t);
            return Ok(());
        }
        Node::Ref { var, op, args } => (var, op.as_str(), args),
    };
    let mut args = Vec::with_capacity(arg_nodes.len());
    for a in arg_nodes {
        let mut s = String::new();
        eval(a, lookup, strict, &mut s)?;
        args.push(s);
    }
    let value = match lookup(var) {
        Some(v) => v,
        None if strict && !is_default_op(op) => return Err(EnvsubstError::NotSet(var.clone())),
        None => String::new(),
    };
    out.push_str(&apply(op, value, &args));
    Ok(())
}

fn apply(op: &str, v: String, args: &[String]) -> String {
    let arg = |i: usize| args.get(i).map(String::as_str);
    match op {
        "," => map_first(&v, |c| single(c.to_lowercase()).unwrap_or(c)),
        ",," => v
            .chars()
            .map(|c| single(c.to_lowercase()).unwrap_or(c))
            .collect(),
        "^" => map_first(&v, |c| single(c.to_uppercase()).unwrap_or(c)),
        "^^" => v
            .chars()
            .map(|c| single(c.to_uppercase()).unwrap_or(c))
            .collect(),
        "#" if args.is_empty() => v.len().to_string(),
        "#" => trim_prefix(&v, &args[0], Match::Shortest),
        "##" => trim_prefix(&v, &args[0], Match::Longest),
        "%" => trim_suffix(&v, &args[0], Match::Shortest),
        "%%" => trim_suffix(&v, &args[0], Match::Longest),
        ":" => substring(&v, args),
        "/#" => match (arg(0), arg(1)) {
            (Some(p), Some(r)) if v.starts_with(p) => format!("{r}{}", &v[p.len()..]),
            _ => v,
        },
        "/%" => match (arg(0), arg(1)) {
            (Some(p), Some(r)) if v.ends_with(p) => format!("{}{r}", &v[..v.len() - p.len()]),
            _ => v,
        },
        "/" => match arg(0) {
            Some(p) => v.replacen(p, arg(1).unwrap_or(""), 1),
            None => v,
        },
        "//" => match arg(0) {
            Some(p) => v.replace(p, arg(1).unwrap_or("")),
            None => v,
        },
        // Every other operator (the defaults, the bare reference, unknown ones) is "the
        // default when empty".
        _ if v.is_empty() && !args.is_empty() => args.concat(),
        _ => v,
    }
}

/// Go's simple case mapping: a character whose mapping is several characters stays.
fn single(mut mapped: impl Iterator<Item = char>) -> Option<char> {
    let c = mapped.next()?;
    mapped.next().is_none().then_some(c)
}

fn map_first(s: &str, f: impl Fn(char) -> char) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => std::iter::once(f(c)).chain(chars).collect(),
        None => String::new(),
    }
}

/// `${v:off}` and `${v:off:len}` on bytes, as upstream; an offset or length that is not a
/// number leaves the value alone.
fn substring(s: &str, args: &[String]) -> String {
    let b = s.as_bytes();
    let Some(Ok(mut pos)) = args.first().map(|a| a.parse::<i64>()) else {
        return s.to_owned();
    };
    if pos < 0 {
        pos = (b.len() as i64 + pos).max(0);
    }
    let pos = pos as usize;
    let from = |p: usize| String::from_utf8_lossy(&b[p..]).into_owned();
    let Some(len) = args.get(1) else {
        return if pos < b.len() {
            from(pos)
        } else {
            String::new()
        };
    };
    let Ok(len) = len.parse::<i64>() else {
        return s.to_owned();
    };
    let end = pos as i64 + len;
    if end >= b.len() as i64 {
        return if pos < b.len() {
            from(pos)
        } else {
            String::new()
        };
    }
    if end < pos as i64 {
        // A negative length: upstream slices out of range and panics; nothing sensible to
        // give but the empty string.
        return String::new();
    }
    String::from_utf8_lossy(&b[pos..end as usize]).into_owned()
}

#[derive(Clone, Copy, PartialEq)]
enum Match {
    Shortest,
    Longest,
}

/// Removes the shortest or longest non-empty prefix (in bytes) that `pattern` matches.
fn trim_prefix(s: &str, pattern: &str, which: Match) -> String {
    let b = s.as_bytes();
    let mut cut = None;
    for end in (1..=b.len()).rev() {
        match glob(pattern.as_bytes(), &b[..end]) {
            Err(_) => return s.to_owned(),
            Ok(true) => {
                cut = Some(end);
                if which == Match::Longest {
                    break;
                }
            }
            Ok(false) => {}
        }
    }
    match cut {
        Some(end) => String::from_utf8_lossy(&b[end..]).into_owned(),
        None => s.to_owned(),
    }
}

/// Suffix removal is prefix removal on the reversed value with the reversed pattern (so a
/// pattern like `[ab]` reversed is malformed and removes nothing, as upstream).
fn trim_suffix(s: &str, pattern: &str, which: Match) -> String {
    let reversed: String = s.chars().rev().collect();
    let pattern: String = pattern.chars().rev().collect();
    trim_prefix(&reversed, &pattern, which)
        .chars()
        .rev()
        .collect()
}

struct BadPattern;

fn decode(b: &[u8]) -> (char, usize) {
    for n in 1..=b.len().min(4) {
        if let Ok(s) = std::str::from_utf8(&b[..n]) {
            if let Some(c) = s.chars().next() {
                return (c, n);
            }
        }
    }
    (char::REPLACEMENT_CHARACTER, 1)
}

/// Upstream's glob (Go's `path.Match` with two changes): `*` and `?` also match `/`, and a
/// trailing `*` matches the rest whatever it holds.
fn glob(mut pattern: &[u8], mut name: &[u8]) -> Result<bool, BadPattern> {
    'chunks: while !pattern.is_empty() {
        let (star, chunk, rest) = next_chunk(pattern);
        pattern = rest;
        if star && chunk.is_empty() {
            return Ok(true);
        }
        let here = match_chunk(chunk, name);
        if let Ok(Some(t)) = here {
            if t.is_empty() || !pattern.is_empty() {
                name = t;
                continue;
            }
        }
        here?;
        if star {
            for i in 0..name.len() {
                if let Some(t) = match_chunk(chunk, &name[i + 1..])? {
                    if pattern.is_empty() && !t.is_empty() {
                        continue;
                    }
                    name = t;
                    continue 'chunks;
                }
            }
        }
        return Ok(false);
    }
    Ok(name.is_empty())
}

fn next_chunk(mut pattern: &[u8]) -> (bool, &[u8], &[u8]) {
    let mut star = false;
    while pattern.first() == Some(&b'*') {
        pattern = &pattern[1..];
        star = true;
    }
    let mut in_range = false;
    let mut i = 0;
    while i < pattern.len() {
        match pattern[i] {
            b'\\' if i + 1 < pattern.len() => i += 1,
            b'[' => in_range = true,
            b']' => in_range = false,
            b'*' if !in_range => break,
            _ => {}
        }
        i += 1;
    }
    (star, &pattern[..i], &pattern[i..])
}

/// Matches `chunk` at the start of `s`: what is left of `s`, or `None` when it does not match.
fn match_chunk<'a>(mut chunk: &[u8], mut s: &'a [u8]) -> Result<Option<&'a [u8]>, BadPattern> {
    while !chunk.is_empty() {
        if s.is_empty() {
            return Ok(None);
        }
        match chunk[0] {
            b'[' => {
                let (r, n) = decode(s);
                s = &s[n..];
                chunk = &chunk[1..];
                let negated = chunk.first() == Some(&b'^');
                if negated {
                    chunk = &chunk[1..];
                }
                let mut matched = false;
                let mut ranges = 0;
                loop {
                    if chunk.first() == Some(&b']') && ranges > 0 {
                        chunk = &chunk[1..];
                        break;
                    }
                    let (lo, rest) = class_char(chunk)?;
                    chunk = rest;
                    let mut hi = lo;
                    if chunk[0] == b'-' {
                        let (h, rest) = class_char(&chunk[1..])?;
                        hi = h;
                        chunk = rest;
                    }
                    if lo <= r && r <= hi {
                        matched = true;
                    }
                    ranges += 1;
                }
                if matched == negated {
                    return Ok(None);
                }
            }
            b'?' => {
                let (_, n) = decode(s);
                s = &s[n..];
                chunk = &chunk[1..];
            }
            c => {
                let c = if c == b'\\' {
                    chunk = &chunk[1..];
                    *chunk.first().ok_or(BadPattern)?
                } else {
                    c
                };
                if c != s[0] {
                    return Ok(None);
                }
                s = &s[1..];
                chunk = &chunk[1..];
            }
        }
    }
    Ok(Some(s))
}

/// One character of a `[...]` class; the rest of the class must not be empty.
fn class_char(chunk: &[u8]) -> Result<(char, &[u8]), BadPattern> {
    let mut chunk = match chunk.first() {
        None | Some(b'-') | Some(b']') => return Err(BadPattern),
        Some(b'\\') => &chunk[1..],
        Some(_) => chunk,
    };
    if chunk.is_empty() {
        return Err(BadPattern);
    }
    let (r, n) = decode(chunk);
    if r == char::REPLACEMENT_CHARACTER && n == 1 {
        return Err(BadPattern);
    }
    chunk = &chunk[n..];
    if chunk.is_empty() {
        return Err(BadPattern);
    }
    Ok((r, chunk))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn run(vars: &[(&str, &str)], text: &str, strict: bool) -> Result<String, EnvsubstError> {
        let vars: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        substitute(text, &|k| vars.get(k).cloned(), strict)
    }

    #[test]
    fn dash_without_colon_does_not_parse() {
        assert_eq!(run(&[], "${v-x}", false), Err(MISSING_CLOSING_BRACE));
    }

    #[test]
    fn dollar_words_are_text() {
        assert_eq!(run(&[("v", "1")], "$v ${v} $", true).unwrap(), "$v 1 $");
    }

    #[test]
    fn unclosed_reference_is_an_error() {
        assert!(run(&[("v", "1")], "a ${v", false).is_err());
        assert!(run(&[("v", "1")], "${", false).is_err());
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let text = "${a:=".repeat(10_000) + &"}".repeat(10_000);
        assert_eq!(run(&[], &text, false), Err(EnvsubstError::TooDeep));
    }

    #[test]
    fn glob_classes_and_escapes() {
        assert_eq!(run(&[("f", "a.b.c")], "${f#?.[ab]}", false).unwrap(), ".c");
        // Suffixes match the reversed pattern, `]cb[.`, which never matches.
        assert_eq!(
            run(&[("f", "a.b.c")], "${f%.[bc]}", false).unwrap(),
            "a.b.c"
        );
        assert_eq!(run(&[("f", "a*b")], "${f#a\\*}", false).unwrap(), "b");
        assert_eq!(run(&[("f", "x/y/z")], "${f#*}", false).unwrap(), "/y/z");
        assert_eq!(run(&[("f", "x/y/z")], "${f##*}", false).unwrap(), "");
        assert_eq!(run(&[("f", "x/y")], "${f/\\//-}", false).unwrap(), "x-y");
        assert_eq!(
            run(&[("f", "a\\b")], "a\\b${f}", false).unwrap(),
            "a\\ba\\b"
        );
    }

    #[test]
    fn substring_edges() {
        assert_eq!(run(&[("v", "abcdef")], "${v:-2}", false).unwrap(), "abcdef");
        assert_eq!(
            run(&[("v", "abcdef")], "${v:2:100}", false).unwrap(),
            "cdef"
        );
        assert_eq!(run(&[("v", "abcdef")], "${v:9}", false).unwrap(), "");
        assert_eq!(run(&[("v", "abcdef")], "${v:x}", false).unwrap(), "abcdef");
        assert_eq!(run(&[("v", "abcdef")], "${v:1:-3}", false).unwrap(), "");
    }
}
