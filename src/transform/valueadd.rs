//! The `ValueAddTransformer` plugin: put a value (by default the kustomization
//! directory's name) into a field of selected resources, either replacing the field or
//! inserting it as one part of a `/`-separated path already there.

use serde_json::{Map, Value};

use crate::resource::ResMap;
use crate::selector::Selector;

use super::namespace::Namespace;
use super::TransformError;

const NAME: &str = "ValueAddTransformer";

/// One target of the plugin.
#[derive(Debug)]
pub struct Target {
    pub selector: Option<Selector>,
    pub field_path: String,
    pub file_path_position: i64,
}

/// Applies the value to every target.
pub fn apply(m: &mut ResMap, value: &str, targets: &[Target]) -> Result<(), TransformError> {
    for t in targets {
        let selected = match &t.selector {
            Some(s) => Some(s.select(m).map_err(|e| TransformError::config(NAME, e))?),
            None => None,
        };
        let is_selected = |i: usize| selected.as_ref().is_none_or(|s| s.contains(&i));
        if t.field_path == "metadata/namespace" {
            // kustomize runs its namespace filter (no field specs) on the selected resources.
            let ns = Namespace {
                namespace: value,
                field_specs: &[],
                unset_only: false,
                subjects: Default::default(),
            };
            ns.apply_selected(m, is_selected)?;
            continue;
        }
        let fields = split_escaped(&t.field_path);
        for i in 0..m.len() {
            if !is_selected(i) {
                continue;
            }
            let Some(r) = m.get_mut(i) else { continue };
            let node = match lookup_create(r.obj_mut(), &fields) {
                Ok(n) => n,
                Err(e) => return Err(TransformError::on(NAME, r, e)),
            };
            let current = match &*node {
                Value::Object(_) | Value::Array(_) => None,
                other => super::scalar_text(other),
            };
            let Some(current) = current else {
                return Err(TransformError::on(
                    NAME,
                    r,
                    "wrong node kind: expected a scalar",
                ));
            };
            let new = if t.file_path_position > 0 {
                insert_path_part(&current, (t.file_path_position - 1) as usize, value)
            } else {
                value.to_string()
            };
            *node = Value::String(new);
        }
    }
    m.reindex();
    Ok(())
}

/// `a/b\/c` → `["a", "b/c"]`.
fn split_escaped(path: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for f in path.split('/') {
        match out.last_mut() {
            Some(last) if last.ends_with('\\') => {
                last.pop();
                last.push('/');
                last.push_str(f);
            }
            _ => out.push(f.to_string()),
        }
    }
    out
}

/// kyaml's `LookupCreate(ScalarNode, fields...)`: maps are created on the way, the last
/// field as an empty scalar.
fn lookup_create<'a>(obj: &'a mut Value, fields: &[String]) -> Result<&'a mut Value, String> {
    let mut cur = obj;
    for (i, f) in fields.iter().enumerate() {
        let last = i + 1 == fields.len();
        let Value::Object(map) = cur else {
            return Err(format!("field {f:?}: parent is not a map"));
        };
        cur = map.entry(f.clone()).or_insert_with(|| {
            if last {
                Value::String(String::new())
            } else {
                Value::Object(Map::new())
            }
        });
    }
    Ok(cur)
}

/// kustomize's `filesys.PathSplit`.
fn path_split(p: &str) -> Vec<String> {
    if p.is_empty() {
        return Vec::new();
    }
    let (dir, base) = match p.rfind('/') {
        Some(i) => (&p[..=i], &p[i + 1..]),
        None => ("", p),
    };
    if dir == "/" {
        return if base.is_empty() {
            vec![String::new()]
        } else {
            vec![String::new(), base.to_string()]
        };
    }
    let dir = dir.strip_suffix('/').unwrap_or(dir);
    if dir.is_empty() {
        return vec![base.to_string()];
    }
    let mut v = path_split(dir);
    v.push(base.to_string());
    v
}

/// Go's `filepath.Join` on path parts: empty parts dropped, the result cleaned.
fn clean_join(parts: &[String]) -> String {
    let joined: Vec<&str> = parts
        .iter()
        .map(String::as_str)
        .filter(|s| !s.is_empty())
        .collect();
    if joined.is_empty() {
        return String::new();
    }
    let p = crate::fs::normalize(std::path::Path::new(&joined.join("/")));
    p.to_string_lossy().to_string()
}

/// kustomize's `filesys.InsertPathPart`: `a/b/c` with `X` at 1 → `a/X/b/c`; absolute paths
/// keep their leading `/` and count parts the same way.
pub fn insert_path_part(path: &str, pos: usize, part: &str) -> String {
    if part.is_empty() {
        return path.to_string();
    }
    let parts = path_split(path);
    let mut pos = pos.min(parts.len());
    if parts.first().is_some_and(|p| p.is_empty()) && pos < parts.len() {
        pos += 1;
    }
    let mut result: Vec<String> = parts[..pos].to_vec();
    result.push(part.to_string());
    result.extend_from_slice(&parts[pos..]);
    if result.first().is_some_and(|p| p.is_empty()) {
        format!("/{}", clean_join(&result[1..]))
    } else {
        clean_join(&result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_path_part_like_kustomize() {
        assert_eq!(insert_path_part("", 3, "PEACH"), "PEACH");
        assert_eq!(insert_path_part("/", 3, "PEACH"), "/PEACH");
        assert_eq!(insert_path_part("pie", 0, "PEACH"), "PEACH/pie");
        assert_eq!(insert_path_part("/pie", 0, "PEACH"), "/PEACH/pie");
        assert_eq!(insert_path_part("raw", 1, "PEACH"), "raw/PEACH");
        assert_eq!(insert_path_part("/raw", 5, "PEACH"), "/raw/PEACH");
        assert_eq!(
            insert_path_part("a/nice/warm/pie", 3, "PEACH"),
            "a/nice/warm/PEACH/pie"
        );
        assert_eq!(
            insert_path_part("/a/nice/warm/pie", 3, "PEACH"),
            "/a/nice/warm/PEACH/pie"
        );
    }
}
