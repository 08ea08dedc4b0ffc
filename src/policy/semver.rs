//! Semantic versions and range constraints with the rules Flux gets from
//! Masterminds/semver v3 (the library behind `spec.policy.semver.range`).
//!
//! - [`Version::parse`] is Masterminds' lenient parser: an optional `v`, one to three
//!   numeric segments (missing ones are 0, leading zeros accepted), then `-prerelease`
//!   and `+metadata`. [`Version::parse_tag`] adds Flux's rule that a tag must contain at
//!   least two dots, so `1.4` or `v2` are never candidates.
//! - [`Constraints::parse`] reads ranges: `=`, `!=`, `>`, `<`, `>=`, `<=` (and `=>`,
//!   `=<`), `~`/`~>` (same minor), `^` (same major, with the 0.x rules), `x`/`X`/`*`
//!   wildcards and missing segments, hyphen ranges `1.2 - 1.4.5`, AND by space or comma,
//!   OR by `||`.
//! - A version with a prerelease satisfies a range only when the `||`-alternative being
//!   checked itself names a prerelease (`>=1.0.0-0`); that is how Flux keeps release
//!   candidates out of `>=1.0.0`.
//!
//! ```
//! use rustomize::policy::semver::{Constraints, Version};
//!
//! let range = Constraints::parse("^1.x-0").unwrap();
//! assert!(range.check(&Version::parse("1.4.0-rc.1").unwrap()));
//! assert!(!Constraints::parse(">=1.0.0").unwrap().check(&Version::parse("1.4.0-rc.1").unwrap()));
//! assert!(Version::parse_tag("v1.2").is_err());
//! ```

use std::cmp::Ordering;

/// A parsed version. Ordering is semver precedence (metadata ignored); [`Version::original`]
/// keeps the text it was parsed from.
#[derive(Debug, Clone)]
pub struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: String,
    metadata: String,
    original: String,
}

/// Why a version or range did not parse, in Masterminds' words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

fn invalid_version() -> ParseError {
    ParseError("invalid semantic version".into())
}

fn is_ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-'
}

/// Reads `ident(.ident)*` (identifiers of `[0-9A-Za-z-]`) from the start of `b`; returns
/// the length read, 0 if there is no identifier.
fn dotted_idents(b: &[u8]) -> usize {
    let mut i = 0;
    loop {
        let start = i;
        while b.get(i).copied().is_some_and(is_ident_char) {
            i += 1;
        }
        if i == start {
            // An empty identifier: give back the dot that announced it.
            return start.saturating_sub(1);
        }
        if b.get(i) != Some(&b'.') {
            return i;
        }
        i += 1;
    }
}

impl Version {
    /// Masterminds' `NewVersion` with `CoerceNewVersion` on (Flux's setting).
    pub fn parse(s: &str) -> Result<Version, ParseError> {
        let b = s.as_bytes();
        let mut i = usize::from(b.first() == Some(&b'v'));
        let mut segments: [Option<&str>; 3] = [None; 3];
        for (n, seg) in segments.iter_mut().enumerate() {
            let at = if n == 0 {
                i
            } else if b.get(i) == Some(&b'.') {
                i + 1
            } else {
                break;
            };
            let len = b
                .get(at..)
                .unwrap_or_default()
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .count();
            if len == 0 {
                if n == 0 {
                    return Err(invalid_version());
                }
                break;
            }
            *seg = s.get(at..at + len);
            i = at + len;
        }
        let mut pre = "";
        if b.get(i) == Some(&b'-') {
            let len = dotted_idents(b.get(i + 1..).unwrap_or_default());
            if len > 0 {
                pre = s.get(i + 1..i + 1 + len).unwrap_or_default();
                i += 1 + len;
            }
        }
        let mut metadata = "";
        if b.get(i) == Some(&b'+') {
            let len = dotted_idents(b.get(i + 1..).unwrap_or_default());
            if len > 0 {
                metadata = s.get(i + 1..i + 1 + len).unwrap_or_default();
                i += 1 + len;
            }
        }
        if i != b.len() {
            return Err(invalid_version());
        }
        let number = |seg: Option<&str>| -> Result<u64, ParseError> {
            seg.map_or(Ok(0), |d| {
                d.parse::<u64>()
                    .map_err(|e| ParseError(format!("error parsing version segment: {e}")))
            })
        };
        let [major, minor, patch] = segments;
        let v = Version {
            major: number(major)?,
            minor: number(minor)?,
            patch: number(patch)?,
            pre: pre.to_string(),
            metadata: metadata.to_string(),
            original: s.to_string(),
        };
        for part in v.pre.split('.') {
            if part.len() > 1 && part.starts_with('0') && part.bytes().all(|c| c.is_ascii_digit()) {
                return Err(ParseError("version segment starts with 0".into()));
            }
        }
        Ok(v)
    }

    /// Flux's `version.ParseVersion`: the tag must have at least two dots, then [`parse`](Self::parse).
    pub fn parse_tag(s: &str) -> Result<Version, ParseError> {
        if s.splitn(3, '.').count() != 3 {
            return Err(invalid_version());
        }
        Version::parse(s)
    }

    /// The text this version was parsed from (`v1.0.1` stays `v1.0.1`).
    pub fn original(&self) -> &str {
        &self.original
    }

    /// The prerelease (after `-`, without it), empty for a release.
    pub fn prerelease(&self) -> &str {
        &self.pre
    }

    /// Build metadata (after `+`); it never affects precedence.
    pub fn metadata(&self) -> &str {
        &self.metadata
    }

    fn triple(&self) -> (u64, u64, u64) {
        (self.major, self.minor, self.patch)
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.triple().cmp(&other.triple()).then_with(|| {
            match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                // A release outranks its prereleases.
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => compare_prerelease(&self.pre, &other.pre),
            }
        })
    }
}

/// Dot-separated identifiers, left to right; a missing identifier sorts first, numbers
/// sort numerically and before words, words sort bytewise.
fn compare_prerelease(a: &str, b: &str) -> Ordering {
    let mut xs = a.split('.');
    let mut ys = b.split('.');
    loop {
        match (xs.next(), ys.next()) {
            (None, None) => return Ordering::Equal,
            (x, y) => {
                let o = compare_identifier(x.unwrap_or(""), y.unwrap_or(""));
                if o != Ordering::Equal {
                    return o;
                }
            }
        }
    }
}

fn compare_identifier(x: &str, y: &str) -> Ordering {
    if x == y {
        return Ordering::Equal;
    }
    if x.is_empty() {
        return Ordering::Less;
    }
    if y.is_empty() {
        return Ordering::Greater;
    }
    match (x.parse::<u64>(), y.parse::<u64>()) {
        (Ok(a), Ok(b)) => a.cmp(&b),
        (Ok(_), Err(_)) => Ordering::Less,
        (Err(_), Ok(_)) => Ordering::Greater,
        (Err(_), Err(_)) => x.cmp(y),
    }
}

/// The comparison a constraint makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Equal,
    NotEqual,
    Greater,
    Less,
    GreaterEqual,
    LessEqual,
    /// `~`: same major and minor, at least this version.
    Tilde,
    /// `^`: same major (same minor for 0.x, same patch for 0.0.x), at least this version.
    Caret,
}

/// Operator spellings; an absent operator means [`Op::Equal`].
const OPERATORS: &[(&str, Op)] = &[
    ("", Op::Equal),
    ("=", Op::Equal),
    ("!=", Op::NotEqual),
    (">", Op::Greater),
    ("<", Op::Less),
    (">=", Op::GreaterEqual),
    ("=>", Op::GreaterEqual),
    ("<=", Op::LessEqual),
    ("=<", Op::LessEqual),
    ("~", Op::Tilde),
    ("~>", Op::Tilde),
    ("^", Op::Caret),
];

const OPERATOR_CHARS: &[u8] = b"=!<>~^";

/// Which segment of a constraint's version is a wildcard (or missing): everything from
/// there on matches anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wild {
    None,
    Patch,
    Minor,
    Major,
}

#[derive(Debug, Clone)]
struct Constraint {
    op: Op,
    version: Version,
    wild: Wild,
}

/// One `||` alternative: all constraints must hold.
#[derive(Debug, Clone)]
struct Group {
    all: Vec<Constraint>,
    /// Some constraint names a prerelease, so prerelease versions are considered.
    admits_prereleases: bool,
}

/// A parsed range such as `>=1.2, <2 || ^3.x-0`.
#[derive(Debug, Clone)]
pub struct Constraints {
    any: Vec<Group>,
}

/// A version as written in a range: each segment may be digits or a wildcard (or even
/// junk from `[0-9xX*|]`, which only fails when it is turned into a [`Version`]).
struct RangeVersion<'a> {
    text: &'a str,
    segments: [Option<&'a str>; 3],
    /// `-prerelease` including the dash, or "".
    pre: &'a str,
}

fn is_segment_char(c: u8) -> bool {
    c.is_ascii_digit() || matches!(c, b'x' | b'X' | b'*' | b'|')
}

fn is_wildcard(s: &str) -> bool {
    matches!(s, "x" | "X" | "*")
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0C)
}

/// Reads a range version at the start of `s`; `None` if there is none.
fn range_version(s: &str) -> Option<RangeVersion<'_>> {
    let b = s.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'v'));
    let mut segments = [None; 3];
    for (n, seg) in segments.iter_mut().enumerate() {
        let at = if n == 0 {
            i
        } else if b.get(i) == Some(&b'.') {
            i + 1
        } else {
            break;
        };
        let len = b
            .get(at..)
            .unwrap_or_default()
            .iter()
            .take_while(|&&c| is_segment_char(c))
            .count();
        if len == 0 {
            if n == 0 {
                return None;
            }
            break;
        }
        *seg = s.get(at..at + len);
        i = at + len;
    }
    let pre_start = i;
    if b.get(i) == Some(&b'-') {
        let len = dotted_idents(b.get(i + 1..).unwrap_or_default());
        if len > 0 {
            i += 1 + len;
        }
    }
    let pre_end = i;
    if b.get(i) == Some(&b'+') {
        let len = dotted_idents(b.get(i + 1..).unwrap_or_default());
        if len > 0 {
            i += 1 + len;
        }
    }
    Some(RangeVersion {
        text: s.get(..i)?,
        segments,
        pre: s.get(pre_start..pre_end)?,
    })
}

/// Rewrites every hyphen range `A - B` (spaces required around the dash) to `>= A, <= B `,
/// scanning left to right like Masterminds does before anything else.
fn rewrite_hyphen_ranges(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len() + 8);
    let mut copied = 0;
    let mut i = 0;
    while i < b.len() {
        if let Some((end, low, high)) = hyphen_range_at(s, i) {
            out.push_str(s.get(copied..i).unwrap_or_default());
            out.push_str(&format!(">= {low}, <= {high} "));
            copied = end;
            i = end;
        } else {
            i += 1;
        }
    }
    out.push_str(s.get(copied..).unwrap_or_default());
    out
}

fn hyphen_range_at(s: &str, from: usize) -> Option<(usize, &str, &str)> {
    let b = s.as_bytes();
    let skip = |mut i: usize| {
        while b.get(i).copied().is_some_and(is_space) {
            i += 1;
        }
        i
    };
    let i = skip(from);
    let low = range_version(s.get(i..)?)?.text;
    let j = i + low.len();
    let k = skip(j);
    if k == j || b.get(k) != Some(&b'-') {
        return None;
    }
    let m = skip(k + 1);
    if m == k + 1 {
        return None;
    }
    let high = range_version(s.get(m..)?)?.text;
    Some((skip(m + high.len()), low, high))
}

/// Go's `%q` for the messages that quote a range.
fn go_quote(s: &str) -> String {
    format!("{s:?}")
}

impl Constraints {
    /// Parses a range. Errors are Masterminds' messages (`improper constraint: "1x"`).
    pub fn parse(range: &str) -> Result<Constraints, ParseError> {
        let rewritten = rewrite_hyphen_ranges(range);
        let mut any = Vec::new();
        for alternative in rewritten.split("||") {
            let tokens = tokenize(alternative).ok_or_else(|| {
                ParseError(format!("improper constraint: {}", go_quote(alternative)))
            })?;
            let mut all = Vec::with_capacity(tokens.len());
            for (op, rv) in tokens {
                all.push(constraint(op, &rv)?);
            }
            let admits_prereleases = all.iter().any(|c| !c.version.pre.is_empty());
            any.push(Group {
                all,
                admits_prereleases,
            });
        }
        Ok(Constraints { any })
    }

    /// Does `v` satisfy the range?
    pub fn check(&self, v: &Version) -> bool {
        self.any
            .iter()
            .any(|g| g.all.iter().all(|c| c.allows(v, g.admits_prereleases)))
    }
}

/// Splits one `||` alternative into (operator, version) pairs, separated by blanks or a
/// comma. `None` if the text is not a list of constraints.
fn tokenize(s: &str) -> Option<Vec<(Op, RangeVersion<'_>)>> {
    let b = s.as_bytes();
    let skip = |mut i: usize| {
        while b.get(i).copied().is_some_and(is_space) {
            i += 1;
        }
        i
    };
    let mut tokens = Vec::new();
    let mut i = skip(0);
    loop {
        let op_len = b
            .get(i..)?
            .iter()
            .take_while(|c| OPERATOR_CHARS.contains(c))
            .count();
        let spelled = s.get(i..i + op_len)?;
        let op = OPERATORS.iter().find(|(t, _)| *t == spelled)?.1;
        let at = skip(i + op_len);
        let rv = range_version(s.get(at..)?)?;
        i = at + rv.text.len();
        tokens.push((op, rv));
        let after = skip(i);
        if after == b.len() {
            return Some(tokens);
        }
        if b.get(after) == Some(&b',') {
            i = skip(after + 1);
        } else if after > i {
            i = after;
        } else {
            return None;
        }
    }
}

fn constraint(op: Op, rv: &RangeVersion<'_>) -> Result<Constraint, ParseError> {
    let [major, minor, patch] = rv.segments;
    let major = major.unwrap_or("");
    let wild_or_missing = |seg: Option<&str>| seg.is_none_or(is_wildcard);
    let (wild, text) = if is_wildcard(major) {
        (Wild::Major, format!("0.0.0{}", rv.pre))
    } else if wild_or_missing(minor) {
        (Wild::Minor, format!("{major}.0.0{}", rv.pre))
    } else if wild_or_missing(patch) {
        (
            Wild::Patch,
            format!("{major}.{}.0{}", minor.unwrap_or(""), rv.pre),
        )
    } else {
        (Wild::None, rv.text.to_string())
    };
    let version =
        Version::parse(&text).map_err(|_| ParseError("constraint parser error".into()))?;
    Ok(Constraint { op, version, wild })
}

impl Constraint {
    fn allows(&self, v: &Version, admits_prereleases: bool) -> bool {
        if !v.pre.is_empty() && !admits_prereleases {
            return false;
        }
        let c = &self.version;
        let wild = self.wild;
        match self.op {
            Op::Equal if wild == Wild::None => v == c,
            Op::Equal | Op::Tilde => self.tilde(v),
            Op::NotEqual => self.not_equal(v),
            Op::Greater => match wild {
                Wild::None | Wild::Major => v > c,
                _ if v.major != c.major => v.major > c.major,
                // `>1` needs 2.0.0; `>1.1` needs 1.2.0.
                Wild::Minor => false,
                Wild::Patch => v.minor > c.minor,
            },
            Op::Less => v < c,
            Op::GreaterEqual => v >= c,
            Op::LessEqual => match wild {
                Wild::None => v <= c,
                _ => {
                    !(v.major > c.major
                        || (v.major == c.major && v.minor > c.minor && wild != Wild::Minor))
                }
            },
            Op::Caret => self.caret(v),
        }
    }

    fn tilde(&self, v: &Version) -> bool {
        let c = &self.version;
        if v < c {
            return false;
        }
        // `~0.0.0` and `~*` accept everything above.
        if c.triple() == (0, 0, 0) && !matches!(self.wild, Wild::Minor | Wild::Patch) {
            return true;
        }
        v.major == c.major && (v.minor == c.minor || self.wild == Wild::Minor)
    }

    fn caret(&self, v: &Version) -> bool {
        let c = &self.version;
        if v < c {
            return false;
        }
        if c.major > 0 || self.wild == Wild::Minor {
            return v.major == c.major;
        }
        if v.major > 0 {
            return false;
        }
        if c.minor > 0 || self.wild == Wild::Patch {
            return v.minor == c.minor;
        }
        if v.minor > 0 {
            return false;
        }
        v.patch == c.patch
    }

    fn not_equal(&self, v: &Version) -> bool {
        let c = &self.version;
        if self.wild != Wild::None {
            if v.major != c.major {
                return true;
            }
            if self.wild == Wild::Minor {
                return false;
            }
            if v.minor != c.minor {
                return true;
            }
            if self.wild == Wild::Patch {
                // `!=4.1-alpha` excludes every 4.1.x whose prerelease is `alpha`.
                return (!v.pre.is_empty() || !c.pre.is_empty())
                    && compare_prerelease(&v.pre, &c.pre) != Ordering::Equal;
            }
            if v.patch != c.patch {
                return true;
            }
        }
        v != c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn lenient_versions() {
        assert_eq!(v("v1.2").triple(), (1, 2, 0));
        assert_eq!(v("2025.07.03").triple(), (2025, 7, 3));
        assert_eq!(v("1.2.3-rc.1+build.5").pre, "rc.1");
        assert!(Version::parse("1.2.3.4").is_err());
        assert!(Version::parse("1.2.3-").is_err());
        assert!(Version::parse("1.2.3-01").is_err());
        assert!(Version::parse("V1.2.3").is_err());
        assert!(Version::parse("99999999999999999999.0.0").is_err());
    }

    #[test]
    fn flux_tags_need_two_dots() {
        assert!(Version::parse_tag("1.0-rc.1").is_ok());
        assert!(Version::parse_tag("v1.0").is_err());
    }

    #[test]
    fn precedence() {
        let mut xs = [
            "1.0.0",
            "1.0.0-rc.1",
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta.11",
            "1.0.0-beta.2",
            "0.9.9",
        ]
        .map(v)
        .to_vec();
        xs.sort();
        let order: Vec<&str> = xs.iter().map(|x| x.original()).collect();
        assert_eq!(
            order,
            [
                "0.9.9",
                "1.0.0-alpha",
                "1.0.0-alpha.1",
                "1.0.0-alpha.beta",
                "1.0.0-beta.2",
                "1.0.0-beta.11",
                "1.0.0-rc.1",
                "1.0.0"
            ]
        );
        assert_eq!(v("1.0.0+a"), v("1.0.0+b"));
    }

    #[test]
    fn hyphen_ranges_are_rewritten() {
        assert_eq!(rewrite_hyphen_ranges("1.2 - 1.4.5"), ">= 1.2, <= 1.4.5 ");
        assert_eq!(rewrite_hyphen_ranges("1.2-1.4"), "1.2-1.4");
    }

    #[test]
    fn separators() {
        assert!(Constraints::parse(">1.1 <2").is_ok());
        assert!(Constraints::parse(">1.1,<2").is_ok());
        assert!(Constraints::parse(">1.1<2").is_err());
        assert!(Constraints::parse(">1,,<2").is_err());
        let e = Constraints::parse("1x").unwrap_err();
        assert_eq!(e.0, "constraint parser error");
        let e = Constraints::parse("a").unwrap_err();
        assert_eq!(e.0, "improper constraint: \"a\"");
    }
}
