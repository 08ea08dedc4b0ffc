//! The configuration phase of a kustomization's transformers and generators: reading patch
//! bodies, plugin configurations (`transformers:`, `generators:`) and their files. kustomize
//! configures every transformer before running any, so load errors come first.

use super::*;

/// A selector that matches nothing (only used where a target is required and checked).
pub(super) fn unreachable_selector() -> Selector {
    Selector::new(&kustomization::Selector {
        name: "a^".into(),
        ..Default::default()
    })
    .unwrap_or_else(|_| unreachable!("constant pattern compiles"))
}

impl Target<'_> {
    /// Reads a patch body: inline text (trimmed, as kustomize does) or a file.
    pub(super) fn patch_text(&self, inline: &str, path: &str) -> Result<(String, String), Error> {
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
    ///
    /// `by_id`: a strategic merge that finds its resource by the patch's id and may not
    /// rename it (no `target:`, no `allowNameChange`/`allowKindChange`). kustomize merges
    /// such a patch's nodes as written, so an annotation set to a plain null deletes it;
    /// every other path first makes the patch's annotations strings (`"null"`).
    pub(super) fn parse_patch(
        &self,
        text: &str,
        source: &str,
        by_id: bool,
    ) -> Result<PatchBody, Error> {
        let sm = resources_from_bytes(text.as_bytes(), &self.file, self.ldr.budget()).map(|rs| {
            if !by_id {
                return rs;
            }
            rs.into_iter()
                .map(|mut r| {
                    for key in std::mem::take(&mut r.null_annotations) {
                        if let Some(Value::Object(a)) =
                            r.obj_mut().pointer_mut("/metadata/annotations")
                        {
                            a.insert(key, Value::Null);
                        }
                    }
                    r
                })
                .collect()
        });
        let json = crate::patch::json6902::JsonPatch::parse(text);
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

    pub(super) fn selector(
        &self,
        sel: &Option<kustomization::Selector>,
    ) -> Result<Option<Selector>, Error> {
        sel.as_ref()
            .map(|s| Selector::new(s).map_err(|e| self.err(e)))
            .transpose()
    }

    /// The configurations listed in `transformers:` or `generators:`: inline YAML entries
    /// first, then files and kustomization directories (whose built output is the list of
    /// configurations), as kustomize orders them.
    pub(super) fn plugin_configs(&self, entries: &[String]) -> Result<Vec<Resource>, Error> {
        let mut out = Vec::new();
        let mut paths = Vec::new();
        for e in entries {
            match resources_from_bytes(e.as_bytes(), &self.file, self.ldr.budget()) {
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

    /// The ValueAddTransformer's targets, plus those of its `targetFilePath`.
    pub(super) fn value_add_targets(
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
            let v = config_document(&p, &bytes)?;
            let t: Targets = if v.is_null() {
                Targets::default()
            } else {
                serde_json::from_value(v)
                    .map_err(|e| Error::new(ErrorKind::Kustomization, p.display(), e.to_string()))?
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
    pub(super) fn strategic_merge_entry(&self, entry: &str) -> Result<Vec<Value>, Error> {
        let docs = match resources_from_bytes(entry.as_bytes(), &self.file, self.ldr.budget()) {
            Ok(rs) if !rs.is_empty() => rs,
            _ => {
                let (file, bytes) = self.ldr.load(entry).map_err(|e| Error::Load {
                    context: format!("{}: patchesStrategicMerge", self.file.display()),
                    source: e,
                })?;
                resources_from_bytes(&bytes, &file, self.ldr.budget())?
            }
        };
        Ok(docs.into_iter().map(Resource::into_obj).collect())
    }

    pub(super) fn run_generator_plugin(
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
            // Configured and run by the generators step (it needs the build's Helm state).
            plugins::GeneratorPlugin::Helm(..) => Ok(Vec::new()),
            plugins::GeneratorPlugin::IamPolicy(a) => {
                let v = plugins::iam_policy_resource(a).map_err(|e| self.err(e))?;
                Ok(vec![Resource::new(v, source.clone())])
            }
        }
    }
}
