//! Embedded Kubernetes facts kustomize v5.5.0 uses: which kinds are cluster-scoped, and,
//! for strategic merge patches, the schema of every built-in type (which field holds which
//! type, and each list's patch strategy and merge keys).
//!
//! The data comes from `fixtures/schema/kubernetes-v1.21.2.json`, itself decoded from the
//! OpenAPI document kustomize embeds; `fixtures/schema/gen_table.py` turns it into the
//! static tables in `table.rs` (a test checks the two agree). A kustomization's
//! `openapi: {path: …}` file replaces the built-in definitions: [`Schema::from_openapi`].
//!
//! Lookup follows kyaml (`kyaml/openapi/openapi.go`): a resource's type is found by exact
//! `apiVersion` + `kind` ([`Schema::type_for`]); [`TypeRef::field`] uses `properties`, then
//! `additionalProperties`, with `$ref`s resolved (a property's own extensions are lost when
//! it is a `$ref`, as in kyaml); [`TypeRef::items`] works only for `type: array`. A list is
//! merged by key when its patch strategy contains `merge` ([`TypeRef::is_associative`]);
//! its keys are the list-map-keys, else the merge key ([`TypeRef::merge_keys`]).
//!
//! What this module does not own: walking a document with the schema (that is
//! `patch::smp`), and reading the `openapi:` file (the pipeline parses it and hands over the
//! document).
//!
//! One known simplification: properties of plain scalar type (`string`, `integer`, …) are
//! not in the built-in table. kyaml would hand such a field an (empty) schema, which only
//! matters if a document puts a map with its own `apiVersion`/`kind` where a scalar
//! belongs: kyaml would then not look that nested type up, rustomize does.

mod model;
mod openapi;
mod table;

use std::borrow::Cow;

use model::{Prop, Shape, TypeEntry, NONE, UNRESOLVED};

/// kustomize's hand-kept `precomputedIsNamespaceScoped` table, which it consults first,
/// always, even with a custom schema. `Some(true)` = namespaced.
fn precomputed_scope(api_version: &str, kind: &str) -> Option<bool> {
    precomputed_scope_of(&[api_version, "/", kind])
}

/// [`precomputed_scope`] for the table key written as the concatenation of `parts`
/// (`apps`, `/`, `v1`, `/`, `Deployment`), compared without building it: ids are checked
/// for their scope on every lookup.
fn precomputed_scope_of(parts: &[&str]) -> Option<bool> {
    let cmp = |entry: &&str| entry.bytes().cmp(parts.iter().flat_map(|p| p.bytes()));
    if table::CLUSTER_SCOPED.binary_search_by(cmp).is_ok() {
        Some(false)
    } else if table::NAMESPACED.binary_search_by(cmp).is_ok() {
        Some(true)
    } else {
        None
    }
}

/// [`is_cluster_scoped`] for a gvk given as its parts.
pub fn is_cluster_scoped_gvk(group: &str, version: &str, kind: &str) -> bool {
    let scope = if group.is_empty() {
        precomputed_scope_of(&[version, "/", kind])
    } else {
        precomputed_scope_of(&[group, "/", version, "/", kind])
    };
    scope == Some(false)
}

/// A set of type definitions to merge with: the built-in Kubernetes one, or a custom
/// `openapi:` schema (which replaces it, plus kustomize's own Kustomization types).
#[derive(Debug, Clone)]
pub struct Schema {
    shapes: Cow<'static, [Shape]>,
    props: Cow<'static, [Prop]>,
    keys: Cow<'static, [Cow<'static, str>]>,
    /// Sorted by (apiVersion, kind) as bytes.
    types: Cow<'static, [TypeEntry]>,
    /// Scope derived from a custom schema's `paths` (`findNamespaceability`), sorted by
    /// (apiVersion, kind); `true` = namespaced. Empty for the built-in schema, whose scope
    /// is the precomputed table.
    path_scope: Vec<(String, String, bool)>,
}

static BUILTIN: Schema = Schema {
    shapes: Cow::Borrowed(table::SHAPES),
    props: Cow::Borrowed(table::PROPS),
    keys: Cow::Borrowed(table::KEYS),
    types: Cow::Borrowed(table::TYPES),
    path_scope: Vec::new(),
};

impl Schema {
    /// The schema kustomize v5.5.0 embeds: Kubernetes v1.21.2 plus the Kustomization types.
    pub fn builtin() -> &'static Schema {
        &BUILTIN
    }

    /// The type of a resource, by exact `apiVersion` and `kind` (kyaml's
    /// `SchemaForResourceType`): `apps/v1` + `Deployment`, core types as `v1` + `Pod`.
    pub fn type_for(&self, api_version: &str, kind: &str) -> Option<TypeRef<'_>> {
        let i = self
            .types
            .binary_search_by(|t| {
                (t.api_version.as_bytes(), t.kind.as_bytes())
                    .cmp(&(api_version.as_bytes(), kind.as_bytes()))
            })
            .ok()?;
        let shape = self.types.get(i)?.shape;
        self.type_ref(shape)
    }

    /// kustomize's `IsNamespaceScoped`: `Some(true)` namespaced, `Some(false)`
    /// cluster-scoped, `None` unknown (which kustomize treats as namespaced). The
    /// precomputed built-in table wins, even over a custom schema's `paths`.
    pub fn is_namespace_scoped(&self, api_version: &str, kind: &str) -> Option<bool> {
        if let Some(scoped) = precomputed_scope(api_version, kind) {
            return Some(scoped);
        }
        let i = self
            .path_scope
            .binary_search_by(|(a, k, _)| {
                (a.as_bytes(), k.as_bytes()).cmp(&(api_version.as_bytes(), kind.as_bytes()))
            })
            .ok()?;
        self.path_scope.get(i).map(|(_, _, namespaced)| *namespaced)
    }

    /// kustomize's `IsCertainlyClusterScoped`: known, and not namespaced.
    pub fn is_cluster_scoped(&self, api_version: &str, kind: &str) -> bool {
        self.is_namespace_scoped(api_version, kind) == Some(false)
    }

    fn type_ref(&self, shape: u32) -> Option<TypeRef<'_>> {
        if shape == NONE || shape == UNRESOLVED || shape as usize >= self.shapes.len() {
            return None;
        }
        Some(TypeRef {
            schema: self,
            shape,
        })
    }
}

/// The schema of one node during a merge (kyaml's `ResourceSchema`), `$ref`s resolved.
#[derive(Clone, Copy)]
pub struct TypeRef<'s> {
    schema: &'s Schema,
    shape: u32,
}

impl std::fmt::Debug for TypeRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TypeRef")
            .field("shape", &self.shape)
            .field("array", &self.data().array)
            .field("strategy", &self.patch_strategy())
            .finish()
    }
}

static EMPTY_SHAPE: Shape = model::s(false, 0, 0, NONE, NONE, "", None, None);

impl<'s> TypeRef<'s> {
    fn data(&self) -> &'s Shape {
        self.schema
            .shapes
            .get(self.shape as usize)
            .unwrap_or(&EMPTY_SHAPE)
    }

    /// The schema of a map field (kyaml's `ResourceSchema.Field`): the named property if
    /// there is one, else the `additionalProperties` schema, else none.
    pub fn field(&self, name: &str) -> Option<TypeRef<'s>> {
        let shape = self.data();
        let (first, count) = (shape.props.0 as usize, shape.props.1 as usize);
        let props = self.schema.props.get(first..first + count).unwrap_or(&[]);
        match props.binary_search_by(|p| p.name.as_bytes().cmp(name.as_bytes())) {
            Ok(i) => self.schema.type_ref(props.get(i)?.shape),
            Err(_) => self.schema.type_ref(shape.additional),
        }
    }

    /// The schema of a list's elements (kyaml's `ResourceSchema.Elements`): only for
    /// `type: array`.
    pub fn items(&self) -> Option<TypeRef<'s>> {
        let shape = self.data();
        if !shape.array {
            return None;
        }
        self.schema.type_ref(shape.items)
    }

    /// `x-kubernetes-patch-strategy`, e.g. `merge` or `merge,retainKeys`.
    pub fn patch_strategy(&self) -> Option<&'s str> {
        let s = &self.data().strategy;
        (!s.is_empty()).then_some(s.as_ref())
    }

    /// `x-kubernetes-patch-merge-key`.
    pub fn merge_key(&self) -> Option<&'s str> {
        self.data().merge_key.as_deref()
    }

    /// `x-kubernetes-list-map-keys`.
    pub fn list_map_keys(&self) -> Option<&'s [Cow<'static, str>]> {
        let (first, count) = self.data().list_map_keys?;
        self.schema
            .keys
            .get(first as usize..first as usize + count as usize)
    }

    /// kyaml's `IsAssociative` with a schema: the patch strategy, split on `,`, contains
    /// `merge`. Only such lists are merged element by element; every other list is
    /// replaced by the patch's list.
    pub fn is_associative(&self) -> bool {
        self.patch_strategy()
            .is_some_and(|s| s.split(',').any(|part| part == "merge"))
    }

    /// kyaml's `PatchStrategyAndKeyList`: no strategy, no keys; else the list-map-keys
    /// when present (they win over the merge key: `Container.ports` is keyed by
    /// `[containerPort, protocol]`), else the merge key, else none (a list of plain
    /// values merged by value, such as `finalizers`).
    pub fn merge_keys(&self) -> Vec<&'s str> {
        if self.patch_strategy().is_none() {
            return Vec::new();
        }
        if let Some(keys) = self.list_map_keys() {
            return keys.iter().map(|k| k.as_ref()).collect();
        }
        self.merge_key().into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod_spec() -> TypeRef<'static> {
        Schema::builtin()
            .type_for("apps/v1", "Deployment")
            .and_then(|t| t.field("spec"))
            .and_then(|t| t.field("template"))
            .and_then(|t| t.field("spec"))
            .expect("Deployment.spec.template.spec")
    }

    #[test]
    fn table_is_sorted_and_knows_namespaces() {
        assert!(table::CLUSTER_SCOPED.windows(2).all(|w| w[0] < w[1]));
        assert!(table::NAMESPACED.windows(2).all(|w| w[0] < w[1]));
        assert!(is_cluster_scoped_gvk("", "v1", "Namespace"));
        assert!(is_cluster_scoped_gvk(
            "rbac.authorization.k8s.io",
            "v1",
            "ClusterRole"
        ));
        assert!(!is_cluster_scoped_gvk("", "v1", "ConfigMap"));
        assert!(!is_cluster_scoped_gvk("example.com", "v1", "Namespace"));
        // Every table entry is found by its parts, as by its whole text.
        for entry in table::CLUSTER_SCOPED.iter().chain(table::NAMESPACED) {
            let (api_version, kind) = entry.rsplit_once('/').unwrap();
            let (group, version) = crate::resource::Gvk::parse_api_version(api_version);
            let whole = precomputed_scope(api_version, kind);
            assert!(whole.is_some(), "{entry}");
            assert_eq!(
                is_cluster_scoped_gvk(group, version, kind),
                whole == Some(false),
                "{entry}"
            );
        }
        assert_eq!(table::CLUSTER_SCOPED.len(), 36);
        assert_eq!(table::NAMESPACED.len(), 46);
    }

    #[test]
    fn types_are_sorted_for_binary_search() {
        assert!(table::TYPES.windows(2).all(|w| {
            (w[0].api_version.as_bytes(), w[0].kind.as_bytes())
                < (w[1].api_version.as_bytes(), w[1].kind.as_bytes())
        }));
    }

    #[test]
    fn pod_spec_containers_merge_by_name() {
        let containers = pod_spec().field("containers").expect("containers");
        assert!(containers.is_associative());
        assert_eq!(containers.merge_key(), Some("name"));
        assert_eq!(containers.merge_keys(), vec!["name"]);
        let container = containers.items().expect("Container");
        assert_eq!(
            container.field("volumeMounts").map(|t| t.merge_keys()),
            Some(vec!["mountPath"])
        );
        assert_eq!(
            container.field("env").map(|t| t.merge_keys()),
            Some(vec!["name"])
        );
    }

    #[test]
    fn list_map_keys_win_over_the_merge_key() {
        let ports = pod_spec()
            .field("containers")
            .and_then(|t| t.items())
            .and_then(|t| t.field("ports"))
            .expect("Container.ports");
        assert_eq!(ports.merge_key(), Some("containerPort"));
        assert_eq!(ports.merge_keys(), vec!["containerPort", "protocol"]);
        let service_ports = Schema::builtin()
            .type_for("v1", "Service")
            .and_then(|t| t.field("spec"))
            .and_then(|t| t.field("ports"))
            .expect("ServiceSpec.ports");
        assert_eq!(service_ports.merge_keys(), vec!["port", "protocol"]);
    }

    #[test]
    fn volumes_strategy_merge_retain_keys_is_associative() {
        let volumes = pod_spec().field("volumes").expect("volumes");
        assert_eq!(volumes.patch_strategy(), Some("merge,retainKeys"));
        assert!(volumes.is_associative());
    }

    #[test]
    fn finalizers_are_a_list_of_values() {
        let finalizers = Schema::builtin()
            .type_for("v1", "ConfigMap")
            .and_then(|t| t.field("metadata"))
            .and_then(|t| t.field("finalizers"))
            .expect("finalizers");
        assert!(finalizers.is_associative());
        assert!(finalizers.merge_keys().is_empty());
    }

    #[test]
    fn ref_drops_the_property_extensions() {
        // DeploymentSpec.strategy is `$ref` + `retainKeys`; kyaml keeps only the target.
        let strategy = Schema::builtin()
            .type_for("apps/v1", "Deployment")
            .and_then(|t| t.field("spec"))
            .and_then(|t| t.field("strategy"))
            .expect("strategy");
        assert_eq!(strategy.patch_strategy(), None);
    }

    #[test]
    fn lists_without_merge_strategy_are_not_associative() {
        let args = pod_spec()
            .field("containers")
            .and_then(|t| t.items())
            .and_then(|t| t.field("args"))
            .expect("args");
        assert!(!args.is_associative());
        // CRD conditions have list-map-keys but no strategy: replaced whole.
        let conditions = Schema::builtin()
            .type_for("apiextensions.k8s.io/v1", "CustomResourceDefinition")
            .and_then(|t| t.field("status"))
            .and_then(|t| t.field("conditions"));
        assert!(conditions.is_some_and(|c| !c.is_associative()));
    }

    #[test]
    fn maps_use_additional_properties() {
        let labels = Schema::builtin()
            .type_for("v1", "ConfigMap")
            .and_then(|t| t.field("metadata"))
            .and_then(|t| t.field("labels"))
            .expect("labels");
        // Any key of a map[string]string gets the (opaque) string schema.
        assert!(labels.field("anything").is_some());
        let limits = pod_spec()
            .field("containers")
            .and_then(|t| t.items())
            .and_then(|t| t.field("resources"))
            .and_then(|t| t.field("limits"));
        assert!(limits.and_then(|l| l.field("cpu")).is_some());
    }

    #[test]
    fn unknown_types_and_fields_have_no_schema() {
        assert!(Schema::builtin()
            .type_for("example.com/v1", "Foo")
            .is_none());
        assert!(Schema::builtin().type_for("apps/v1", "Pod").is_none());
        assert!(pod_spec().field("noSuchField").is_none());
    }

    #[test]
    fn kustomization_types_are_built_in() {
        let k = Schema::builtin()
            .type_for("kustomize.config.k8s.io/v1beta1", "Kustomization")
            .and_then(|t| t.field("configMapGenerator"))
            .expect("configMapGenerator");
        assert_eq!(k.merge_keys(), vec!["name"]);
    }

    #[test]
    fn committed_table_matches_the_generator() {
        // The generator is the source of truth; skip quietly where python3 is missing.
        let root = env!("CARGO_MANIFEST_DIR");
        let script = format!("{root}/fixtures/schema/gen_table.py");
        match std::process::Command::new("python3")
            .arg(&script)
            .arg("--check")
            .output()
        {
            Ok(out) => assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            ),
            Err(_) => eprintln!("python3 not found; table check skipped"),
        }
    }
}
