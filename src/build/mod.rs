//! The build pipeline, top to bottom as kustomize runs it:
//!
//! ```text
//! load kustomization ─► accumulate resources (files, bases, recursively) ─► merge field-spec
//! configurations ─► run generators ─► accumulate components ─► run transformers (patches,
//! namespace, prefix/suffix, labels, annotations, JSON patches, replicas, images,
//! replacements) ─► [top level only] name hashes ─► name references ─► vars ─► drop
//! local-config ─► sort ─► clean build annotations ─► emit
//! ```
//!
//! Each kustomization directory is a [`Target`]; a bottom-up [`Accumulator`] carries the
//! resources, the merged field-spec configuration and the vars from the leaves to the root.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use crate::error::Error;
use crate::fieldspec::{FieldSpec, TransformerConfig};
use crate::fs::{FileSystem, LoadError, LoadRestrictor, Loader};
use crate::kustomization::{self, Kustomization, Var};
use crate::resource::{ResMap, Resource, Source};
use crate::transform;
use crate::yaml;

pub mod sort;

/// `--reorder`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reorder {
    /// No flag: legacy order unless the kustomization sets `sortOptions`.
    #[default]
    Unspecified,
    Legacy,
    /// Keep the input order.
    None,
}

/// Build options (the `kustomize build` flags that change the result).
#[derive(Debug, Clone)]
pub struct Options {
    pub load_restrictor: LoadRestrictor,
    pub reorder: Reorder,
    /// `--enable-managedby-label`.
    pub add_managed_by_label: bool,
    /// Largest file the loader reads, in bytes.
    pub max_file_bytes: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            load_restrictor: LoadRestrictor::RootOnly,
            reorder: Reorder::Unspecified,
            add_managed_by_label: false,
            max_file_bytes: 64 << 20,
        }
    }
}

/// The label `--enable-managedby-label` adds.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// The kustomize version this crate reproduces.
pub const KUSTOMIZE_VERSION: &str = "v5.5.0";

/// Builds the kustomization in `dir` and returns the resources in output order.
pub fn build(fs: Arc<dyn FileSystem>, dir: &Path, opts: &Options) -> Result<ResMap, Error> {
    let ldr = Loader::new(fs, dir, opts.load_restrictor, opts.max_file_bytes).map_err(|e| {
        Error::Load {
            context: format!("must build at directory {}", dir.display()),
            source: e,
        }
    })?;
    let target = Target::load(ldr)?;
    let mut acc = target.accumulate(Accumulator::default())?;
    // The following steps run once, at the top, after the recursion.
    finish(&target, &mut acc)?;
    let mut m = acc.resmap;
    apply_sort_order(&mut m, &target.k, opts)?;
    if opts.add_managed_by_label || target.k.build_metadata_has("managedByLabel") {
        let mut labels = kustomization::StringMap::new();
        labels.insert(
            MANAGED_BY_LABEL.into(),
            format!("kustomize-{KUSTOMIZE_VERSION}"),
        );
        let spec = [FieldSpec::new(Default::default(), "metadata/labels", true)];
        transform::labels::apply(&mut m, &labels, &spec).map_err(|e| Error::Transform {
            file: target.file.clone(),
            source: Box::new(e),
        })?;
    }
    clean_annotations(&mut m);
    Ok(m)
}

/// Builds and renders the result exactly as `kustomize build` prints it.
pub fn render(fs: Arc<dyn FileSystem>, dir: &Path, opts: &Options) -> Result<Vec<u8>, Error> {
    let m = build(fs, dir, opts)?;
    yaml::emit_stream(m.resources().iter().map(Resource::obj)).map_err(Error::Emit)
}

fn apply_sort_order(m: &mut ResMap, k: &Kustomization, opts: &Options) -> Result<(), Error> {
    if let Some(so) = &k.sort_options {
        match so.order.as_str() {
            "legacy" => {
                let order = match &so.legacy_sort_options {
                    Some(l) => sort::TypeOrder::new(&l.order_first, &l.order_last),
                    None => sort::TypeOrder::legacy(),
                };
                sort::legacy_sort(m, &order);
            }
            "fifo" => {
                if so.legacy_sort_options.is_some() {
                    return Err(Error::build(
                        "kustomization",
                        "the field 'sortOptions.legacySortOptions' is set but the selected sort order is 'fifo', not 'legacy'",
                    ));
                }
            }
            _ => {
                return Err(Error::build(
                    "kustomization",
                    "the field 'sortOptions.order' must be one of [fifo, legacy]",
                ))
            }
        }
        return Ok(());
    }
    if opts.reorder != Reorder::None {
        sort::legacy_sort(m, &sort::TypeOrder::legacy());
    }
    Ok(())
}

/// kustomize rewrites every resource's annotations at the end (removing its internal build
/// annotations): values become strings, and an empty map is removed.
fn clean_annotations(m: &mut ResMap) {
    for r in m.resources_mut() {
        let Some(meta) = r
            .obj_mut()
            .get_mut("metadata")
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        let Some(ann) = meta.get_mut("annotations") else {
            continue;
        };
        let mut cleaned = serde_json::Map::new();
        if let Value::Object(a) = ann {
            for (k, v) in std::mem::take(a) {
                let text = transform::scalar_text(&v).unwrap_or_default();
                cleaned.insert(k, Value::String(text));
            }
        }
        if cleaned.is_empty() {
            meta.remove("annotations");
        } else {
            *ann = Value::Object(cleaned);
        }
    }
}

/// Steps kustomize runs once after accumulating the top-level target.
fn finish(target: &Target, acc: &mut Accumulator) -> Result<(), Error> {
    let _ = target;
    // Resources marked local-config are dropped (value "false" keeps them).
    acc.resmap.retain(|r| {
        r.annotation("config.kubernetes.io/local-config")
            .is_none_or(|v| v == "false")
    });
    Ok(())
}

/// Resources, field-spec configuration and vars collected from a kustomization and its
/// bases.
#[derive(Debug, Default)]
pub struct Accumulator {
    pub resmap: ResMap,
    pub config: TransformerConfig,
    pub vars: Vec<Var>,
}

impl Accumulator {
    fn merge(&mut self, other: Accumulator, file: &Path) -> Result<(), Error> {
        self.resmap
            .append_all(other.resmap)
            .map_err(|e| Error::build(file.display(), e.to_string()))?;
        self.config
            .merge(&other.config)
            .map_err(|e| Error::build(file.display(), e))?;
        for v in other.vars {
            if self.vars.iter().any(|x| x.name == v.name) {
                return Err(Error::build(
                    file.display(),
                    format!("var '{}' already encountered", v.name),
                ));
            }
            self.vars.push(v);
        }
        Ok(())
    }
}

/// One kustomization directory.
pub struct Target {
    pub ldr: Loader,
    pub k: Kustomization,
    /// The kustomization file.
    pub file: PathBuf,
}

impl Target {
    /// Finds, reads and validates the kustomization file in the loader's root.
    pub fn load(ldr: Loader) -> Result<Target, Error> {
        let mut found = Vec::new();
        for name in kustomization::FILE_NAMES {
            let p = ldr.root().join(name);
            if ldr.fs().is_file(&p) {
                found.push(p);
            }
        }
        let file = match found.len() {
            0 => {
                return Err(Error::build(
                    ldr.root().display(),
                    format!(
                        "unable to find one of {} in directory '{}'",
                        kustomization::FILE_NAMES
                            .map(|n| format!("'{n}'"))
                            .join(", "),
                        ldr.root().display()
                    ),
                ))
            }
            1 => found.remove(0),
            _ => {
                return Err(Error::build(
                    ldr.root().display(),
                    format!(
                        "Found multiple kustomization files under: {}",
                        ldr.root().display()
                    ),
                ))
            }
        };
        let bytes = ldr.fs().read(&file).map_err(|e| Error::Load {
            context: "reading kustomization".into(),
            source: LoadError::Io {
                path: file.clone(),
                source: e,
            },
        })?;
        let mut k = Kustomization::parse(&bytes).map_err(|e| match e {
            kustomization::KustomizationError::Yaml(y) => Error::Yaml {
                file: file.clone(),
                source: y,
            },
            other => Error::Kustomization {
                file: file.clone(),
                source: other,
            },
        })?;
        k.fix_legacy().map_err(|e| Error::Kustomization {
            file: file.clone(),
            source: e,
        })?;
        Ok(Target { ldr, k, file })
    }

    fn err(&self, message: impl Into<String>) -> Error {
        Error::build(self.file.display(), message)
    }

    fn terr(&self, e: transform::TransformError) -> Error {
        Error::Transform {
            file: self.file.clone(),
            source: Box::new(e),
        }
    }

    /// kustomize's `accumulateTarget`: everything but the top-level-only steps.
    pub fn accumulate(&self, mut acc: Accumulator) -> Result<Accumulator, Error> {
        let resources = self.k.resources.clone().unwrap_or_default();
        self.accumulate_resources(&mut acc, &resources)?;
        let mut tc = TransformerConfig::defaults().clone();
        for path in self.k.configurations.iter().flatten() {
            let (p, bytes) = self.ldr.load(path).map_err(|e| Error::Load {
                context: format!("{}: configurations", self.file.display()),
                source: e,
            })?;
            let v = yaml::read_document(&bytes, yaml::Dialect::V2, yaml::Limits::default())
                .map_err(|e| Error::Yaml {
                    file: p.clone(),
                    source: e,
                })?
                .unwrap_or(Value::Null);
            let c = TransformerConfig::from_value(v).map_err(|e| Error::build(p.display(), e))?;
            tc.merge(&c).map_err(|e| Error::build(p.display(), e))?;
        }
        acc.config.merge(&tc).map_err(|e| self.err(e))?;
        self.unsupported_checks()?;
        self.run_transformers(&mut acc)?;
        for v in self.k.vars.iter().flatten() {
            if acc.vars.iter().any(|x| x.name == v.name) {
                return Err(self.err(format!("var '{}' already encountered", v.name)));
            }
            acc.vars.push(v.clone());
        }
        Ok(acc)
    }

    /// Features this build does not implement yet fail loudly rather than render wrongly.
    fn unsupported_checks(&self) -> Result<(), Error> {
        let k = &self.k;
        let mut missing = Vec::new();
        if k.crds.as_ref().is_some_and(|v| !v.is_empty()) {
            missing.push("crds");
        }
        if k.config_map_generator
            .as_ref()
            .is_some_and(|v| !v.is_empty())
        {
            missing.push("configMapGenerator");
        }
        if k.secret_generator.as_ref().is_some_and(|v| !v.is_empty()) {
            missing.push("secretGenerator");
        }
        if k.components.as_ref().is_some_and(|v| !v.is_empty()) {
            missing.push("components");
        }
        if k.patches.as_ref().is_some_and(|v| !v.is_empty()) {
            missing.push("patches");
        }
        if k.patches_strategic_merge
            .as_ref()
            .is_some_and(|v| !v.is_empty())
        {
            missing.push("patchesStrategicMerge");
        }
        if k.patches_json6902.as_ref().is_some_and(|v| !v.is_empty()) {
            missing.push("patchesJson6902");
        }
        if k.replacements.as_ref().is_some_and(|v| !v.is_empty()) {
            missing.push("replacements");
        }
        if k.vars.as_ref().is_some_and(|v| !v.is_empty()) {
            missing.push("vars");
        }
        if k.generators.as_ref().is_some_and(|v| !v.is_empty()) {
            missing.push("generators");
        }
        if k.transformers.as_ref().is_some_and(|v| !v.is_empty()) {
            missing.push("transformers");
        }
        if k.validators.as_ref().is_some_and(|v| !v.is_empty()) {
            missing.push("validators");
        }
        if k.helm_charts.as_ref().is_some_and(|v| !v.is_empty())
            || k.helm_chart_inflation_generator
                .as_ref()
                .is_some_and(|v| !v.is_empty())
        {
            missing.push("helmCharts");
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(self.err(format!("not supported yet: {}", missing.join(", "))))
        }
    }

    fn accumulate_resources(&self, acc: &mut Accumulator, paths: &[String]) -> Result<(), Error> {
        for path in paths {
            match self.ldr.load(path) {
                Ok((file, bytes)) => {
                    let rs = resources_from_bytes(&bytes, &file)?;
                    for r in rs {
                        acc.resmap.append(r).map_err(|e| {
                            self.err(format!("merging resources from '{path}': {e}"))
                        })?;
                    }
                }
                Err(file_err) => {
                    let child = match self.ldr.child(path) {
                        Ok(c) => c,
                        Err(dir_err) => {
                            return Err(self.err(format!(
                                "resource '{path}' is neither a readable file ({file_err}) nor a kustomization directory ({dir_err})"
                            )))
                        }
                    };
                    let sub = Target::load(child)?;
                    if sub.k.is_component() {
                        return Err(self.err(format!(
                            "expected kind != 'Component' for path '{}'",
                            sub.ldr.root().display()
                        )));
                    }
                    let sub_acc = sub.accumulate(Accumulator::default())?;
                    acc.merge(sub_acc, &self.file)?;
                }
            }
        }
        Ok(())
    }

    fn run_transformers(&self, acc: &mut Accumulator) -> Result<(), Error> {
        let k = &self.k;
        let tc = &acc.config;
        let m = &mut acc.resmap;
        if let Some(ns) = k.namespace.as_deref().filter(|s| !s.is_empty()) {
            transform::namespace::Namespace {
                namespace: ns,
                field_specs: &tc.namespace,
                unset_only: false,
                subjects: Default::default(),
            }
            .apply(m)
            .map_err(|e| self.terr(e))?;
        }
        if let Some(p) = k.name_prefix.as_deref().filter(|s| !s.is_empty()) {
            transform::prefix_suffix::apply(
                m,
                transform::prefix_suffix::Affix::Prefix,
                p,
                &tc.name_prefix,
            )
            .map_err(|e| self.terr(e))?;
        }
        if let Some(s) = k.name_suffix.as_deref().filter(|s| !s.is_empty()) {
            transform::prefix_suffix::apply(
                m,
                transform::prefix_suffix::Affix::Suffix,
                s,
                &tc.name_suffix,
            )
            .map_err(|e| self.terr(e))?;
        }
        for label in k.labels.iter().flatten() {
            let mut fss: Vec<FieldSpec> = label.fields.iter().map(FieldSpec::from).collect();
            crate::fieldspec::merge_all(&mut fss, &tc.labels).map_err(|e| self.err(e))?;
            if label.include_selectors {
                crate::fieldspec::merge_all(&mut fss, &tc.common_labels)
                    .map_err(|e| self.err(e))?;
            } else {
                if label.include_templates {
                    crate::fieldspec::merge_all(&mut fss, &tc.template_labels)
                        .map_err(|e| self.err(e))?;
                }
                crate::fieldspec::merge_all(
                    &mut fss,
                    &[FieldSpec::new(Default::default(), "metadata/labels", true)],
                )
                .map_err(|e| self.err(e))?;
            }
            transform::labels::apply(m, &label.pairs, &fss).map_err(|e| self.terr(e))?;
        }
        if let Some(cl) = &k.common_labels {
            transform::labels::apply(m, cl, &tc.common_labels).map_err(|e| self.terr(e))?;
        }
        if let Some(ca) = &k.common_annotations {
            transform::annotations::apply(m, ca, &tc.common_annotations)
                .map_err(|e| self.terr(e))?;
        }
        for r in k.replicas.iter().flatten() {
            transform::replicas::apply(m, r, &tc.replicas).map_err(|e| self.terr(e))?;
        }
        for img in k.images.iter().flatten() {
            transform::images::apply(m, img, &tc.images).map_err(|e| self.terr(e))?;
        }
        Ok(())
    }
}

/// Reads the resources in one file: documents split as kustomize splits them, each checked
/// for `kind` and `metadata.name`, `*List` kinds with `items` expanded.
pub fn resources_from_bytes(bytes: &[u8], file: &Path) -> Result<Vec<Resource>, Error> {
    let docs = yaml::reader::read_resource_stream(bytes, yaml::Limits::default()).map_err(|e| {
        Error::Yaml {
            file: file.to_path_buf(),
            source: e,
        }
    })?;
    let name: Arc<str> = Arc::from(file.display().to_string());
    let mut out = Vec::new();
    let mut queue: std::collections::VecDeque<(Value, usize)> =
        docs.into_iter().map(|d| (d.value, d.line)).collect();
    while let Some((v, line)) = queue.pop_front() {
        if is_nil_or_empty(&v) {
            continue;
        }
        let at = || format!("{}:{}", name, line);
        let Value::Object(map) = &v else {
            return Err(Error::build(
                at(),
                "expected a Kubernetes object (a YAML mapping), found another kind of document",
            ));
        };
        let kind = map
            .get("kind")
            .and_then(transform::scalar_text)
            .unwrap_or_default();
        if kind.is_empty() {
            return Err(Error::build(at(), "missing kind in object"));
        }
        if kind.ends_with("List") {
            if let Some(items) = map.get("items") {
                match items {
                    Value::Null => continue,
                    Value::Array(list) => {
                        for item in list {
                            queue.push_back((item.clone(), line));
                        }
                        continue;
                    }
                    _ => {
                        return Err(Error::build(
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
                return Err(Error::build(
                    at(),
                    format!("missing metadata.name in object of kind {kind}"),
                ));
            }
        }
        out.push(Resource::new(
            v,
            Source {
                file: name.clone(),
                line,
            },
        ));
    }
    Ok(out)
}

/// kyaml's `IsNilOrEmpty`: null, `{}`, `[]`.
fn is_nil_or_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}
