//! A custom schema from a kustomization's `openapi: {path: file}` field.
//!
//! kustomize (`kyaml/openapi/openapi.go` `initSchema`) parses the file *instead of* the
//! built-in Kubernetes schema, then adds its own `kustomizationapi` definitions on top;
//! built-in kinds lose their merge keys unless the file describes them (as a file from
//! `kustomize openapi fetch` does). From the swagger 2 document it uses:
//!
//! - `definitions`, indexed by each `x-kubernetes-group-version-kind` entry (the apiVersion
//!   is `version`, or `group/version`); `$ref`s (`#/definitions/<name>`) resolve against
//!   all definitions, repeatedly, and a `$ref` that does not resolve means "no schema";
//! - `paths`, for namespace scope (`findNamespaceability`): a path whose `get` operation
//!   names a GVK makes that GVK namespaced if the path contains `namespaces/{namespace}`,
//!   else cluster-scoped unless another path made it namespaced.
//!
//! Where Go iterates a map (two custom definitions claiming one GVK), the choice here is
//! deterministic: the definition whose name sorts last wins.
//!
//! When the field is set only in a sub-kustomization, kustomize merges the custom schema
//! with the built-in one ([`Schema::from_openapi_with_builtin`]); set at the top, the
//! custom schema replaces it ([`Schema::from_openapi`]).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value};

use super::model::{Prop, Shape, TypeEntry, NONE, UNRESOLVED};
use super::{table, Schema};

/// A custom `openapi:` document kustomize could not use either.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    #[error("the OpenAPI document is not a map")]
    NotAMap,
    #[error("the OpenAPI document's `{field}` is not a map")]
    FieldNotAMap { field: String },
    #[error("OpenAPI schema {location}: `{extension}` must be {expected}")]
    BadExtension {
        location: String,
        extension: &'static str,
        expected: &'static str,
    },
    #[error("OpenAPI schema {location}: `properties` must be a map")]
    PropertiesNotAMap { location: String },
    #[error("OpenAPI schema {location}: `$ref` must be a string")]
    RefNotAString { location: String },
    #[error("kustomize's own definitions could not be read: {0}")]
    Embedded(String),
}

const STRATEGY: &str = "x-kubernetes-patch-strategy";
const MERGE_KEY: &str = "x-kubernetes-patch-merge-key";
const LIST_MAP_KEYS: &str = "x-kubernetes-list-map-keys";
const GVK: &str = "x-kubernetes-group-version-kind";

impl Schema {
    /// Builds the schema kustomize uses when a kustomization sets `openapi: {path: …}`:
    /// the document's definitions (a swagger 2 document, JSON or YAML already read into a
    /// `Value`) plus kustomize's own Kustomization types, and namespace scope from its
    /// `paths`.
    pub fn from_openapi(doc: &Value) -> Result<Schema, SchemaError> {
        Schema::from_definitions(doc, None)
    }
}

impl Schema {
    /// The schema kustomize ends up with when `openapi: {path: …}` is set in a
    /// sub-kustomization rather than at the top: kustomize has already scheduled the
    /// built-in schema, parses it after the custom one, and keeps both (built-in definitions
    /// win on name and GVK clashes). Fixture TestCustomOpenApiFieldFromComponentWithOverlays:
    /// a custom DeploymentConfig whose template `$ref`s the built-in PodTemplateSpec.
    pub fn from_openapi_with_builtin(doc: &Value) -> Result<Schema, SchemaError> {
        Schema::from_definitions(doc, Some(&builtin_definitions()?))
    }

    /// A schema from a custom document's definitions, `builtin`'s (when given) and the
    /// embedded Kustomization types, collected in that order.
    fn from_definitions(doc: &Value, builtin: Option<&Value>) -> Result<Schema, SchemaError> {
        let doc = doc.as_object().ok_or(SchemaError::NotAMap)?;
        let embedded: Value = serde_json::from_str(table::KUSTOMIZATION_SWAGGER)
            .map_err(|e| SchemaError::Embedded(e.to_string()))?;
        let mut defs: Vec<(&str, &Map<String, Value>)> = Vec::new();
        collect_definitions(doc, &mut defs)?;
        for extra in [builtin, Some(&embedded)].into_iter().flatten() {
            if let Some(m) = extra.as_object() {
                collect_definitions(m, &mut defs)?;
            }
        }
        let mut builder = Builder::new(&defs);
        builder.build()?;
        let path_scope = find_namespaceability(doc)?;
        Ok(Schema {
            shapes: Cow::Owned(builder.shapes),
            props: Cow::Owned(builder.props),
            keys: Cow::Owned(builder.keys),
            types: Cow::Owned(builder.types),
            path_scope,
        })
    }
}

/// The built-in definitions as a swagger document, rebuilt from the decoded facts in
/// `fixtures/schema` (embedded; parsed only when a merged schema is needed).
fn builtin_definitions() -> Result<Value, SchemaError> {
    let facts: Value = serde_json::from_str(include_str!(
        "../../fixtures/schema/kubernetes-v1.21.2.json"
    ))
    .map_err(|e| SchemaError::Embedded(e.to_string()))?;
    fn to_swagger(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut out = Map::new();
                for (k, v) in m {
                    match k.as_str() {
                        "ref" => {
                            if let Some(r) = v.as_str() {
                                out.insert(
                                    "$ref".into(),
                                    Value::String(format!("#/definitions/{r}")),
                                );
                            }
                        }
                        "gvk" => {
                            out.insert(GVK.into(), v.clone());
                        }
                        _ => {
                            out.insert(k.clone(), to_swagger(v));
                        }
                    }
                }
                Value::Object(out)
            }
            other => other.clone(),
        }
    }
    let defs = facts
        .get("definitions")
        .map(to_swagger)
        .unwrap_or(Value::Null);
    let mut doc = Map::new();
    doc.insert("definitions".into(), defs);
    Ok(Value::Object(doc))
}

fn collect_definitions<'a>(
    doc: &'a Map<String, Value>,
    out: &mut Vec<(&'a str, &'a Map<String, Value>)>,
) -> Result<(), SchemaError> {
    let Some(defs) = doc.get("definitions") else {
        return Ok(());
    };
    let defs = match defs {
        Value::Object(m) => m,
        Value::Null => return Ok(()),
        _ => {
            return Err(SchemaError::FieldNotAMap {
                field: "definitions".into(),
            })
        }
    };
    for (name, def) in defs {
        // A definition that is not a schema object has nothing a merge can use.
        if let Value::Object(m) = def {
            out.push((name.as_str(), m));
        }
    }
    Ok(())
}

/// `toTypeMeta`: `{group, version, kind}` → (apiVersion, kind). kustomize panics on a GVK
/// without string `version`/`kind`; such entries are skipped here.
fn type_meta(gvk: &Value) -> Option<(String, String)> {
    let m = gvk.as_object()?;
    let version = m.get("version")?.as_str()?;
    let kind = m.get("kind")?.as_str()?;
    let api_version = match m.get("group").and_then(Value::as_str) {
        Some(g) if !g.is_empty() => format!("{g}/{version}"),
        _ => version.to_string(),
    };
    Some((api_version, kind.to_string()))
}

fn find_namespaceability(
    doc: &Map<String, Value>,
) -> Result<Vec<(String, String, bool)>, SchemaError> {
    let mut scope: BTreeMap<(String, String), bool> = BTreeMap::new();
    let paths = match doc.get("paths") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Object(m)) => m,
        Some(_) => {
            return Err(SchemaError::FieldNotAMap {
                field: "paths".into(),
            })
        }
    };
    for (path, item) in paths {
        let Some(gvk) = item.get("get").and_then(|get| get.get(GVK)) else {
            continue;
        };
        let Some(type_meta) = type_meta(gvk) else {
            continue;
        };
        // A namespaced path wins; Go's map order does not matter for the result.
        if path.contains("namespaces/{namespace}") {
            scope.insert(type_meta, true);
        } else {
            scope.entry(type_meta).or_insert(false);
        }
    }
    Ok(scope.into_iter().map(|((a, k), n)| (a, k, n)).collect())
}

struct Builder<'a> {
    defs: &'a [(&'a str, &'a Map<String, Value>)],
    /// Later definitions overwrite earlier ones with the same name (`AddDefinitions`).
    by_name: HashMap<&'a str, usize>,
    def_shape: Vec<Option<u32>>,
    queue: Vec<usize>,
    shapes: Vec<Shape>,
    props: Vec<Prop>,
    keys: Vec<Cow<'static, str>>,
    types: Vec<TypeEntry>,
}

impl<'a> Builder<'a> {
    fn new(defs: &'a [(&'a str, &'a Map<String, Value>)]) -> Self {
        let mut by_name = HashMap::new();
        for (i, (name, _)) in defs.iter().enumerate() {
            by_name.insert(*name, i);
        }
        Builder {
            defs,
            by_name,
            def_shape: vec![None; defs.len()],
            queue: Vec::new(),
            shapes: Vec::new(),
            props: Vec::new(),
            keys: Vec::new(),
            types: Vec::new(),
        }
    }

    fn build(&mut self) -> Result<(), SchemaError> {
        let mut types: BTreeMap<(String, String), u32> = BTreeMap::new();
        for i in 0..self.defs.len() {
            let Some((_, def)) = self.defs.get(i) else {
                continue;
            };
            let Some(Value::Array(gvks)) = def.get(GVK) else {
                continue;
            };
            let mut metas = gvks.iter().filter_map(type_meta).peekable();
            if metas.peek().is_none() {
                continue;
            }
            let shape = self.definition(i);
            for meta in metas {
                types.insert(meta, shape);
            }
        }
        // Definitions are described from a queue, not recursively: a chain of `$ref`s can
        // be as long as the document, the stack cannot.
        while let Some(i) = self.queue.pop() {
            let (name, def) = match self.defs.get(i) {
                Some(d) => *d,
                None => continue,
            };
            let Some(id) = self.def_shape.get(i).copied().flatten() else {
                continue;
            };
            let shape = self.describe(def, name)?;
            if let Some(slot) = self.shapes.get_mut(id as usize) {
                *slot = shape;
            }
        }
        self.types = types
            .into_iter()
            .map(|((api_version, kind), shape)| TypeEntry {
                api_version: Cow::Owned(api_version),
                kind: Cow::Owned(kind),
                shape,
            })
            .collect();
        Ok(())
    }

    /// The shape of definition `i`, reserved now and described later from the queue.
    fn definition(&mut self, i: usize) -> u32 {
        if let Some(Some(id)) = self.def_shape.get(i) {
            return *id;
        }
        let id = self.shapes.len() as u32;
        self.shapes.push(empty_shape());
        if let Some(slot) = self.def_shape.get_mut(i) {
            *slot = Some(id);
        }
        self.queue.push(i);
        id
    }

    /// The shape a walker reaches through `schema` (a property, `items` or
    /// `additionalProperties`): a `$ref` is followed until a schema without one, as kyaml's
    /// `Field`/`Elements` do; otherwise the inline schema itself.
    fn child(&mut self, schema: &'a Value, location: &str) -> Result<u32, SchemaError> {
        let Some(m) = schema.as_object() else {
            return Ok(NONE);
        };
        if m.contains_key("$ref") {
            return self.resolve(m, location);
        }
        let shape = self.describe(m, location)?;
        self.shapes.push(shape);
        Ok(self.shapes.len() as u32 - 1)
    }

    fn resolve(
        &mut self,
        mut m: &'a Map<String, Value>,
        location: &str,
    ) -> Result<u32, SchemaError> {
        let mut seen = 0usize;
        while let Some(r) = m.get("$ref") {
            let r = r.as_str().ok_or_else(|| SchemaError::RefNotAString {
                location: location.to_string(),
            })?;
            let Some(i) = definition_name(r).and_then(|n| self.by_name.get(n.as_ref()).copied())
            else {
                return Ok(UNRESOLVED);
            };
            let Some((_, def)) = self.defs.get(i) else {
                return Ok(UNRESOLVED);
            };
            // A cycle of `$ref`s has no schema at its end (kyaml would loop forever).
            seen += 1;
            if seen > self.defs.len() {
                return Ok(UNRESOLVED);
            }
            if !def.contains_key("$ref") {
                return Ok(self.definition(i));
            }
            m = def;
        }
        Ok(UNRESOLVED)
    }

    fn describe(
        &mut self,
        m: &'a Map<String, Value>,
        location: &str,
    ) -> Result<Shape, SchemaError> {
        let array = match m.get("type") {
            Some(Value::String(t)) => t == "array",
            Some(Value::Array(ts)) => {
                ts.len() == 1 && ts.first().and_then(Value::as_str) == Some("array")
            }
            _ => false,
        };
        let mut props: Vec<Prop> = Vec::new();
        match m.get("properties") {
            None | Some(Value::Null) => {}
            Some(Value::Object(ps)) => {
                for (name, p) in ps {
                    let shape = self.child(p, &format!("{location}.{name}"))?;
                    if shape != NONE {
                        props.push(Prop {
                            name: Cow::Owned(name.clone()),
                            shape,
                        });
                    }
                }
            }
            Some(_) => {
                return Err(SchemaError::PropertiesNotAMap {
                    location: location.to_string(),
                })
            }
        }
        props.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
        let first = self.props.len() as u32;
        let count = props.len() as u32;
        self.props.extend(props);
        // `additionalProperties: true/false` carries no schema.
        let additional = match m.get("additionalProperties") {
            Some(v @ Value::Object(_)) => {
                self.child(v, &format!("{location}.additionalProperties"))?
            }
            _ => NONE,
        };
        // A tuple `items: [..]` has no single element schema.
        let items = match m.get("items") {
            Some(v @ Value::Object(_)) => self.child(v, &format!("{location}.items"))?,
            _ => NONE,
        };
        let strategy = match m.get(STRATEGY) {
            None => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(_) => return Err(bad_extension(location, STRATEGY, "a string")),
        };
        let merge_key = match m.get(MERGE_KEY) {
            None => None,
            Some(Value::String(s)) => Some(Cow::Owned(s.clone())),
            Some(_) => return Err(bad_extension(location, MERGE_KEY, "a string")),
        };
        let list_map_keys = match m.get(LIST_MAP_KEYS) {
            None => None,
            Some(Value::Array(ks)) => {
                let first = self.keys.len() as u32;
                for k in ks {
                    let k = k.as_str().ok_or_else(|| {
                        bad_extension(location, LIST_MAP_KEYS, "a list of strings")
                    })?;
                    self.keys.push(Cow::Owned(k.to_string()));
                }
                Some((first, ks.len() as u32))
            }
            Some(_) => return Err(bad_extension(location, LIST_MAP_KEYS, "a list of strings")),
        };
        Ok(Shape {
            array,
            props: (first, count),
            additional,
            items,
            strategy: Cow::Owned(strategy),
            merge_key,
            list_map_keys,
        })
    }
}

fn empty_shape() -> Shape {
    Shape {
        array: false,
        props: (0, 0),
        additional: NONE,
        items: NONE,
        strategy: Cow::Borrowed(""),
        merge_key: None,
        list_map_keys: None,
    }
}

fn bad_extension(location: &str, extension: &'static str, expected: &'static str) -> SchemaError {
    SchemaError::BadExtension {
        location: location.to_string(),
        extension,
        expected,
    }
}

/// `#/definitions/<name>` → `<name>` (JSON-pointer escapes undone). Other pointers are
/// not followed.
fn definition_name(r: &str) -> Option<Cow<'_, str>> {
    let name = r.strip_prefix("#/definitions/")?;
    if name.contains('/') {
        return None;
    }
    if name.contains('~') {
        return Some(Cow::Owned(name.replace("~1", "/").replace("~0", "~")));
    }
    Some(Cow::Borrowed(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({
            "swagger": "2.0",
            "definitions": {
                "com.example.v1.Widget": {
                    "type": "object",
                    "x-kubernetes-group-version-kind": [
                        {"group": "example.com", "version": "v1", "kind": "Widget"}
                    ],
                    "properties": {
                        "spec": {"$ref": "#/definitions/com.example.v1.WidgetSpec"},
                        "broken": {"$ref": "#/definitions/nope"},
                        "metadata": {"type": "object"}
                    },
                    "additionalProperties": {"type": "object"}
                },
                "com.example.v1.WidgetSpec": {
                    "type": "object",
                    "properties": {
                        "parts": {
                            "type": "array",
                            "items": {"$ref": "#/definitions/com.example.v1.Part"},
                            "x-kubernetes-patch-strategy": "merge",
                            "x-kubernetes-patch-merge-key": "id"
                        },
                        "self": {"$ref": "#/definitions/com.example.v1.WidgetSpec"}
                    }
                },
                "com.example.v1.Part": {"type": "object", "properties": {"id": {"type": "string"}}},
                "loop.A": {"$ref": "#/definitions/loop.B"},
                "loop.B": {"$ref": "#/definitions/loop.A"}
            },
            "paths": {
                "/apis/example.com/v1/namespaces/{namespace}/widgets/{name}": {
                    "get": {"x-kubernetes-group-version-kind": {"group": "example.com", "version": "v1", "kind": "Widget"}}
                },
                "/apis/example.com/v1/widgets": {
                    "get": {"x-kubernetes-group-version-kind": {"group": "example.com", "version": "v1", "kind": "Widget"}}
                },
                "/apis/example.com/v1/gadgets/{name}": {
                    "get": {"x-kubernetes-group-version-kind": {"group": "example.com", "version": "v1", "kind": "Gadget"}},
                    "post": {"x-kubernetes-group-version-kind": {"group": "example.com", "version": "v1", "kind": "Ignored"}}
                }
            }
        })
    }

    #[test]
    fn custom_definitions_are_found_by_gvk_and_refs_resolve() {
        let schema = Schema::from_openapi(&doc()).expect("schema");
        let widget = schema.type_for("example.com/v1", "Widget").expect("Widget");
        let parts = widget
            .field("spec")
            .and_then(|s| s.field("parts"))
            .expect("parts");
        assert_eq!(parts.merge_keys(), vec!["id"]);
        assert!(parts.items().and_then(|p| p.field("id")).is_some());
        // Recursive definitions are fine.
        assert!(widget
            .field("spec")
            .and_then(|s| s.field("self"))
            .and_then(|s| s.field("parts"))
            .is_some());
    }

    #[test]
    fn an_unresolved_ref_has_no_schema_and_no_fallback() {
        let schema = Schema::from_openapi(&doc()).expect("schema");
        let widget = schema.type_for("example.com/v1", "Widget").expect("Widget");
        assert!(widget.field("broken").is_none());
        // An unknown field falls back to additionalProperties.
        assert!(widget.field("other").is_some());
    }

    #[test]
    fn custom_schema_replaces_the_builtin_but_keeps_kustomization_types() {
        let schema = Schema::from_openapi(&doc()).expect("schema");
        assert!(schema.type_for("apps/v1", "Deployment").is_none());
        assert!(schema
            .type_for("kustomize.config.k8s.io/v1beta1", "Kustomization")
            .is_some());
    }

    #[test]
    fn scope_comes_from_get_paths_after_the_precomputed_table() {
        let schema = Schema::from_openapi(&doc()).expect("schema");
        assert_eq!(
            schema.is_namespace_scoped("example.com/v1", "Widget"),
            Some(true)
        );
        assert!(schema.is_cluster_scoped("example.com/v1", "Gadget"));
        assert_eq!(
            schema.is_namespace_scoped("example.com/v1", "Ignored"),
            None
        );
        // The precomputed table still answers for built-in kinds.
        assert!(schema.is_cluster_scoped("v1", "Namespace"));
        assert_eq!(schema.is_namespace_scoped("v1", "ConfigMap"), Some(true));
    }

    #[test]
    fn malformed_documents_are_errors() {
        assert_eq!(
            Schema::from_openapi(&json!([])).err(),
            Some(SchemaError::NotAMap)
        );
        let bad = json!({"definitions": {"x": {
            "x-kubernetes-group-version-kind": [{"version": "v1", "kind": "X"}],
            "properties": {"l": {"type": "array", "x-kubernetes-patch-strategy": 3}}
        }}});
        assert!(matches!(
            Schema::from_openapi(&bad),
            Err(SchemaError::BadExtension { .. })
        ));
    }

    #[test]
    fn ref_names_unescape_json_pointer() {
        assert_eq!(
            definition_name("#/definitions/a~1b~0c").as_deref(),
            Some("a/b~c")
        );
        assert_eq!(definition_name("#/definitions/a/properties/b"), None);
        assert_eq!(definition_name("other.json#/x"), None);
    }
}
