//! Plain-scalar resolution the Go way.
//!
//! kustomize reads resources with go-yaml v3 (YAML 1.2 core-ish, plus legacy octal and
//! base-prefixed integers) and writes them with go-yaml v2, whose YAML 1.1 resolver decides
//! which strings must be quoted (`yes`, `on`, `1:20`). Kustomization files are read with
//! go-yaml v2 too (via `sigs.k8s.io/yaml`). Both resolvers live here, side by side, so the
//! differences stay visible: v2 knows `y/yes/on/n/no/off` and base-60 floats, v3 does not.

/// What a plain scalar means.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolved {
    /// `null` (in Go's three spellings), `~`, or nothing at all.
    Null,
    /// `true`/`false` in Go's three spellings; for [`Dialect::V2`] also `y`, `yes`, `on`,
    /// `n`, `no`, `off` and their capitalised forms.
    Bool(bool),
    /// An integer that fits `i64`: decimal, `0x`, `0o`, `0b`, or a leading `0` for octal.
    Int(i64),
    /// An unsigned integer too large for `i64` (written without a sign).
    UInt(u64),
    /// A float, including `.nan` and `.inf`.
    Float(f64),
    /// A timestamp, already formatted as Go's `time.Time` JSON form (RFC 3339, nanoseconds
    /// trimmed): that is the string kustomize prints, double-quoted.
    Timestamp(String),
    /// Anything else: the scalar is a string.
    Str,
    /// The `<<` merge key.
    Merge,
}

/// Which Go YAML library's rules to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// go-yaml v3: resources.
    V3,
    /// go-yaml v2 (YAML 1.1 words): kustomization files, and the output quoting decision.
    V2,
}

fn hint(first: u8, dialect: Dialect) -> u8 {
    match first {
        b'+' | b'-' => b'S',
        b'0'..=b'9' => b'D',
        b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' | b'~' => b'M',
        b'.' => b'.',
        b'<' if dialect == Dialect::V3 => b'M',
        _ => 0,
    }
}

fn lookup_word(s: &str, dialect: Dialect) -> Option<Resolved> {
    Some(match s {
        "true" | "True" | "TRUE" => Resolved::Bool(true),
        "false" | "False" | "FALSE" => Resolved::Bool(false),
        "" | "~" | "null" | "Null" | "NULL" => Resolved::Null,
        ".nan" | ".NaN" | ".NAN" => Resolved::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => Resolved::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => Resolved::Float(f64::NEG_INFINITY),
        "<<" => Resolved::Merge,
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" if dialect == Dialect::V2 => {
            Resolved::Bool(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" if dialect == Dialect::V2 => {
            Resolved::Bool(false)
        }
        _ => return None,
    })
}

/// Resolves a plain (untagged, unquoted) scalar.
pub fn resolve_plain(s: &str, dialect: Dialect) -> Resolved {
    let h = if s.is_empty() {
        b'M'
    } else {
        hint(s.as_bytes()[0], dialect)
    };
    if h == 0 {
        return Resolved::Str;
    }
    if let Some(r) = lookup_word(s, dialect) {
        return r;
    }
    match h {
        b'.' => match parse_go_float(s) {
            Some(f) => Resolved::Float(f),
            None => Resolved::Str,
        },
        b'D' | b'S' => resolve_number(s),
        _ => Resolved::Str,
    }
}

/// Ints, floats and timestamps: the 'D'/'S' branch shared by both Go resolvers.
fn resolve_number(s: &str) -> Resolved {
    if let Some(ts) = parse_timestamp(s) {
        return Resolved::Timestamp(ts);
    }
    let plain: std::borrow::Cow<str> = if s.contains('_') {
        s.replace('_', "").into()
    } else {
        s.into()
    };
    if let Some(i) = parse_int_base0(&plain) {
        return i;
    }
    if is_yaml_style_float(&plain) {
        if let Some(f) = parse_go_float(&plain) {
            return Resolved::Float(f);
        }
    }
    // go-yaml's explicit 0b/-0b/0o/-0o branches accept nothing ParseInt(s, 0) rejects.
    Resolved::Str
}

/// Go's `strconv.ParseInt(s, 0, 64)` then `ParseUint(s, 0, 64)`.
pub fn parse_int_base0(s: &str) -> Option<Resolved> {
    let b = s.as_bytes();
    let (neg, signed, rest) = match b.first()? {
        b'-' => (true, true, &b[1..]),
        b'+' => (false, true, &b[1..]),
        _ => (false, false, b),
    };
    let (base, digits) = if rest.len() >= 2 && rest[0] == b'0' {
        match rest[1] {
            b'x' | b'X' => (16, &rest[2..]),
            b'o' | b'O' => (8, &rest[2..]),
            b'b' | b'B' => (2, &rest[2..]),
            _ => (8, &rest[1..]),
        }
    } else {
        (10, rest)
    };
    if digits.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        let d = match c {
            b'0'..=b'9' => (c - b'0') as u64,
            b'a'..=b'z' => (c - b'a' + 10) as u64,
            b'A'..=b'Z' => (c - b'A' + 10) as u64,
            _ => return None,
        };
        if d >= base {
            return None;
        }
        v = v.checked_mul(base)?.checked_add(d)?;
    }
    if neg {
        if v <= i64::MAX as u64 {
            Some(Resolved::Int(-(v as i64)))
        } else if v == i64::MAX as u64 + 1 {
            Some(Resolved::Int(i64::MIN))
        } else {
            None
        }
    } else if v <= i64::MAX as u64 {
        Some(Resolved::Int(v as i64))
    } else if !signed {
        // ParseUint accepts no sign.
        Some(Resolved::UInt(v))
    } else {
        None
    }
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn is_yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let st = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - st
    };
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            digits(&mut i);
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Go's `strconv.ParseFloat(s, 64)` for decimal input: `None` on syntax error or overflow
/// to infinity (Go reports a range error there and the scalar stays a string).
fn parse_go_float(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    // Accept only the decimal forms; Go also takes hex floats and "inf"/"nan" words, which
    // never reach this function with the hints above except via '.', where they fail anyway.
    let ok = b
        .iter()
        .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-' | b'_'));
    if !ok || s.contains('_') {
        return None;
    }
    let f: f64 = s.parse().ok()?;
    if f.is_infinite() {
        return None;
    }
    Some(f)
}

/// Go's v2 and v3 `parseTimestamp`: `YYYY-M-D`, `YYYY-M-D[Tt]h:m:s[.frac](Z|±hh:mm)` and
/// `YYYY-M-D h:m:s[.frac]`, validated like `time.Parse`. Returns the RFC 3339 form Go's
/// `time.Time.MarshalJSON` prints.
pub fn parse_timestamp(s: &str) -> Option<String> {
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return None;
    }
    let year: i64 = s[..4].parse().ok()?;
    let mut p = Cursor { b, i: 5 };
    let month = p.num(1, 2)?;
    p.lit(b'-')?;
    let day = p.num(1, 2)?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in(month, year) {
        return None;
    }
    let date = format!("{:04}-{:02}-{:02}", year, month, day);
    if p.i == b.len() {
        return Some(format!("{date}T00:00:00Z"));
    }
    let sep = b[p.i];
    let has_zone = match sep {
        b'T' | b't' => true,
        b' ' => false,
        _ => return None,
    };
    p.i += 1;
    let hour = p.num(1, 2)?;
    p.lit(b':')?;
    let min = p.num(1, 2)?;
    p.lit(b':')?;
    let sec = p.num(1, 2)?;
    if hour > 23 || min > 59 || sec > 59 {
        return None;
    }
    let mut frac = String::new();
    if p.i + 1 < b.len() && (b[p.i] == b'.' || b[p.i] == b',') && b[p.i + 1].is_ascii_digit() {
        p.i += 1;
        let st = p.i;
        while p.i < b.len() && b[p.i].is_ascii_digit() {
            p.i += 1;
        }
        let digits = &s[st..p.i];
        // Go keeps nanosecond precision and prints without trailing zeros.
        let mut d: String = digits.chars().take(9).collect();
        while d.ends_with('0') {
            d.pop();
        }
        if !d.is_empty() {
            frac = format!(".{d}");
        }
    }
    let zone = if has_zone {
        if p.i < b.len() && b[p.i] == b'Z' {
            p.i += 1;
            "Z".to_string()
        } else {
            let sign = *b.get(p.i)?;
            if sign != b'+' && sign != b'-' {
                return None;
            }
            p.i += 1;
            let zh = p.fixed(2)?;
            p.lit(b':')?;
            let zm = p.fixed(2)?;
            if zh == 0 && zm == 0 {
                "Z".to_string()
            } else {
                format!("{}{:02}:{:02}", sign as char, zh, zm)
            }
        }
    } else {
        "Z".to_string()
    };
    if p.i != b.len() {
        return None;
    }
    Some(format!(
        "{date}T{:02}:{:02}:{:02}{frac}{zone}",
        hour, min, sec
    ))
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn num(&mut self, min: usize, max: usize) -> Option<i64> {
        let st = self.i;
        while self.i < self.b.len() && self.i - st < max && self.b[self.i].is_ascii_digit() {
            self.i += 1;
        }
        if self.i - st < min {
            return None;
        }
        std::str::from_utf8(&self.b[st..self.i]).ok()?.parse().ok()
    }
    fn fixed(&mut self, n: usize) -> Option<i64> {
        let st = self.i;
        let v = self.num(n, n)?;
        if self.i - st != n {
            return None;
        }
        Some(v)
    }
    fn lit(&mut self, c: u8) -> Option<()> {
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            Some(())
        } else {
            None
        }
    }
}

fn days_in(month: i64, year: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// go-yaml v2's base-60 float check: `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`.
fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() || !(b[0] == b'+' || b[0] == b'-' || b[0].is_ascii_digit()) || !s.contains(':')
    {
        return false;
    }
    let mut i = 0;
    if b[0] == b'+' || b[0] == b'-' {
        i += 1;
    }
    if i >= b.len() || !b[i].is_ascii_digit() {
        return false;
    }
    i += 1;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while i < b.len() && b[i] == b':' {
        i += 1;
        // [0-5]?[0-9]
        if i + 1 < b.len() && (b'0'..=b'5').contains(&b[i]) && b[i + 1].is_ascii_digit() {
            i += 2;
        } else if i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        } else {
            return false;
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

/// go-yaml v2's `stringv` decision: may this string be written as a plain scalar without
/// being read back as something else?
pub fn v2_plain_is_string(s: &str) -> bool {
    if let Some(&c) = s.as_bytes().first() {
        if hint(c, Dialect::V2) == 0 {
            return true;
        }
    }
    resolve_plain(s, Dialect::V2) == Resolved::Str && !is_base60_float(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v3_integers_include_legacy_octal_and_prefixes() {
        assert_eq!(resolve_plain("012", Dialect::V3), Resolved::Int(10));
        assert_eq!(resolve_plain("0o12", Dialect::V3), Resolved::Int(10));
        assert_eq!(resolve_plain("0x1F", Dialect::V3), Resolved::Int(31));
        assert_eq!(resolve_plain("0b101", Dialect::V3), Resolved::Int(5));
        assert_eq!(resolve_plain("1_000", Dialect::V3), Resolved::Int(1000));
        assert_eq!(resolve_plain("+12", Dialect::V3), Resolved::Int(12));
        assert_eq!(resolve_plain("0x", Dialect::V3), Resolved::Str);
        assert_eq!(resolve_plain("0o8", Dialect::V3), Resolved::Str);
        assert_eq!(resolve_plain("08", Dialect::V3), Resolved::Float(8.0));
        assert_eq!(
            resolve_plain("18446744073709551615", Dialect::V3),
            Resolved::UInt(u64::MAX)
        );
        assert_eq!(
            resolve_plain("18446744073709551616", Dialect::V3),
            Resolved::Float(18446744073709551616.0)
        );
    }

    #[test]
    fn only_true_false_are_v3_booleans() {
        assert_eq!(resolve_plain("True", Dialect::V3), Resolved::Bool(true));
        assert_eq!(resolve_plain("yes", Dialect::V3), Resolved::Str);
        assert_eq!(resolve_plain("yes", Dialect::V2), Resolved::Bool(true));
        assert_eq!(resolve_plain("tRUE", Dialect::V3), Resolved::Str);
    }

    #[test]
    fn floats_overflow_to_strings() {
        assert_eq!(resolve_plain("1e400", Dialect::V3), Resolved::Str);
        assert_eq!(resolve_plain("1e-400", Dialect::V3), Resolved::Float(0.0));
        assert_eq!(resolve_plain("5.", Dialect::V3), Resolved::Float(5.0));
        assert_eq!(resolve_plain(".5", Dialect::V3), Resolved::Float(0.5));
        assert_eq!(resolve_plain("1e", Dialect::V3), Resolved::Str);
    }

    #[test]
    fn timestamps_print_as_rfc3339() {
        assert_eq!(
            parse_timestamp("2001-12-14").as_deref(),
            Some("2001-12-14T00:00:00Z")
        );
        assert_eq!(
            parse_timestamp("2001-12-14t21:59:43.10-05:00").as_deref(),
            Some("2001-12-14T21:59:43.1-05:00")
        );
        assert_eq!(
            parse_timestamp("2001-12-14 21:59:43.10").as_deref(),
            Some("2001-12-14T21:59:43.1Z")
        );
        assert_eq!(parse_timestamp("2001-12-14 21:59:43.10 -5"), None);
        assert_eq!(
            parse_timestamp("2002-1-1").as_deref(),
            Some("2002-01-01T00:00:00Z")
        );
        assert_eq!(parse_timestamp("2001-02-30"), None);
    }

    #[test]
    fn v2_quoting_decision() {
        for s in [
            "",
            "~",
            "null",
            "yes",
            "on",
            "N",
            "123",
            "+12",
            "012",
            "0x1F",
            "1_000",
            "1.",
            ".5",
            "1e3",
            "2001-12-14",
            "1:20",
            "190:20:30",
            ".inf",
        ] {
            assert!(!v2_plain_is_string(s), "{s:?} must be quoted");
        }
        for s in [
            "<<", "=", "1e", "1e400", "0.0.0", "1,000", "12:30a", "1:60", "nginx", "a:b",
        ] {
            assert!(v2_plain_is_string(s), "{s:?} may be plain");
        }
    }
}
