//! The kustomization Flux builds: the directory's own file, or one generated from the YAML
//! files below it, rewritten with the Flux Kustomization's spec (fluxcd/pkg
//! `kustomize.Generator`).

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::{Error, ErrorKind};
use crate::fs::FileSystem;
use crate::kustomization::{FILE_NAMES, KUSTOMIZATION_KIND, KUSTOMIZATION_VERSION};
use crate::yaml;

/// Files and directories the source-controller leaves out of every artifact, at any depth.
/// A generated kustomization would otherwise list them (and fail on `.sops.yaml`).
const IGNORED_DIRS: &[&str] = &[".git", ".github", ".circleci"];
const IGNORED_FILES: &[&str] = &[
    ".travis.yml",
    ".gitlab-ci.yml",
    "appveyor.yml",
    ".drone.yml",
    "cloudbuild.yaml",
    ".goreleaser.yml",
    ".sops.yaml",
    ".flux.yaml",
];

/// The kustomization file Flux builds in `dir` and its rewritten text.
pub fn kustomization_for(
    fs: &dyn FileSystem,
    dir: &Path,
    spec: &Map<String, Value>,
    max_file_bytes: u64,
) -> Result<(PathBuf, Vec<u8>), Error> {
    let existing = FILE_NAMES
        .iter()
        .map(|n| dir.join(n))
        .find(|p| fs.is_file(p));
    let (file, mut k, generated) = match existing {
        Some(file) => {
            let bytes = fs
                .read(&file, max_file_bytes)
                .map_err(|e| Error::new(ErrorKind::Flux, file.display(), e.to_string()))?;
            let k = match yaml::read_document(&bytes, yaml::Dialect::V2, yaml::Limits::default()) {
                Ok(Some(Value::Object(k))) => k,
                Ok(None | Some(Value::Null)) => Map::new(),
                Ok(Some(_)) => {
                    return Err(Error::new(
                        ErrorKind::Flux,
                        file.display(),
                        "a kustomization must be a map",
                    ))
                }
                Err(source) => return Err(Error::Yaml { file, source }),
            };
            (file, k, false)
        }
        None => (
            dir.join(FILE_NAMES[0]),
            generated_kustomization(fs, dir, max_file_bytes)?,
            true,
        ),
    };
    k.entry("apiVersion")
        .or_insert_with(|| KUSTOMIZATION_VERSION.into());
    k.entry("kind").or_insert_with(|| KUSTOMIZATION_KIND.into());
    if !generated && is_empty(k.get("resources")) {
        // Flux's guard against kustomize's "kustomization is empty" error; the origin
        // annotations it turns on stay in the output.
        k.insert("buildMetadata".into(), vec!["originAnnotations"].into());
    }
    apply_spec(fs, dir, &mut k, spec)
        .map_err(|m| Error::new(ErrorKind::Flux, file.display(), m))?;
    let text = yaml::to_string(&Value::Object(k))
        .map_err(|e| Error::new(ErrorKind::Flux, file.display(), e.to_string()))?;
    Ok((file, text.into_bytes()))
}

fn is_empty(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::Array(a)) => a.is_empty(),
        _ => false,
    }
}

/// `resources:` for a directory without a kustomization: every `.yaml`/`.yml` file below
/// it that reads as Kubernetes objects, and every subdirectory that has a kustomization
/// (not descended into), in lexical walk order.
fn generated_kustomization(
    fs: &dyn FileSystem,
    dir: &Path,
    max_file_bytes: u64,
) -> Result<Map<String, Value>, Error> {
    let mut resources = Vec::new();
    scan(fs, dir, dir, &mut resources, max_file_bytes)?;
    let mut k = Map::new();
    if resources.is_empty() {
        k.insert("namespace".into(), "_placeholder".into());
    } else {
        k.insert(
            "resources".into(),
            Value::Array(resources.into_iter().map(Value::String).collect()),
        );
    }
    Ok(k)
}

/// Flux's walk (Go's `filepath.Walk`): depth first in lexical order, symlinked
/// directories neither entered nor listed (Walk does not follow them), so a symlink loop
/// cannot make it run forever. Iterative: the depth of the tree does not reach the stack.
fn scan(
    fs: &dyn FileSystem,
    top: &Path,
    dir: &Path,
    out: &mut Vec<String>,
    max_file_bytes: u64,
) -> Result<(), Error> {
    // Directories still to list, each with the entries not yet visited (last first).
    let mut pending: Vec<Vec<PathBuf>> = vec![entries_last_first(fs, dir)?];
    while let Some(entries) = pending.last_mut() {
        let Some(path) = entries.pop() else {
            pending.pop();
            continue;
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let relative = || format!("./{}", path.strip_prefix(top).unwrap_or(&path).display());
        if fs.is_symlink(&path) && fs.is_dir(&path) {
            continue;
        }
        if fs.is_dir(&path) {
            if IGNORED_DIRS.contains(&name.as_str()) {
                continue;
            }
            if FILE_NAMES.iter().any(|n| fs.is_file(&path.join(n))) {
                out.push(relative());
            } else {
                let below = entries_last_first(fs, &path)?;
                pending.push(below);
            }
            continue;
        }
        let yaml_ext = matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        );
        let ignored = IGNORED_FILES.contains(&name.as_str())
            || (name.starts_with("codeship-") && name.ends_with(".yml"));
        if !yaml_ext || ignored {
            continue;
        }
        let bytes = fs
            .read(&path, max_file_bytes)
            .map_err(|e| Error::new(ErrorKind::Flux, path.display(), e.to_string()))?;
        if let Err(e) = crate::build::resources_from_bytes(&bytes, &path, &Default::default()) {
            return Err(Error::new(
                ErrorKind::Flux,
                path.display(),
                format!("failed to decode Kubernetes YAML: {e}"),
            ));
        }
        out.push(relative());
    }
    Ok(())
}

/// A directory's entries, last first (so that popping visits them in order).
fn entries_last_first(fs: &dyn FileSystem, dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut entries = fs
        .read_dir(dir)
        .map_err(|e| Error::new(ErrorKind::Flux, dir.display(), e.to_string()))?;
    entries.reverse();
    Ok(entries)
}

/// The spec fields Flux writes into the kustomization.
fn apply_spec(
    fs: &dyn FileSystem,
    dir: &Path,
    k: &mut Map<String, Value>,
    spec: &Map<String, Value>,
) -> Result<(), String> {
    for (from, to) in [
        ("targetNamespace", "namespace"),
        ("namePrefix", "namePrefix"),
        ("nameSuffix", "nameSuffix"),
    ] {
        match spec.get(from) {
            None => {}
            Some(Value::String(s)) if s.is_empty() => {
                k.remove(to);
            }
            Some(Value::String(s)) => {
                k.insert(to.into(), s.clone().into());
            }
            Some(v) => return Err(type_error(from, v, "string")),
        }
    }
    for p in list(spec, "patches")? {
        let mut patch = Map::new();
        if let Some(text) = p
            .get("patch")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        {
            patch.insert("patch".into(), text.into());
        }
        if let Some(t) = p.get("target").and_then(Value::as_object) {
            patch.insert("target".into(), selector(t));
        }
        push(k, "patches", Value::Object(patch));
    }
    let ignore_missing = spec
        .get("ignoreMissingComponents")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    for c in list(spec, "components")? {
        let c = c
            .as_str()
            .ok_or_else(|| type_error("components", c, "string"))?;
        if !is_local_relative_path(c) {
            return Err(format!("component path '{c}' must be local and relative"));
        }
        let p = dir.join(c);
        if ignore_missing && !fs.is_dir(&p) && !fs.is_file(&p) {
            continue;
        }
        push(k, "components", c.into());
    }
    for p in list(spec, "patchesStrategicMerge")? {
        let text = serde_json::to_string(p).map_err(|e| e.to_string())?;
        push(k, "patchesStrategicMerge", text.into());
    }
    for p in list(spec, "patchesJson6902")? {
        let mut patch = Map::new();
        let ops = p.get("patch").cloned().unwrap_or(Value::Null);
        patch.insert(
            "patch".into(),
            serde_json::to_string(&ops)
                .map_err(|e| e.to_string())?
                .into(),
        );
        let empty = Map::new();
        let target = p.get("target").and_then(Value::as_object).unwrap_or(&empty);
        patch.insert("target".into(), selector(target));
        push(k, "patchesJson6902", Value::Object(patch));
    }
    for image in list(spec, "images")? {
        merge_image(k, image);
    }
    let build_metadata = list(spec, "buildMetadata")?;
    if !build_metadata.is_empty() {
        k.insert(
            "buildMetadata".into(),
            Value::Array(build_metadata.to_vec()),
        );
    }
    Ok(())
}

fn list<'a>(spec: &'a Map<String, Value>, field: &str) -> Result<&'a [Value], String> {
    match spec.get(field) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(v) => Err(type_error(field, v, "[]interface {}")),
    }
}

fn type_error(field: &str, v: &Value, want: &str) -> String {
    format!(".spec.{field} accessor error: {v} is not of the type {want}")
}

fn push(k: &mut Map<String, Value>, field: &str, v: Value) {
    match k.get_mut(field) {
        Some(Value::Array(a)) => a.push(v),
        _ => {
            k.insert(field.into(), Value::Array(vec![v]));
        }
    }
}

/// A Flux selector as a kustomize patch target (same field names; empty ones dropped).
fn selector(t: &Map<String, Value>) -> Value {
    let mut out = Map::new();
    for f in [
        "group",
        "version",
        "kind",
        "name",
        "namespace",
        "labelSelector",
        "annotationSelector",
    ] {
        if let Some(s) = t.get(f).and_then(Value::as_str).filter(|s| !s.is_empty()) {
            out.insert(f.into(), s.into());
        }
    }
    Value::Object(out)
}

/// Flux's images merge: by exact `name`; `newName` replaces when set; `newTag` and `digest`
/// are one unit (setting either replaces both); an unknown name is appended.
fn merge_image(k: &mut Map<String, Value>, image: &Value) {
    let field = |f: &str| {
        image
            .get(f)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let (name, new_name, new_tag, digest) = (
        field("name"),
        field("newName"),
        field("newTag"),
        field("digest"),
    );
    let set = |m: &mut Map<String, Value>, f: &str, v: &str| {
        if v.is_empty() {
            m.remove(f);
        } else {
            m.insert(f.into(), v.into());
        }
    };
    if let Some(Value::Array(images)) = k.get_mut("images") {
        let existing = images
            .iter_mut()
            .filter_map(Value::as_object_mut)
            .find(|m| m.get("name").and_then(Value::as_str).unwrap_or("") == name);
        if let Some(m) = existing {
            if !new_name.is_empty() {
                set(m, "newName", &new_name);
            }
            if !new_tag.is_empty() || !digest.is_empty() {
                set(m, "newTag", &new_tag);
                set(m, "digest", &digest);
            }
            return;
        }
    }
    let mut m = Map::new();
    set(&mut m, "name", &name);
    set(&mut m, "newName", &new_name);
    set(&mut m, "newTag", &new_tag);
    set(&mut m, "digest", &digest);
    push(k, "images", Value::Object(m));
}

/// Whether a component path is local and relative (not a URL, not absolute), as Flux
/// requires of `spec.components`.
pub fn is_local_relative_path(path: &str) -> bool {
    let lower = path.to_lowercase();
    let remote = [
        "git::",
        "gh:",
        "ssh://",
        "https://",
        "http://",
        "git@",
        "github.com:",
        "github.com/",
    ];
    if remote
        .iter()
        .any(|p| p.len() < path.len() && lower.starts_with(p))
    {
        return false;
    }
    let without_scheme = lower.strip_prefix("file://").unwrap_or(&lower);
    !(path.starts_with('/') || without_scheme.starts_with('/'))
}
