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
//! Each kustomization directory is a `Target` (`target.rs`: load, accumulate, run); a
//! bottom-up `Accumulator` carries the resources, the merged field-spec configuration and
//! the vars from the leaves to the root. `configure.rs` reads patch bodies and plugin
//! configurations before any transformer runs; `read.rs` turns resource files into
//! resources; `sort.rs` owns the output order. This file holds the entry points and the
//! steps that run once, at the top.

use std::cell::{Cell, RefCell};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use crate::budget::{Budget, Limits};
use crate::error::{Error, ErrorKind};
use crate::fieldspec::{FieldSpec, TransformerConfig};
use crate::fs::{FileSystem, LoadError, LoadRestrictor, Loader};
use crate::generate;
use crate::kustomization::{self, Kustomization, Var};
use crate::plugins;
use crate::resource::{Origin, ResMap, Resource, Source};
use crate::schema::Schema;
use crate::selector::Selector;
use crate::transform;
use crate::transform::patches::{Patch, PatchBody};
use crate::yaml;

mod builtin;
mod cache;
mod configure;
pub mod output;
mod read;
pub(crate) mod sort;
mod target;

pub use cache::BaseCache;
pub(crate) use read::resources_from_bytes;
pub use read::ParseCache;
pub(crate) use target::{Accumulator, Target};

/// `--reorder`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reorder {
    /// No flag: legacy order unless the kustomization sets `sortOptions`.
    #[default]
    Unspecified,
    /// `--reorder legacy`: kustomize's kind order (Namespaces and CRDs first, webhooks
    /// last), then by name.
    Legacy,
    /// Keep the input order.
    None,
}

/// Build options (the `kustomize build` flags that change the result).
#[derive(Debug, Clone)]
pub struct Options {
    /// `--load-restrictor`: whether files outside a kustomization's directory may be read.
    pub load_restrictor: LoadRestrictor,
    /// `--reorder`: the order resources are printed in.
    pub reorder: Reorder,
    /// `--enable-managedby-label`.
    pub add_managed_by_label: bool,
    /// What the build may read, create and print (`--limit NAME=N`).
    pub limits: Limits,
    /// Remote access (git repositories, HTTP files), a capability the caller grants;
    /// `None` (the default) refuses every remote reference. The command line grants
    /// [`crate::remote::Network`] unless `--no-remote`.
    pub remote: Option<Arc<dyn crate::remote::Remote>>,
    /// Helm charts (`--enable-helm`, `--helm-command`, ...); off by default.
    pub helm: crate::helm::HelmOptions,
    /// Where warnings go (kustomize's, in its words; none are printed).
    pub warnings: Option<crate::warning::WarningSink>,
    /// Also warn about patches and replacements that match no resource (kustomize lacks
    /// these warnings; kustomize#4379, #5093).
    pub warn_unmatched: bool,
    /// At most this many threads read files and print the result (`None`: one per core,
    /// up to 8). A build runs on one thread of its own besides, for its deep stack.
    pub threads: Option<std::num::NonZeroUsize>,
    /// Parsed resource files shared between builds of one unchanging tree (what
    /// [`crate::fleet::check`] does); `None` parses every file in each build.
    pub parse_cache: Option<Arc<ParseCache>>,
    /// Base renders shared between builds of one unchanging tree with the same options
    /// (what [`crate::fleet::check`] does); `None` builds every base in each build.
    pub base_cache: Option<Arc<BaseCache>>,
}

impl Options {
    /// The number of threads [`Options::threads`] allows.
    pub fn thread_limit(&self) -> usize {
        self.threads
            .map_or_else(crate::par::available, std::num::NonZeroUsize::get)
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            load_restrictor: LoadRestrictor::RootOnly,
            reorder: Reorder::Unspecified,
            add_managed_by_label: false,
            limits: Limits::default(),
            remote: None,
            helm: Default::default(),
            warnings: None,
            warn_unmatched: false,
            threads: None,
            parse_cache: None,
            base_cache: None,
        }
    }
}

/// The label `--enable-managedby-label` adds.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// The kustomize version this crate reproduces.
pub const KUSTOMIZE_VERSION: &str = "v5.5.0";
/// The version kustomize reports in the managed-by label. The oracle is kubectl, whose
/// embedded kustomize is a development build and says `(devel)`.
pub const KUSTOMIZE_BUILD_VERSION: &str = "(devel)";

/// State shared by every kustomization of one build.
pub(crate) struct BuildCtx {
    warnings: Option<crate::warning::WarningSink>,
    warn_unmatched: bool,
    /// The command line's Helm settings, and the Helm state one build shares.
    helm: crate::helm::HelmOptions,
    helm_state: RefCell<crate::helm::HelmState>,
    /// The strategic-merge schema: kustomize's `openapi:` field is read from the top-level
    /// kustomization first, else from the first kustomization that sets it.
    schema: RefCell<Option<Arc<Schema>>>,
    loaded_top: Cell<bool>,
    /// [`Options::thread_limit`].
    pub(crate) threads: usize,
    pub(crate) parse_cache: Option<Arc<ParseCache>>,
    base_cache: Option<Arc<BaseCache>>,
    /// This build, for the waits of [`BuildCtx::base_cache`].
    build_id: cache::BuildId,
    /// Bases being built for [`BuildCtx::base_cache`], innermost last.
    recordings: RefCell<Vec<cache::Recording>>,
}

impl BuildCtx {
    fn new(opts: &Options) -> BuildCtx {
        let helm = &opts.helm;
        BuildCtx {
            warnings: opts.warnings.clone(),
            warn_unmatched: opts.warn_unmatched,
            helm: helm.clone(),
            helm_state: RefCell::new(crate::helm::HelmState::new(helm)),
            schema: RefCell::new(None),
            loaded_top: Cell::new(false),
            threads: opts.thread_limit(),
            parse_cache: opts.parse_cache.clone(),
            base_cache: opts.base_cache.clone(),
            build_id: cache::BuildId::fresh(),
            recordings: RefCell::new(Vec::new()),
        }
    }

    /// Hands a warning to the caller's sink (and to the bases being recorded).
    pub(crate) fn warn(&self, w: crate::warning::Warning) {
        for rec in self.recordings.borrow_mut().iter_mut() {
            rec.warnings.push(w.clone());
        }
        if let Some(sink) = &self.warnings {
            sink.emit(w);
        }
    }

    /// Notes a kustomization loaded in the bases being recorded.
    fn record_load(&self, ldr: &Loader, k: &Kustomization) {
        let uncacheable =
            ldr.repo_url().is_some() || k.openapi.as_ref().is_some_and(|m| !m.is_empty());
        for rec in self.recordings.borrow_mut().iter_mut() {
            rec.roots.push(ldr.root().to_path_buf());
            rec.depth_below = rec
                .depth_below
                .max(ldr.depth().saturating_sub(rec.base_depth));
            rec.uncacheable |= uncacheable;
        }
    }

    /// Marks the bases being recorded as depending on more than their tree.
    pub(crate) fn record_uncacheable(&self) {
        for rec in self.recordings.borrow_mut().iter_mut() {
            rec.uncacheable = true;
        }
    }

    fn schema(&self) -> Arc<Schema> {
        self.schema
            .borrow()
            .clone()
            .unwrap_or_else(|| Arc::new(Schema::builtin().clone()))
    }

    /// kustomize's `openapi.SetSchema(..., reset=false)`: the first setting wins.
    fn set_schema(&self, target: &Target) -> Result<(), Error> {
        // The first kustomization loaded is the top-level one.
        let is_top = !self.loaded_top.replace(true);
        let Some(openapi) = target.k.openapi.as_ref().filter(|m| !m.is_empty()) else {
            return Ok(());
        };
        if self.schema.borrow().is_some() {
            return Ok(());
        }
        let schema = match (openapi.get("version"), openapi.get("path")) {
            (Some(_), Some(_)) => {
                return Err(target.err("builtin version and file path cannot both be specified"))
            }
            (Some(v), None) if v == "v1.21.2" => Schema::builtin().clone(),
            (Some(v), None) => {
                return Err(target.err(format!(
                    "the specified OpenAPI version is not built in: {v}"
                )))
            }
            (None, Some(path)) => {
                let (p, bytes) = target.ldr.load(path).map_err(|e| Error::Load {
                    context: format!("{}: openapi", target.file.display()),
                    source: e,
                })?;
                let v = yaml::read_document(&bytes, yaml::Dialect::V3, yaml::Limits::default())
                    .map_err(|e| Error::Yaml {
                        file: p.clone(),
                        source: e,
                    })?
                    .unwrap_or(Value::Null);
                // Set at the top, a custom schema replaces the built-in one; set further down,
                // kustomize has already scheduled the built-in one and keeps both.
                let schema = if is_top {
                    Schema::from_openapi(&v)
                } else {
                    Schema::from_openapi_with_builtin(&v)
                };
                schema
                    .map_err(|e| Error::new(ErrorKind::Kustomization, p.display(), e.to_string()))?
            }
            (None, None) => return Ok(()),
        };
        *self.schema.borrow_mut() = Some(Arc::new(schema));
        Ok(())
    }
}

/// Builds the kustomization in `dir` and returns the resources in output order.
pub fn build(fs: Arc<dyn FileSystem>, dir: &Path, opts: &Options) -> Result<ResMap, Error> {
    let budget = Arc::new(Budget::new(opts.limits.clone()));
    let session = opts
        .remote
        .clone()
        .map(|r| Arc::new(crate::remote::Session::new(r)));
    let ldr =
        Loader::new_with_remote(fs, dir, opts.load_restrictor, budget, session).map_err(|e| {
            Error::Load {
                context: format!("must build at directory {}", dir.display()),
                source: e,
            }
        })?;
    build_from(ldr, opts)
}

/// Stack for the thread a build runs on: bases nest as deep as `Limits::depth` allows,
/// and each level of the recursion takes some kilobytes.
fn build_stack_bytes(limits: &Limits) -> usize {
    const PER_LEVEL: u64 = 48 << 10;
    (16 << 20) + limits.depth.saturating_mul(PER_LEVEL).min(8 << 30) as usize
}

/// Builds the kustomization `ldr` serves, on a thread whose stack fits `Limits::depth`.
pub fn build_from(ldr: Loader, opts: &Options) -> Result<ResMap, Error> {
    let stack = build_stack_bytes(&opts.limits);
    crate::par::with_stack(stack, move || build_on_this_thread(ldr, opts))
}

fn build_on_this_thread(ldr: Loader, opts: &Options) -> Result<ResMap, Error> {
    let ctx = BuildCtx::new(opts);
    // kubectl's notices for its deprecated flags come first.
    if opts.reorder != Reorder::Unspecified {
        ctx.warn(crate::warning::deprecated_option("reorder"));
    }
    if opts.add_managed_by_label {
        ctx.warn(crate::warning::deprecated_option("enable-managedby-label"));
    }
    if let Some(url) = ldr.repo_url() {
        if crate::remote::RepoSpec::parse(url).is_ok_and(|s| s.forced_git) {
            ctx.warn(crate::warning::forced_git_prefix(None));
        }
    }
    let mut target = Target::load(ldr, &ctx)?;
    // Origins are tracked through the whole build when the top-level kustomization sets any
    // buildMetadata (kustomize gives every sub-kustomization the top-level's setting).
    if target
        .k
        .build_metadata
        .as_ref()
        .is_some_and(|b| !b.is_empty())
    {
        target.origin = Some(Origin::default());
    }
    let mut acc = target.accumulate_shared()?;
    // The following steps run once, at the top, after the recursion.
    finish(&target, &mut acc)?;
    let mut m = acc.resmap;
    apply_sort_order(&mut m, &target.k, opts)?;
    if target.k.sort_options.is_some() && opts.reorder != Reorder::Unspecified {
        ctx.warn(crate::warning::sort_order_conflict(target.file.clone()));
    }
    if opts.add_managed_by_label || target.k.build_metadata_has("managedByLabel") {
        let mut labels = kustomization::StringMap::new();
        labels.insert(
            MANAGED_BY_LABEL.into(),
            format!("kustomize-{KUSTOMIZE_BUILD_VERSION}"),
        );
        let spec = [FieldSpec::new(Default::default(), "metadata/labels", true)];
        transform::labels::apply(&mut m, &labels, &spec).map_err(|e| Error::Transform {
            file: target.file.clone(),
            source: Box::new(e),
        })?;
    }
    let origins = target.k.build_metadata_has("originAnnotations");
    let transformations = target.k.build_metadata_has("transformerAnnotations");
    write_origin_annotations(&mut m, origins, transformations);
    clean_annotations(&mut m, origins, transformations);
    check_annotation_keys(&m)?;
    Ok(m)
}

/// Builds and renders the result exactly as `kustomize build` prints it.
pub fn render(fs: Arc<dyn FileSystem>, dir: &Path, opts: &Options) -> Result<Vec<u8>, Error> {
    let m = build(fs, dir, opts)?;
    emit(&m, opts)
}

/// Prints resources as `kustomize build` does, within `opts.limits.output_bytes`, on at
/// most `opts.threads` threads.
pub fn emit(m: &ResMap, opts: &Options) -> Result<Vec<u8>, Error> {
    let out =
        match yaml::emit_stream_on(m.resources().iter().map(Resource::obj), opts.thread_limit()) {
            Ok(out) => out,
            // Which resource: print them one by one to find it.
            Err(source) => {
                let resource = m
                    .resources()
                    .iter()
                    .find(|r| yaml::emit_document(r.obj(), &mut Vec::new()).is_err())
                    .map(output::describe)
                    .unwrap_or_else(|| "the output".into());
                return Err(Error::Emit { resource, source });
            }
        };
    Budget::new(opts.limits.clone())
        .check_output(out.len() as u64)
        .map_err(|e| Error::Load {
            context: "writing output".into(),
            source: LoadError::Budget(e),
        })?;
    Ok(out)
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
                    return Err(Error::new(
                        ErrorKind::Kustomization,
                        "kustomization",
                        "the field 'sortOptions.legacySortOptions' is set but the selected sort order is 'fifo', not 'legacy'",
                    ));
                }
            }
            _ => {
                return Err(Error::new(
                    ErrorKind::Kustomization,
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

/// `config.kubernetes.io/origin` and `alpha.config.kubernetes.io/transformations`, when the
/// top-level buildMetadata asks for them.
fn write_origin_annotations(m: &mut ResMap, origins: bool, transformations: bool) {
    if !origins && !transformations {
        return;
    }
    for r in m.resources_mut() {
        let origin = r.origin.take();
        let list = std::mem::take(&mut r.transformations);
        let mut ann = r.annotations();
        if origins {
            if let Some(o) = origin {
                ann.insert(crate::resource::ORIGIN.into(), Value::String(o.to_yaml("")));
            }
        }
        if transformations && !list.is_empty() {
            let text: String = list
                .iter()
                .map(|o| format!("- {}", o.to_yaml("  ")))
                .collect();
            ann.insert(crate::resource::TRANSFORMATIONS.into(), Value::String(text));
        }
        if !ann.is_empty() {
            r.set_meta_map("annotations", ann);
        }
    }
}

/// A configuration file (`configurations:`, `crds:`, a ValueAdd `targetFilePath`) read
/// as kustomize reads YAML into Go values: go-yaml v2 rules, an empty file is null.
fn config_document(file: &Path, bytes: &[u8]) -> Result<Value, Error> {
    yaml::read_document(bytes, yaml::Dialect::V2, yaml::Limits::default())
        .map(|v| v.unwrap_or(Value::Null))
        .map_err(|e| Error::Yaml {
            file: file.to_path_buf(),
            source: e,
        })
}

/// kustomize's `OriginFromCustomPlugin`: a plugin configured by a resource that has an
/// origin is recorded as configured in that file, by that resource.
fn plugin_origin(config: &Resource) -> Option<Origin> {
    let o = config.origin.as_ref()?;
    Some(Origin {
        configured_in: o.path.clone(),
        configured_by: [
            config.api_version().to_string(),
            config.kind().to_string(),
            config.name().to_string(),
            config.namespace().to_string(),
        ],
        ..Default::default()
    })
}

/// kustomize rewrites every resource's annotations at the end (`RemoveBuildAnnotations`,
/// `RemoveOriginAnnotations`, `RemoveTransformerAnnotations`): the keys of its build
/// annotation list go, even where a resource file wrote them, and so do the origin and
/// transformations unless buildMetadata asks for them; values become strings, and an empty
/// map is removed.
/// kustomize rewrites every resource's `metadata.annotations` with new, untagged key nodes,
/// so an annotation key that reads as a non-string (`"true"`, `"1"`) fails its output, even
/// when the input quoted it.
fn check_annotation_keys(m: &ResMap) -> Result<(), Error> {
    for r in m.resources() {
        let Some(Value::Object(a)) = r.obj().pointer("/metadata/annotations") else {
            continue;
        };
        if let Some(k) = a.keys().find(|k| transform::key_reads_as_non_string(k)) {
            let place = match r.source.line {
                0 => format!("{} {}/{}", r.source.file, r.kind(), r.name()),
                line => format!("{}:{line} {}/{}", r.source.file, r.kind(), r.name()),
            };
            return Err(Error::new(
                ErrorKind::Resource,
                place,
                transform::non_string_key_error("metadata.annotations", k),
            ));
        }
    }
    Ok(())
}

fn clean_annotations(m: &mut ResMap, origins: bool, transformations: bool) {
    let dropped = |k: &str| {
        // Cheap test first: every dropped key starts with one of these.
        (k.starts_with("internal.") || k.starts_with("config.k") || k.starts_with("alpha."))
            && (crate::resource::BUILD_ANNOTATIONS.contains(&k)
                || (!origins && k == crate::resource::ORIGIN)
                || (!transformations && k == crate::resource::TRANSFORMATIONS))
    };
    // Most resources have nothing to clean: leave their (maybe shared) objects alone.
    let clean = |obj: &Value| match obj.get("metadata").and_then(|m| m.get("annotations")) {
        None => true,
        Some(Value::Object(a)) => {
            !a.is_empty() && a.iter().all(|(k, v)| v.is_string() && !dropped(k))
        }
        Some(_) => false,
    };
    for r in m.resources_mut() {
        if clean(r.obj()) {
            continue;
        }
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
                if dropped(&k) {
                    continue;
                }
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
    // Content hashes go on generated names only now, after every overlay's changes.
    hash_generated_names(&mut acc.resmap);
    transform::namereference::apply(&mut acc.resmap, &acc.config.name_reference).map_err(|e| {
        Error::Transform {
            file: target.file.clone(),
            source: Box::new(e),
        }
    })?;
    // With the back references fixed, vars resolve. kubectl prints the vars that replaced
    // nothing on stderr; the library does not print.
    let resolved = transform::vars::resolve(
        &mut acc.resmap,
        &acc.vars,
        &acc.config.var_reference,
        target.ldr.budget(),
    );
    let unused = resolved.map_err(|e| Error::Transform {
        file: target.file.clone(),
        source: Box::new(e),
    })?;
    if !unused.is_empty() {
        target
            .ctx
            .warn(crate::warning::unused_vars(unused, target.file.clone()));
    }
    // Resources marked local-config are dropped (value "false" keeps them).
    acc.resmap.retain(|r| {
        r.annotation("config.kubernetes.io/local-config")
            .is_none_or(|v| v == "false")
    });
    // kustomize rebuilds the map from what remains (`IgnoreLocal`), so two resources a rename
    // left with one id fail here (kustomize panics).
    acc.resmap.reappend_all().map_err(|e| Error::Transform {
        file: target.file.clone(),
        source: Box::new(transform::TransformError::config(
            "IgnoreLocal",
            e.to_string(),
        )),
    })
}

/// kustomize's `HashTransformer`: generated resources get their content hash appended.
fn hash_generated_names(m: &mut ResMap) {
    for r in m.resources_mut() {
        if r.generated.is_some_and(|g| g.needs_hash) {
            let h = generate::content_hash(r.obj());
            r.store_previous_id();
            let name = format!("{}-{h}", r.name());
            r.set_name(&name);
            // The suffix is added once.
            if let Some(g) = r.generated.as_mut() {
                g.needs_hash = false;
            }
        }
    }
    m.reindex();
}
