//! One kustomization directory in a build: loading its file, accumulating its resources,
//! bases and components, running its generators and transformers in kustomize's order.

use super::*;
use crate::error::ErrorKind;

/// Resources, field-spec configuration and vars collected from a kustomization and its
/// bases.
#[derive(Debug, Clone, Default)]
pub struct Accumulator {
    pub resmap: ResMap,
    pub config: TransformerConfig,
    pub vars: Vec<Var>,
}

impl Accumulator {
    pub(super) fn merge(&mut self, other: Accumulator, file: &Path) -> Result<(), Error> {
        self.resmap
            .append_all(other.resmap)
            .map_err(|e| Error::new(ErrorKind::Resource, file.display(), e.to_string()))?;
        self.config
            .merge(&other.config)
            .map_err(|e| Error::new(ErrorKind::Kustomization, file.display(), e))?;
        for v in other.vars {
            if self.vars.iter().any(|x| x.name == v.name) {
                return Err(Error::new(
                    ErrorKind::Kustomization,
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
    pub origin: Option<Origin>,
    pub ldr: Loader,
    pub k: Kustomization,
    /// The kustomization file.
    pub file: PathBuf,
}

impl<'c> Target<'c> {
    /// Finds, reads and validates the kustomization file in the loader's root.
    pub fn load(ldr: Loader, ctx: &'c BuildCtx) -> Result<Target<'c>, Error> {
        let (file, bytes) = ldr.load_kustomization().map_err(|e| Error::Load {
            context: "reading kustomization".into(),
            source: e,
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
        // kustomize warns about deprecated fields on every load, before its checks.
        for (field, _) in crate::warning::DEPRECATED_FIELDS {
            if k.has_field(field) {
                ctx.warn(crate::warning::deprecated_field(field, file.clone()));
            }
        }
        k.fix_legacy().map_err(|e| Error::Kustomization {
            file: file.clone(),
            source: e,
        })?;
        ctx.record_load(&ldr, &k);
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

    /// A loader for a base or component, as kustomize's `loader.New`: a `git::` URL is
    /// warned about first.
    fn child_loader(&self, path: &str) -> Result<Loader, LoadError> {
        self.warn_forced_git(path);
        self.ldr.child(path)
    }

    fn warn_forced_git(&self, path: &str) {
        if crate::remote::RepoSpec::parse(path).is_ok_and(|s| s.forced_git) {
            self.ctx
                .warn(crate::warning::forced_git_prefix(Some(self.file.clone())));
        }
    }

    /// The origin of what `path` holds; kustomize parses a URL again for it (and warns
    /// about `git::` again).
    fn origin_of_base(&self, path: &str) -> Option<Origin> {
        let o = self.origin.as_ref()?;
        self.warn_forced_git(path);
        Some(o.append(path))
    }

    /// Charges resources that pass through this kustomization to the build's budget.
    pub(super) fn charge_resources(&self, n: usize) -> Result<(), Error> {
        self.ldr
            .budget()
            .charge_resources(n as u64)
            .map_err(|e| self.err_of(ErrorKind::Limit, e.to_string()))
    }

    /// Charges a generated resource (its data may come from large files).
    fn charge_generated(&self, r: &Resource) -> Result<(), Error> {
        let (nodes, bytes) = crate::budget::measure(r.obj());
        let budget = self.ldr.budget();
        budget
            .charge_value(nodes, bytes)
            .and_then(|()| budget.charge_resources(1))
            .map_err(|e| self.err_of(ErrorKind::Limit, e.to_string()))
    }

    /// An error of `kind` about this kustomization.
    pub(super) fn err_of(&self, kind: ErrorKind, message: impl Into<String>) -> Error {
        Error::new(kind, self.file.display(), message)
    }

    /// An error about this kustomization's content.
    pub(super) fn err(&self, message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Kustomization, self.file.display(), message)
    }

    pub(super) fn terr(&self, e: transform::TransformError) -> Error {
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
                let v = config_document(&p, &bytes)?;
                let c = TransformerConfig::from_value(v)
                    .map_err(|e| Error::new(ErrorKind::Kustomization, p.display(), e))?;
                files
                    .merge(&c)
                    .map_err(|e| Error::new(ErrorKind::Kustomization, p.display(), e))?;
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
                    .map_err(|e| Error::new(ErrorKind::Kustomization, p.display(), e.to_string()))?
            } else {
                config_document(&p, &bytes)?
            };
            let c = crate::fieldspec::crds::config_from_crds(&doc).map_err(|e| {
                Error::new(
                    ErrorKind::Kustomization,
                    p.display(),
                    format!("unable to parse open API definition: {e}"),
                )
            })?;
            crds.merge(&c)
                .map_err(|e| Error::new(ErrorKind::Kustomization, p.display(), e))?;
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
    pub(super) fn unsupported_checks(&self) -> Result<(), Error> {
        let k = &self.k;
        let mut missing = Vec::new();
        if k.validators.as_ref().is_some_and(|v| !v.is_empty()) {
            missing.push("validators");
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(self.err(format!("not supported yet: {}", missing.join(", "))))
        }
    }

    pub(super) fn run_generators(&self, acc: &mut Accumulator) -> Result<(), Error> {
        let k = &self.k;
        let global = k.generator_options.as_ref();
        let source = Source {
            file: Arc::from(self.file.display().to_string()),
            line: 0,
        };
        // kustomize configures every generator of a kustomization before it runs any
        // (which the Helm api-versions sharing makes visible).
        let helm_globals = k.helm_globals.clone().unwrap_or_default();
        let mut helm_charts = Vec::new();
        for chart in k.helm_charts.iter().flatten() {
            helm_charts.push(self.configure_helm(chart, &helm_globals)?);
        }
        let mut plugins = Vec::new();
        for cfg in self.plugin_configs(k.generators.as_deref().unwrap_or(&[]))? {
            let plugin = plugins::generator(cfg.obj())
                .map_err(|e| self.err_of(ErrorKind::Plugin, e.to_string()))?;
            let helm = match &plugin {
                plugins::GeneratorPlugin::Helm(globals, chart) => {
                    Some(self.configure_helm(chart, globals)?)
                }
                _ => None,
            };
            plugins.push((cfg, plugin, helm));
        }
        let kinds = [
            (generate::Kind::ConfigMap, &k.config_map_generator),
            (generate::Kind::Secret, &k.secret_generator),
        ];
        for (kind, list) in kinds {
            for args in list.iter().flatten() {
                let options = generate::merge_options(args.options.as_ref(), global);
                let mut r =
                    generate::generate(kind, args, options.as_ref(), &self.ldr, source.clone())
                        .map_err(|source| Error::Generate {
                            file: self.file.clone(),
                            generator: format!(
                                "{}Generator '{}'",
                                kind.name().to_lowercase(),
                                args.name
                            ),
                            source: Box::new(source),
                        })?;
                r.origin = self.builtin_origin(&format!("{}Generator", kind.name()));
                self.charge_generated(&r)?;
                acc.resmap.absorb(r).map_err(|e| {
                    self.err_of(ErrorKind::Resource, format!("merging from generator: {e}"))
                })?;
            }
        }
        for configured in &helm_charts {
            let origin = self.builtin_origin("HelmChartInflationGenerator");
            for mut r in self.inflate_helm(configured)? {
                r.origin = origin.clone();
                self.charge_generated(&r)?;
                acc.resmap.absorb(r).map_err(|e| {
                    self.err_of(ErrorKind::Resource, format!("merging from generator: {e}"))
                })?;
            }
        }
        for (cfg, plugin, helm) in plugins {
            let origin = plugin_origin(&cfg);
            let generated = match &helm {
                Some(configured) => self.inflate_helm(configured)?,
                None => self.run_generator_plugin(&plugin, &source)?,
            };
            for mut r in generated {
                if r.origin.is_none() {
                    r.origin = origin.clone();
                }
                self.charge_generated(&r)?;
                acc.resmap.absorb(r).map_err(|e| {
                    self.err_of(ErrorKind::Resource, format!("merging from generator: {e}"))
                })?;
            }
        }
        Ok(())
    }

    fn configure_helm(
        &self,
        chart: &crate::helm::HelmChart,
        globals: &crate::helm::HelmGlobals,
    ) -> Result<crate::helm::Configured, Error> {
        let mut state = self.ctx.helm_state.borrow_mut();
        crate::helm::configure(chart, globals, &self.ctx.helm, &mut state, &self.ldr).map_err(
            |source| Error::Helm {
                file: self.file.clone(),
                source,
            },
        )
    }

    /// Runs helm for a configured chart and reads its output as resources.
    fn inflate_helm(&self, c: &crate::helm::Configured) -> Result<Vec<Resource>, Error> {
        self.ctx.record_uncacheable();
        let state = self.ctx.helm_state.borrow().clone();
        let out = crate::helm::inflate(c, &self.ctx.helm, &state, &self.ldr).map_err(|source| {
            Error::Helm {
                file: self.file.clone(),
                source,
            }
        })?;
        let file = self.ldr.root().join("<helm output>");
        resources_from_bytes(&out, &file, self.ldr.budget()).map_err(|e| {
            self.err_of(
                ErrorKind::Helm,
                format!("could not parse helm output into resources: {e}"),
            )
        })
    }

    pub(super) fn kust_file_name(&self) -> String {
        self.file
            .file_name()
            .map(|f| f.to_string_lossy().to_string())
            .unwrap_or_default()
    }

    /// The origin of resources read from `path` (relative to this kustomization).
    pub(super) fn origin_of_file(&self, path: &str) -> Option<Origin> {
        let base = self.origin.as_ref()?;
        let o = base.append(path);
        Some(Origin {
            path: o.path,
            repo: o.repo,
            git_ref: o.git_ref,
            ..Default::default()
        })
    }

    /// kustomize's `accumulateDirectory` for a component: the component's directives work on
    /// the including kustomization's accumulator.
    pub(super) fn accumulate_component(
        &self,
        acc: Accumulator,
        path: &str,
    ) -> Result<Accumulator, Error> {
        let child = self.child_loader(path).map_err(|e| Error::Load {
            context: format!("{}: component '{path}'", self.file.display()),
            source: e,
        })?;
        let mut sub = Target::load(child, self.ctx)?;
        sub.origin = self.origin_of_base(path);
        if !sub.k.is_component() {
            return Err(self.err(format!(
                "expected kind 'Component' for path '{}' but got '{}'",
                sub.ldr.root().display(),
                sub.k.kind.as_deref().unwrap_or("")
            )));
        }
        sub.accumulate(acc)
    }

    pub(super) fn accumulate_resources(
        &self,
        acc: &mut Accumulator,
        paths: &[String],
    ) -> Result<(), Error> {
        // Files are read and parsed on all cores first; entries that are not files (bases)
        // are then built in order.
        let ldr = &self.ldr;
        let cache = self.ctx.parse_cache.as_deref();
        let reads = crate::par::map(paths, self.ctx.threads, |path| {
            ldr.load(path).map(|(file, bytes)| match cache {
                Some(cache) => cache.resources(&bytes, &file, ldr.budget()),
                None => resources_from_bytes(&bytes, &file, ldr.budget()),
            })
        });
        for (path, read) in paths.iter().zip(reads) {
            // kustomize tries each entry as a file, then as a directory or repository.
            let file_err = match read {
                Ok(Ok(rs)) => {
                    self.charge_resources(rs.len())?;
                    let origin = self.origin_of_file(path);
                    for mut r in rs {
                        if origin.is_some() {
                            r.origin = origin.clone();
                        }
                        r.null_annotations_to_absent();
                        acc.resmap.append(r).map_err(|e| {
                            self.err_of(
                                ErrorKind::Resource,
                                format!("merging resources from '{path}': {e}"),
                            )
                        })?;
                    }
                    continue;
                }
                // A file that does not read as resources: an HTTP URL may still name a
                // repository (a GitHub page is HTML); anything else fails as it is.
                Ok(Err(parse_err)) => {
                    if !(crate::remote::is_http_url(path)
                        && crate::remote::RepoSpec::parse(path).is_ok())
                    {
                        return Err(parse_err);
                    }
                    match self.child_loader(path) {
                        Ok(child) => {
                            self.accumulate_base(acc, child, path)?;
                            continue;
                        }
                        Err(_) => return Err(parse_err),
                    }
                }
                Err(e) => e,
            };
            // An HTTP error for a URL that is no repository is final (kustomize's ErrHTTP).
            if file_err.is_http() {
                return Err(Error::Load {
                    context: format!("{}: resource '{path}'", self.file.display()),
                    source: file_err,
                });
            }
            let child = match self.child_loader(path) {
                Ok(c) => c,
                Err(dir_err) => {
                    // Not a file, nor a directory: the cause is the directory's (the file
                    // error is usually "not found", which says nothing).
                    let context = if file_err.is_not_found() && dir_err.is_not_found() {
                        format!("{}: resource '{path}' not found", self.file.display())
                    } else {
                        format!(
                            "{}: resource '{path}' is neither a readable file ({file_err}) nor a kustomization directory",
                            self.file.display()
                        )
                    };
                    return Err(Error::Load {
                        context,
                        source: dir_err,
                    });
                }
            };
            self.accumulate_base(acc, child, path)?;
        }
        Ok(())
    }

    /// Accumulates a base (a directory or a repository's kustomization) into `acc`.
    fn accumulate_base(
        &self,
        acc: &mut Accumulator,
        child: Loader,
        path: &str,
    ) -> Result<(), Error> {
        let mut sub = Target::load(child, self.ctx)?;
        sub.origin = self.origin_of_base(path);
        if sub.k.is_component() {
            return Err(self.err(format!(
                "expected kind != 'Component' for path '{}'",
                sub.ldr.root().display()
            )));
        }
        let sub_acc = sub.accumulate_shared()?;
        self.charge_resources(sub_acc.resmap.len())?;
        acc.merge(sub_acc, &self.file)
    }

    /// [`Self::accumulate`] from nothing, through [`BuildCtx::base_cache`]: a render
    /// another build made (or is making: then this one waits) of this directory is used
    /// when it applies here; one made here is kept when it depends on nothing but the
    /// directory's tree.
    pub(super) fn accumulate_shared(&self) -> Result<Accumulator, Error> {
        let Some(cache) = self
            .ctx
            .base_cache
            .as_ref()
            .filter(|_| self.origin.is_none() && self.ctx.schema.borrow().is_none())
        else {
            return self.accumulate(Accumulator::default());
        };
        let claim = match cache.claim(self.ldr.root(), self.ctx.build_id) {
            super::cache::Claim::Hit(hit) if self.replay(&hit.side) => return Ok(hit.acc.clone()),
            super::cache::Claim::Hit(_) | super::cache::Claim::Alone => {
                return self.accumulate(Accumulator::default())
            }
            super::cache::Claim::Claimed(claim) => claim,
        };
        let before = self.ldr.budget().used();
        self.ctx
            .recordings
            .borrow_mut()
            .push(super::cache::Recording {
                base_depth: self.ldr.depth(),
                ..Default::default()
            });
        let built = self.accumulate(Accumulator::default());
        let mut side = self.ctx.recordings.borrow_mut().pop().unwrap_or_default();
        let acc = built?;
        side.used = self.ldr.budget().used().since(&before);
        let shareable = !side.uncacheable && self.ctx.schema.borrow().is_none();
        claim.keep(shareable.then(|| super::cache::CachedBase {
            acc: acc.clone(),
            side,
        }));
        Ok(acc)
    }

    /// Replays what accumulating a cached render of this directory did besides its
    /// result, if the render applies here: no cycle with the kustomizations that led here,
    /// within the depth and budget limits. Nothing is replayed when it does not.
    fn replay(&self, side: &super::cache::Recording) -> bool {
        let budget = self.ldr.budget();
        let deepest = self.ldr.depth() + side.depth_below;
        if side
            .roots
            .iter()
            .any(|r| self.ldr.check_not_cycle(r).is_err())
            || budget.check_depth(deepest).is_err()
            || !budget.charge_if_fits(&side.used)
        {
            return false;
        }
        for w in &side.warnings {
            self.ctx.warn(w.clone());
        }
        for rec in self.ctx.recordings.borrow_mut().iter_mut() {
            rec.roots.extend(side.roots.iter().cloned());
            rec.depth_below = rec.depth_below.max(deepest.saturating_sub(rec.base_depth));
        }
        true
    }

    pub(super) fn run_transformers(&self, acc: &mut Accumulator) -> Result<(), Error> {
        let configured = self.configure_transformers(&acc.config)?;
        let schema = self.ctx.schema();
        for c in &configured {
            self.run_builtin(&mut acc.resmap, c, &schema)?;
        }
        Ok(())
    }

    /// The origin of a built-in transformer or generator configured by this kustomization.
    pub(super) fn builtin_origin(&self, kind: &str) -> Option<Origin> {
        let base = self.origin.as_ref()?;
        Some(Origin {
            repo: base.repo.clone(),
            git_ref: base.git_ref.clone(),
            configured_in: base.append(&self.kust_file_name()).path,
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
    pub(super) fn record_transformation(&self, m: &mut ResMap, origin: Option<Origin>) {
        let Some(origin) = origin else { return };
        for r in m.resources_mut() {
            // kustomize rewrites the annotations as a whole to record this (SetAnnotations).
            r.rebuilt("/metadata/annotations");
            if r.origin.is_none() {
                r.origin = Some(origin.clone());
            } else {
                r.transformations.push(origin.clone());
            }
        }
    }
}
