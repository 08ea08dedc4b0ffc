//! The kustomization file: its schema, how it is found and read, legacy-field migration,
//! and validation.
//!
//! kustomize reads `kustomization.yaml` with `sigs.k8s.io/yaml` (go-yaml v2 → JSON) and
//! decodes it with unknown fields disallowed, so `yes` is a boolean and an unknown key is an
//! error. [`Kustomization::parse`] does the same: the YAML reader in the v2 dialect, then
//! serde with `deny_unknown_fields`. Every field kustomize v5.5.0 knows is here, legacy ones
//! included; [`Kustomization::fix_legacy`] folds `bases`, `imageTags`, `env` into their
//! modern forms exactly as kustomize's `FixKustomization` does.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::yaml;

/// An integer field. The kustomization goes through sigs.k8s.io/yaml, which turns a YAML
/// float into an integer where the Go field is one, when the float is integral (`1e1`,
/// `3.0`); `2.5` stays an error, null is zero.
fn integral<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let v = Value::deserialize(d)?;
    match &v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9.2e18)
                    .map(|f| f as i64)
            })
            .ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "cannot unmarshal number {n} into an integer field"
                ))
            }),
        // encoding/json leaves a field alone for null.
        Value::Null => Ok(0),
        other => Err(serde::de::Error::custom(format!(
            "invalid type: {other}, expected an integer"
        ))),
    }
}

/// File names kustomize looks for, in its order.
pub const FILE_NAMES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

pub const KUSTOMIZATION_VERSION: &str = "kustomize.config.k8s.io/v1beta1";
pub const KUSTOMIZATION_KIND: &str = "Kustomization";
pub const COMPONENT_VERSION: &str = "kustomize.config.k8s.io/v1alpha1";
pub const COMPONENT_KIND: &str = "Component";

pub type StringMap = BTreeMap<String, String>;

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Kustomization {
    #[serde(alias = "apiversion")]
    pub api_version: Option<String>,
    pub kind: Option<String>,
    pub metadata: Option<ObjectMeta>,
    pub openapi: Option<StringMap>,
    #[serde(alias = "nameprefix")]
    pub name_prefix: Option<String>,
    #[serde(alias = "namesuffix")]
    pub name_suffix: Option<String>,
    pub namespace: Option<String>,
    #[serde(alias = "commonlabels")]
    pub common_labels: Option<StringMap>,
    pub labels: Option<Vec<Label>>,
    #[serde(alias = "commonannotations")]
    pub common_annotations: Option<StringMap>,
    #[serde(alias = "patchesstrategicmerge")]
    pub patches_strategic_merge: Option<Vec<String>>,
    #[serde(alias = "patchesjson6902", alias = "patchesJSON6902")]
    pub patches_json6902: Option<Vec<Patch>>,
    pub patches: Option<Vec<Patch>>,
    pub images: Option<Vec<Image>>,
    #[serde(alias = "imagetags")]
    pub image_tags: Option<Vec<Image>>,
    pub replacements: Option<Vec<ReplacementField>>,
    pub replicas: Option<Vec<Replica>>,
    pub vars: Option<Vec<Var>>,
    #[serde(alias = "sortoptions")]
    pub sort_options: Option<SortOptions>,
    pub resources: Option<Vec<String>>,
    pub components: Option<Vec<String>>,
    pub crds: Option<Vec<String>>,
    pub bases: Option<Vec<String>>,
    #[serde(alias = "configmapgenerator")]
    pub config_map_generator: Option<Vec<GeneratorArgs>>,
    #[serde(alias = "secretgenerator")]
    pub secret_generator: Option<Vec<GeneratorArgs>>,
    #[serde(alias = "helmglobals")]
    pub helm_globals: Option<crate::helm::HelmGlobals>,
    #[serde(alias = "helmcharts")]
    pub helm_charts: Option<Vec<crate::helm::HelmChart>>,
    #[serde(alias = "helmchartinflationgenerator")]
    pub helm_chart_inflation_generator: Option<Vec<crate::helm::LegacyHelmChart>>,
    #[serde(alias = "generatoroptions")]
    pub generator_options: Option<GeneratorOptions>,
    pub configurations: Option<Vec<String>>,
    pub generators: Option<Vec<String>>,
    pub transformers: Option<Vec<String>>,
    pub validators: Option<Vec<String>>,
    #[serde(alias = "buildmetadata")]
    pub build_metadata: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ObjectMeta {
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub labels: Option<StringMap>,
    pub annotations: Option<StringMap>,
}

/// A field-spec entry (`configurations:` files, `labels[].fields`, plugin configs).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FieldSpecArgs {
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub create: bool,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Label {
    #[serde(default)]
    pub pairs: StringMap,
    #[serde(alias = "includeselectors", default)]
    pub include_selectors: bool,
    #[serde(alias = "includetemplates", default)]
    pub include_templates: bool,
    #[serde(default)]
    pub fields: Vec<FieldSpecArgs>,
}

/// A resource selector: id parts (name and namespace are anchored regular expressions in
/// patch targets) plus label and annotation selectors.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Selector {
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub namespace: String,
    #[serde(alias = "annotationselector", default)]
    pub annotation_selector: String,
    #[serde(alias = "labelselector", default)]
    pub label_selector: String,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Patch {
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub patch: String,
    pub target: Option<Selector>,
    pub options: Option<BTreeMap<String, bool>>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Image {
    #[serde(default)]
    pub name: String,
    #[serde(alias = "newname", default)]
    pub new_name: String,
    #[serde(alias = "tagsuffix", default)]
    pub tag_suffix: String,
    #[serde(alias = "newtag", default)]
    pub new_tag: String,
    #[serde(default)]
    pub digest: String,
}

impl Image {
    /// Bytes of the text this entry may write into an image field.
    pub fn text_bytes(&self) -> usize {
        self.new_name.len() + self.tag_suffix.len() + self.new_tag.len() + self.digest.len()
    }
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Replica {
    #[serde(default)]
    pub name: String,
    #[serde(default, deserialize_with = "integral")]
    pub count: i64,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Var {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub objref: VarTarget,
    #[serde(default)]
    pub fieldref: FieldSelector,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VarTarget {
    #[serde(alias = "apiversion", default)]
    pub api_version: String,
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub namespace: String,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FieldSelector {
    #[serde(alias = "fieldpath", default)]
    pub field_path: String,
}

/// `replacements:` entries: inline, or `path:` to a file of replacements.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ReplacementField {
    pub source: Option<ReplacementSource>,
    pub targets: Option<Vec<ReplacementTarget>>,
    #[serde(default)]
    pub path: String,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ReplacementSource {
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub namespace: String,
    #[serde(alias = "fieldpath", default)]
    pub field_path: String,
    pub options: Option<FieldOptions>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ReplacementTarget {
    pub select: Option<Selector>,
    pub reject: Option<Vec<Selector>>,
    #[serde(alias = "fieldpaths")]
    pub field_paths: Option<Vec<String>>,
    pub options: Option<FieldOptions>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FieldOptions {
    #[serde(default)]
    pub delimiter: String,
    #[serde(default, deserialize_with = "integral")]
    pub index: i64,
    #[serde(default)]
    pub encoding: String,
    #[serde(default)]
    pub create: bool,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SortOptions {
    #[serde(default)]
    pub order: String,
    #[serde(alias = "legacysortoptions")]
    pub legacy_sort_options: Option<LegacySortOptions>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LegacySortOptions {
    #[serde(alias = "orderfirst", default)]
    pub order_first: Vec<String>,
    #[serde(alias = "orderlast", default)]
    pub order_last: Vec<String>,
}

/// configMapGenerator / secretGenerator entries (`type` only for secrets).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GeneratorArgs {
    #[serde(default)]
    pub namespace: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub behavior: String,
    #[serde(default)]
    pub literals: Vec<String>,
    #[serde(default)]
    pub files: Vec<String>,
    #[serde(default)]
    pub envs: Vec<String>,
    #[serde(default)]
    pub env: String,
    pub options: Option<GeneratorOptions>,
    #[serde(default, rename = "type")]
    pub kind_type: String,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GeneratorOptions {
    pub labels: Option<StringMap>,
    pub annotations: Option<StringMap>,
    #[serde(alias = "disablenamesuffixhash", default)]
    pub disable_name_suffix_hash: bool,
    #[serde(default)]
    pub immutable: bool,
}

/// Why a kustomization file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KustomizationError {
    #[error("invalid Kustomization: {0}")]
    Yaml(yaml::Error),
    /// A field with the wrong type, an unknown or missing field: which field, what is
    /// wrong, and where the YAML layer found it.
    #[error("invalid Kustomization: {}{message}", field_prefix(field))]
    Schema {
        /// The field's path (`resources`, `patches[0].target.kind`); empty for the root.
        field: String,
        message: String,
        line: Option<usize>,
        column: Option<usize>,
    },
    #[error("kustomization.yaml is empty")]
    Empty,
    #[error("{0}")]
    Fields(String),
}

fn field_prefix(field: &str) -> String {
    if field.is_empty() {
        String::new()
    } else {
        format!("{field}: ")
    }
}

impl KustomizationError {
    /// The 1-based line and column of the error in the kustomization file, where known.
    pub fn position(&self) -> Option<(usize, Option<usize>)> {
        match self {
            KustomizationError::Yaml(e) => e.line.map(|l| (l, e.column)),
            KustomizationError::Schema { line, column, .. } => line.map(|l| (l, *column)),
            _ => None,
        }
    }
}

/// Go decodes free-form values with encoding/json into `interface{}`, where every number
/// is a float64: integers past 2^53 lose their last digits.
fn go_json_numbers(v: &mut Value) {
    match v {
        Value::Number(n)
            if n.as_f64()
                .is_some_and(|f| f.abs() > 9_007_199_254_740_992.0) =>
        {
            if let Some(f) = n.as_f64().and_then(serde_json::Number::from_f64) {
                *n = f;
            }
        }
        Value::Array(a) => a.iter_mut().for_each(go_json_numbers),
        Value::Object(m) => m.values_mut().for_each(go_json_numbers),
        _ => {}
    }
}

/// Fields of the schema that hold arbitrary YAML (`map[string]interface{}` in Go).
const FREE_FORM: [&str; 2] = ["valuesInline", "valuesLocal"];

/// The string maps of the schema (`map[string]string` in Go).
const STRING_MAPS: [&str; 6] = [
    "commonLabels",
    "commonAnnotations",
    "labels",
    "annotations",
    "pairs",
    "openapi",
];

/// kustomize decodes the kustomization with Go's encoding/json, where null means the zero
/// value: a struct field or a list is left unset, a string map's entry and a list's string
/// element are empty strings. serde would reject the nulls, so they are rewritten first.
fn null_is_zero(v: &mut Value, string_map: bool) {
    match v {
        Value::Object(m) => {
            if string_map {
                for x in m.values_mut() {
                    if x.is_null() {
                        *x = Value::String(String::new());
                    }
                }
                return;
            }
            m.retain(|_, x| !x.is_null());
            for (k, x) in m.iter_mut() {
                // Free-form values (a chart's inline values) keep their nulls: Go holds
                // them in a map[string]interface{}, where null deletes a chart value.
                if FREE_FORM.contains(&k.as_str()) {
                    go_json_numbers(x);
                    continue;
                }
                null_is_zero(x, x.is_object() && STRING_MAPS.contains(&k.as_str()));
            }
        }
        Value::Array(a) => {
            for x in a.iter_mut() {
                if x.is_null() {
                    *x = Value::String(String::new());
                } else {
                    null_is_zero(x, false);
                }
            }
        }
        _ => {}
    }
}

impl Kustomization {
    /// Parses a kustomization file's bytes (BOM, CRLF and UTF-16 accepted).
    pub fn parse(bytes: &[u8]) -> Result<Kustomization, KustomizationError> {
        let value = yaml::read_document(bytes, yaml::Dialect::V2, yaml::Limits::default())
            .map_err(KustomizationError::Yaml)?
            .unwrap_or(Value::Null);
        let mut value = match value {
            Value::Null => Value::Object(Default::default()),
            v => v,
        };
        if !value.is_object() {
            // serde would read a list as the struct's fields in order.
            let got = match &value {
                Value::Array(_) => "a list",
                Value::String(_) => "a string",
                Value::Bool(_) => "a boolean",
                _ => "a number",
            };
            return Err(KustomizationError::Schema {
                field: String::new(),
                message: format!("a kustomization must be a map, got {got}"),
                line: Some(1),
                column: Some(1),
            });
        }
        null_is_zero(&mut value, false);
        let k: Kustomization =
            serde_path_to_error::deserialize(value).map_err(|e| schema_error(bytes, e))?;
        Ok(k)
    }

    /// kustomize's `FixKustomization` + `CheckEmpty` + `EnforceFields`.
    pub fn fix_legacy(&mut self) -> Result<(), KustomizationError> {
        let empty = Kustomization {
            api_version: self.api_version.clone(),
            kind: self.kind.clone(),
            ..Default::default()
        };
        if *self == empty {
            return Err(KustomizationError::Empty);
        }
        if self.kind.as_deref().unwrap_or("").is_empty() {
            self.kind = Some(KUSTOMIZATION_KIND.to_string());
        }
        if self.api_version.as_deref().unwrap_or("").is_empty() {
            self.api_version = Some(
                if self.is_component() {
                    COMPONENT_VERSION
                } else {
                    KUSTOMIZATION_VERSION
                }
                .into(),
            );
        }
        if let Some(bases) = self.bases.take() {
            self.resources.get_or_insert_with(Vec::new).extend(bases);
        }
        if let Some(tags) = self.image_tags.take() {
            self.images.get_or_insert_with(Vec::new).extend(tags);
        }
        if let Some(legacy) = self.helm_chart_inflation_generator.take() {
            // The old entries' homes become helmGlobals (the last one set wins), unless the
            // kustomization has helmGlobals of its own.
            if self.helm_globals.is_none() {
                let mut globals = crate::helm::HelmGlobals::default();
                for l in &legacy {
                    if !l.helm_home.is_empty() {
                        globals.config_home = l.helm_home.clone();
                    }
                    if !l.chart_home.is_empty() {
                        globals.chart_home = l.chart_home.clone();
                    }
                }
                if globals != Default::default() {
                    self.helm_globals = Some(globals);
                }
            }
            let charts = self.helm_charts.get_or_insert_with(Vec::new);
            charts.extend(legacy.iter().map(crate::helm::LegacyHelmChart::to_chart));
        }
        for g in self
            .config_map_generator
            .iter_mut()
            .chain(self.secret_generator.iter_mut())
            .flatten()
        {
            if !g.env.is_empty() {
                g.envs.push(std::mem::take(&mut g.env));
            }
        }
        let kind = self.kind.clone().unwrap_or_default();
        let mut errs = Vec::new();
        if kind != KUSTOMIZATION_KIND && kind != COMPONENT_KIND {
            errs.push(format!(
                "kind should be {KUSTOMIZATION_KIND} or {COMPONENT_KIND}"
            ));
        }
        let required = if kind == COMPONENT_KIND {
            COMPONENT_VERSION
        } else {
            KUSTOMIZATION_VERSION
        };
        if self.api_version.as_deref() != Some(required) {
            errs.push(format!("apiVersion for {kind} should be {required}"));
        }
        if !errs.is_empty() {
            return Err(KustomizationError::Fields(errs.join("\n")));
        }
        Ok(())
    }

    /// Is a field set (to anything but null)? By its name in the file; for the fields
    /// kustomize warns about.
    pub fn has_field(&self, field: &str) -> bool {
        match field {
            "bases" => self.bases.is_some(),
            "commonLabels" => self.common_labels.is_some(),
            "imageTags" => self.image_tags.is_some(),
            "patchesJson6902" => self.patches_json6902.is_some(),
            "patchesStrategicMerge" => self.patches_strategic_merge.is_some(),
            "vars" => self.vars.is_some(),
            _ => false,
        }
    }

    pub fn is_component(&self) -> bool {
        self.kind.as_deref() == Some(COMPONENT_KIND)
    }

    pub fn build_metadata_has(&self, option: &str) -> bool {
        self.build_metadata
            .as_ref()
            .is_some_and(|v| v.iter().any(|o| o == option))
    }
}

/// A schema error as a user can act on it: the field's path, what was expected and what
/// was found (never the value itself, which may be a whole file's text), the line and
/// column of the field, and for an unknown field the nearest known name.
fn schema_error(
    bytes: &[u8],
    e: serde_path_to_error::Error<serde_json::Error>,
) -> KustomizationError {
    use serde_path_to_error::Segment;
    let mut path: Vec<yaml::spans::PathSeg> = e
        .path()
        .iter()
        .filter_map(|seg| match seg {
            Segment::Map { key } => Some(yaml::spans::PathSeg::Key(key.clone())),
            Segment::Seq { index } => Some(yaml::spans::PathSeg::Index(*index)),
            _ => None,
        })
        .collect();
    let raw = e.inner().to_string();
    let message = if let Some(rest) = raw.strip_prefix("unknown field `") {
        let (name, known) = rest.split_once('`').unwrap_or((rest, ""));
        let names: Vec<&str> = known.split('`').skip(1).step_by(2).collect();
        // serde reports the unknown key with its parent's path.
        if path.last() != Some(&yaml::spans::PathSeg::Key(name.to_string())) {
            path.push(yaml::spans::PathSeg::Key(name.to_string()));
        }
        match crate::suggest::closest(name, &names) {
            Some(near) => format!("unknown field (did you mean '{near}'?)"),
            None => "unknown field".to_string(),
        }
    } else if let Some(rest) = raw.strip_prefix("invalid type: ") {
        let (got, expected) = rest.rsplit_once(", expected ").unwrap_or((rest, "?"));
        format!(
            "expected {}, got {}",
            describe_expected(expected),
            describe_got(got)
        )
    } else if let Some(rest) = raw.strip_prefix("missing field `") {
        format!("missing field '{}'", rest.trim_end_matches('`'))
    } else {
        crate::suggest::excerpt(&raw, 200)
    };
    let field = path_text(&path);
    let position = yaml::spans::scan(bytes)
        .ok()
        .and_then(|docs| docs.into_iter().next())
        .and_then(|d| d.position_of(&path));
    KustomizationError::Schema {
        field,
        message,
        line: position.map(|p| p.0),
        column: position.map(|p| p.1),
    }
}

/// `patches[0].target.kind`.
fn path_text(path: &[yaml::spans::PathSeg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            yaml::spans::PathSeg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            yaml::spans::PathSeg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// serde's description of what it found (`integer \`5\``, `string "..."`) in a user's words,
/// without the value.
fn describe_got(got: &str) -> &'static str {
    let kind = got.split([' ', '`', '"']).next().unwrap_or("");
    match kind {
        "integer" => "an integer",
        "floating" => "a number",
        "string" | "character" => "a string",
        "boolean" => "a boolean",
        "sequence" => "a list",
        "map" => "a map",
        "unit" | "null" => "null",
        _ => "another kind of value",
    }
}

/// serde's description of what a field takes, in a user's words.
fn describe_expected(expected: &str) -> String {
    if expected.starts_with("struct ") || expected.contains("map") {
        "a map".into()
    } else if expected.contains("sequence") {
        "a list".into()
    } else if expected.contains("string") {
        "a string".into()
    } else if expected.contains("integer") || expected.starts_with("i64") {
        "an integer".into()
    } else if expected.contains("bool") {
        "a boolean".into()
    } else {
        crate::suggest::excerpt(expected, 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_type_names_the_field_with_line_and_column() {
        let e = Kustomization::parse(b"namePrefix: a-\nresources: 5\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid Kustomization: resources: expected a list, got an integer"
        );
        assert_eq!(e.position(), Some((2, Some(1))));
        let e = Kustomization::parse(b"patches:\n- path: p.yaml\n  target:\n    kind: [a]\n")
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid Kustomization: patches[0].target.kind: expected a string, got a list"
        );
        assert_eq!(e.position(), Some((4, Some(5))));
    }

    #[test]
    fn a_list_shaped_kustomization_says_so_plainly() {
        let e = Kustomization::parse(b"- a\n- b\n").unwrap_err().to_string();
        assert_eq!(
            e,
            "invalid Kustomization: a kustomization must be a map, got a list"
        );
    }

    #[test]
    fn errors_never_echo_the_file() {
        let text = format!("{}\n", "root:x:0:0:root:/root:/bin/bash ".repeat(40));
        let e = Kustomization::parse(text.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(!e.contains("root:x:0:0"), "{e}");
        assert!(e.len() < 200, "{e}");
    }

    #[test]
    fn unknown_field_suggests_the_nearest_name() {
        let e = Kustomization::parse(b"resources: []\npatchs: []\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid Kustomization: patchs: unknown field (did you mean 'patches'?)"
        );
        assert_eq!(e.position(), Some((2, Some(1))));
    }

    #[test]
    fn unknown_fields_are_errors() {
        assert!(Kustomization::parse(b"resourcez: [a]").is_err());
        assert!(Kustomization::parse(b"resources: [a]").is_ok());
    }

    #[test]
    fn yaml11_booleans_are_not_strings() {
        // go-yaml v2 reads `no` as false; a string field cannot take it.
        assert!(Kustomization::parse(b"namespace: no").is_err());
    }

    #[test]
    fn legacy_fields_migrate() {
        let mut k =
            Kustomization::parse(b"bases: [b]\nresources: [a]\nimageTags: [{name: x}]\n").unwrap();
        k.fix_legacy().unwrap();
        assert_eq!(k.resources.unwrap(), vec!["a", "b"]);
        assert_eq!(k.images.unwrap().len(), 1);
        assert_eq!(k.api_version.as_deref(), Some(KUSTOMIZATION_VERSION));
    }

    #[test]
    fn empty_kustomization_is_an_error() {
        let mut k = Kustomization::parse(
            b"apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n",
        )
        .unwrap();
        assert!(matches!(k.fix_legacy(), Err(KustomizationError::Empty)));
    }
}
