//! Reading resource files: documents split as kustomize splits them, each checked for `kind`
//! and `metadata.name`, `*List` kinds with `items` expanded.

use super::*;
use crate::error::ErrorKind;

/// Resource files already parsed, keyed by path and checked against the bytes: a file's
/// resources depend on nothing but its bytes and its path, so builds that read the same file
/// can share its parse. Only successful parses are kept.
#[derive(Debug, Default)]
pub struct ParseCache {
    files: std::sync::Mutex<std::collections::HashMap<PathBuf, Arc<ParsedFile>>>,
}

#[derive(Debug)]
struct ParsedFile {
    bytes: Vec<u8>,
    /// (nodes, bytes) of each document, charged again to each build's budget.
    charges: Vec<(u64, u64)>,
    resources: Vec<Resource>,
}

impl ParseCache {
    /// An empty cache.
    pub fn new() -> ParseCache {
        ParseCache::default()
    }

    /// [`resources_from_bytes`], through the cache.
    pub(crate) fn resources(
        &self,
        bytes: &[u8],
        file: &Path,
        budget: &Budget,
    ) -> Result<Vec<Resource>, Error> {
        let hit = self
            .files
            .lock()
            .ok()
            .and_then(|files| files.get(file).cloned())
            .filter(|parsed| parsed.bytes == bytes);
        if let Some(parsed) = hit {
            for &(nodes, size) in &parsed.charges {
                charge(budget, file, nodes, size)?;
            }
            return Ok(parsed.resources.clone());
        }
        let mut charges = Vec::new();
        let resources = read_resources(bytes, file, |nodes, size| {
            charges.push((nodes, size));
            charge(budget, file, nodes, size)
        })?;
        if let Ok(mut files) = self.files.lock() {
            let parsed = ParsedFile {
                bytes: bytes.to_vec(),
                charges,
                resources: resources.clone(),
            };
            files.insert(file.to_path_buf(), Arc::new(parsed));
        }
        Ok(resources)
    }
}

fn charge(budget: &Budget, file: &Path, nodes: u64, bytes: u64) -> Result<(), Error> {
    budget
        .charge_value(nodes, bytes)
        .map_err(|e| Error::new(ErrorKind::Limit, file.display(), e.to_string()))
}

/// Reads the resources in one file: documents split as kustomize splits them, each checked
/// for `kind` and `metadata.name`, `*List` kinds with `items` expanded. What the YAML holds
/// (aliases expanded) is charged to `budget`.
pub fn resources_from_bytes(
    bytes: &[u8],
    file: &Path,
    budget: &Budget,
) -> Result<Vec<Resource>, Error> {
    read_resources(bytes, file, |nodes, size| charge(budget, file, nodes, size))
}

fn read_resources(
    bytes: &[u8],
    file: &Path,
    mut charge: impl FnMut(u64, u64) -> Result<(), Error>,
) -> Result<Vec<Resource>, Error> {
    let docs = yaml::reader::read_resource_stream(bytes, yaml::Limits::default()).map_err(|e| {
        Error::Yaml {
            file: file.to_path_buf(),
            source: e,
        }
    })?;
    for d in &docs {
        charge(d.nodes, d.bytes)?;
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
