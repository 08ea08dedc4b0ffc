//! Embedded Kubernetes facts kustomize v5.5.0 uses: which kinds are cluster-scoped, and
//! (for strategic merge patches) merge keys and patch strategies per field.
//!
//! The data comes from `fixtures/schema/kubernetes-v1.21.2.json`, itself decoded from the
//! OpenAPI document kustomize embeds.

/// `group/version/Kind` (core group: `version/Kind`) of every built-in cluster-scoped type.
/// Sorted, for binary search.
const CLUSTER_SCOPED: &[&str] = &[
    "admissionregistration.k8s.io/v1/MutatingWebhookConfiguration",
    "admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration",
    "admissionregistration.k8s.io/v1beta1/MutatingWebhookConfiguration",
    "admissionregistration.k8s.io/v1beta1/ValidatingWebhookConfiguration",
    "apiextensions.k8s.io/v1/CustomResourceDefinition",
    "apiextensions.k8s.io/v1beta1/CustomResourceDefinition",
    "apiregistration.k8s.io/v1/APIService",
    "apiregistration.k8s.io/v1beta1/APIService",
    "certificates.k8s.io/v1/CertificateSigningRequest",
    "certificates.k8s.io/v1beta1/CertificateSigningRequest",
    "flowcontrol.apiserver.k8s.io/v1beta1/FlowSchema",
    "flowcontrol.apiserver.k8s.io/v1beta1/PriorityLevelConfiguration",
    "networking.k8s.io/v1/IngressClass",
    "networking.k8s.io/v1beta1/IngressClass",
    "node.k8s.io/v1/RuntimeClass",
    "node.k8s.io/v1beta1/RuntimeClass",
    "policy/v1beta1/PodSecurityPolicy",
    "rbac.authorization.k8s.io/v1/ClusterRole",
    "rbac.authorization.k8s.io/v1/ClusterRoleBinding",
    "rbac.authorization.k8s.io/v1beta1/ClusterRole",
    "rbac.authorization.k8s.io/v1beta1/ClusterRoleBinding",
    "scheduling.k8s.io/v1/PriorityClass",
    "scheduling.k8s.io/v1beta1/PriorityClass",
    "storage.k8s.io/v1/CSIDriver",
    "storage.k8s.io/v1/CSINode",
    "storage.k8s.io/v1/StorageClass",
    "storage.k8s.io/v1/VolumeAttachment",
    "storage.k8s.io/v1beta1/CSIDriver",
    "storage.k8s.io/v1beta1/CSINode",
    "storage.k8s.io/v1beta1/StorageClass",
    "storage.k8s.io/v1beta1/VolumeAttachment",
    "v1/ComponentStatus",
    "v1/Namespace",
    "v1/Node",
    "v1/NodeProxyOptions",
    "v1/PersistentVolume",
];

/// kustomize's `IsCertainlyClusterScoped`: `true` only for built-in cluster-scoped types.
/// Unknown kinds (CRDs, custom resources) count as namespaced.
pub fn is_cluster_scoped(api_version: &str, kind: &str) -> bool {
    let mut key = String::with_capacity(api_version.len() + kind.len() + 1);
    key.push_str(api_version);
    key.push('/');
    key.push_str(kind);
    CLUSTER_SCOPED.binary_search(&key.as_str()).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_knows_namespaces() {
        assert!(CLUSTER_SCOPED.windows(2).all(|w| w[0] < w[1]));
        assert!(is_cluster_scoped("v1", "Namespace"));
        assert!(is_cluster_scoped(
            "rbac.authorization.k8s.io/v1",
            "ClusterRole"
        ));
        assert!(!is_cluster_scoped("v1", "ConfigMap"));
        assert!(!is_cluster_scoped("example.com/v1", "Namespace"));
    }
}
