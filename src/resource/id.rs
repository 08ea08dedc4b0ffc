//! Resource ids as kustomize forms and compares them: group/version/kind, name and
//! namespace, with cluster-scoped kinds (from the schema) compared without a namespace.

use std::fmt;

use crate::schema;

/// Group, version, kind.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Gvk {
    /// The API group; empty for the core group (`v1`).
    pub group: String,
    /// The API version (`v1`, `v1beta1`).
    pub version: String,
    /// The kind (`Deployment`).
    pub kind: String,
}

impl Gvk {
    /// A gvk from its three parts.
    pub fn new(group: &str, version: &str, kind: &str) -> Gvk {
        Gvk {
            group: group.to_string(),
            version: version.to_string(),
            kind: kind.to_string(),
        }
    }

    /// Splits an `apiVersion` into group and version (`v1` → `("", "v1")`).
    pub fn parse_api_version(api_version: &str) -> (&str, &str) {
        match api_version.find('/') {
            Some(i) => (&api_version[..i], &api_version[i + 1..]),
            None => ("", api_version),
        }
    }

    /// A gvk from an `apiVersion` (`apps/v1`) and a kind.
    pub fn from_api_version(api_version: &str, kind: &str) -> Gvk {
        let (g, v) = Gvk::parse_api_version(api_version);
        Gvk::new(g, v, kind)
    }

    /// The `apiVersion` this gvk is written as (`apps/v1`, `v1`).
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// Whether the kind has no namespace, by the Kubernetes schema kustomize embeds (kinds
    /// it does not know are namespaced).
    pub fn is_cluster_scoped(&self) -> bool {
        schema::is_cluster_scoped_gvk(&self.group, &self.version, &self.kind)
    }

    /// kustomize's `Gvk.IsSelected`: every non-empty part of `selector` must match.
    pub fn is_selected_by(&self, selector: &Gvk) -> bool {
        (selector.group.is_empty() || selector.group == self.group)
            && (selector.version.is_empty() || selector.version == self.version)
            && (selector.kind.is_empty() || selector.kind == self.kind)
    }
}

impl fmt::Display for Gvk {
    /// kustomize's `Gvk.String()`: `Kind.version.group` with placeholders for empty parts.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let or = |s: &str, d: &'static str| {
            if s.is_empty() {
                d.to_string()
            } else {
                s.to_string()
            }
        };
        write!(
            f,
            "{}.{}.{}",
            or(&self.kind, "[noKind]"),
            or(&self.version, "[noVer]"),
            or(&self.group, "[noGrp]")
        )
    }
}

/// The namespace an id without one is compared in.
pub const DEFAULT_NAMESPACE: &str = "default";
/// kustomize's stand-in namespace for cluster-scoped ids.
pub const NOT_NAMESPACEABLE: &str = "_non_namespaceable_";

/// A resource id: gvk, name, namespace.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ResId {
    /// Group, version, kind.
    pub gvk: Gvk,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace` as written (empty when absent).
    pub namespace: String,
}

impl ResId {
    /// An id from its parts.
    pub fn new(gvk: Gvk, name: &str, namespace: &str) -> ResId {
        ResId {
            gvk,
            name: name.to_string(),
            namespace: namespace.to_string(),
        }
    }

    /// Cluster-scoped ids have no namespace; an empty namespace means `default`.
    pub fn effective_namespace(&self) -> &str {
        if self.gvk.is_cluster_scoped() {
            NOT_NAMESPACEABLE
        } else if self.namespace.is_empty() || self.namespace == DEFAULT_NAMESPACE {
            DEFAULT_NAMESPACE
        } else {
            &self.namespace
        }
    }

    /// kustomize's `ResId.Equals`: same gvk and name, same effective namespace.
    pub fn equals(&self, o: &ResId) -> bool {
        self.name == o.name
            && self.gvk == o.gvk
            && self.effective_namespace() == o.effective_namespace()
    }

    /// kustomize's `IsSelectedBy` for plain (non-regex) selectors.
    pub fn is_selected_by(&self, selector: &ResId) -> bool {
        (selector.name.is_empty() || selector.name == self.name)
            && (selector.namespace.is_empty()
                || selector.effective_namespace() == self.effective_namespace())
            && self.gvk.is_selected_by(&selector.gvk)
    }
}

impl fmt::Display for ResId {
    /// kustomize's `ResId.String()`: `Kind.version.group/name.namespace`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = if self.namespace.is_empty() {
            "[noNs]"
        } else {
            &self.namespace
        };
        let name = if self.name.is_empty() {
            "[noName]"
        } else {
            &self.name
        };
        write!(f, "{}/{}.{}", self.gvk, name, ns)
    }
}

/// Equality key of an id (gvk, name, effective namespace).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct IdKey {
    pub(crate) gvk: Gvk,
    pub(crate) name: String,
    pub(crate) namespace: String,
}

/// A remembered earlier identity: kustomize stores kind, name and namespace, and rebuilds
/// the id with the resource's *current* group and version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PrevId {
    pub(crate) kind: String,
    pub(crate) name: String,
    pub(crate) namespace: String,
}
