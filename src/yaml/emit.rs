//! Writing the document model exactly as kustomize prints it.
//!
//! kustomize prints each resource with `sigs.k8s.io/yaml.JSONToYAML`: the resource goes
//! through a JSON round trip and is marshalled by go-yaml v2, a Go port of libyaml's
//! emitter. This module reproduces the choices that matter for the bytes: go-yaml v2's key
//! order ([`super::natural`]), its string-style decision (`encoder.stringv`: YAML 1.1
//! look-alikes double-quoted, `\n` → literal block), libyaml's scalar analysis and style
//! fallbacks (plain → single → double), folding at column 80, block-scalar chomping and
//! indentation hints, indentless sequences under mapping keys, `{}`/`[]` for empty
//! collections, and Go's float formatting. It appends to one `Vec<u8>`; nothing is
//! allocated per node except the key order of maps that are not already sorted.

use serde_json::{Map, Number, Value};

use super::natural;
use super::resolve::v2_plain_is_string;
use super::Error;

const BEST_INDENT: isize = 2;
const BEST_WIDTH: usize = 80;

/// Appends one resource (a YAML document, no `---`) to `out`.
pub fn emit_document(value: &Value, out: &mut Vec<u8>) -> Result<(), Error> {
    let mut e = Emitter {
        out,
        column: 0,
        whitespace: true,
        indention: true,
        indent: -1,
    };
    e.node(value, Ctx::Root)?;
    // Document end: finish the last line.
    e.indent = -1;
    e.write_indent();
    Ok(())
}

/// Renders `value` as a standalone YAML document.
pub fn to_string(value: &Value) -> Result<String, Error> {
    let mut out = Vec::new();
    emit_document(value, &mut out)?;
    Ok(String::from_utf8(out)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

/// How Go prints a JSON number after kustomize's JSON → YAML round trip.
pub fn format_number(n: &Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    let f = n.as_f64().unwrap_or(0.0);
    // encoding/json writes integral floats below 1e21 as plain digits; go-yaml v2 then reads
    // them back as integers when that text fits in int64 or uint64. The text is the
    // shortest round-tripping digits padded with zeros (2^63 prints as 9223372036854776000,
    // which no longer fits).
    if f.fract() == 0.0 && f.abs() < 1e21 {
        let text = format_go_float_fixed(f);
        if let Ok(i) = text.parse::<i64>() {
            return i.to_string();
        }
        if let Ok(u) = text.parse::<u64>() {
            return u.to_string();
        }
    }
    format_go_float(f)
}

/// Go's `strconv.FormatFloat(f, 'f', -1, 64)` for an integral `f`: shortest digits, then
/// zeros up to the decimal point.
fn format_go_float_fixed(f: f64) -> String {
    let sci = format!("{:e}", f);
    let (neg, sci) = match sci.strip_prefix('-') {
        Some(s) => (true, s),
        None => (false, sci.as_str()),
    };
    let (mant, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    if exp < 0 || f == 0.0 {
        return "0".to_string();
    }
    let mut s = String::new();
    if neg {
        s.push('-');
    }
    s.push_str(&digits);
    for _ in digits.len()..(exp as usize + 1) {
        s.push('0');
    }
    s
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)`.
pub fn format_go_float(f: f64) -> String {
    if f == 0.0 {
        return "0".to_string();
    }
    let sci = format!("{:e}", f);
    let (neg, sci) = match sci.strip_prefix('-') {
        Some(s) => (true, s),
        None => (false, sci.as_str()),
    };
    let (mant, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let mut s = String::new();
    if neg {
        s.push('-');
    }
    if !(-4..6).contains(&exp) {
        s.push_str(&digits[..1]);
        if digits.len() > 1 {
            s.push('.');
            s.push_str(&digits[1..]);
        }
        s.push('e');
        s.push(if exp < 0 { '-' } else { '+' });
        let a = exp.unsigned_abs();
        if a < 10 {
            s.push('0');
        }
        s.push_str(&a.to_string());
    } else {
        let dp = exp + 1; // position of the decimal point relative to the digits
        if dp <= 0 {
            s.push_str("0.");
            for _ in 0..(-dp) {
                s.push('0');
            }
            s.push_str(&digits);
        } else {
            let dp = dp as usize;
            if digits.len() <= dp {
                s.push_str(&digits);
                for _ in digits.len()..dp {
                    s.push('0');
                }
            } else {
                s.push_str(&digits[..dp]);
                s.push('.');
                s.push_str(&digits[dp..]);
            }
        }
    }
    s
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Root,
    /// A value after `key:` (libyaml's mapping context).
    MapValue,
    /// An item after `- `.
    SeqItem,
    /// A simple (implicit) mapping key.
    SimpleKey,
    /// A complex key after `? `.
    ComplexKey,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

/// Whether libyaml would write `s` as a plain scalar in block context (a map value or a
/// list item) when nothing forces quotes: kyaml's untagged scalars are printed that way and
/// read back with the plain-scalar resolver.
pub fn plain_allowed(s: &str) -> bool {
    analyze(s).block_plain_allowed
}

/// libyaml's scalar analysis, reduced to what the style choice needs.
struct Analysis {
    multiline: bool,
    flow_plain_allowed: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

struct Emitter<'a> {
    out: &'a mut Vec<u8>,
    column: usize,
    whitespace: bool,
    indention: bool,
    indent: isize,
}

fn is_break_at(b: &[u8], i: usize) -> bool {
    match b[i] {
        b'\r' | b'\n' => true,
        0xC2 => b.get(i + 1) == Some(&0x85),
        0xE2 => b.get(i + 1) == Some(&0x80) && matches!(b.get(i + 2), Some(0xA8) | Some(0xA9)),
        _ => false,
    }
}

fn is_blank_at(b: &[u8], i: usize) -> bool {
    matches!(b.get(i), Some(b' ') | Some(b'\t'))
}

fn is_blankz_at(b: &[u8], i: usize) -> bool {
    i >= b.len() || is_blank_at(b, i) || is_break_at(b, i) || b[i] == 0
}

fn width(c: u8) -> usize {
    if c & 0x80 == 0 {
        1
    } else if c & 0xE0 == 0xC0 {
        2
    } else if c & 0xF0 == 0xE0 {
        3
    } else if c & 0xF8 == 0xF0 {
        4
    } else {
        1
    }
}

/// go-yaml v2's `is_printable` on the UTF-8 bytes at `i`.
fn is_printable_at(b: &[u8], i: usize) -> bool {
    let c = b[i];
    let c1 = b.get(i + 1).copied().unwrap_or(0);
    let c2 = b.get(i + 2).copied().unwrap_or(0);
    c == 0x0A
        || (0x20..=0x7E).contains(&c)
        || (c == 0xC2 && c1 >= 0xA0)
        || (c > 0xC2 && c < 0xED)
        || (c == 0xED && c1 < 0xA0)
        || c == 0xEE
        || (c == 0xEF && !(c1 == 0xBB && c2 == 0xBF) && !(c1 == 0xBF && (c2 == 0xBE || c2 == 0xBF)))
}

/// Bytes that play no part in the analysis past the first position: printable ASCII that is
/// not a space, a flow indicator, `:` or `#`.
const fn inert_table() -> [bool; 256] {
    let mut t = [false; 256];
    let mut c = 0x21;
    while c < 0x7F {
        t[c] = !matches!(
            c as u8,
            b',' | b'?' | b'[' | b']' | b'{' | b'}' | b':' | b'#'
        );
        c += 1;
    }
    t
}

static INERT: [bool; 256] = inert_table();

fn analyze(value: &str) -> Analysis {
    if value.is_ascii() && value.len() > 1 {
        analyze_ascii(value.as_bytes())
    } else {
        analyze_any(value)
    }
}

/// [`analyze_any`] for ASCII text: runs of inert bytes are skipped in one step, since all
/// they do is clear the "previous was a space/break" states.
fn analyze_ascii(b: &[u8]) -> Analysis {
    let mut scan = Scan::new(b);
    let mut i = 0;
    let n = b.len();
    while i < n {
        let c = b[i];
        if i > 0 && INERT[c as usize] {
            while i < n && INERT[b[i] as usize] {
                i += 1;
            }
            scan.inert();
            continue;
        }
        scan.step(Char {
            byte: c,
            first: i == 0,
            last: i + 1 == n,
            followed_by_whitespace: i + 1 >= n || b[i + 1] == b' ' || b[i + 1] == b'\t',
            is_break: c == b'\n' || c == b'\r',
            printable: c == b'\n' || (0x20..=0x7E).contains(&c),
            blankz: matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0),
        });
        i += 1;
    }
    scan.flags.analysis()
}

/// One character as libyaml's analysis sees it.
struct Char {
    /// Its first byte.
    byte: u8,
    first: bool,
    last: bool,
    followed_by_whitespace: bool,
    is_break: bool,
    printable: bool,
    /// A blank, a break or NUL.
    blankz: bool,
}

/// libyaml's scalar analysis, one character at a time.
struct Scan {
    flags: Flags,
    preceded_by_whitespace: bool,
    previous_space: bool,
    previous_break: bool,
}

impl Scan {
    fn new(b: &[u8]) -> Scan {
        let mut flags = Flags::default();
        if b.starts_with(b"---") || b.starts_with(b"...") {
            flags.block_indicators = true;
            flags.flow_indicators = true;
        }
        Scan {
            flags,
            preceded_by_whitespace: true,
            previous_space: false,
            previous_break: false,
        }
    }

    /// A character that is not first and plays no part: printable, not a space, break or
    /// indicator.
    #[inline(always)]
    fn inert(&mut self) {
        self.previous_space = false;
        self.previous_break = false;
        self.preceded_by_whitespace = false;
    }

    #[inline(always)]
    fn step(&mut self, c: Char) {
        let flags = &mut self.flags;
        if c.first {
            first_char_indicators(c.byte, c.followed_by_whitespace, flags);
        } else {
            match c.byte {
                b',' | b'?' | b'[' | b']' | b'{' | b'}' => flags.flow_indicators = true,
                b':' => {
                    flags.flow_indicators = true;
                    if c.followed_by_whitespace {
                        flags.block_indicators = true;
                    }
                }
                b'#' if self.preceded_by_whitespace => {
                    flags.flow_indicators = true;
                    flags.block_indicators = true;
                }
                _ => {}
            }
        }
        if !c.printable {
            flags.special_characters = true;
        }
        if c.byte == b' ' {
            flags.leading_space |= c.first;
            flags.trailing_space |= c.last;
            flags.break_space |= self.previous_break;
            self.previous_space = true;
            self.previous_break = false;
        } else if c.is_break {
            flags.line_breaks = true;
            flags.leading_break |= c.first;
            flags.trailing_break |= c.last;
            flags.space_break |= self.previous_space;
            self.previous_space = false;
            self.previous_break = true;
        } else {
            self.previous_space = false;
            self.previous_break = false;
        }
        self.preceded_by_whitespace = c.blankz;
    }
}

/// What the scan of a scalar found, before the style rules turn it into an [`Analysis`].
#[derive(Default)]
struct Flags {
    block_indicators: bool,
    flow_indicators: bool,
    line_breaks: bool,
    special_characters: bool,
    leading_space: bool,
    leading_break: bool,
    trailing_space: bool,
    trailing_break: bool,
    break_space: bool,
    space_break: bool,
}

fn first_char_indicators(c: u8, followed_by_whitespace: bool, flags: &mut Flags) {
    match c {
        b'#' | b',' | b'[' | b']' | b'{' | b'}' | b'&' | b'*' | b'!' | b'|' | b'>' | b'\''
        | b'"' | b'%' | b'@' | b'`' => {
            flags.flow_indicators = true;
            flags.block_indicators = true;
        }
        b'?' | b':' => {
            flags.flow_indicators = true;
            if followed_by_whitespace {
                flags.block_indicators = true;
            }
        }
        b'-' if followed_by_whitespace => {
            flags.flow_indicators = true;
            flags.block_indicators = true;
        }
        _ => {}
    }
}

impl Flags {
    fn analysis(&self) -> Analysis {
        let mut a = Analysis {
            multiline: self.line_breaks,
            flow_plain_allowed: true,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: true,
        };
        if self.leading_space || self.leading_break || self.trailing_space || self.trailing_break {
            a.flow_plain_allowed = false;
            a.block_plain_allowed = false;
        }
        if self.trailing_space {
            a.block_allowed = false;
        }
        if self.break_space {
            a.flow_plain_allowed = false;
            a.block_plain_allowed = false;
            a.single_quoted_allowed = false;
        }
        if self.space_break || self.special_characters {
            a.flow_plain_allowed = false;
            a.block_plain_allowed = false;
            a.single_quoted_allowed = false;
            a.block_allowed = false;
        }
        if self.line_breaks {
            a.flow_plain_allowed = false;
            a.block_plain_allowed = false;
        }
        if self.flow_indicators {
            a.flow_plain_allowed = false;
        }
        if self.block_indicators {
            a.block_plain_allowed = false;
        }
        a
    }
}

/// libyaml's analysis of any UTF-8 text, character by character.
fn analyze_any(value: &str) -> Analysis {
    let b = value.as_bytes();
    if b.is_empty() {
        return Analysis {
            multiline: false,
            flow_plain_allowed: false,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
        };
    }
    let mut scan = Scan::new(b);
    let mut i = 0;
    while i < b.len() {
        let w = width(b[i]);
        scan.step(Char {
            byte: b[i],
            first: i == 0,
            last: i + w == b.len(),
            followed_by_whitespace: i + w >= b.len() || is_blank_at(b, i + w),
            is_break: is_break_at(b, i),
            printable: is_printable_at(b, i),
            blankz: is_blankz_at(b, i),
        });
        i += w;
    }
    scan.flags.analysis()
}

/// Applies what go-yaml v2's reader does to a string when it parses kustomize's JSON text:
/// a raw NEL is a line break inside a double-quoted scalar and folds to a space; DEL, C1
/// controls, U+FFFE and U+FFFF are rejected.
fn json_round_trip(s: &str) -> Result<std::borrow::Cow<'_, str>, Error> {
    let b = s.as_bytes();
    if !b.iter().any(|&c| c == 0x7F || c == 0xC2 || c == 0xEF) {
        return Ok(std::borrow::Cow::Borrowed(s));
    }
    let mut has_nel = false;
    for c in s.chars() {
        match c {
            '\u{85}' => has_nel = true,
            '\u{7F}' | '\u{80}'..='\u{9F}' | '\u{FFFE}' | '\u{FFFF}' => {
                return Err(Error::new(format!(
                    "yaml: control characters are not allowed (U+{:04X} in {s:?})",
                    c as u32
                )))
            }
            _ => {}
        }
    }
    if !has_nel {
        return Ok(std::borrow::Cow::Borrowed(s));
    }
    // Line folding: blanks around the breaks are trimmed; one break is a space, n breaks are
    // n-1 newlines.
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '\u{85}' {
            while out.ends_with(' ') {
                out.pop();
            }
            let mut breaks = 0;
            while i < chars.len() && (chars[i] == '\u{85}' || chars[i] == ' ') {
                if chars[i] == '\u{85}' {
                    breaks += 1;
                }
                i += 1;
            }
            if breaks == 1 {
                out.push(' ');
            } else {
                for _ in 1..breaks {
                    out.push('\n');
                }
            }
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    Ok(std::borrow::Cow::Owned(out))
}

impl Emitter<'_> {
    fn put(&mut self, c: u8) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push(b'\n');
        self.column = 0;
    }

    /// Copies one UTF-8 character at `b[*i]`.
    fn write_char(&mut self, b: &[u8], i: &mut usize) {
        let w = width(b[*i]).min(b.len() - *i);
        self.out.extend_from_slice(&b[*i..*i + w]);
        self.column += 1;
        *i += w;
    }

    /// Copies the run of printable ASCII at `b[*i..]` that contains no space and none of
    /// `special`: characters that each would be copied one at a time with no other effect.
    fn copy_ascii_run(&mut self, b: &[u8], i: &mut usize, special: &[u8]) {
        let start = *i;
        while *i < b.len() && (0x21..=0x7E).contains(&b[*i]) && !special.contains(&b[*i]) {
            *i += 1;
        }
        self.out.extend_from_slice(&b[start..*i]);
        self.column += *i - start;
    }

    fn write_break(&mut self, b: &[u8], i: &mut usize) {
        if b[*i] == b'\n' {
            self.put_break();
            *i += 1;
        } else {
            self.write_char(b, i);
            self.column = 0;
        }
    }

    fn write_indent(&mut self) {
        let indent = self.indent.max(0) as usize;
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        if self.column < indent {
            let pad = indent - self.column;
            self.out.resize(self.out.len() + pad, b' ');
            self.column = indent;
        }
        self.whitespace = true;
        self.indention = true;
    }

    fn write_indicator(
        &mut self,
        ind: &[u8],
        need_whitespace: bool,
        is_whitespace: bool,
        is_indention: bool,
    ) {
        if need_whitespace && !self.whitespace {
            self.put(b' ');
        }
        self.out.extend_from_slice(ind);
        self.column += ind.len();
        self.whitespace = is_whitespace;
        self.indention = self.indention && is_indention;
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        if self.indent < 0 {
            self.indent = if flow { BEST_INDENT } else { 0 };
        } else if !indentless {
            self.indent += BEST_INDENT;
        }
    }

    fn node(&mut self, v: &Value, ctx: Ctx) -> Result<(), Error> {
        match v {
            Value::Null => self.plain_token("null", ctx),
            Value::Bool(true) => self.plain_token("true", ctx),
            Value::Bool(false) => self.plain_token("false", ctx),
            Value::Number(n) => self.plain_token(&format_number(n), ctx),
            Value::String(s) => self.string(s, ctx),
            Value::Array(a) if a.is_empty() => {
                self.write_indicator(b"[", true, true, false);
                self.write_indicator(b"]", false, false, false);
                Ok(())
            }
            Value::Object(m) if m.is_empty() => {
                self.write_indicator(b"{", true, true, false);
                self.write_indicator(b"}", false, false, false);
                Ok(())
            }
            Value::Array(a) => self.block_sequence(a, ctx),
            Value::Object(m) => self.block_mapping(m),
        }
    }

    fn block_sequence(&mut self, items: &[Value], ctx: Ctx) -> Result<(), Error> {
        let saved = self.indent;
        let indentless = ctx == Ctx::MapValue && !self.indention;
        self.increase_indent(false, indentless);
        for item in items {
            self.write_indent();
            self.write_indicator(b"-", true, false, true);
            self.node(item, Ctx::SeqItem)?;
        }
        self.indent = saved;
        Ok(())
    }

    fn block_mapping(&mut self, m: &Map<String, Value>) -> Result<(), Error> {
        let saved = self.indent;
        self.increase_indent(false, false);
        // The map iterates in byte order, which is go-yaml's order for most keys; only
        // collect and re-sort when it is not.
        let sorted = {
            let mut keys = m.keys();
            let mut prev = keys.next();
            let mut ok = true;
            for k in keys {
                if prev.is_some_and(|p| natural::less(k, p)) {
                    ok = false;
                    break;
                }
                prev = Some(k);
            }
            ok
        };
        let mut reordered: Vec<(&String, &Value)> = Vec::new();
        if !sorted {
            reordered.extend(m.iter());
            natural::sort_keys(&mut reordered, |e| e.0.as_str());
        }
        let entries: Box<dyn Iterator<Item = (&String, &Value)>> = if sorted {
            Box::new(m.iter())
        } else {
            Box::new(reordered.into_iter())
        };
        for (k, v) in entries {
            let key = json_round_trip(k)?;
            self.write_indent();
            let a = analyze(&key);
            if !a.multiline && key.len() <= 128 {
                self.scalar(&key, self.string_style(&key), &a, Ctx::SimpleKey);
                self.write_indicator(b":", false, false, false);
            } else {
                self.write_indicator(b"?", true, false, true);
                self.scalar(&key, self.string_style(&key), &a, Ctx::ComplexKey);
                self.write_indent();
                self.write_indicator(b":", true, false, true);
            }
            self.node(v, Ctx::MapValue)?;
        }
        self.indent = saved;
        Ok(())
    }

    /// go-yaml v2 `encoder.stringv`: the style it asks the emitter for.
    fn string_style(&self, s: &str) -> Style {
        if s.contains('\n') {
            Style::Literal
        } else if v2_plain_is_string(s) {
            Style::Plain
        } else {
            Style::Double
        }
    }

    fn string(&mut self, s: &str, ctx: Ctx) -> Result<(), Error> {
        let s = json_round_trip(s)?;
        let a = analyze(&s);
        let style = self.string_style(&s);
        self.scalar(&s, style, &a, ctx);
        Ok(())
    }

    /// Numbers, booleans and null: plain tokens that never need quoting or folding.
    fn plain_token(&mut self, t: &str, _ctx: Ctx) -> Result<(), Error> {
        if !self.whitespace {
            self.put(b' ');
        }
        self.out.extend_from_slice(t.as_bytes());
        self.column += t.len();
        self.whitespace = false;
        self.indention = false;
        Ok(())
    }

    /// libyaml's `select_scalar_style` + `process_scalar`.
    fn scalar(&mut self, s: &str, requested: Style, a: &Analysis, ctx: Ctx) {
        let simple_key = ctx == Ctx::SimpleKey;
        let mut style = requested;
        if simple_key && a.multiline {
            style = Style::Double;
        }
        if style == Style::Plain {
            if !a.block_plain_allowed {
                style = Style::Single;
            }
            if s.is_empty() && simple_key {
                style = Style::Single;
            }
        }
        if style == Style::Single && !a.single_quoted_allowed {
            style = Style::Double;
        }
        if style == Style::Literal && (!a.block_allowed || simple_key) {
            style = Style::Double;
        }
        let _ = a.flow_plain_allowed;
        let saved = self.indent;
        self.increase_indent(true, false);
        let allow_breaks = !simple_key;
        match style {
            Style::Plain => self.write_plain(s, allow_breaks),
            Style::Single => self.write_single(s, allow_breaks),
            Style::Double => self.write_double(s, allow_breaks),
            Style::Literal => self.write_literal(s),
        }
        self.indent = saved;
    }

    fn write_plain(&mut self, s: &str, allow_breaks: bool) {
        if !self.whitespace {
            self.put(b' ');
        }
        let b = s.as_bytes();
        // Fast path: nothing to fold.
        if !allow_breaks || self.column + s.len() <= BEST_WIDTH || !b.contains(&b' ') {
            if b.is_ascii() {
                self.out.extend_from_slice(b);
                self.column += b.len();
            } else {
                self.out.extend_from_slice(b);
                self.column += s.chars().count();
            }
        } else {
            let mut spaces = false;
            let mut i = 0;
            while i < b.len() {
                if b[i] == b' ' {
                    if allow_breaks
                        && !spaces
                        && self.column > BEST_WIDTH
                        && b.get(i + 1) != Some(&b' ')
                    {
                        self.write_indent();
                        i += 1;
                    } else {
                        self.write_char(b, &mut i);
                    }
                    spaces = true;
                } else {
                    self.write_char(b, &mut i);
                    self.copy_ascii_run(b, &mut i, b"");
                    self.indention = false;
                    spaces = false;
                }
            }
        }
        self.whitespace = false;
        self.indention = false;
    }

    fn write_single(&mut self, s: &str, allow_breaks: bool) {
        self.write_indicator(b"'", true, false, false);
        let b = s.as_bytes();
        let mut spaces = false;
        let mut breaks = false;
        let mut i = 0;
        while i < b.len() {
            if b[i] == b' ' {
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && i != 0
                    && i != b.len() - 1
                    && b.get(i + 1) != Some(&b' ')
                {
                    self.write_indent();
                    i += 1;
                } else {
                    self.write_char(b, &mut i);
                }
                spaces = true;
            } else if is_break_at(b, i) {
                if !breaks && b[i] == b'\n' {
                    self.put_break();
                }
                self.write_break(b, &mut i);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                if b[i] == b'\'' {
                    self.put(b'\'');
                }
                self.write_char(b, &mut i);
                self.copy_ascii_run(b, &mut i, b"'");
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        if breaks {
            self.write_indent();
        }
        self.write_indicator(b"'", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_double(&mut self, s: &str, allow_breaks: bool) {
        self.write_indicator(b"\"", true, false, false);
        let b = s.as_bytes();
        // go-yaml v2 checks for a BOM at the start of the string, not at each position, so a
        // leading BOM escapes every character (fixture unicode-bom-in-string).
        let bom = b.starts_with(&[0xEF, 0xBB, 0xBF]);
        let mut spaces = false;
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            if bom || !is_printable_at(b, i) || is_break_at(b, i) || c == b'"' || c == b'\\' {
                let w = width(c).min(b.len() - i);
                let mut v: u32 = match w {
                    1 => (c & 0x7F) as u32,
                    2 => (c & 0x1F) as u32,
                    3 => (c & 0x0F) as u32,
                    _ => (c & 0x07) as u32,
                };
                for k in 1..w {
                    v = (v << 6) + (b[i + k] & 0x3F) as u32;
                }
                i += w;
                self.put(b'\\');
                let short = match v {
                    0x00 => Some(b'0'),
                    0x07 => Some(b'a'),
                    0x08 => Some(b'b'),
                    0x09 => Some(b't'),
                    0x0A => Some(b'n'),
                    0x0B => Some(b'v'),
                    0x0C => Some(b'f'),
                    0x0D => Some(b'r'),
                    0x1B => Some(b'e'),
                    0x22 => Some(b'"'),
                    0x5C => Some(b'\\'),
                    0x85 => Some(b'N'),
                    0xA0 => Some(b'_'),
                    0x2028 => Some(b'L'),
                    0x2029 => Some(b'P'),
                    _ => None,
                };
                match short {
                    Some(ch) => self.put(ch),
                    None => {
                        let (ind, digits) = if v <= 0xFF {
                            (b'x', 2)
                        } else if v <= 0xFFFF {
                            (b'u', 4)
                        } else {
                            (b'U', 8)
                        };
                        self.put(ind);
                        for k in (0..digits).rev() {
                            let d = ((v >> (k * 4)) & 0xF) as u8;
                            self.put(if d < 10 { b'0' + d } else { b'A' + d - 10 });
                        }
                    }
                }
                spaces = false;
            } else if c == b' ' {
                if allow_breaks && !spaces && self.column > BEST_WIDTH && i > 0 && i < b.len() - 1 {
                    self.write_indent();
                    if b.get(i + 1) == Some(&b' ') {
                        self.put(b'\\');
                    }
                    i += 1;
                } else {
                    self.write_char(b, &mut i);
                }
                spaces = true;
            } else {
                self.write_char(b, &mut i);
                if !bom {
                    self.copy_ascii_run(b, &mut i, b"\"\\");
                }
                spaces = false;
            }
        }
        self.write_indicator(b"\"", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_literal(&mut self, s: &str) {
        self.write_indicator(b"|", true, false, false);
        let b = s.as_bytes();
        // Block scalar hints: an explicit indentation when the text starts with a space or a
        // break; chomping from the trailing breaks.
        if !b.is_empty() && (b[0] == b' ' || is_break_at(b, 0)) {
            self.write_indicator(b"2", false, false, false);
        }
        let chomp: Option<&[u8]> = if b.is_empty() {
            Some(b"-")
        } else {
            let mut i = b.len() - 1;
            while i > 0 && b[i] & 0xC0 == 0x80 {
                i -= 1;
            }
            if !is_break_at(b, i) {
                Some(b"-")
            } else if i == 0 {
                Some(b"+")
            } else {
                i -= 1;
                while i > 0 && b[i] & 0xC0 == 0x80 {
                    i -= 1;
                }
                if is_break_at(b, i) {
                    Some(b"+")
                } else {
                    None
                }
            }
        };
        if let Some(ch) = chomp {
            self.write_indicator(ch, false, false, false);
        }
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        let mut i = 0;
        while i < b.len() {
            if is_break_at(b, i) {
                self.write_break(b, &mut i);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.write_char(b, &mut i);
                // Spaces inside a literal line are copied as they are.
                while i < b.len() && b[i] == b' ' {
                    self.put(b' ');
                    i += 1;
                    self.copy_ascii_run(b, &mut i, b"");
                }
                self.copy_ascii_run(b, &mut i, b"");
                self.indention = false;
                breaks = false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn emit(v: Value) -> String {
        to_string(&v).unwrap()
    }

    #[test]
    fn ascii_analysis_matches_the_general_one() {
        let alphabet = b"ab -:#,?[]{}\n\r\t'\"|>&*!%@`.~0";
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..200_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = 2 + (seed % 7) as usize;
            let text: String = (0..len)
                .map(|k| alphabet[((seed >> (k * 5 + 8)) % alphabet.len() as u64) as usize] as char)
                .collect();
            let (x, y) = (analyze_ascii(text.as_bytes()), analyze_any(&text));
            assert_eq!(
                (
                    x.multiline,
                    x.flow_plain_allowed,
                    x.block_plain_allowed,
                    x.single_quoted_allowed,
                    x.block_allowed
                ),
                (
                    y.multiline,
                    y.flow_plain_allowed,
                    y.block_plain_allowed,
                    y.single_quoted_allowed,
                    y.block_allowed
                ),
                "{text:?}"
            );
        }
    }

    #[test]
    fn go_float_format() {
        assert_eq!(format_go_float(1.5e-7), "1.5e-07");
        assert_eq!(format_go_float(1e-6), "1e-06");
        assert_eq!(format_go_float(1e21), "1e+21");
        assert_eq!(format_go_float(1.5e300), "1.5e+300");
        assert_eq!(format_go_float(std::f64::consts::PI), "3.141592653589793");
        assert_eq!(format_go_float(0.0001), "0.0001");
        assert_eq!(format_go_float(1234567.5), "1.2345675e+06");
        assert_eq!(format_number(&Number::from_f64(1e20).unwrap()), "1e+20");
        assert_eq!(format_number(&Number::from_f64(1.0).unwrap()), "1");
        assert_eq!(format_number(&Number::from_f64(-0.0).unwrap()), "0");
    }

    #[test]
    fn layout_matches_go_yaml_v2() {
        let v = json!({"kind": "A", "spec": {"list": ["a", {"b": 1, "c": [1, [2, 3]]}], "empty": {}, "none": []}});
        assert_eq!(
            emit(v),
            "kind: A\nspec:\n  empty: {}\n  list:\n  - a\n  - b: 1\n    c:\n    - 1\n    - - 2\n      - 3\n  none: []\n"
        );
    }

    #[test]
    fn quoting_rules() {
        let v = json!({"a": "yes", "b": "123", "c": ": x", "d": "it's", "e": "a\tb", "f": "", "g": "😀"});
        assert_eq!(
            emit(v),
            "a: \"yes\"\nb: \"123\"\nc: ': x'\nd: it's\ne: \"a\\tb\"\nf: \"\"\ng: \"\\U0001F600\"\n"
        );
    }

    #[test]
    fn literal_blocks() {
        let v = json!({"a": "x\ny\n", "b": "x\ny", "c": "x\n\n", "d": " x\n"});
        assert_eq!(
            emit(v),
            "a: |\n  x\n  y\nb: |-\n  x\n  y\nc: |+\n  x\n\nd: |2\n   x\n"
        );
    }

    #[test]
    fn folds_after_column_80() {
        let words = vec!["word"; 30].join(" ");
        let out = emit(json!({ "k": words }));
        let first = out.lines().next().unwrap();
        assert!(first.len() > 80 && first.len() < 90, "{out}");
        assert!(out.lines().nth(1).unwrap().starts_with("  word"), "{out}");
    }
}
