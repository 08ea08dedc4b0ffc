//! kustomize keeps what it tracks about a resource during a build as annotations on the
//! object itself (`api/resource/resource.go`, `api/internal/utils/annotations.go`); rustomize
//! keeps the same facts as fields of [`Resource`]. The two meet where kustomize lets a
//! resource's whole annotation map be seen or replaced:
//!
//! - patches: a strategic merge or a JSON 6902 patch works on the object *with* those
//!   annotations, so `add /metadata/annotations/x` succeeds on a resource that has none of its
//!   own once a prefix or a generator gave it bookkeeping, and `annotations: null`,
//!   `$patch: replace` or `add /metadata/annotations` wipe it (a generated name loses its hash,
//!   a renamed resource its previous names, an origin is re-attributed to the patch);
//! - reading: bookkeeping annotations written in a resource file are obeyed (a
//!   `needsHashSuffix: enabled` gets a hash), and every key of kustomize's
//!   `BuildAnnotations` list is removed from the output.
//!
//! [`Resource::with_bookkeeping`] writes the fields into the object in kustomize's text form,
//! runs the patch and reads them back; [`Resource::adopt_bookkeeping`] does the reading for a
//! resource as loaded.

use serde_json::{Map, Value};

use super::{Behavior, Generated, Origin, PrevId, Resource};

const DOMAIN: &str = "internal.config.kubernetes.io/";
const PREVIOUS_NAMES: &str = "internal.config.kubernetes.io/previousNames";
const PREVIOUS_NAMESPACES: &str = "internal.config.kubernetes.io/previousNamespaces";
const PREVIOUS_KINDS: &str = "internal.config.kubernetes.io/previousKinds";
const PREFIXES: &str = "internal.config.kubernetes.io/prefixes";
const SUFFIXES: &str = "internal.config.kubernetes.io/suffixes";
const GENERATOR_BEHAVIOR: &str = "internal.config.kubernetes.io/generatorBehavior";
const NEEDS_HASH: &str = "internal.config.kubernetes.io/needsHashSuffix";
/// kustomize's `utils.Enabled`.
const ENABLED: &str = "enabled";
pub const ORIGIN: &str = "config.kubernetes.io/origin";
pub const TRANSFORMATIONS: &str = "alpha.config.kubernetes.io/transformations";

/// kustomize's `resource.BuildAnnotations`: removed from every resource at the end of a build.
pub const BUILD_ANNOTATIONS: [&str; 18] = [
    PREVIOUS_KINDS,
    PREVIOUS_NAMES,
    PREFIXES,
    SUFFIXES,
    PREVIOUS_NAMESPACES,
    "internal.config.kubernetes.io/allowNameChange",
    "internal.config.kubernetes.io/allowKindChange",
    "internal.config.kubernetes.io/refBy",
    GENERATOR_BEHAVIOR,
    NEEDS_HASH,
    "internal.config.kubernetes.io/path",
    "internal.config.kubernetes.io/index",
    "internal.config.kubernetes.io/seqindent",
    "internal.config.kubernetes.io/id",
    "internal.config.kubernetes.io/annotations-migration-resource-id",
    "config.kubernetes.io/path",
    "config.kubernetes.io/index",
    "config.k8s.io/id",
];

/// Which bookkeeping a patch may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Whatever the patch leaves is read back (strategic merge).
    Nothing,
    /// kustomize's JSON patch transformers save the `internal.config.kubernetes.io/*`
    /// annotations (and the three legacy ones) before the patch and put them back after;
    /// the origin and transformations are not saved.
    Internal,
}

/// kustomize's `kioutil.GetInternalAnnotations` test.
fn is_internal(key: &str) -> bool {
    key.starts_with(DOMAIN)
        || matches!(
            key,
            "config.kubernetes.io/path" | "config.kubernetes.io/index" | "config.k8s.io/id"
        )
}

fn behavior_text(b: Behavior) -> &'static str {
    match b {
        Behavior::Create => "create",
        Behavior::Replace => "replace",
        Behavior::Merge => "merge",
    }
}

fn transformations_text(list: &[Origin]) -> String {
    list.iter()
        .map(|o| format!("- {}", o.to_yaml("  ")))
        .collect()
}

impl Resource {
    /// The bookkeeping as kustomize writes it into the annotations, in kustomize's text form.
    fn bookkeeping(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let csv =
            |f: &dyn Fn(&PrevId) -> &str| self.prev_ids.iter().map(f).collect::<Vec<_>>().join(",");
        if !self.prev_ids.is_empty() {
            out.push((PREVIOUS_NAMES, csv(&|p| &p.name)));
            out.push((PREVIOUS_NAMESPACES, csv(&|p| &p.namespace)));
            out.push((PREVIOUS_KINDS, csv(&|p| &p.kind)));
        }
        if !self.prefixes.is_empty() {
            out.push((PREFIXES, self.prefixes.join(",")));
        }
        if !self.suffixes.is_empty() {
            out.push((SUFFIXES, self.suffixes.join(",")));
        }
        if let Some(g) = self.generated {
            out.push((GENERATOR_BEHAVIOR, behavior_text(g.behavior).to_string()));
            if g.needs_hash {
                out.push((NEEDS_HASH, ENABLED.to_string()));
            }
        }
        if let Some(o) = &self.origin {
            out.push((ORIGIN, o.to_yaml("")));
        }
        if !self.transformations.is_empty() {
            out.push((TRANSFORMATIONS, transformations_text(&self.transformations)));
        }
        out
    }

    /// Runs `f` (a patch) on the object as kustomize would present it, with the bookkeeping
    /// in `metadata.annotations`, then reads the bookkeeping back from what the patch left.
    /// Errors when the patch left bookkeeping kustomize could not read either.
    pub fn with_bookkeeping<T>(
        &mut self,
        keep: Keep,
        f: impl FnOnce(&mut Value) -> T,
    ) -> Result<T, String> {
        let written = self.bookkeeping();
        let meta_ok = matches!(self.obj.get("metadata"), Some(Value::Object(_)));
        let annotations = self.obj.pointer("/metadata/annotations");
        // Where the annotations are not a map kustomize could not have written them either.
        if written.is_empty() || !meta_ok || !matches!(annotations, None | Some(Value::Object(_))) {
            return Ok(f(self.obj.value_mut()));
        }
        let had_annotations = annotations.is_some();
        let ann = annotations_mut(self.obj.value_mut());
        for (k, v) in &written {
            ann.insert(k.to_string(), Value::String(v.clone()));
        }
        let out = f(self.obj.value_mut());
        if keep == Keep::Internal && matches!(self.obj.get("metadata"), Some(Value::Object(_))) {
            let ann = annotations_mut(self.obj.value_mut());
            for (k, v) in written.iter().filter(|(k, _)| is_internal(k)) {
                ann.insert(k.to_string(), Value::String(v.clone()));
            }
        }
        self.read_bookkeeping(&written, true)?;
        // A map that held only bookkeeping goes back to not being there.
        if !had_annotations {
            if let Some(Value::Object(meta)) = self.obj.value_mut().get_mut("metadata") {
                if meta
                    .get("annotations")
                    .is_some_and(|a| a.as_object().is_some_and(Map::is_empty))
                {
                    meta.remove("annotations");
                }
            }
        }
        Ok(out)
    }

    /// Obeys the `internal.config.kubernetes.io/*` bookkeeping a resource file carries
    /// (kustomize reads its bookkeeping from wherever it finds it) and moves it into the
    /// fields. An origin written in a file is left alone: kustomize replaces it when it
    /// tracks origins and removes it at the end otherwise.
    pub fn adopt_bookkeeping(&mut self) -> Result<(), String> {
        let has_any = self
            .obj
            .pointer("/metadata/annotations")
            .and_then(Value::as_object)
            .is_some_and(|a| a.keys().any(|k| k.starts_with(DOMAIN)));
        if has_any {
            self.read_bookkeeping(&self.bookkeeping(), false)?;
        }
        Ok(())
    }

    /// Moves the bookkeeping annotations out of the object into the fields. `written` is what
    /// was put in: unchanged origin text keeps the origin as it was. `origins`: the origin
    /// and transformations too.
    fn read_bookkeeping(
        &mut self,
        written: &[(&'static str, String)],
        origins: bool,
    ) -> Result<(), String> {
        let mut ann = match self
            .obj
            .value_mut()
            .get_mut("metadata")
            .and_then(|m| m.get_mut("annotations"))
        {
            Some(Value::Object(a)) => std::mem::take(a),
            _ => Map::new(),
        };
        let mut take = |k: &str| {
            ann.remove(k)
                .map(|v| crate::transform::scalar_text(&v).unwrap_or_default())
        };
        let names = take(PREVIOUS_NAMES);
        let namespaces = take(PREVIOUS_NAMESPACES);
        let kinds = take(PREVIOUS_KINDS);
        let prefixes = take(PREFIXES);
        let suffixes = take(SUFFIXES);
        let behavior = take(GENERATOR_BEHAVIOR);
        let needs_hash = take(NEEDS_HASH);
        let (origin, transformations) = if origins {
            (take(ORIGIN), take(TRANSFORMATIONS))
        } else {
            (None, None)
        };
        if let Some(Value::Object(a)) = self
            .obj
            .value_mut()
            .get_mut("metadata")
            .and_then(|m| m.get_mut("annotations"))
        {
            *a = ann;
        }

        // kustomize's `utils.PrevIds`: three comma-separated lists of one length.
        self.prev_ids = if names.is_none() && namespaces.is_none() && kinds.is_none() {
            Vec::new()
        } else {
            let split = |s: &Option<String>| -> Vec<String> {
                s.as_deref()
                    .map(|s| s.split(',').map(String::from).collect())
                    .unwrap_or_default()
            };
            let (n, ns, k) = (split(&names), split(&namespaces), split(&kinds));
            if n.len() != ns.len() || n.len() != k.len() {
                return Err(
                    "number of previous names, number of previous namespaces, number of previous kinds not equal"
                        .into(),
                );
            }
            n.into_iter()
                .zip(ns)
                .zip(k)
                .map(|((name, namespace), kind)| PrevId {
                    kind,
                    name,
                    namespace,
                })
                .collect()
        };
        let csv = |s: Option<String>| -> Vec<String> {
            s.map(|s| s.split(',').map(String::from).collect())
                .unwrap_or_default()
        };
        self.prefixes = csv(prefixes);
        self.suffixes = csv(suffixes);
        self.generated = if behavior.is_none() && needs_hash.is_none() {
            None
        } else {
            Some(Generated {
                behavior: behavior.as_deref().map(Behavior::parse).unwrap_or_default(),
                needs_hash: needs_hash.as_deref() == Some(ENABLED),
            })
        };
        let unchanged = |key: &str, now: &Option<String>| {
            written
                .iter()
                .any(|(k, v)| *k == key && Some(v) == now.as_ref())
        };
        if !origins {
            return Ok(());
        }
        if !unchanged(ORIGIN, &origin) {
            self.origin = match origin {
                None => None,
                Some(text) => Some(origin_from_yaml(&text)?),
            };
        }
        if !unchanged(TRANSFORMATIONS, &transformations) {
            self.transformations = match transformations {
                None => Vec::new(),
                Some(text) => match read_yaml(&text)? {
                    Value::Array(items) => items
                        .iter()
                        .map(origin_from_value)
                        .collect::<Result<_, _>>()?,
                    Value::Null => Vec::new(),
                    _ => return Err(format!("invalid {TRANSFORMATIONS} annotation")),
                },
            };
        }
        Ok(())
    }
}

fn annotations_mut(obj: &mut Value) -> &mut Map<String, Value> {
    let meta = super::ensure_object(obj)
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    let ann = super::ensure_object(meta)
        .entry("annotations")
        .or_insert_with(|| Value::Object(Map::new()));
    super::ensure_object(ann)
}

fn read_yaml(text: &str) -> Result<Value, String> {
    crate::yaml::read_document(
        text.as_bytes(),
        crate::yaml::Dialect::V2,
        Default::default(),
    )
    .map(Option::unwrap_or_default)
    .map_err(|e| e.to_string())
}

/// kustomize's `GetOrigin`: the annotation is YAML for a `resource.Origin`.
fn origin_from_yaml(text: &str) -> Result<Origin, String> {
    origin_from_value(&read_yaml(text)?)
}

fn origin_from_value(v: &Value) -> Result<Origin, String> {
    let bad = || format!("invalid {ORIGIN} annotation");
    let s = |v: Option<&Value>| -> Result<String, String> {
        match v {
            None | Some(Value::Null) => Ok(String::new()),
            Some(v) => crate::transform::scalar_text(v).ok_or_else(bad),
        }
    };
    match v {
        Value::Null => Ok(Origin::default()),
        Value::Object(m) => {
            let by = match m.get("configuredBy") {
                None | Some(Value::Null) => Map::new(),
                Some(Value::Object(b)) => b.clone(),
                Some(_) => return Err(bad()),
            };
            Ok(Origin {
                path: s(m.get("path"))?,
                repo: s(m.get("repo"))?,
                git_ref: s(m.get("ref"))?,
                configured_in: s(m.get("configuredIn"))?,
                configured_by: [
                    s(by.get("apiVersion"))?,
                    s(by.get("kind"))?,
                    s(by.get("name"))?,
                    s(by.get("namespace"))?,
                ],
            })
        }
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::Source;
    use serde_json::json;

    fn cm() -> Resource {
        Resource::new(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "p-cm"}}),
            Source::default(),
        )
    }

    #[test]
    fn a_patch_sees_the_bookkeeping_as_annotations() {
        let mut r = cm();
        r.prefixes.push("p-".into());
        let seen = r
            .with_bookkeeping(Keep::Nothing, |obj| {
                obj.pointer("/metadata/annotations/internal.config.kubernetes.io~1prefixes")
                    .cloned()
            })
            .unwrap();
        assert_eq!(seen, Some(json!("p-")));
        // Read back, and gone from the object again.
        assert_eq!(r.prefixes, vec!["p-".to_string()]);
        assert!(r.obj().pointer("/metadata/annotations").is_none());
    }

    #[test]
    fn a_patch_that_replaces_the_annotations_drops_the_bookkeeping() {
        let mut r = cm();
        r.store_previous_id();
        r.generated = Some(Generated {
            behavior: Behavior::Create,
            needs_hash: true,
        });
        r.with_bookkeeping(Keep::Nothing, |obj| {
            obj["metadata"]["annotations"] = json!({"note": "replaced"});
        })
        .unwrap();
        assert!(r.prev_ids.is_empty());
        assert!(r.generated.is_none());
        assert_eq!(
            r.obj()["metadata"]["annotations"],
            json!({"note": "replaced"})
        );
    }

    #[test]
    fn json_patches_keep_the_internal_bookkeeping_but_not_the_origin() {
        let mut r = cm();
        r.store_previous_id();
        r.origin = Some(Origin {
            path: "cm.yaml".into(),
            ..Default::default()
        });
        r.with_bookkeeping(Keep::Internal, |obj| {
            obj["metadata"]
                .as_object_mut()
                .unwrap()
                .remove("annotations");
        })
        .unwrap();
        assert_eq!(r.prev_ids.len(), 1);
        assert!(r.origin.is_none());
    }

    #[test]
    fn bookkeeping_written_in_a_file_is_obeyed() {
        let mut r = cm();
        r.obj_mut()["metadata"]["annotations"] = json!({
            "internal.config.kubernetes.io/needsHashSuffix": "enabled",
            "internal.config.kubernetes.io/previousNames": "old",
            "internal.config.kubernetes.io/previousNamespaces": "default",
            "internal.config.kubernetes.io/previousKinds": "ConfigMap",
            "keep": "me",
        });
        r.adopt_bookkeeping().unwrap();
        assert!(r.generated.is_some_and(|g| g.needs_hash));
        assert_eq!(r.org_id().name, "old");
        assert_eq!(r.obj()["metadata"]["annotations"], json!({"keep": "me"}));
    }

    #[test]
    fn previous_id_lists_of_different_lengths_are_an_error() {
        let mut r = cm();
        r.obj_mut()["metadata"]["annotations"] = json!({
            "internal.config.kubernetes.io/previousNames": "a,b",
            "internal.config.kubernetes.io/previousNamespaces": "default",
            "internal.config.kubernetes.io/previousKinds": "ConfigMap",
        });
        assert!(r.adopt_bookkeeping().is_err());
    }

    #[test]
    fn an_origin_written_by_a_patch_is_read() {
        let o = origin_from_yaml("configuredIn: k.yaml\nconfiguredBy:\n  kind: X\n").unwrap();
        assert_eq!(o.configured_in, "k.yaml");
        assert_eq!(o.configured_by[1], "X");
    }
}
