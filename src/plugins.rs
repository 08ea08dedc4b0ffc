//! Built-in plugins configured as resources (`transformers:` and `generators:` entries).
//!
//! A kustomization can list plugin configurations instead of using the dedicated fields:
//! objects with `apiVersion: builtin` and a kind naming the plugin (`LabelTransformer`,
//! `PatchTransformer`, `ConfigMapGenerator`, ...). Each kind's configuration is read the
//! way the plugin's `Config` reads it (unknown fields ignored, no default field specs) and
//! run through the same transformer and generator code as the kustomization fields.
//! Other apiVersions are external plugins, which rustomize does not run.

use serde::Deserialize;
use serde_json::Value;

use crate::fieldspec::FieldSpec;
use crate::kustomization::{
    FieldSpecArgs, GeneratorArgs, GeneratorOptions, Image, Replica, Selector, StringMap,
};

/// The API version of built-in plugin configurations.
pub const BUILTIN_API_VERSION: &str = "builtin";

/// A configured built-in transformer.
#[derive(Debug, Clone)]
pub enum TransformerPlugin {
    Annotations {
        annotations: StringMap,
        specs: Vec<FieldSpec>,
    },
    Labels {
        labels: StringMap,
        specs: Vec<FieldSpec>,
    },
    Namespace {
        namespace: String,
        specs: Vec<FieldSpec>,
        unset_only: bool,
        subjects: String,
    },
    Prefix {
        prefix: String,
        specs: Vec<FieldSpec>,
    },
    Suffix {
        suffix: String,
        specs: Vec<FieldSpec>,
    },
    /// The legacy `PrefixSuffixTransformer`: a prefix pass then a suffix pass.
    PrefixSuffix {
        prefix: String,
        suffix: String,
        specs: Vec<FieldSpec>,
    },
    ImageTag {
        image: Image,
        specs: Vec<FieldSpec>,
    },
    ReplicaCount {
        replica: Replica,
        specs: Vec<FieldSpec>,
    },
    Patch {
        path: String,
        patch: String,
        target: Option<Selector>,
        options: StringMap,
    },
    PatchJson6902 {
        path: String,
        json_op: String,
        target: Option<Selector>,
    },
    PatchStrategicMerge {
        paths: Vec<String>,
        patches: String,
    },
    Hash,
    Replacement {
        replacements: Vec<Value>,
    },
    ValueAdd {
        value: String,
        targets: Vec<ValueAddTarget>,
        target_file_path: String,
    },
}

/// A target of the ValueAddTransformer.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValueAddTarget {
    pub selector: Option<Selector>,
    #[serde(default)]
    pub field_path: String,
    #[serde(default)]
    pub file_path_position: i64,
}

/// A configured built-in generator.
#[derive(Debug, Clone)]
pub enum GeneratorPlugin {
    ConfigMap(GeneratorArgs),
    Secret(GeneratorArgs),
    IamPolicy(IamPolicyArgs),
    /// A HelmChartInflationGenerator: the chart and the Helm globals set next to it.
    Helm(crate::helm::HelmGlobals, crate::helm::HelmChart),
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IamPolicyArgs {
    #[serde(default)]
    pub cloud: String,
    #[serde(default)]
    pub kubernetes_service: NameNamespace,
    #[serde(default)]
    pub service_account: ServiceAccountArgs,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct NameNamespace {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub namespace: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAccountArgs {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub project_id: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Common {
    #[serde(default)]
    metadata: NameNamespace,
    field_specs: Option<Vec<LenientFieldSpec>>,
}

/// A field spec in a plugin configuration: plugins read their configuration without
/// rejecting unknown fields (fixture TestNameUpdateInRoleRef2 has a `name:` in one).
#[derive(Deserialize, Default)]
struct LenientFieldSpec {
    #[serde(default)]
    group: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    path: String,
    #[serde(default)]
    create: bool,
}

fn specs(v: &Option<Vec<LenientFieldSpec>>) -> Vec<FieldSpec> {
    v.iter()
        .flatten()
        .map(|f| {
            FieldSpec::from(&FieldSpecArgs {
                group: f.group.clone(),
                version: f.version.clone(),
                kind: f.kind.clone(),
                path: f.path.clone(),
                create: f.create,
            })
        })
        .collect()
}

/// A string map read the way plugins read their configuration (`sigs.k8s.io/yaml`'s
/// type-directed decoding): numbers and booleans become their text (example
/// configureBuiltinPlugin: `area: 51`).
fn lenient_map<'de, D: serde::Deserializer<'de>>(d: D) -> Result<StringMap, D::Error> {
    let m: Option<serde_json::Map<String, Value>> = Option::deserialize(d)?;
    Ok(m.unwrap_or_default()
        .into_iter()
        .map(|(k, v)| {
            let text = crate::transform::scalar_text(&v).unwrap_or_default();
            (k, text)
        })
        .collect())
}

fn de<T: for<'de> Deserialize<'de>>(v: &Value) -> Result<T, String> {
    serde_json::from_value(v.clone()).map_err(|e| e.to_string())
}

/// Why a plugin configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error("plugin {0} fails configuration: {1}")]
    Config(String, String),
    #[error("{0}: external plugins are not supported (only apiVersion: builtin)")]
    External(String),
    #[error("unable to load builtin {0}")]
    UnknownBuiltin(String),
    #[error("plugin {0} not a {1}")]
    WrongRole(String, &'static str),
}

fn kind_of(v: &Value) -> (String, String) {
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    (s("apiVersion"), s("kind"))
}

fn check_builtin(v: &Value) -> Result<String, PluginError> {
    let (api_version, kind) = kind_of(v);
    if api_version != BUILTIN_API_VERSION {
        return Err(PluginError::External(format!("{api_version}/{kind}")));
    }
    Ok(kind)
}

/// Reads a transformer configuration.
pub fn transformer(v: &Value) -> Result<TransformerPlugin, PluginError> {
    let kind = check_builtin(v)?;
    let cfg = |e: String| PluginError::Config(kind.clone(), e);
    let common: Common = de(v).map_err(cfg)?;
    let required_specs = || {
        common
            .field_specs
            .as_ref()
            .map(|_| specs(&common.field_specs))
            .ok_or_else(|| cfg("fieldSpecs is not expected to be nil".into()))
    };
    #[derive(Deserialize, Default)]
    #[serde(rename_all = "camelCase")]
    struct Fields {
        #[serde(default, deserialize_with = "lenient_map")]
        annotations: StringMap,
        #[serde(default, deserialize_with = "lenient_map")]
        labels: StringMap,
        #[serde(default)]
        prefix: String,
        #[serde(default)]
        suffix: String,
        #[serde(default)]
        unset_only: bool,
        #[serde(default)]
        set_role_binding_subjects: String,
        #[serde(default)]
        image_tag: Image,
        #[serde(default)]
        replica: Replica,
        #[serde(default)]
        path: String,
        #[serde(default)]
        patch: String,
        target: Option<Selector>,
        #[serde(default)]
        options: StringMap,
        #[serde(default)]
        json_op: String,
        #[serde(default)]
        paths: Vec<String>,
        #[serde(default)]
        patches: String,
        #[serde(default)]
        replacements: Vec<Value>,
        #[serde(default)]
        value: String,
        #[serde(default)]
        targets: Vec<ValueAddTarget>,
        #[serde(default)]
        target_file_path: String,
    }
    let mut v2 = v.clone();
    // `options` of a PatchTransformer is a map of booleans; keep the field parser simple.
    if let Some(Value::Object(o)) = v2.get_mut("options") {
        for val in o.values_mut() {
            if let Value::Bool(b) = val {
                *val = Value::String(b.to_string());
            }
        }
    }
    let f: Fields = de(&v2).map_err(cfg)?;
    Ok(match kind.as_str() {
        "AnnotationsTransformer" => TransformerPlugin::Annotations {
            annotations: f.annotations,
            specs: specs(&common.field_specs),
        },
        "LabelTransformer" => TransformerPlugin::Labels {
            labels: f.labels,
            specs: specs(&common.field_specs),
        },
        "NamespaceTransformer" => TransformerPlugin::Namespace {
            namespace: common.metadata.namespace.clone(),
            specs: specs(&common.field_specs),
            unset_only: f.unset_only,
            subjects: f.set_role_binding_subjects,
        },
        "PrefixTransformer" => TransformerPlugin::Prefix {
            prefix: f.prefix,
            specs: required_specs()?,
        },
        "SuffixTransformer" => TransformerPlugin::Suffix {
            suffix: f.suffix,
            specs: required_specs()?,
        },
        "PrefixSuffixTransformer" => TransformerPlugin::PrefixSuffix {
            prefix: f.prefix,
            suffix: f.suffix,
            specs: required_specs()?,
        },
        "ImageTagTransformer" => TransformerPlugin::ImageTag {
            image: f.image_tag,
            specs: specs(&common.field_specs),
        },
        "ReplicaCountTransformer" => TransformerPlugin::ReplicaCount {
            replica: f.replica,
            specs: specs(&common.field_specs),
        },
        "PatchTransformer" => TransformerPlugin::Patch {
            path: f.path,
            patch: f.patch,
            target: f.target,
            options: f.options,
        },
        "PatchJson6902Transformer" => TransformerPlugin::PatchJson6902 {
            path: f.path,
            json_op: f.json_op,
            target: f.target,
        },
        "PatchStrategicMergeTransformer" => {
            if f.paths.is_empty() && f.patches.is_empty() {
                return Err(cfg("empty file path and empty patch content".into()));
            }
            TransformerPlugin::PatchStrategicMerge {
                paths: f.paths,
                patches: f.patches,
            }
        }
        "HashTransformer" => TransformerPlugin::Hash,
        "ReplacementTransformer" => TransformerPlugin::Replacement {
            replacements: f.replacements,
        },
        "ValueAddTransformer" => TransformerPlugin::ValueAdd {
            value: f.value.trim().to_string(),
            targets: f.targets,
            target_file_path: f.target_file_path,
        },
        "ConfigMapGenerator"
        | "SecretGenerator"
        | "IAMPolicyGenerator"
        | "HelmChartInflationGenerator" => return Err(PluginError::WrongRole(kind, "transformer")),
        _ => return Err(PluginError::UnknownBuiltin(kind)),
    })
}

/// The fields of a Helm chart entry.
const HELM_CHART_FIELDS: &[&str] = &[
    "name",
    "version",
    "repo",
    "releaseName",
    "namespace",
    "additionalValuesFiles",
    "valuesFile",
    "valuesInline",
    "valuesMerge",
    "includeCRDs",
    "skipHooks",
    "apiVersions",
    "kubeVersion",
    "nameTemplate",
    "skipTests",
    "debug",
];

/// Reads a generator configuration.
pub fn generator(v: &Value) -> Result<GeneratorPlugin, PluginError> {
    let kind = check_builtin(v)?;
    let cfg = |e: String| PluginError::Config(kind.clone(), e);
    match kind.as_str() {
        "ConfigMapGenerator" | "SecretGenerator" => {
            #[derive(Deserialize, Default)]
            struct Args {
                #[serde(default)]
                metadata: NameNamespace,
                #[serde(default)]
                name: String,
                #[serde(default)]
                namespace: String,
                #[serde(default)]
                behavior: String,
                #[serde(default)]
                literals: Vec<String>,
                #[serde(default)]
                files: Vec<String>,
                #[serde(default)]
                envs: Vec<String>,
                #[serde(default)]
                env: String,
                options: Option<GeneratorOptions>,
                #[serde(default, rename = "type")]
                kind_type: String,
            }
            let a: Args = de(v).map_err(cfg)?;
            let args = GeneratorArgs {
                name: if a.name.is_empty() {
                    a.metadata.name
                } else {
                    a.name
                },
                namespace: if a.namespace.is_empty() {
                    a.metadata.namespace
                } else {
                    a.namespace
                },
                behavior: a.behavior,
                literals: a.literals,
                files: a.files,
                envs: a.envs,
                env: a.env,
                options: a.options,
                kind_type: a.kind_type,
            };
            Ok(if kind == "ConfigMapGenerator" {
                GeneratorPlugin::ConfigMap(args)
            } else {
                GeneratorPlugin::Secret(args)
            })
        }
        "IAMPolicyGenerator" => Ok(GeneratorPlugin::IamPolicy(de(v).map_err(cfg)?)),
        "HelmChartInflationGenerator" => {
            // The configuration is the chart's fields and the globals' at the top level,
            // next to apiVersion, kind and metadata; anything else is ignored.
            let Value::Object(m) = v else {
                return Err(cfg("the configuration is not a map".into()));
            };
            let mut chart = serde_json::Map::new();
            let mut globals = serde_json::Map::new();
            for (k, x) in m {
                match k.as_str() {
                    "chartHome" | "configHome" => {
                        globals.insert(k.clone(), x.clone());
                    }
                    "apiVersion" | "kind" | "metadata" => {}
                    _ if HELM_CHART_FIELDS.contains(&k.as_str()) => {
                        chart.insert(k.clone(), x.clone());
                    }
                    _ => {}
                }
            }
            let chart =
                serde_json::from_value(Value::Object(chart)).map_err(|e| cfg(e.to_string()))?;
            let globals =
                serde_json::from_value(Value::Object(globals)).map_err(|e| cfg(e.to_string()))?;
            Ok(GeneratorPlugin::Helm(globals, chart))
        }
        _ if transformer(v).is_ok() => Err(PluginError::WrongRole(kind, "generator")),
        _ => Err(PluginError::UnknownBuiltin(kind)),
    }
}

/// The GKE IAMPolicyGenerator's ServiceAccount.
pub fn iam_policy_resource(a: &IamPolicyArgs) -> Result<Value, String> {
    if a.cloud != "gke" {
        return Err(format!("cloud provider {} not supported yet", a.cloud));
    }
    let mut meta = serde_json::Map::new();
    let mut ann = serde_json::Map::new();
    ann.insert(
        "iam.gke.io/gcp-service-account".into(),
        Value::String(format!(
            "{}@{}.iam.gserviceaccount.com",
            a.service_account.name, a.service_account.project_id
        )),
    );
    meta.insert("annotations".into(), Value::Object(ann));
    meta.insert(
        "name".into(),
        Value::String(a.kubernetes_service.name.clone()),
    );
    if !a.kubernetes_service.namespace.is_empty() {
        meta.insert(
            "namespace".into(),
            Value::String(a.kubernetes_service.namespace.clone()),
        );
    }
    let mut obj = serde_json::Map::new();
    obj.insert("apiVersion".into(), Value::String("v1".into()));
    obj.insert("kind".into(), Value::String("ServiceAccount".into()));
    obj.insert("metadata".into(), Value::Object(meta));
    Ok(Value::Object(obj))
}
