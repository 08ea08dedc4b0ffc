//! `spec.filterTags`: keep the tags a regular expression matches, and optionally compare
//! them by a value extracted from the match instead of the whole tag.
//!
//! The pattern is searched for anywhere in the tag (anchor it with `^…$` yourself). With
//! `extract`, the candidate a policy sees is the template expanded the way Go's
//! `Regexp.ExpandString` does it: `$1`, `${1}`, `$name`, `${name}`, `$$` for a dollar; a
//! name is the longest run of letters, digits and `_` (so `$1x` is the group named `1x`),
//! `$01` is a name too, and unknown or unmatched groups expand to nothing. The policy's
//! winner is mapped back to the original tag; when two tags extract the same candidate,
//! the later tag wins (Flux keeps them in a map).
//!
//! Patterns are compiled by the `regex` crate, whose syntax is Go's RE2 syntax. Its Perl
//! classes (`\d`, `\w`, `\s`) are Unicode-aware where Go's are ASCII-only, which cannot
//! matter for registry tags (they are ASCII by the OCI distribution spec).
//!
//! ```
//! use rustomize::policy::filter::TagFilter;
//!
//! let f = TagFilter::new("^main-[a-f0-9]+-(?P<ts>[0-9]+)$", "$ts").unwrap();
//! let kept = f.apply(&["main-abc-10", "main-abd-9", "v1.0.0"]);
//! assert_eq!(kept, vec![("10".to_string(), "main-abc-10"), ("9".to_string(), "main-abd-9")]);
//! ```

use regex::Regex;

/// A compiled `filterTags`.
#[derive(Debug, Clone)]
pub struct TagFilter {
    regex: Regex,
    extract: String,
}

impl TagFilter {
    /// Compiles `pattern`; the error is the compiler's message.
    pub fn new(pattern: &str, extract: &str) -> Result<TagFilter, String> {
        let regex = Regex::new(pattern).map_err(|e| match e {
            regex::Error::Syntax(s) => s.lines().last().unwrap_or_default().trim().to_string(),
            other => other.to_string(),
        })?;
        Ok(TagFilter {
            regex,
            extract: extract.to_string(),
        })
    }

    /// The (candidate, original tag) pairs to rank, in order of first appearance of each
    /// candidate; a repeated candidate takes the later tag.
    pub fn apply<'t, S: AsRef<str>>(&self, tags: &'t [S]) -> Vec<(String, &'t str)> {
        let mut kept: Vec<(String, &'t str)> = Vec::new();
        let mut index: std::collections::HashMap<String, usize> = Default::default();
        for tag in tags {
            let tag = tag.as_ref();
            let Some(caps) = self.regex.captures(tag) else {
                continue;
            };
            let candidate = if self.extract.is_empty() {
                tag.to_string()
            } else {
                expand(&self.extract, &self.regex, &caps)
            };
            match index.get(&candidate) {
                Some(&i) => {
                    if let Some(slot) = kept.get_mut(i) {
                        slot.1 = tag;
                    }
                }
                None => {
                    index.insert(candidate.clone(), kept.len());
                    kept.push((candidate, tag));
                }
            }
        }
        kept
    }
}

/// A `$` reference in a template: a group number, or a name.
enum GroupRef<'a> {
    Number(usize),
    Name(&'a str),
}

/// Go's template expansion (see the module docs).
fn expand(template: &str, regex: &Regex, caps: &regex::Captures<'_>) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(dollar) = rest.find('$') {
        out.push_str(rest.get(..dollar).unwrap_or_default());
        let after = rest.get(dollar + 1..).unwrap_or_default();
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
            continue;
        }
        match reference(after) {
            Some((group, tail)) => {
                let m = match group {
                    GroupRef::Number(n) => caps.get(n),
                    GroupRef::Name(name) => regex
                        .capture_names()
                        .position(|n| n == Some(name))
                        .and_then(|i| caps.get(i)),
                };
                if let Some(m) = m {
                    out.push_str(m.as_str());
                }
                rest = tail;
            }
            None => {
                // Malformed: the `$` is literal text.
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Parses `name` or `{name}` at the start of `s` (the text after `$`).
fn reference(s: &str) -> Option<(GroupRef<'_>, &str)> {
    let (braced, body) = match s.strip_prefix('{') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let len: usize = body
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .map(char::len_utf8)
        .sum();
    if len == 0 {
        return None;
    }
    let name = body.get(..len)?;
    let tail = if braced {
        body.get(len..)?.strip_prefix('}')?
    } else {
        body.get(len..)?
    };
    // Go reads all-digit names as numbers, except with a leading zero or past 1e8.
    let number = if name.bytes().all(|c| c.is_ascii_digit())
        && !(name.len() > 1 && name.starts_with('0'))
        && name.len() <= 8
    {
        name.parse().ok()
    } else {
        None
    };
    Some((number.map_or(GroupRef::Name(name), GroupRef::Number), tail))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expanded(pattern: &str, template: &str, tag: &str) -> String {
        let re = Regex::new(pattern).unwrap();
        let caps = re.captures(tag).unwrap();
        expand(template, &re, &caps)
    }

    #[test]
    fn go_template_rules() {
        let p = "(?P<a>[a-z]+)-(?P<n>[0-9]+)";
        assert_eq!(expanded(p, "$n", "x-12"), "12");
        assert_eq!(expanded(p, "${a}_$2", "x-12"), "x_12");
        assert_eq!(expanded(p, "$1x", "x-12"), "");
        assert_eq!(expanded(p, "${1}x", "x-12"), "xx");
        assert_eq!(expanded(p, "$$1", "x-12"), "$1");
        assert_eq!(expanded(p, "$01", "x-12"), "");
        assert_eq!(expanded(p, "$", "x-12"), "$");
        assert_eq!(expanded(p, "${a", "x-12"), "${a");
        assert_eq!(expanded(p, "$-", "x-12"), "$-");
        assert_eq!(expanded(p, "$9", "x-12"), "");
    }

    #[test]
    fn later_tag_wins_a_shared_candidate() {
        let f = TagFilter::new("^[ab]-(?P<n>\\d+)$", "$n").unwrap();
        assert_eq!(
            f.apply(&["a-1", "b-1", "a-0"]),
            vec![("1".to_string(), "b-1"), ("0".to_string(), "a-0")]
        );
    }

    #[test]
    fn bad_pattern_message() {
        let e = TagFilter::new("^test-(.*", "").unwrap_err();
        assert!(e.contains("unclosed group"), "{e}");
    }
}
