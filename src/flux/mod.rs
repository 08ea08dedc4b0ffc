//! Flux mode: what Flux's kustomize-controller renders for a `Kustomization`
//! (kustomize.toolkit.fluxcd.io) from a directory of a Git repository, without a cluster.
//!
//! Flux does three things around `kustomize build` (fluxcd/pkg `kustomize`):
//! 1. it finds the directory's kustomization file, or generates one listing every YAML file
//!    below it (a subdirectory with its own kustomization is listed as a directory), and
//!    rewrites it with the Kustomization's spec: `targetNamespace`, `namePrefix`,
//!    `nameSuffix`, `patches`, `images`, `components`, … (`generate.rs`);
//! 2. it builds with no load restrictor, but nothing outside the repository root may be read,
//!    no legacy sort (input order unless `sortOptions`), builtin plugins only;
//! 3. `postBuild` substitutes `${VAR}` in each resource's YAML ([`envsubst`]) from inline
//!    values and ConfigMaps/Secrets, and reads the result back as YAML.
//!
//! The rewritten kustomization never touches the disk: [`FluxFs`] shows it in place of the
//! file on disk.
//!
//! ```
//! use std::sync::Arc;
//! use rustomize::flux::{self, FluxKustomization, FluxOptions};
//! use rustomize::fs::MemFs;
//!
//! // A directory without a kustomization: Flux lists its manifests.
//! let mut fs = MemFs::new();
//! fs.add("/repo/app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  env: ${env:=dev}\n");
//! let ks = FluxKustomization::parse(
//!     b"apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: app, namespace: flux-system}\nspec:\n  targetNamespace: prod\n  postBuild:\n    substitute: {env: production}\n",
//!     "ks.yaml".as_ref(),
//! ).unwrap();
//! let out = flux::render(Arc::new(fs), "/repo/app".as_ref(), &ks, &[], &FluxOptions::new("/repo")).unwrap();
//! assert_eq!(
//!     String::from_utf8(out).unwrap(),
//!     "apiVersion: v1\ndata:\n  env: production\nkind: ConfigMap\nmetadata:\n  name: cfg\n  namespace: prod\n"
//! );
//! ```

pub mod envsubst;
mod generate;

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use serde_json::{Map, Value};

use crate::budget::{Budget, Limits};
use crate::build::{Options, Reorder};
use crate::error::{Error, ErrorKind};
use crate::fs::{FileSystem, LoadRestrictor};
use crate::resource::ResMap;
use crate::yaml;

pub use generate::{is_local_relative_path, kustomization_for};

/// The label or annotation that turns substitution off for one resource.
pub const SUBSTITUTE_KEY: &str = "kustomize.toolkit.fluxcd.io/substitute";

/// The parts of a Flux `Kustomization` that change what is rendered.
#[derive(Debug, Clone, Default)]
pub struct FluxKustomization {
    /// The manifest it was read from (named in errors); empty when built in code.
    pub file: PathBuf,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`: where `substituteFrom` objects are looked up.
    pub namespace: String,
    /// `spec`, as written (the generator reads the fields it knows from it).
    pub spec: Map<String, Value>,
}

impl FluxKustomization {
    /// Reads a Flux Kustomization manifest (the first document of `bytes`).
    pub fn parse(bytes: &[u8], file: &Path) -> Result<FluxKustomization, Error> {
        let doc = yaml::read_document(bytes, yaml::Dialect::V3, yaml::Limits::default()).map_err(
            |source| Error::Yaml {
                file: file.to_path_buf(),
                source,
            },
        )?;
        match doc {
            Some(v) => FluxKustomization::from_object(&v, file),
            None => Err(Error::new(
                ErrorKind::Flux,
                file.display(),
                "not a Flux Kustomization: expected a YAML object",
            )),
        }
    }

    /// Whether `v` is a Flux Kustomization (kind `Kustomization` of
    /// `kustomize.toolkit.fluxcd.io`).
    pub fn is_flux_kustomization(v: &Value) -> bool {
        v.get("kind").and_then(Value::as_str) == Some("Kustomization")
            && v.get("apiVersion")
                .and_then(Value::as_str)
                .is_some_and(|v| v.starts_with("kustomize.toolkit.fluxcd.io/"))
    }

    /// A Flux Kustomization from a parsed manifest read from `file`.
    pub fn from_object(v: &Value, file: &Path) -> Result<FluxKustomization, Error> {
        let Value::Object(obj) = v else {
            return Err(Error::new(
                ErrorKind::Flux,
                file.display(),
                "not a Flux Kustomization: expected a YAML object",
            ));
        };
        if !FluxKustomization::is_flux_kustomization(v) {
            return Err(Error::new(ErrorKind::Flux,
                file.display(),
                "not a Flux Kustomization: expected kind Kustomization of kustomize.toolkit.fluxcd.io",
            ));
        }
        let meta = |k: &str| {
            obj.get("metadata")
                .and_then(|m| m.get(k))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let namespace = meta("namespace");
        let name = meta("name");
        let spec = match obj.get("spec") {
            Some(Value::Object(s)) => s.clone(),
            None | Some(Value::Null) => Map::new(),
            Some(_) => {
                return Err(Error::new(
                    ErrorKind::Flux,
                    file.display(),
                    "spec must be an object",
                ))
            }
        };
        Ok(FluxKustomization {
            file: file.to_path_buf(),
            name,
            namespace,
            spec,
        })
    }

    /// Reads every Flux Kustomization in a file of manifests (other documents are
    /// skipped) and chooses one: by `name` (`NAME` or `NAMESPACE/NAME`), or the only one.
    /// Several without a name, or none matching, is an error that lists them.
    pub fn select(
        bytes: &[u8],
        file: &Path,
        name: Option<&str>,
    ) -> Result<FluxKustomization, Error> {
        let docs =
            yaml::read_stream(bytes, yaml::Limits::default()).map_err(|source| Error::Yaml {
                file: file.to_path_buf(),
                source,
            })?;
        let mut found = Vec::new();
        for d in docs {
            if FluxKustomization::is_flux_kustomization(&d.value) {
                found.push(FluxKustomization::from_object(&d.value, file)?);
            }
        }
        let names: Vec<String> = found.iter().map(|k| k.qualified_name()).collect();
        let chosen: Vec<FluxKustomization> = match name {
            Some(n) => found
                .into_iter()
                .filter(|k| k.name == n || k.qualified_name() == n)
                .collect(),
            None => found,
        };
        match chosen.len() {
            1 => Ok(chosen.into_iter().next().unwrap_or_default()),
            0 if names.is_empty() => Err(Error::new(
                ErrorKind::Flux,
                file.display(),
                "no Flux Kustomization (kustomize.toolkit.fluxcd.io) in the file",
            )),
            0 => Err(Error::new(
                ErrorKind::Flux,
                file.display(),
                format!(
                    "no Flux Kustomization named {:?}; the file has {}",
                    name.unwrap_or_default(),
                    names.join(", ")
                ),
            )),
            _ => Err(Error::new(
                ErrorKind::Flux,
                file.display(),
                format!(
                    "{} Flux Kustomizations match ({}); choose one with --name",
                    chosen.len(),
                    chosen
                        .iter()
                        .map(FluxKustomization::qualified_name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        }
    }

    /// `NAMESPACE/NAME`.
    pub fn qualified_name(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// `spec.path`, the directory it builds relative to the source's root.
    pub fn path(&self) -> Option<&str> {
        self.spec.get("path").and_then(Value::as_str)
    }

    /// What errors about the spec name: the manifest, or `spec` without one.
    fn origin(&self) -> String {
        if self.file.as_os_str().is_empty() {
            "Flux Kustomization spec".into()
        } else {
            self.file.display().to_string()
        }
    }

    fn post_build(&self) -> Option<&Map<String, Value>> {
        self.spec.get("postBuild").and_then(Value::as_object)
    }
}

/// How to render in Flux mode.
#[derive(Debug, Clone)]
pub struct FluxOptions {
    /// Nothing outside this directory is read (Flux: the source artifact's root).
    pub root: PathBuf,
    /// A missing variable without a default is an error (the controller's default since
    /// v1.9, the `StrictPostBuildSubstitutions` feature gate).
    pub strict: bool,
    /// What the build may read, create and print.
    pub limits: Limits,
    /// Remote access for remote bases (kustomize-controller allows them unless
    /// `--no-remote-bases`); `None` refuses them.
    pub remote: Option<Arc<dyn crate::remote::Remote>>,
    /// At most this many threads ([`Options::threads`]).
    pub threads: Option<std::num::NonZeroUsize>,
}

impl FluxOptions {
    /// Options confined to `root`, with the controller's defaults (strict substitution,
    /// no remote access).
    pub fn new(root: impl Into<PathBuf>) -> FluxOptions {
        FluxOptions {
            root: root.into(),
            strict: true,
            limits: Limits::default(),
            remote: None,
            threads: None,
        }
    }

    pub(crate) fn build_options(&self) -> Options {
        Options {
            load_restrictor: LoadRestrictor::None,
            reorder: Reorder::None,
            add_managed_by_label: false,
            limits: self.limits.clone(),
            remote: self.remote.clone(),
            threads: self.threads,
            ..Default::default()
        }
    }
}

/// Renders `dir` as kustomize-controller would for `ks`. `objects` are the ConfigMaps and
/// Secrets `postBuild.substituteFrom` may name (the cluster's, in the controller).
pub fn build(
    fs: Arc<dyn FileSystem>,
    dir: &Path,
    ks: &FluxKustomization,
    objects: &[Value],
    opts: &FluxOptions,
) -> Result<ResMap, Error> {
    let root = fs.canonicalize(&opts.root).map_err(|e| {
        Error::new(
            ErrorKind::Flux,
            opts.root.display(),
            format!("Flux root: {e}"),
        )
    })?;
    let confined = FluxFs {
        base: fs,
        root,
        overlay: None,
    };
    let dir = confined
        .canonicalize(dir)
        .map_err(|e| Error::new(ErrorKind::Flux, dir.display(), e.to_string()))?;
    let (file, text) = kustomization_for(&confined, &dir, &ks.spec, opts.limits.file_bytes)?;
    let fs: Arc<dyn FileSystem> = Arc::new(FluxFs {
        overlay: Some((file, text)),
        ..confined
    });
    let mut m = crate::build::build(fs, &dir, &opts.build_options())?;
    if let Some(post_build) = ks.post_build() {
        let vars = variables(post_build, &ks.namespace, objects)
            .map_err(|m| Error::new(ErrorKind::Flux, ks.origin(), format!("postBuild: {m}")))?;
        let budget = Budget::new(opts.limits.clone());
        substitute(&mut m, &vars, opts.strict, &budget)
            .map_err(|m| Error::new(ErrorKind::Flux, ks.origin(), format!("postBuild: {m}")))?;
    }
    Ok(m)
}

/// Renders as [`build`] and prints the stream as Flux applies it.
pub fn render(
    fs: Arc<dyn FileSystem>,
    dir: &Path,
    ks: &FluxKustomization,
    objects: &[Value],
    opts: &FluxOptions,
) -> Result<Vec<u8>, Error> {
    let m = build(fs, dir, ks, objects, opts)?;
    crate::build::emit(&m, &opts.build_options())
}

/// The variables `postBuild` defines: `substituteFrom` objects in order (later ones win),
/// then the inline `substitute` map. Newlines are removed from every value, as Flux does.
pub fn variables(
    post_build: &Map<String, Value>,
    namespace: &str,
    objects: &[Value],
) -> Result<BTreeMap<String, String>, String> {
    let mut vars = BTreeMap::new();
    if let Some(refs) = post_build.get("substituteFrom") {
        let refs = refs.as_array().ok_or("substituteFrom must be a list")?;
        for r in refs {
            let kind = r.get("kind").and_then(Value::as_str).unwrap_or("");
            let name = r.get("name").and_then(Value::as_str).unwrap_or("");
            let optional = r.get("optional").and_then(Value::as_bool).unwrap_or(false);
            if kind != "ConfigMap" && kind != "Secret" {
                continue;
            }
            let found = objects.iter().find(|o| {
                o.get("kind").and_then(Value::as_str) == Some(kind)
                    && o.pointer("/metadata/name").and_then(Value::as_str) == Some(name)
                    && o.pointer("/metadata/namespace")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        == namespace
            });
            let Some(obj) = found else {
                if optional {
                    continue;
                }
                return Err(format!(
                    "substitute from '{kind}/{name}' error: {kind} \"{name}\" not found in namespace \"{namespace}\""
                ));
            };
            for (k, v) in object_data(obj, kind).map_err(|m| format!("{kind}/{name}: {m}"))? {
                vars.insert(k, v.replace('\n', ""));
            }
        }
    }
    if let Some(inline) = post_build.get("substitute") {
        let inline = inline
            .as_object()
            .ok_or("substitute must be a map of strings")?;
        for (k, v) in inline {
            let v = v.as_str().ok_or_else(|| {
                format!(
                    ".spec.postBuild.substitute.{k} accessor error: {v} is of the type {}, expected string",
                    json_type(v)
                )
            })?;
            vars.insert(k.clone(), v.replace('\n', ""));
        }
    }
    Ok(vars)
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float64",
        Value::Number(_) => "int64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

/// A ConfigMap's `data`, or a Secret's `data` (base64-decoded) and `stringData`.
fn object_data(obj: &Value, kind: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let strings = |field: &str| -> Vec<(String, String)> {
        obj.get(field)
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                    .collect()
            })
            .unwrap_or_default()
    };
    if kind == "ConfigMap" {
        return Ok(strings("data"));
    }
    for (k, v) in strings("data") {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(v.as_bytes())
            .map_err(|e| format!("data.{k}: {e}"))?;
        out.push((k, String::from_utf8_lossy(&bytes).into_owned()));
    }
    out.extend(strings("stringData"));
    Ok(out)
}

/// `^[_[:alpha:]][_[:alpha:][:digit:]]*$`, ASCII as in Go's regexp.
fn valid_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// Flux's `SubstituteVariables` on every resource: print it as kustomize does, substitute
/// the text, read it back with go-yaml v2 rules (so a substituted `true` becomes a boolean).
/// Resources labelled or annotated `kustomize.toolkit.fluxcd.io/substitute: disabled`, and
/// every resource when no variable is defined, are left alone.
///
/// The text the variables put into the resources is charged to `budget`: a large value
/// used many times stops at the limit instead of filling memory.
pub fn substitute(
    m: &mut ResMap,
    vars: &BTreeMap<String, String>,
    strict: bool,
    budget: &Budget,
) -> Result<(), String> {
    if vars.is_empty() {
        return Ok(());
    }
    if let Some(bad) = vars.keys().find(|k| !valid_var_name(k)) {
        return Err(format!(
            "envsubst error: '{bad}' var name is invalid, must match '^[_[:alpha:]][_[:alpha:][:digit:]]*$'"
        ));
    }
    // A lookup past the budget inserts nothing and records why; the substitution then fails.
    let exceeded: std::cell::RefCell<Option<String>> = Default::default();
    let lookup = |k: &str| {
        let v = vars.get(k)?;
        if exceeded.borrow().is_some() {
            return Some(String::new());
        }
        if let Err(e) = budget.charge_value_bytes(v.len() as u64) {
            *exceeded.borrow_mut() = Some(e.to_string());
            return Some(String::new());
        }
        Some(v.clone())
    };
    for r in m.resources_mut() {
        let disabled = |v: Option<&Value>| v.and_then(Value::as_str) == Some("disabled");
        if disabled(r.obj().pointer(&format!(
            "/metadata/labels/{}",
            pointer_escape(SUBSTITUTE_KEY)
        ))) || disabled(r.obj().pointer(&format!(
            "/metadata/annotations/{}",
            pointer_escape(SUBSTITUTE_KEY)
        ))) {
            continue;
        }
        let id = format!("{}/{}", r.kind(), r.name());
        let fail = |m: String| format!("{id}: envsubst error: {m}");
        let text = yaml::emit::to_string(r.obj()).map_err(|e| fail(e.to_string()))?;
        let out = envsubst::substitute(&text, &lookup, strict)
            .map_err(|e| fail(format!("variable substitution failed: {e}")))?;
        if let Some(e) = exceeded.borrow_mut().take() {
            return Err(fail(e));
        }
        let value = yaml::read_document(out.as_bytes(), yaml::Dialect::V2, yaml::Limits::default())
            .map_err(|e| fail(format!("YAMLToJSON: {e}")))?;
        match value {
            Some(v @ Value::Object(_)) => *r.obj_mut() = v,
            _ => return Err(fail("the substituted resource is not an object".into())),
        }
    }
    Ok(())
}

fn pointer_escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// A file system confined to `root` (every path, symlinks resolved, must lie in it), with
/// at most one file replaced: the kustomization Flux rewrites.
pub struct FluxFs {
    base: Arc<dyn FileSystem>,
    root: PathBuf,
    overlay: Option<(PathBuf, Vec<u8>)>,
}

impl FluxFs {
    fn overlaid(&self, path: &Path) -> Option<&[u8]> {
        match &self.overlay {
            Some((p, text)) if p == path => Some(text),
            _ => None,
        }
    }

    /// The path, if it exists and lies inside the root.
    fn inside(&self, path: &Path) -> io::Result<PathBuf> {
        let real = self.base.canonicalize(path)?;
        if real.starts_with(&self.root) {
            Ok(real)
        } else {
            Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "path '{}' is not in or below '{}'",
                    path.display(),
                    self.root.display()
                ),
            ))
        }
    }
}

impl FileSystem for FluxFs {
    fn read(&self, path: &Path, max_bytes: u64) -> io::Result<Vec<u8>> {
        if let Some(text) = self.overlaid(path) {
            if text.len() as u64 > max_bytes {
                return Err(crate::fs::too_large(path, max_bytes));
            }
            return Ok(text.to_vec());
        }
        let real = self.inside(path)?;
        self.base.read(&real, max_bytes)
    }
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        if self.overlaid(path).is_some() {
            return Ok(path.to_path_buf());
        }
        self.inside(path)
    }
    fn is_dir(&self, path: &Path) -> bool {
        self.inside(path).is_ok_and(|p| self.base.is_dir(&p))
    }
    fn is_file(&self, path: &Path) -> bool {
        self.overlaid(path).is_some() || self.inside(path).is_ok_and(|p| self.base.is_file(&p))
    }
    fn read_dir(&self, path: &Path) -> io::Result<Vec<PathBuf>> {
        let real = self.inside(path)?;
        let mut entries = self.base.read_dir(&real)?;
        if let Some((p, _)) = &self.overlay {
            if p.parent() == Some(real.as_path()) && !entries.contains(p) {
                entries.push(p.clone());
                entries.sort();
            }
        }
        Ok(entries)
    }
    fn is_symlink(&self, path: &Path) -> bool {
        self.overlaid(path).is_none() && self.base.is_symlink(path)
    }
}
