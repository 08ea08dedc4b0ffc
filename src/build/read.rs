//! Reading resource files: documents split as kustomize splits them, each checked for `kind`
//! and `metadata.name`, `*List` kinds with `items` expanded.

use super::*;
use crate::error::ErrorKind;

/// Reads the resources in one file: documents split as kustomize splits them, each checked
/// for `kind` and `metadata.name`, `*List` kinds with `items` expanded. What the YAML holds
/// (aliases expanded) is charged to `budget`.
pub fn resources_from_bytes(
    bytes: &[u8],
    file: &Path,
    budget: &Budget,
) -> Result<Vec<Resource>, Error> {
    let docs = yaml::reader::read_resource_stream(bytes, yaml::Limits::default()).map_err(|e| {
        Error::Yaml {
            file: file.to_path_buf(),
            source: e,
        }
    })?;
    for d in &docs {
        budget
            .charge_value(d.nodes, d.bytes)
            .map_err(|e| Error::new(ErrorKind::Limit, file.display(), e.to_string()))?;
    }
    let name: Arc<str> = Arc::from(file.display().to_string());
    let mut out = Vec::new();
    type Queued = (Value, usize, (Vec<String>, Vec<String>));
    let mut queue: std::collections::VecDeque<Queued> = docs
        .into_iter()
        .map(|d| (d.value, d.line, (d.empty_nulls, d.null_annotations)))
        .collect();
    while let Some((v, line, empty_nulls)) = queue.pop_front() {
        if crate::resource::is_nil_or_empty(&v) {
            continue;
        }
        let at = || format!("{}:{}", name, line);
        let Value::Object(map) = &v else {
            return Err(Error::new(
                ErrorKind::Resource,
                at(),
                "expected a Kubernetes object (a YAML mapping), found another kind of document",
            ));
        };
        let kind = map
            .get("kind")
            .and_then(transform::scalar_text)
            .unwrap_or_default();
        if kind.is_empty() {
            return Err(Error::new(
                ErrorKind::Resource,
                at(),
                "missing kind in object",
            ));
        }
        if kind.ends_with("List") {
            if let Some(items) = map.get("items") {
                match items {
                    Value::Null => continue,
                    Value::Array(list) => {
                        for item in list {
                            queue.push_back((item.clone(), line, Default::default()));
                        }
                        continue;
                    }
                    _ => {
                        return Err(Error::new(
                            ErrorKind::Resource,
                            at(),
                            format!("expected array in {kind}/items"),
                        ))
                    }
                }
            }
        } else {
            let name_ok = v
                .pointer("/metadata/name")
                .and_then(transform::scalar_text)
                .is_some_and(|n| !n.is_empty());
            if !name_ok {
                return Err(Error::new(
                    ErrorKind::Resource,
                    at(),
                    format!("missing metadata.name in object of kind {kind}"),
                ));
            }
        }
        let mut r = Resource::new(
            v,
            Source {
                file: name.clone(),
                line,
            },
        );
        (r.empty_nulls, r.null_annotations) = empty_nulls;
        r.adopt_bookkeeping()
            .map_err(|e| Error::new(ErrorKind::Resource, at(), e))?;
        out.push(r);
    }
    Ok(out)
}
