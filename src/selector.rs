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
    labels: LabelSelector,
    annotations: LabelSelector,
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
            labels: LabelSelector::parse(&s.label_selector)?,
            annotations: LabelSelector::parse(&s.annotation_selector)?,
        })
    }

    /// kustomize's `ResMap.Select` test for one resource.
    pub fn matches(&self, r: &Resource) -> bool {
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
            return false;
        }
        if !ok(&self.name, &org.name, &cur.name) {
            return false;
        }
        let gvk = &cur.gvk;
        if !ok(&self.group, &gvk.group, &gvk.group)
            || !ok(&self.version, &gvk.version, &gvk.version)
            || !ok(&self.kind, &gvk.kind, &gvk.kind)
        {
            return false;
        }
        self.labels.matches(&r.labels()) && self.annotations.matches(&r.annotations())
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Op {
    Exists,
    NotExists,
    Equals(String),
    NotEquals(String),
    In(Vec<String>),
    NotIn(Vec<String>),
    Greater(i64),
    Less(i64),
}

/// A parsed Kubernetes label selector; the empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelSelector {
    reqs: Vec<(String, Op)>,
}

impl LabelSelector {
    pub fn parse(s: &str) -> Result<LabelSelector, String> {
        let mut reqs = Vec::new();
        let mut rest = s.trim();
        let bad = |why: &str| format!("unable to parse requirement in selector {s:?}: {why}");
        while !rest.is_empty() {
            // One requirement, up to a comma that is not inside parentheses.
            let mut depth = 0;
            let mut end = rest.len();
            for (i, c) in rest.char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    ',' if depth == 0 => {
                        end = i;
                        break;
                    }
                    _ => {}
                }
            }
            let req = rest[..end].trim();
            rest = rest.get(end + 1..).unwrap_or("").trim();
            if req.is_empty() {
                return Err(bad("empty requirement"));
            }
            reqs.push(parse_requirement(req).ok_or_else(|| bad(req))?);
        }
        Ok(LabelSelector { reqs })
    }

    pub fn matches(&self, labels: &Map<String, Value>) -> bool {
        self.reqs.iter().all(|(k, op)| {
            let v = labels
                .get(k)
                .map(|v| crate::transform::scalar_text(v).unwrap_or_default());
            match op {
                Op::Exists => v.is_some(),
                Op::NotExists => v.is_none(),
                Op::Equals(x) => v.as_deref() == Some(x),
                Op::NotEquals(x) => v.as_deref() != Some(x),
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

fn valid_token(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
}

fn parse_requirement(req: &str) -> Option<(String, Op)> {
    if let Some(k) = req.strip_prefix('!') {
        let k = k.trim();
        return valid_token(k).then(|| (k.to_string(), Op::NotExists));
    }
    for (sep, mk) in [
        ("!=", Op::NotEquals as fn(String) -> Op),
        ("==", Op::Equals as fn(String) -> Op),
        ("=", Op::Equals as fn(String) -> Op),
    ] {
        if let Some((k, v)) = req.split_once(sep) {
            let (k, v) = (k.trim(), v.trim());
            if !valid_token(k) || !(v.is_empty() || valid_token(v)) {
                return None;
            }
            return Some((k.to_string(), mk(v.to_string())));
        }
    }
    for (sep, greater) in [(">", true), ("<", false)] {
        if let Some((k, v)) = req.split_once(sep) {
            let n: i64 = v.trim().parse().ok()?;
            let k = k.trim();
            return valid_token(k).then(|| {
                (
                    k.to_string(),
                    if greater { Op::Greater(n) } else { Op::Less(n) },
                )
            });
        }
    }
    let words: Vec<&str> = req.splitn(2, char::is_whitespace).collect();
    if words.len() == 2 {
        let k = words[0];
        let rest = words[1].trim_start();
        let (notin, list) = if let Some(l) = rest.strip_prefix("notin") {
            (true, l)
        } else if let Some(l) = rest.strip_prefix("in") {
            (false, l)
        } else {
            return None;
        };
        let list = list.trim().strip_prefix('(')?.strip_suffix(')')?;
        let values: Vec<String> = list
            .split(',')
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect();
        if !valid_token(k) || values.iter().any(|v| !valid_token(v)) {
            return None;
        }
        return Some((
            k.to_string(),
            if notin {
                Op::NotIn(values)
            } else {
                Op::In(values)
            },
        ));
    }
    valid_token(req).then(|| (req.to_string(), Op::Exists))
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
}
