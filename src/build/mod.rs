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

use std::cell::{Cell, RefCell};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use crate::error::Error;
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
/// The version kustomize reports in the managed-by label. The oracle is kubectl, whose
/// embedded kustomize is a development build and says `(devel)`.
pub const KUSTOMIZE_BUILD_VERSION: &str = "(devel)";

/// State shared by every kustomization of one build.
pub struct BuildCtx {
    /// The strategic-merge schema: kustomize's `openapi:` field is read from the top-level
    /// kustomization first, else from the first kustomization that sets it.
    schema: RefCell<Option<Arc<Schema>>>,
    loaded_top: Cell<bool>,
}

impl BuildCtx {
    fn new() -> BuildCtx {
        BuildCtx {
            schema: RefCell::new(None),
            loaded_top: Cell::new(false),
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
                schema.map_err(|e| Error::build(p.display(), e.to_string()))?
            }
            (None, None) => return Ok(()),
        };
        *self.schema.borrow_mut() = Some(Arc::new(schema));
        Ok(())
    }
}

/// Builds the kustomization in `dir` and returns the resources in output order.
pub fn build(fs: Arc<dyn FileSystem>, dir: &Path, opts: &Options) -> Result<ResMap, Error> {
    let ldr = Loader::new(fs, dir, opts.load_restrictor, opts.max_file_bytes).map_err(|e| {
        Error::Load {
            context: format!("must build at directory {}", dir.display()),
            source: e,
        }
    })?;
    let ctx = BuildCtx::new();
    let mut target = Target::load(ldr, &ctx)?;
    // Origins are tracked through the whole build when the top-level kustomization sets any
    // buildMetadata (kustomize gives every sub-kustomization the top-level's setting).
    if target
        .k
        .build_metadata
        .as_ref()
        .is_some_and(|b| !b.is_empty())
    {
        target.origin = Some(String::new());
    }
    let mut acc = target.accumulate(Accumulator::default())?;
    // The following steps run once, at the top, after the recursion.
    finish(&target, &mut acc)?;
    let mut m = acc.resmap;
    apply_sort_order(&mut m, &target.k, opts)?;
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
    write_origin_annotations(
        &mut m,
        target.k.build_metadata_has("originAnnotations"),
        target.k.build_metadata_has("transformerAnnotations"),
    );
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
                ann.insert(
                    "config.kubernetes.io/origin".into(),
                    Value::String(o.to_yaml("")),
                );
            }
        }
        if transformations && !list.is_empty() {
            let text: String = list
                .iter()
                .map(|o| format!("- {}", o.to_yaml("  ")))
                .collect();
            ann.insert(
                "alpha.config.kubernetes.io/transformations".into(),
                Value::String(text),
            );
        }
        if !ann.is_empty() {
            r.set_meta_map("annotations", ann);
        }
    }
}

/// Joins origin paths the way Go's `filepath.Join` does (cleaned, relative).
fn origin_join(base: &str, path: &str) -> String {
    let joined = crate::fs::normalize(&Path::new(base).join(path));
    let s = joined.to_string_lossy().to_string();
    if s == "." {
        String::new()
    } else {
        s
    }
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
    let resolved = transform::vars::resolve(&mut acc.resmap, &acc.vars, &acc.config.var_reference);
    resolved.map_err(|e| Error::Transform {
        file: target.file.clone(),
        source: Box::new(e),
    })?;
    // Resources marked local-config are dropped (value "false" keeps them).
    acc.resmap.retain(|r| {
        r.annotation("config.kubernetes.io/local-config")
            .is_none_or(|v| v == "false")
    });
    Ok(())
}

/// The patch transformers' configurations, loaded before any transformer runs.
struct LoadedPatches {
    sm_docs: Vec<Value>,
    patches: Vec<Patch>,
    json6902: Vec<(json_patch::Patch, Selector)>,
    /// `transformers:` plugins (with their configuration resource), run after the
    /// built-in ones.
    plugins: Vec<(plugins::TransformerPlugin, Resource)>,
}

/// A selector that matches nothing (only used where a target is required and checked).
fn unreachable_selector() -> Selector {
    Selector::new(&kustomization::Selector {
        name: "a^".into(),
        ..Default::default()
    })
    .unwrap_or_else(|_| unreachable!("constant pattern compiles"))
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
pub struct Target<'c> {
    pub ctx: &'c BuildCtx,
    /// This kustomization's directory relative to the build root, when origins are
    /// tracked (the top-level kustomization sets `buildMetadata`).
    pub origin: Option<String>,
    pub ldr: Loader,
    pub k: Kustomization,
    /// The kustomization file.
    pub file: PathBuf,
}

impl<'c> Target<'c> {
    /// Finds, reads and validates the kustomization file in the loader's root.
    pub fn load(ldr: Loader, ctx: &'c BuildCtx) -> Result<Target<'c>, Error> {
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
        let t = Target {
            ctx,
            origin: None,
            ldr,
            k,
            file,
        };
        ctx.set_schema(&t)?;
        Ok(t)
    }

    /// Reads a patch body: inline text (trimmed, as kustomize does) or a file.
    fn patch_text(&self, inline: &str, path: &str) -> Result<(String, String), Error> {
        match (inline.trim().is_empty(), path.is_empty()) {
            (true, true) => Err(self.err("must specify one of patch and path")),
            (false, false) => Err(self.err("patch and path can't be set at the same time")),
            (false, true) => {
                let text = inline.trim().to_string();
                let source = format!("[patch: {text:?}]");
                Ok((text, source))
            }
            (true, false) => {
                let (_, bytes) = self.ldr.load(path).map_err(|e| Error::Load {
                    context: format!(
                        "{}: failed to get the patch file from path({path})",
                        self.file.display()
                    ),
                    source: e,
                })?;
                let text = String::from_utf8(bytes)
                    .map_err(|_| self.err(format!("patch file {path} is not UTF-8")))?;
                Ok((text, format!("[path: {path:?}]")))
            }
        }
    }

    /// Parses a patch body as strategic-merge documents or JSON 6902 (exactly one must work).
    fn parse_patch(&self, text: &str, source: &str) -> Result<PatchBody, Error> {
        let sm = resources_from_bytes(text.as_bytes(), &self.file);
        let json = transform::patches::parse_json_patch(text);
        match (sm, json) {
            (Ok(_), Ok(_)) => Err(self.err(format!(
                "illegally qualifies as both an SM and JSON patch: {source}"
            ))),
            (Ok(rs), Err(_)) => Ok(PatchBody::Strategic(
                rs.into_iter().map(Resource::into_obj).collect(),
            )),
            (Err(_), Ok(ops)) => Ok(PatchBody::Json(ops)),
            (Err(e), Err(_)) => Err(self.err(format!(
                "unable to parse SM or JSON patch from {source}: {e}"
            ))),
        }
    }

    fn selector(&self, sel: &Option<kustomization::Selector>) -> Result<Option<Selector>, Error> {
        sel.as_ref()
            .map(|s| Selector::new(s).map_err(|e| self.err(e)))
            .transpose()
    }

    /// Loads every patch transformer's configuration, as kustomize configures all
    /// transformers before running any.
    fn load_patches(&self) -> Result<LoadedPatches, Error> {
        let k = &self.k;
        let mut sm_docs = Vec::new();
        for entry in k.patches_strategic_merge.iter().flatten() {
            sm_docs.extend(self.strategic_merge_entry(entry)?);
        }
        let mut patches = Vec::new();
        for p in k.patches.iter().flatten() {
            let (text, source) = self.patch_text(&p.patch, &p.path)?;
            let body = self.parse_patch(&text, &source)?;
            let opts = p.options.clone().unwrap_or_default();
            let options = crate::patch::smp::ApplyOptions {
                allow_name_change: opts.get("allowNameChange").copied().unwrap_or(false),
                allow_kind_change: opts.get("allowKindChange").copied().unwrap_or(false),
            };
            patches.push(Patch {
                body,
                target: self.selector(&p.target)?,
                options,
                source,
                store_previous_id: true,
            });
        }
        let mut json6902 = Vec::new();
        for p in k.patches_json6902.iter().flatten() {
            let target = p
                .target
                .as_ref()
                .ok_or_else(|| self.err("must specify a target for patchesJson6902"))?;
            if target.name.is_empty() {
                return Err(self.err("must specify the target name"));
            }
            let (text, source) = match (p.patch.is_empty(), p.path.is_empty()) {
                (true, true) => return Err(self.err("empty file path and empty jsonOp")),
                (false, false) => {
                    return Err(self.err("must specify a file path or jsonOp, not both"))
                }
                _ => self.patch_text(&p.patch, &p.path)?,
            };
            let ops = transform::patches::parse_json_patch(&text)
                .map_err(|e| self.err(format!("decoding {source}: {e}")))?;
            if ops.0.is_empty() {
                return Err(self.err(format!("patch appears to be empty; {source}")));
            }
            json6902.push((
                ops,
                self.selector(&p.target)?
                    .unwrap_or_else(unreachable_selector),
            ));
        }
        let mut plugins = Vec::new();
        for cfg in self.plugin_configs(k.transformers.as_deref().unwrap_or(&[]))? {
            let p = plugins::transformer(cfg.obj()).map_err(|e| self.err(e.to_string()))?;
            plugins.push((p, cfg));
        }
        Ok(LoadedPatches {
            sm_docs,
            patches,
            json6902,
            plugins,
        })
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
        // kustomize's MakeTransformerConfig: the configuration files merged together, then
        // into the defaults; the result is merged into the accumulator's config.
        let mut tc = TransformerConfig::defaults().clone();
        if let Some(paths) = self.k.configurations.as_ref().filter(|p| !p.is_empty()) {
            let mut files = TransformerConfig::default();
            for path in paths {
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
                let c =
                    TransformerConfig::from_value(v).map_err(|e| Error::build(p.display(), e))?;
                files.merge(&c).map_err(|e| Error::build(p.display(), e))?;
            }
            tc.merge(&files).map_err(|e| self.err(e))?;
        }
        acc.config.merge(&tc).map_err(|e| self.err(e))?;
        let mut crds = TransformerConfig::default();
        for path in self.k.crds.iter().flatten() {
            let (p, bytes) = self.ldr.load(path).map_err(|e| Error::Load {
                context: format!("{}: crds", self.file.display()),
                source: e,
            })?;
            let doc = if bytes.first() == Some(&b'{') {
                serde_json::from_slice(&bytes)
                    .map_err(|e| Error::build(p.display(), e.to_string()))?
            } else {
                yaml::read_document(&bytes, yaml::Dialect::V2, yaml::Limits::default())
                    .map_err(|e| Error::Yaml {
                        file: p.clone(),
                        source: e,
                    })?
                    .unwrap_or(Value::Null)
            };
            let c = crate::fieldspec::crds::config_from_crds(&doc).map_err(|e| {
                Error::build(
                    p.display(),
                    format!("unable to parse open API definition: {e}"),
                )
            })?;
            crds.merge(&c).map_err(|e| Error::build(p.display(), e))?;
        }
        acc.config.merge(&crds).map_err(|e| self.err(e))?;
        self.unsupported_checks()?;
        self.run_generators(&mut acc)?;
        // Components run after this kustomization's resources and generators, before its
        // transformers (kustomize PR #5170).
        for path in self.k.components.iter().flatten() {
            acc = self.accumulate_component(acc, path)?;
        }
        self.run_transformers(&mut acc)?;
        if let Some(vars) = &self.k.vars {
            transform::vars::merge(&mut acc.resmap, &mut acc.vars, vars)
                .map_err(|e| self.err(format!("merging vars: {e}")))?;
        }
        Ok(acc)
    }

    /// Features this build does not implement yet fail loudly rather than render wrongly.
    fn unsupported_checks(&self) -> Result<(), Error> {
        let k = &self.k;
        let mut missing = Vec::new();
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

    fn run_generators(&self, acc: &mut Accumulator) -> Result<(), Error> {
        let k = &self.k;
        let global = k.generator_options.as_ref();
        let source = Source {
            file: Arc::from(self.file.display().to_string()),
            line: 0,
        };
        let kinds = [
            (generate::Kind::ConfigMap, &k.config_map_generator),
            (generate::Kind::Secret, &k.secret_generator),
        ];
        for (kind, list) in kinds {
            for args in list.iter().flatten() {
                let options = generate::merge_options(args.options.as_ref(), global);
                let mut r =
                    generate::generate(kind, args, options.as_ref(), &self.ldr, source.clone())
                        .map_err(|e| {
                            self.err(format!(
                                "{}Generator '{}': {e}",
                                kind.name().to_lowercase(),
                                args.name
                            ))
                        })?;
                r.origin = self.builtin_origin(&format!("{}Generator", kind.name()));
                acc.resmap
                    .absorb(r)
                    .map_err(|e| self.err(format!("merging from generator: {e}")))?;
            }
        }
        for cfg in self.plugin_configs(k.generators.as_deref().unwrap_or(&[]))? {
            let plugin = plugins::generator(cfg.obj()).map_err(|e| self.err(e.to_string()))?;
            let origin = plugin_origin(&cfg);
            for mut r in self.run_generator_plugin(&plugin, &source)? {
                if r.origin.is_none() {
                    r.origin = origin.clone();
                }
                acc.resmap
                    .absorb(r)
                    .map_err(|e| self.err(format!("merging from generator: {e}")))?;
            }
        }
        Ok(())
    }

    /// The configurations listed in `transformers:` or `generators:`: inline YAML entries
    /// first, then files and kustomization directories (whose built output is the list of
    /// configurations), as kustomize orders them.
    fn plugin_configs(&self, entries: &[String]) -> Result<Vec<Resource>, Error> {
        let mut out = Vec::new();
        let mut paths = Vec::new();
        for e in entries {
            match resources_from_bytes(e.as_bytes(), &self.file) {
                Ok(rs) => out.extend(rs.into_iter().map(|mut r| {
                    r.origin = self.origin_of_file(&self.kust_file_name());
                    r
                })),
                Err(_) => paths.push(e.clone()),
            }
        }
        if !paths.is_empty() {
            let mut acc = Accumulator::default();
            self.accumulate_resources(&mut acc, &paths)?;
            out.extend(acc.resmap.into_resources());
        }
        Ok(out)
    }

    fn kust_file_name(&self) -> String {
        self.file
            .file_name()
            .map(|f| f.to_string_lossy().to_string())
            .unwrap_or_default()
    }

    /// The origin of resources read from `path` (relative to this kustomization).
    fn origin_of_file(&self, path: &str) -> Option<Origin> {
        let base = self.origin.as_ref()?;
        Some(Origin {
            path: origin_join(base, path),
            ..Default::default()
        })
    }

    fn run_generator_plugin(
        &self,
        p: &plugins::GeneratorPlugin,
        source: &Source,
    ) -> Result<Vec<Resource>, Error> {
        let gen = |kind, args: &kustomization::GeneratorArgs| {
            generate::generate(kind, args, args.options.as_ref(), &self.ldr, source.clone())
                .map(|r| vec![r])
                .map_err(|e| self.err(format!("generator '{}': {e}", args.name)))
        };
        match p {
            plugins::GeneratorPlugin::ConfigMap(a) => gen(generate::Kind::ConfigMap, a),
            plugins::GeneratorPlugin::Secret(a) => gen(generate::Kind::Secret, a),
            plugins::GeneratorPlugin::IamPolicy(a) => {
                let v = plugins::iam_policy_resource(a).map_err(|e| self.err(e))?;
                Ok(vec![Resource::new(v, source.clone())])
            }
        }
    }

    /// Runs one `transformers:` plugin with the code of the matching kustomization field.
    fn run_transformer_plugin(
        &self,
        m: &mut ResMap,
        p: &plugins::TransformerPlugin,
        schema: &Schema,
    ) -> Result<(), Error> {
        use crate::transform::prefix_suffix::Affix;
        use plugins::TransformerPlugin as T;
        match p {
            T::Annotations { annotations, specs } => {
                transform::annotations::apply(m, annotations, specs)
            }
            T::Labels { labels, specs } => transform::labels::apply(m, labels, specs),
            T::Namespace {
                namespace,
                specs,
                unset_only,
                subjects,
            } => {
                let subjects =
                    transform::namespace::SubjectMode::parse(subjects).ok_or_else(|| {
                        self.err(format!(
                            "invalid value {subjects:?} for setRoleBindingSubjects"
                        ))
                    })?;
                transform::namespace::Namespace {
                    namespace,
                    field_specs: specs,
                    unset_only: *unset_only,
                    subjects,
                }
                .apply(m)
            }
            T::Prefix { prefix, specs } => {
                transform::prefix_suffix::apply(m, Affix::Prefix, prefix, specs)
            }
            T::Suffix { suffix, specs } => {
                transform::prefix_suffix::apply(m, Affix::Suffix, suffix, specs)
            }
            T::PrefixSuffix {
                prefix,
                suffix,
                specs,
            } => transform::prefix_suffix::apply(m, Affix::Prefix, prefix, specs)
                .and_then(|_| transform::prefix_suffix::apply(m, Affix::Suffix, suffix, specs)),
            T::ImageTag { image, specs } => transform::images::apply(m, image, specs),
            T::ReplicaCount { replica, specs } => transform::replicas::apply(m, replica, specs),
            T::Patch {
                path,
                patch,
                target,
                options,
            } => {
                let (text, source) = self.patch_text(patch, path)?;
                let body = self.parse_patch(&text, &source)?;
                let flag = |k: &str| options.get(k).is_some_and(|v| v == "true");
                let options = crate::patch::smp::ApplyOptions {
                    allow_name_change: flag("allowNameChange"),
                    allow_kind_change: flag("allowKindChange"),
                };
                let p = Patch {
                    body,
                    target: self.selector(target)?,
                    options,
                    source,
                    store_previous_id: true,
                };
                transform::patches::apply(m, &p, schema)
            }
            T::PatchJson6902 {
                path,
                json_op,
                target,
            } => {
                let sel = self
                    .selector(target)?
                    .ok_or_else(|| self.err("must specify a target for JSON patch"))?;
                let (text, source) = self.patch_text(json_op, path)?;
                let ops = transform::patches::parse_json_patch(&text)
                    .map_err(|e| self.err(format!("decoding {source}: {e}")))?;
                transform::patches::apply_json(m, &ops, &sel, false, "PatchJson6902Transformer")
            }
            T::PatchStrategicMerge { paths, patches } => {
                let mut docs = Vec::new();
                for entry in paths {
                    docs.extend(self.strategic_merge_entry(entry)?);
                }
                if !patches.is_empty() {
                    let rs = resources_from_bytes(patches.as_bytes(), &self.file)?;
                    docs.extend(rs.into_iter().map(Resource::into_obj));
                }
                transform::patches::apply_strategic_merge(
                    m,
                    &docs,
                    "PatchStrategicMergeTransformer",
                    schema,
                )
            }
            T::Hash => {
                hash_generated_names(m);
                Ok(())
            }
            T::Replacement { replacements } => {
                let fields: Vec<kustomization::ReplacementField> = replacements
                    .iter()
                    .map(|v| serde_json::from_value(v.clone()))
                    .collect::<Result<_, _>>()
                    .map_err(|e| self.err(format!("ReplacementTransformer: {e}")))?;
                let loaded = transform::replacements::load(&fields, &self.ldr, &self.file)?;
                transform::replacements::apply(m, &loaded)
            }
            T::ValueAdd {
                value,
                targets,
                target_file_path,
            } => {
                let value = if value.is_empty() {
                    self.ldr
                        .root()
                        .file_name()
                        .map(|f| f.to_string_lossy().to_string())
                        .unwrap_or_default()
                } else {
                    value.clone()
                };
                let targets = self.value_add_targets(targets, target_file_path)?;
                transform::valueadd::apply(m, &value, &targets)
            }
        }
        .map_err(|e| self.terr(e))
    }

    /// The ValueAddTransformer's targets, plus those of its `targetFilePath`.
    fn value_add_targets(
        &self,
        targets: &[plugins::ValueAddTarget],
        target_file_path: &str,
    ) -> Result<Vec<transform::valueadd::Target>, Error> {
        let mut all = targets.to_vec();
        if !target_file_path.is_empty() {
            let (p, bytes) = self.ldr.load(target_file_path).map_err(|e| Error::Load {
                context: format!(
                    "{}: ValueAddTransformer targetFilePath",
                    self.file.display()
                ),
                source: e,
            })?;
            #[derive(serde::Deserialize, Default)]
            struct Targets {
                #[serde(default)]
                targets: Vec<plugins::ValueAddTarget>,
            }
            let v = yaml::read_document(&bytes, yaml::Dialect::V2, yaml::Limits::default())
                .map_err(|e| Error::Yaml {
                    file: p.clone(),
                    source: e,
                })?
                .unwrap_or(Value::Null);
            let t: Targets = if v.is_null() {
                Targets::default()
            } else {
                serde_json::from_value(v).map_err(|e| Error::build(p.display(), e.to_string()))?
            };
            all.extend(t.targets);
        }
        if all.is_empty() {
            return Err(self.err("ValueAddTransformer: must specify at least one target"));
        }
        let mut out = Vec::new();
        for t in &all {
            if t.field_path.is_empty() {
                return Err(self.err("ValueAddTransformer: fieldPath cannot be empty"));
            }
            if t.file_path_position < 0 {
                return Err(self.err("ValueAddTransformer: filePathPosition cannot be negative"));
            }
            out.push(transform::valueadd::Target {
                selector: self.selector(&t.selector)?,
                field_path: t.field_path.clone(),
                file_path_position: t.file_path_position,
            });
        }
        Ok(out)
    }

    /// One `patchesStrategicMerge` entry: inline YAML when it parses as resources, else a
    /// file path.
    fn strategic_merge_entry(&self, entry: &str) -> Result<Vec<Value>, Error> {
        let docs = match resources_from_bytes(entry.as_bytes(), &self.file) {
            Ok(rs) if !rs.is_empty() => rs,
            _ => {
                let (file, bytes) = self.ldr.load(entry).map_err(|e| Error::Load {
                    context: format!("{}: patchesStrategicMerge", self.file.display()),
                    source: e,
                })?;
                resources_from_bytes(&bytes, &file)?
            }
        };
        Ok(docs.into_iter().map(Resource::into_obj).collect())
    }

    /// kustomize's `accumulateDirectory` for a component: the component's directives work on
    /// the including kustomization's accumulator.
    fn accumulate_component(&self, acc: Accumulator, path: &str) -> Result<Accumulator, Error> {
        let child = self.ldr.child(path).map_err(|e| Error::Load {
            context: format!("{}: component '{path}'", self.file.display()),
            source: e,
        })?;
        let mut sub = Target::load(child, self.ctx)?;
        sub.origin = self.origin.as_ref().map(|o| origin_join(o, path));
        if !sub.k.is_component() {
            return Err(self.err(format!(
                "expected kind 'Component' for path '{}' but got '{}'",
                sub.ldr.root().display(),
                sub.k.kind.as_deref().unwrap_or("")
            )));
        }
        sub.accumulate(acc)
    }

    fn accumulate_resources(&self, acc: &mut Accumulator, paths: &[String]) -> Result<(), Error> {
        // Files are read and parsed on all cores first; entries that are not files (bases)
        // are then built in order.
        let ldr = &self.ldr;
        let reads = crate::par::map(paths, paths.len() > 1, |path| {
            ldr.load(path)
                .map(|(file, bytes)| resources_from_bytes(&bytes, &file))
        });
        for (path, read) in paths.iter().zip(reads) {
            match read {
                Ok(parsed) => {
                    let rs = parsed?;
                    let origin = self.origin_of_file(path);
                    for mut r in rs {
                        if origin.is_some() {
                            r.origin = origin.clone();
                        }
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
                    let mut sub = Target::load(child, self.ctx)?;
                    sub.origin = self.origin.as_ref().map(|o| origin_join(o, path));
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
        let loaded = self.load_patches()?;
        let replacements = transform::replacements::load(
            k.replacements.as_deref().unwrap_or_default(),
            &self.ldr,
            &self.file,
        )?;
        let schema = self.ctx.schema();
        let tc = &acc.config;
        let m = &mut acc.resmap;
        // After each configured built-in transformer, kustomize records it on every
        // resource (when buildMetadata asks for origins or transformations).
        let record =
            |m: &mut ResMap, kind: &str| self.record_transformation(m, self.builtin_origin(kind));
        if !loaded.sm_docs.is_empty() {
            transform::patches::apply_strategic_merge(
                m,
                &loaded.sm_docs,
                "patchesStrategicMerge",
                &schema,
            )
            .map_err(|e| self.terr(e))?;
            record(m, "PatchStrategicMergeTransformer");
        }
        for p in &loaded.patches {
            transform::patches::apply(m, p, &schema).map_err(|e| self.terr(e))?;
            record(m, "PatchTransformer");
        }
        if let Some(ns) = k.namespace.as_deref().filter(|s| !s.is_empty()) {
            transform::namespace::Namespace {
                namespace: ns,
                field_specs: &tc.namespace,
                unset_only: false,
                subjects: Default::default(),
            }
            .apply(m)
            .map_err(|e| self.terr(e))?;
            record(m, "NamespaceTransformer");
        }
        if let Some(p) = k.name_prefix.as_deref().filter(|s| !s.is_empty()) {
            transform::prefix_suffix::apply(
                m,
                transform::prefix_suffix::Affix::Prefix,
                p,
                &tc.name_prefix,
            )
            .map_err(|e| self.terr(e))?;
            record(m, "PrefixTransformer");
        }
        if let Some(s) = k.name_suffix.as_deref().filter(|s| !s.is_empty()) {
            transform::prefix_suffix::apply(
                m,
                transform::prefix_suffix::Affix::Suffix,
                s,
                &tc.name_suffix,
            )
            .map_err(|e| self.terr(e))?;
            record(m, "SuffixTransformer");
        }
        let has_labels = k.labels.as_ref().is_some_and(|l| !l.is_empty());
        let has_common = k.common_labels.as_ref().is_some_and(|l| !l.is_empty());
        if has_labels || has_common {
            for label in k.labels.iter().flatten() {
                let mut fss: Vec<FieldSpec> = label.fields.iter().map(FieldSpec::from).collect();
                let merge = |fss: &mut Vec<FieldSpec>, more: &[FieldSpec]| {
                    crate::fieldspec::merge_all(fss, more).map_err(|e| self.err(e))
                };
                merge(&mut fss, &tc.labels)?;
                if label.include_selectors {
                    merge(&mut fss, &tc.common_labels)?;
                } else {
                    if label.include_templates {
                        merge(&mut fss, &tc.template_labels)?;
                    }
                    merge(
                        &mut fss,
                        &[FieldSpec::new(Default::default(), "metadata/labels", true)],
                    )?;
                }
                transform::labels::apply(m, &label.pairs, &fss).map_err(|e| self.terr(e))?;
                record(m, "LabelTransformer");
            }
            // kustomize always adds one more LabelTransformer for commonLabels, even empty.
            let empty = kustomization::StringMap::new();
            let cl = k.common_labels.as_ref().unwrap_or(&empty);
            transform::labels::apply(m, cl, &tc.common_labels).map_err(|e| self.terr(e))?;
            record(m, "LabelTransformer");
        }
        if let Some(ca) = k.common_annotations.as_ref().filter(|a| !a.is_empty()) {
            transform::annotations::apply(m, ca, &tc.common_annotations)
                .map_err(|e| self.terr(e))?;
            record(m, "AnnotationsTransformer");
        }
        for (ops, sel) in &loaded.json6902 {
            transform::patches::apply_json(m, ops, sel, false, "PatchJson6902Transformer")
                .map_err(|e| self.terr(e))?;
            record(m, "PatchJson6902Transformer");
        }
        for r in k.replicas.iter().flatten() {
            transform::replicas::apply(m, r, &tc.replicas).map_err(|e| self.terr(e))?;
            record(m, "ReplicaCountTransformer");
        }
        for img in k.images.iter().flatten() {
            transform::images::apply(m, img, &tc.images).map_err(|e| self.terr(e))?;
            record(m, "ImageTagTransformer");
        }
        if !replacements.is_empty() {
            transform::replacements::apply(m, &replacements).map_err(|e| self.terr(e))?;
            record(m, "ReplacementTransformer");
        }
        for (p, config) in &loaded.plugins {
            self.run_transformer_plugin(m, p, &schema)?;
            self.record_transformation(m, plugin_origin(config));
        }
        Ok(())
    }

    /// The origin of a built-in transformer or generator configured by this kustomization.
    fn builtin_origin(&self, kind: &str) -> Option<Origin> {
        let base = self.origin.as_ref()?;
        Some(Origin {
            configured_in: origin_join(base, &self.kust_file_name()),
            configured_by: [
                "builtin".into(),
                kind.to_string(),
                String::new(),
                String::new(),
            ],
            ..Default::default()
        })
    }

    /// kustomize's `AddTransformerAnnotation`: resources without an origin take the
    /// transformer's; the others record it as a transformation.
    fn record_transformation(&self, m: &mut ResMap, origin: Option<Origin>) {
        let Some(origin) = origin else { return };
        for r in m.resources_mut() {
            if r.origin.is_none() {
                r.origin = Some(origin.clone());
            } else {
                r.transformations.push(origin.clone());
            }
        }
    }
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
    let mut queue: std::collections::VecDeque<(Value, usize, Vec<String>)> = docs
        .into_iter()
        .map(|d| (d.value, d.line, d.empty_nulls))
        .collect();
    while let Some((v, line, empty_nulls)) = queue.pop_front() {
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
                            queue.push_back((item.clone(), line, Vec::new()));
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
        let mut r = Resource::new(
            v,
            Source {
                file: name.clone(),
                line,
            },
        );
        r.empty_nulls = empty_nulls;
        out.push(r);
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
