//! Resource selection: the `target:` of patches and replacements.
//!
//! A [`Selector`] matches a resource when every non-empty field matches: group, version,
//! kind, name and namespace are regular expressions anchored at both ends (kustomize wraps
//! them in `^(?:...)$`), name and namespace may match either the current or the original
//! id, and `labelSelector` / `annotationSelector` use Kubernetes label-selector syntax
//! (`a=b,c!=d,e in (x,y),!f`).

use regex::Regex;
use serde_json::{Map, Value};

use crate::kustomization;
use crate::resource::Resource;

/// A compiled `target:` selector.
#[derive(Debug)]
pub struct Selector {
    group: Option<Regex>,
    version: Option<Regex>,
    kind: Option<Regex>,
    name: Option<Regex>,
    namespace: Option<Regex>,
    /// Label and annotation selectors are parsed when a resource first needs them, as in
    /// kustomize: a malformed one is an error only once the id fields select something.
    labels: Result<LabelSelector, String>,
    annotations: Result<LabelSelector, String>,
}

fn anchored(p: &str) -> Result<Option<Regex>, String> {
    if p.is_empty() {
        return Ok(None);
    }
    Regex::new(&format!("^(?:{p})$"))
        .map(Some)
        .map_err(|e| format!("invalid selector pattern {p:?}: {e}"))
}

impl Selector {
    pub fn new(s: &kustomization::Selector) -> Result<Selector, String> {
        Ok(Selector {
            group: anchored(&s.group)?,
            version: anchored(&s.version)?,
            kind: anchored(&s.kind)?,
            name: anchored(&s.name)?,
            namespace: anchored(&s.namespace)?,
            labels: LabelSelector::parse(&s.label_selector),
            annotations: LabelSelector::parse(&s.annotation_selector),
        })
    }

    /// The positions of the resources of `m` this selects, in order (kustomize's
    /// `ResMap.Select`).
    pub fn select(&self, m: &crate::resource::ResMap) -> Result<Vec<usize>, String> {
        let mut hits = Vec::new();
        for (i, r) in m.resources().iter().enumerate() {
            if self.matches(r)? {
                hits.push(i);
            }
        }
        Ok(hits)
    }

    /// kustomize's `ResMap.Select` test for one resource; an error when it reaches a
    /// malformed label or annotation selector.
    pub fn matches(&self, r: &Resource) -> Result<bool, String> {
        let cur = r.cur_id();
        let org = r.org_id();
        let ok = |re: &Option<Regex>, a: &str, b: &str| {
            re.as_ref()
                .is_none_or(|re| re.is_match(a) || re.is_match(b))
        };
        if !ok(
            &self.namespace,
            org.effective_namespace(),
            cur.effective_namespace(),
        ) {
            return Ok(false);
        }
        if !ok(&self.name, &org.name, &cur.name) {
            return Ok(false);
        }
        let gvk = &cur.gvk;
        if !ok(&self.group, &gvk.group, &gvk.group)
            || !ok(&self.version, &gvk.version, &gvk.version)
            || !ok(&self.kind, &gvk.kind, &gvk.kind)
        {
            return Ok(false);
        }
        if !self
            .labels
            .as_ref()
            .map_err(Clone::clone)?
            .matches(&r.labels())
        {
            return Ok(false);
        }
        Ok(self
            .annotations
            .as_ref()
            .map_err(Clone::clone)?
            .matches(&r.annotations()))
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Op {
    Exists,
    NotExists,
    /// `=`, `==`, `in`: the label is set to one of the values.
    In(Vec<String>),
    /// `!=`, `notin`: the label is unset or set to none of the values.
    NotIn(Vec<String>),
    Greater(i64),
    Less(i64),
}

/// A parsed Kubernetes label selector (apimachinery's `labels.Parse`); the empty selector
/// matches everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelSelector {
    reqs: Vec<(String, Op)>,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    End,
    Ident(String),
    /// `in` and `notin`, which read as identifiers where a value is expected.
    Keyword(&'static str),
    /// `!`, `=`, `==`, `!=`, `<`, `>`, `(`, `)`, `,`.
    Symbol(&'static str),
}

impl Token {
    fn text(&self) -> &str {
        match self {
            Token::End => "",
            Token::Ident(s) => s,
            Token::Keyword(s) | Token::Symbol(s) => s,
        }
    }
    /// The token where a key or value may stand: keywords are plain identifiers there.
    fn as_value(&self) -> Option<&str> {
        match self {
            Token::Ident(s) => Some(s),
            Token::Keyword(s) => Some(s),
            _ => None,
        }
    }
}

const SYMBOLS: [&str; 9] = ["!", "=", "==", "!=", "<", ">", "(", ")", ","];

fn is_symbol_char(c: char) -> bool {
    matches!(c, '=' | '!' | '(' | ')' | ',' | '>' | '<')
}

/// The lexer: identifiers run to whitespace or a symbol character; a run of symbol
/// characters is cut at its longest known prefix.
fn tokens(s: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let b: Vec<char> = s.chars().collect();
    let mut i = 0;
    loop {
        while i < b.len() && matches!(b[i], ' ' | '\t' | '\r' | '\n') {
            i += 1;
        }
        if i >= b.len() {
            out.push(Token::End);
            return Ok(out);
        }
        if is_symbol_char(b[i]) {
            let mut buf = String::new();
            let mut best: Option<(&'static str, usize)> = None;
            let mut j = i;
            while j < b.len() && is_symbol_char(b[j]) {
                buf.push(b[j]);
                j += 1;
                if let Some(sym) = SYMBOLS.iter().find(|s| **s == buf) {
                    best = Some((sym, j));
                } else if best.is_some() {
                    break;
                }
            }
            let Some((sym, next)) = best else {
                return Err(format!("error expected: keyword found '{buf}'"));
            };
            out.push(Token::Symbol(sym));
            i = next;
            continue;
        }
        let start = i;
        while i < b.len() && !matches!(b[i], ' ' | '\t' | '\r' | '\n') && !is_symbol_char(b[i]) {
            i += 1;
        }
        let word: String = b[start..i].iter().collect();
        out.push(match word.as_str() {
            "in" => Token::Keyword("in"),
            "notin" => Token::Keyword("notin"),
            _ => Token::Ident(word),
        });
    }
}

struct Parser {
    toks: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        &self.toks[self.pos.min(self.toks.len() - 1)]
    }
    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        self.pos += 1;
        t
    }
    fn at(&self, sym: &str) -> bool {
        matches!(self.peek(), Token::Symbol(s) if *s == sym)
    }
    fn at_requirement_end(&self) -> bool {
        matches!(self.peek(), Token::End) || self.at(",")
    }

    fn requirement(&mut self) -> Result<(String, Op), String> {
        let mut negated = false;
        let mut t = self.next();
        if t == Token::Symbol("!") {
            negated = true;
            t = self.next();
        }
        let Some(key) = t.as_value().map(str::to_string) else {
            return Err(format!("found '{}', expected: identifier", t.text()));
        };
        validate_key(&key)?;
        if negated {
            // `!key` takes no operator; whatever follows must end the requirement.
            return Ok((key, Op::NotExists));
        }
        if self.at_requirement_end() {
            return Ok((key, Op::Exists));
        }
        let op = self.next();
        let values = match &op {
            Token::Keyword(_) => self.value_set()?,
            Token::Symbol("=" | "==" | "!=" | "<" | ">") => {
                if self.at_requirement_end() {
                    vec![String::new()]
                } else {
                    match self.next() {
                        t @ (Token::Ident(_) | Token::Keyword(_)) => vec![t.text().to_string()],
                        t => return Err(format!("found '{}', expected: identifier", t.text())),
                    }
                }
            }
            t => {
                return Err(format!(
                    "found '{}', expected: in, notin, =, ==, !=, gt, lt",
                    t.text()
                ))
            }
        };
        for v in &values {
            validate_value(&key, v)?;
        }
        let number = |values: &[String]| -> Result<i64, String> {
            values[0].parse::<i64>().map_err(|_| {
                format!(
                    "invalid value {:?} for key {key:?}: for 'Gt', 'Lt' operators, the value must be an integer",
                    values[0]
                )
            })
        };
        Ok(match op {
            Token::Keyword("in") => (key, Op::In(values)),
            Token::Keyword(_) => (key, Op::NotIn(values)),
            Token::Symbol("!=") => (key, Op::NotIn(values)),
            Token::Symbol("<") => {
                let n = number(&values)?;
                (key, Op::Less(n))
            }
            Token::Symbol(">") => {
                let n = number(&values)?;
                (key, Op::Greater(n))
            }
            _ => (key, Op::In(values)),
        })
    }

    /// `( v1, v2 )`; empty places are the empty value: `()`, `(,a)`, `(a,)`.
    fn value_set(&mut self) -> Result<Vec<String>, String> {
        let t = self.next();
        if t != Token::Symbol("(") {
            return Err(format!("found '{}' expected: '('", t.text()));
        }
        let mut values: Vec<String> = Vec::new();
        let add = |values: &mut Vec<String>, v: &str| {
            if !values.iter().any(|x| x == v) {
                values.push(v.to_string());
            }
        };
        if self.at(")") {
            self.next();
            return Ok(vec![String::new()]);
        }
        if !(self.peek().as_value().is_some() || self.at(",")) {
            return Err(format!(
                "found '{}', expected: ',', ')' or identifier",
                self.peek().text()
            ));
        }
        loop {
            let t = self.next();
            if let Some(v) = t.as_value() {
                add(&mut values, v);
                if self.at(",") {
                    continue;
                }
                if self.at(")") {
                    break;
                }
                return Err(format!(
                    "found '{}', expected: ',' or ')'",
                    self.peek().text()
                ));
            } else if t == Token::Symbol(",") {
                if values.is_empty() {
                    add(&mut values, "");
                }
                if self.at(")") {
                    add(&mut values, "");
                    break;
                }
                if self.at(",") {
                    self.next();
                    add(&mut values, "");
                }
            } else {
                return Err(format!(
                    "found '{}', expected: ',', or identifier",
                    t.text()
                ));
            }
        }
        self.next(); // `)`
        Ok(values)
    }
}

/// A label key: an optional DNS-subdomain prefix and `/`, then a name of at most 63
/// characters (alphanumerics, `-`, `_`, `.`, alphanumeric at both ends).
fn validate_key(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    let bad = |why: &str| {
        Err(format!(
            "unable to parse requirement: invalid label key {key:?}: {why}"
        ))
    };
    if let Some(p) = prefix {
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        if p.is_empty() {
            return bad("prefix part must be non-empty");
        }
        if p.len() > 253 || !p.split('.').all(label_ok) {
            return bad("prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character");
        }
    }
    if name.is_empty() {
        return bad("name part must be non-empty");
    }
    if name.len() > 63 || !name_ok(name) {
        return bad("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character");
    }
    Ok(())
}

fn name_ok(s: &str) -> bool {
    let b = s.as_bytes();
    b.first().is_some_and(u8::is_ascii_alphanumeric)
        && b.last().is_some_and(u8::is_ascii_alphanumeric)
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// A label value: empty, or at most 63 characters of the name alphabet.
fn validate_value(key: &str, v: &str) -> Result<(), String> {
    if v.is_empty() || (v.len() <= 63 && name_ok(v)) {
        return Ok(());
    }
    Err(format!(
        "unable to parse requirement: invalid label value: {v:?}: at key: {key:?}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
    ))
}

impl LabelSelector {
    /// Parses `a=b,c!=d,e in (x,y),!f,g>3` with apimachinery's grammar and checks.
    pub fn parse(s: &str) -> Result<LabelSelector, String> {
        let mut p = Parser {
            toks: tokens(s)?,
            pos: 0,
        };
        let mut reqs = Vec::new();
        loop {
            match p.peek() {
                Token::End => return Ok(LabelSelector { reqs }),
                t if t.as_value().is_some() || *t == Token::Symbol("!") => {}
                t => {
                    return Err(format!(
                        "found '{}', expected: !, identifier, or 'end of string'",
                        t.text()
                    ))
                }
            }
            reqs.push(p.requirement().map_err(|e| {
                if e.starts_with("unable to parse requirement") {
                    e
                } else {
                    format!("unable to parse requirement: {e}")
                }
            })?);
            match p.next() {
                Token::End => return Ok(LabelSelector { reqs }),
                Token::Symbol(",") => {
                    if !(p.peek().as_value().is_some() || *p.peek() == Token::Symbol("!")) {
                        return Err(format!(
                            "found '{}', expected: identifier after ','",
                            p.peek().text()
                        ));
                    }
                }
                t => {
                    return Err(format!(
                        "found '{}', expected: ',' or 'end of string'",
                        t.text()
                    ))
                }
            }
        }
    }

    pub fn matches(&self, labels: &Map<String, Value>) -> bool {
        self.reqs.iter().all(|(k, op)| {
            let v = labels
                .get(k)
                .map(|v| crate::transform::scalar_text(v).unwrap_or_default());
            match op {
                Op::Exists => v.is_some(),
                Op::NotExists => v.is_none(),
                Op::In(xs) => v.is_some_and(|v| xs.contains(&v)),
                Op::NotIn(xs) => v.is_none_or(|v| !xs.contains(&v)),
                Op::Greater(n) => v
                    .and_then(|v| v.parse::<i64>().ok())
                    .is_some_and(|v| v > *n),
                Op::Less(n) => v
                    .and_then(|v| v.parse::<i64>().ok())
                    .is_some_and(|v| v < *n),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn label_selector_forms() {
        let l = labels(json!({"app": "web", "tier": "front", "n": "5"}));
        for (sel, want) in [
            ("", true),
            ("app=web", true),
            ("app==web", true),
            ("app!=web", false),
            ("app in (web, api)", true),
            ("app notin (web)", false),
            ("missing", false),
            ("!missing", true),
            ("app=web,tier=back", false),
            ("n>3", true),
            ("n<3", false),
            ("other!=x", true),
        ] {
            assert_eq!(
                LabelSelector::parse(sel).unwrap().matches(&l),
                want,
                "{sel}"
            );
        }
        assert!(LabelSelector::parse("a in b").is_err());
    }

    proptest::proptest! {
        /// Any text parses or fails without a panic, and a parsed selector can match.
        #[test]
        fn any_text_is_handled(text in "[a-c0-9 =!(),<>._/-]{0,30}|(in|notin| |a|,|\\(|\\))*") {
            if let Ok(s) = LabelSelector::parse(&text) {
                let _ = s.matches(&labels(json!({"a": "1", "b": ""})));
            }
        }
    }

    #[test]
    fn empty_places_in_value_sets_are_the_empty_value() {
        let empty = labels(json!({"app": ""}));
        let set = labels(json!({"app": "a"}));
        for (sel, on_empty, on_a) in [
            ("app in ()", true, false),
            ("app in ( )", true, false),
            ("app in (,a)", true, true),
            ("app in (a,)", true, true),
            ("app in (a,,b)", true, true),
            ("app in (a)", false, true),
            ("app notin ()", false, true),
            ("app=", true, false),
            ("app!=", false, true),
            ("app in (in, notin)", false, false),
        ] {
            let s = LabelSelector::parse(sel).unwrap();
            assert_eq!(s.matches(&empty), on_empty, "{sel}");
            assert_eq!(s.matches(&set), on_a, "{sel}");
        }
    }

    #[test]
    fn malformed_selectors_are_errors() {
        for sel in [
            "app,",
            "app=a,",
            "app in (a),",
            ",app",
            "!app=b",
            "app in (a b)",
            "app in (a",
            "app=a b",
            "app=-a",
            "app=a_",
            "app=.a",
            "x.io/=a",
            "/y=a",
            "X.IO/y",
            "a>b",
            "a<1.5",
            "a>-3",
            &format!("app={}", "v".repeat(64)),
        ] {
            assert!(LabelSelector::parse(sel).is_err(), "{sel:?} parsed");
        }
        for sel in ["x.io/y=a", "app=A-b_c.d", "a>3", "!a,b", " a = b , c "] {
            assert!(LabelSelector::parse(sel).is_ok(), "{sel:?} failed");
        }
    }
}
