//! The built-in transformers as one typed list, run by one dispatcher.
//!
//! kustomize turns a kustomization's transformer fields (`patches`, `namespace`,
//! `namePrefix`, `labels`, `images`, `replacements`, ...) into configurations of its
//! built-in plugins, appends the `transformers:` entries, configures every one of them
//! (reading patch files, replacement files, targets) and only then runs them in order.
//! Here both sources become [`Builtin`]s the same way ([`Target::configure_transformers`]),
//! so a field and the plugin it stands for cannot drift apart, and [`Target::run_builtin`]
//! runs each one: it charges the build budget for what the transformer will copy, warns
//! about a patch or replacement that matches nothing when asked, applies it, and records
//! it on every resource for the origin annotations.

use super::configure::unreachable_selector;
use super::*;
use crate::kustomization::{Image, Replica, StringMap};
use crate::patch::json6902::JsonPatch;
use crate::transform::namespace::SubjectMode;
use crate::transform::prefix_suffix::Affix;
use crate::transform::replacements::Replacement;

/// How many places of a resource a transformer may copy its configured text into (a label
/// lands in metadata, selectors and templates): growth is charged before it happens, so a
/// huge prefix over many resources stops before it is copied.
const GROWTH_FACTOR: u64 = 4;

/// One configured built-in transformer.
pub(super) enum Builtin {
    /// `patchesStrategicMerge` or a `PatchStrategicMergeTransformer` (`label` names which,
    /// for error messages).
    StrategicMerge {
        docs: Vec<Value>,
        label: &'static str,
    },
    /// A `patches` entry or a `PatchTransformer`.
    Patch(Patch),
    /// A `patchesJson6902` entry or a `PatchJson6902Transformer`.
    Json6902 { ops: JsonPatch, target: Selector },
    /// `namespace` or a `NamespaceTransformer`.
    Namespace {
        namespace: String,
        specs: Vec<FieldSpec>,
        unset_only: bool,
        subjects: SubjectMode,
    },
    /// `namePrefix`, `nameSuffix` and the Prefix, Suffix and PrefixSuffix transformers:
    /// one pass per affix, in order.
    Affixes {
        passes: Vec<(Affix, String)>,
        specs: Vec<FieldSpec>,
    },
    /// `labels`, `commonLabels` or a `LabelTransformer`.
    Labels {
        labels: StringMap,
        specs: Vec<FieldSpec>,
    },
    /// `commonAnnotations` or an `AnnotationsTransformer`.
    Annotations {
        annotations: StringMap,
        specs: Vec<FieldSpec>,
    },
    /// An `images` entry or an `ImageTagTransformer`.
    ImageTag { image: Image, specs: Vec<FieldSpec> },
    /// A `replicas` entry or a `ReplicaCountTransformer`.
    ReplicaCount {
        replica: Replica,
        specs: Vec<FieldSpec>,
    },
    /// `replacements` or a `ReplacementTransformer`.
    Replacements(Vec<Replacement>),
    /// A `HashTransformer`.
    Hash,
    /// A `ValueAddTransformer`.
    ValueAdd {
        value: String,
        targets: Vec<transform::valueadd::Target>,
    },
}

/// A [`Builtin`] with what is recorded on the resources after it runs.
pub(super) struct Configured {
    builtin: Builtin,
    /// The origin kustomize records for it (`None` unless `buildMetadata` asks).
    origin: Option<Origin>,
    /// How a patch that matches nothing is named in the opt-in warning.
    describe: String,
}

impl Builtin {
    /// Bytes the transformer copies into each resource (for the build budget).
    fn bytes_per_resource(&self) -> usize {
        let map_bytes = |m: &StringMap| m.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>();
        match self {
            Builtin::StrategicMerge { docs, .. } => docs.iter().map(value_bytes).sum(),
            Builtin::Patch(p) => match &p.body {
                PatchBody::Strategic(docs) => docs.iter().map(value_bytes).sum(),
                PatchBody::Json(_) => 0,
            },
            Builtin::Namespace { namespace, .. } => namespace.len(),
            Builtin::Affixes { passes, .. } => passes.iter().map(|(_, t)| t.len()).sum(),
            Builtin::Labels { labels, .. } => map_bytes(labels),
            Builtin::Annotations { annotations, .. } => map_bytes(annotations),
            Builtin::ImageTag { image, .. } => image.text_bytes(),
            Builtin::ValueAdd { value, .. } => value.len(),
            Builtin::Json6902 { .. }
            | Builtin::ReplicaCount { .. }
            | Builtin::Replacements(_)
            | Builtin::Hash => 0,
        }
    }
}

/// Bytes of a value's strings and keys.
fn value_bytes(v: &Value) -> usize {
    crate::budget::measure(v).1 as usize
}

impl Target<'_> {
    /// Every transformer this kustomization configures, in the order kustomize runs them:
    /// the fields' built-in transformers, then the `transformers:` entries. Everything
    /// they read is read here, before any of them runs.
    pub(super) fn configure_transformers(
        &self,
        tc: &TransformerConfig,
    ) -> Result<Vec<Configured>, Error> {
        let k = &self.k;
        let mut out = Vec::new();
        let mut push = |builtin, kind: &str, describe: String| {
            out.push(Configured {
                builtin,
                origin: self.builtin_origin(kind),
                describe,
            })
        };
        let mut sm_docs = Vec::new();
        for entry in k.patches_strategic_merge.iter().flatten() {
            sm_docs.extend(self.strategic_merge_entry(entry)?);
        }
        if !sm_docs.is_empty() {
            let builtin = Builtin::StrategicMerge {
                docs: sm_docs,
                label: "patchesStrategicMerge",
            };
            push(builtin, "PatchStrategicMergeTransformer", String::new());
        }
        for (i, p) in k.patches.iter().flatten().enumerate() {
            let opts = p.options.clone().unwrap_or_default();
            let flag = |name: &str| opts.get(name).copied().unwrap_or(false);
            // Errors name the entry: `patches[2] [path: "replicas.yaml"]`.
            let patch = self.configure_patch(&p.patch, &p.path, &p.target, flag, |s| {
                format!("patches[{i}] {s}")
            })?;
            let describe = patch.source.clone();
            push(Builtin::Patch(patch), "PatchTransformer", describe);
        }
        if let Some(ns) = k.namespace.as_deref().filter(|s| !s.is_empty()) {
            let builtin = Builtin::Namespace {
                namespace: ns.to_string(),
                specs: tc.namespace.clone(),
                unset_only: false,
                subjects: Default::default(),
            };
            push(builtin, "NamespaceTransformer", String::new());
        }
        for (affix, text, specs, kind) in [
            (
                Affix::Prefix,
                &k.name_prefix,
                &tc.name_prefix,
                "PrefixTransformer",
            ),
            (
                Affix::Suffix,
                &k.name_suffix,
                &tc.name_suffix,
                "SuffixTransformer",
            ),
        ] {
            if let Some(text) = text.as_deref().filter(|s| !s.is_empty()) {
                let builtin = Builtin::Affixes {
                    passes: vec![(affix, text.to_string())],
                    specs: specs.clone(),
                };
                push(builtin, kind, String::new());
            }
        }
        let has_labels = k.labels.as_ref().is_some_and(|l| !l.is_empty());
        let has_common = k.common_labels.as_ref().is_some_and(|l| !l.is_empty());
        if has_labels || has_common {
            for label in k.labels.iter().flatten() {
                let mut specs: Vec<FieldSpec> = label.fields.iter().map(FieldSpec::from).collect();
                let merge = |specs: &mut Vec<FieldSpec>, more: &[FieldSpec]| {
                    crate::fieldspec::merge_all(specs, more).map_err(|e| self.err(e))
                };
                merge(&mut specs, &tc.labels)?;
                if label.include_selectors {
                    merge(&mut specs, &tc.common_labels)?;
                } else {
                    if label.include_templates {
                        merge(&mut specs, &tc.template_labels)?;
                    }
                    merge(
                        &mut specs,
                        &[FieldSpec::new(Default::default(), "metadata/labels", true)],
                    )?;
                }
                let builtin = Builtin::Labels {
                    labels: label.pairs.clone(),
                    specs,
                };
                push(builtin, "LabelTransformer", String::new());
            }
            // kustomize always adds one more LabelTransformer for commonLabels, even empty.
            let builtin = Builtin::Labels {
                labels: k.common_labels.clone().unwrap_or_default(),
                specs: tc.common_labels.clone(),
            };
            push(builtin, "LabelTransformer", String::new());
        }
        if let Some(ca) = k.common_annotations.as_ref().filter(|a| !a.is_empty()) {
            let builtin = Builtin::Annotations {
                annotations: ca.clone(),
                specs: tc.common_annotations.clone(),
            };
            push(builtin, "AnnotationsTransformer", String::new());
        }
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
            let ops =
                JsonPatch::parse(&text).map_err(|e| self.err(format!("decoding {source}: {e}")))?;
            if ops.operations().is_empty() {
                return Err(self.err(format!("patch appears to be empty; {source}")));
            }
            let target = self
                .selector(&p.target)?
                .unwrap_or_else(unreachable_selector);
            push(
                Builtin::Json6902 { ops, target },
                "PatchJson6902Transformer",
                "in patchesJson6902".into(),
            );
        }
        for r in k.replicas.iter().flatten() {
            let builtin = Builtin::ReplicaCount {
                replica: r.clone(),
                specs: tc.replicas.clone(),
            };
            push(builtin, "ReplicaCountTransformer", String::new());
        }
        for image in k.images.iter().flatten() {
            let builtin = Builtin::ImageTag {
                image: image.clone(),
                specs: tc.images.clone(),
            };
            push(builtin, "ImageTagTransformer", String::new());
        }
        let replacements = transform::replacements::load(
            k.replacements.as_deref().unwrap_or_default(),
            &self.ldr,
            &self.file,
        )?;
        if !replacements.is_empty() {
            let builtin = Builtin::Replacements(replacements);
            push(builtin, "ReplacementTransformer", String::new());
        }
        for config in self.plugin_configs(k.transformers.as_deref().unwrap_or(&[]))? {
            let plugin = plugins::transformer(config.obj())
                .map_err(|e| self.err_of(ErrorKind::Plugin, e.to_string()))?;
            let builtin = self.configure_plugin(plugin)?;
            let describe = format!("in {} {:?}", config.kind(), config.name());
            out.push(Configured {
                builtin,
                origin: plugin_origin(&config),
                describe,
            });
        }
        Ok(out)
    }

    /// A patch from its inline text or file, target and options (`patches:` entries and
    /// `PatchTransformer`s); `name` turns the body's description into the one errors use.
    fn configure_patch(
        &self,
        inline: &str,
        path: &str,
        target: &Option<kustomization::Selector>,
        option: impl Fn(&str) -> bool,
        name: impl Fn(&str) -> String,
    ) -> Result<Patch, Error> {
        let (text, source) = self.patch_text(inline, path)?;
        let source = name(&source);
        let options = crate::patch::smp::ApplyOptions {
            allow_name_change: option("allowNameChange"),
            allow_kind_change: option("allowKindChange"),
        };
        let by_id = target.is_none() && options == Default::default();
        let body = self.parse_patch(&text, &source, by_id)?;
        Ok(Patch {
            body,
            target: self.selector(target)?,
            options,
            source,
            store_previous_id: true,
        })
    }

    /// A `transformers:` entry as the [`Builtin`] of the matching kustomization field.
    fn configure_plugin(&self, plugin: plugins::TransformerPlugin) -> Result<Builtin, Error> {
        use plugins::TransformerPlugin as T;
        Ok(match plugin {
            T::Annotations { annotations, specs } => Builtin::Annotations { annotations, specs },
            T::Labels { labels, specs } => Builtin::Labels { labels, specs },
            T::Namespace {
                namespace,
                specs,
                unset_only,
                subjects,
            } => Builtin::Namespace {
                namespace,
                specs,
                unset_only,
                subjects: SubjectMode::parse(&subjects).ok_or_else(|| {
                    self.err(format!(
                        "invalid value {subjects:?} for setRoleBindingSubjects"
                    ))
                })?,
            },
            T::Prefix { prefix, specs } => Builtin::Affixes {
                passes: vec![(Affix::Prefix, prefix)],
                specs,
            },
            T::Suffix { suffix, specs } => Builtin::Affixes {
                passes: vec![(Affix::Suffix, suffix)],
                specs,
            },
            T::PrefixSuffix {
                prefix,
                suffix,
                specs,
            } => Builtin::Affixes {
                passes: vec![(Affix::Prefix, prefix), (Affix::Suffix, suffix)],
                specs,
            },
            T::ImageTag { image, specs } => Builtin::ImageTag { image, specs },
            T::ReplicaCount { replica, specs } => Builtin::ReplicaCount { replica, specs },
            T::Patch {
                path,
                patch,
                target,
                options,
            } => {
                let flag = |k: &str| options.get(k).is_some_and(|v| v == "true");
                let patch =
                    self.configure_patch(&patch, &path, &target, flag, |s| s.to_string())?;
                Builtin::Patch(patch)
            }
            T::PatchJson6902 {
                path,
                json_op,
                target,
            } => {
                let target = self
                    .selector(&target)?
                    .ok_or_else(|| self.err("must specify a target for JSON patch"))?;
                let (text, source) = self.patch_text(&json_op, &path)?;
                let ops = JsonPatch::parse(&text)
                    .map_err(|e| self.err(format!("decoding {source}: {e}")))?;
                Builtin::Json6902 { ops, target }
            }
            T::PatchStrategicMerge { paths, patches } => {
                let mut docs = Vec::new();
                for entry in &paths {
                    docs.extend(self.strategic_merge_entry(entry)?);
                }
                if !patches.is_empty() {
                    let rs =
                        resources_from_bytes(patches.as_bytes(), &self.file, self.ldr.budget())?;
                    docs.extend(rs.into_iter().map(Resource::into_obj));
                }
                Builtin::StrategicMerge {
                    docs,
                    label: "PatchStrategicMergeTransformer",
                }
            }
            T::Hash => Builtin::Hash,
            T::Replacement { replacements } => {
                let fields: Vec<kustomization::ReplacementField> = replacements
                    .into_iter()
                    .map(serde_json::from_value)
                    .collect::<Result<_, _>>()
                    .map_err(|e| self.err(format!("ReplacementTransformer: {e}")))?;
                Builtin::Replacements(transform::replacements::load(
                    &fields, &self.ldr, &self.file,
                )?)
            }
            T::ValueAdd {
                value,
                targets,
                target_file_path,
            } => {
                // An empty value is the name of the kustomization's directory.
                let value = if value.is_empty() {
                    self.ldr
                        .root()
                        .file_name()
                        .map(|f| f.to_string_lossy().to_string())
                        .unwrap_or_default()
                } else {
                    value
                };
                let targets = self.value_add_targets(&targets, &target_file_path)?;
                Builtin::ValueAdd { value, targets }
            }
        })
    }

    /// Runs one configured transformer over `m`.
    pub(super) fn run_builtin(
        &self,
        m: &mut ResMap,
        configured: &Configured,
        schema: &Schema,
    ) -> Result<(), Error> {
        let budget: &Budget = self.ldr.budget();
        let copied = (configured.builtin.bytes_per_resource() as u64)
            .saturating_mul(m.len() as u64)
            .saturating_mul(GROWTH_FACTOR);
        budget
            .charge_value_bytes(copied)
            .map_err(|e| self.err_of(ErrorKind::Limit, e.to_string()))?;
        if self.ctx.warn_unmatched {
            self.warn_if_unmatched(m, configured);
        }
        match &configured.builtin {
            Builtin::StrategicMerge { docs, label } => {
                transform::patches::apply_strategic_merge(m, docs, label, schema)
            }
            Builtin::Patch(p) => {
                transform::patches::apply(m, p, schema, budget).map_err(|e| e.within(&p.source))
            }
            Builtin::Json6902 { ops, target } => transform::patches::apply_json(
                m,
                ops,
                target,
                false,
                "PatchJson6902Transformer",
                budget,
            ),
            Builtin::Namespace {
                namespace,
                specs,
                unset_only,
                subjects,
            } => transform::namespace::Namespace {
                namespace,
                field_specs: specs,
                unset_only: *unset_only,
                subjects: *subjects,
            }
            .apply(m),
            Builtin::Affixes { passes, specs } => passes.iter().try_for_each(|(affix, text)| {
                transform::prefix_suffix::apply(m, *affix, text, specs)
            }),
            Builtin::Labels { labels, specs } => transform::labels::apply(m, labels, specs),
            Builtin::Annotations { annotations, specs } => {
                transform::annotations::apply(m, annotations, specs)
            }
            Builtin::ImageTag { image, specs } => transform::images::apply(m, image, specs),
            Builtin::ReplicaCount { replica, specs } => {
                transform::replicas::apply(m, replica, specs)
            }
            Builtin::Replacements(replacements) => {
                transform::replacements::apply(m, replacements, budget)
            }
            Builtin::Hash => {
                hash_generated_names(m);
                Ok(())
            }
            Builtin::ValueAdd { value, targets } => transform::valueadd::apply(m, value, targets),
        }
        .map_err(|e| self.terr(e))?;
        self.record_transformation(m, configured.origin.clone());
        Ok(())
    }

    /// The opt-in warnings kustomize lacks (kustomize#4379, #5093): a patch whose target
    /// selects nothing, a replacement target that matches nothing.
    fn warn_if_unmatched(&self, m: &ResMap, configured: &Configured) {
        let selects_nothing = |sel: &Selector| sel.select(m).is_ok_and(|hits| hits.is_empty());
        match &configured.builtin {
            Builtin::Patch(Patch {
                target: Some(sel), ..
            })
            | Builtin::Json6902 { target: sel, .. }
                if selects_nothing(sel) =>
            {
                self.ctx.warn(crate::warning::patch_matched_nothing(
                    &configured.describe,
                    self.file.clone(),
                ));
            }
            Builtin::Replacements(replacements) => {
                for which in transform::replacements::unmatched_targets(m, replacements) {
                    self.ctx.warn(crate::warning::replacement_matched_nothing(
                        &which,
                        self.file.clone(),
                    ));
                }
            }
            _ => {}
        }
    }
}
