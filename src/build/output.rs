//! `kustomize build -o DIR`: one file per resource, named as kustomize names them, and
//! never a path that leaves DIR.
//!
//! kustomize names each file `<group>_<version>_<kind>_<name>.yaml` in lowercase, prefixed
//! by `<namespace>_` when the namespaced resources span more than one namespace. The name
//! and namespace come from the resources, that is from the repository: kustomize joins them
//! to DIR as they are, so a name holding `/` or `..` writes elsewhere. Here every file name
//! must be one plain path component, or the build fails naming the resource.

use std::collections::BTreeSet;

use crate::error::{Error, ErrorKind};
use crate::resource::ResMap;
use crate::yaml;

/// The files `-o DIR` writes: (file name inside DIR, content), in output order.
pub fn individual_files(m: &ResMap) -> Result<Vec<(String, Vec<u8>)>, Error> {
    let namespaces: BTreeSet<String> = m
        .resources()
        .iter()
        .filter(|r| !r.gvk().is_cluster_scoped())
        .map(|r| r.cur_id().effective_namespace().to_string())
        .collect();
    let mut files = Vec::with_capacity(m.len());
    for r in m.resources() {
        let g = r.gvk();
        let parts: Vec<&str> = [g.group.as_str(), g.version.as_str(), g.kind.as_str()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect();
        let mut name = format!("{}_{}.yaml", parts.join("_"), r.name()).to_lowercase();
        if !g.is_cluster_scoped() && namespaces.len() > 1 {
            name = format!("{}_{name}", r.cur_id().effective_namespace().to_lowercase());
        }
        if !is_plain_file_name(&name) {
            return Err(Error::new(ErrorKind::Output,
                &r.source.file,
                format!(
                    "{}/{}: cannot write it to the output directory: its file name {:?} is not a plain file name (a '/', '..', or a control character would leave the directory)",
                    r.kind(),
                    r.name(),
                    name
                ),
            ));
        }
        let mut bytes = Vec::new();
        yaml::emit_document(r.obj(), &mut bytes).map_err(|source| Error::Emit {
            resource: describe(r),
            source,
        })?;
        files.push((name, bytes));
    }
    Ok(files)
}

/// `Kind/name (file:line)`, for errors about one resource.
pub fn describe(r: &crate::resource::Resource) -> String {
    match r.source.line {
        0 if r.source.file.is_empty() => format!("{}/{}", r.kind(), r.name()),
        0 => format!("{}/{} ({})", r.kind(), r.name(), r.source.file),
        line => format!("{}/{} ({}:{line})", r.kind(), r.name(), r.source.file),
    }
}

/// One normal path component: not empty, not `.` or `..`, no separator, no NUL or other
/// control character.
pub fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\'])
        && !name.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_that_would_leave_the_directory_are_refused() {
        for bad in ["..", ".", "", "a/b", "/etc/passwd", "a\\b", "a\0b", "x\ny"] {
            assert!(!is_plain_file_name(bad), "{bad:?}");
        }
        for good in [
            "v1_configmap_a.yaml",
            "..a",
            "a..b",
            "ns_apps_v1_deployment_x.yaml",
        ] {
            assert!(is_plain_file_name(good), "{good:?}");
        }
    }
}
