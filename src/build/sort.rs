//! Output order: kustomize's legacy kind order, `sortOptions`, `--reorder`.

use std::cmp::Ordering;
use std::collections::HashMap;

use crate::resource::{Gvk, ResId, ResMap};

/// kustomize's default `orderFirst`: these kinds come first, in this order.
pub const ORDER_FIRST: &[&str] = &[
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];

/// kustomize's default `orderLast`.
pub const ORDER_LAST: &[&str] = &[
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// Rank of each kind: `orderFirst` negative, unknown 0, `orderLast` positive.
pub struct TypeOrder(HashMap<String, i64>);

impl TypeOrder {
    pub fn new(first: &[impl AsRef<str>], last: &[impl AsRef<str>]) -> TypeOrder {
        let mut m = HashMap::new();
        for (i, k) in first.iter().enumerate() {
            m.insert(k.as_ref().to_string(), i as i64 - first.len() as i64);
        }
        for (i, k) in last.iter().enumerate() {
            m.insert(k.as_ref().to_string(), 1 + i as i64);
        }
        TypeOrder(m)
    }

    pub fn legacy() -> TypeOrder {
        TypeOrder::new(ORDER_FIRST, ORDER_LAST)
    }

    fn rank(&self, kind: &str) -> i64 {
        self.0.get(kind).copied().unwrap_or(0)
    }
}

fn gvk_sort_string(g: &Gvk) -> String {
    let or = |s: &str, d: &'static str| {
        if s.is_empty() {
            d.to_string()
        } else {
            s.to_string()
        }
    };
    format!(
        "{}_{}_{}",
        or(&g.group, "~G"),
        or(&g.version, "~V"),
        or(&g.kind, "~K")
    )
}

/// kustomize's `Gvk.IsLessThan` as an ordering (used for config tables).
pub fn gvk_order(a: &Gvk, b: &Gvk) -> Ordering {
    thread_local! {
        static LEGACY: TypeOrder = TypeOrder::legacy();
    }
    LEGACY.with(|o| {
        let (ra, rb) = (o.rank(&a.kind), o.rank(&b.kind));
        ra.cmp(&rb)
            .then_with(|| gvk_sort_bytes(a).cmp(gvk_sort_bytes(b)))
    })
}

/// The bytes of [`gvk_sort_string`], without building the string.
fn gvk_sort_bytes(g: &Gvk) -> impl Iterator<Item = u8> + '_ {
    fn part<'a>(s: &'a str, default: &'static str) -> &'a str {
        if s.is_empty() {
            default
        } else {
            s
        }
    }
    part(&g.group, "~G")
        .bytes()
        .chain(*b"_")
        .chain(part(&g.version, "~V").bytes())
        .chain(*b"_")
        .chain(part(&g.kind, "~K").bytes())
}

fn id_sort_string(id: &ResId) -> String {
    let ns = if id.namespace.is_empty() {
        "~X"
    } else {
        &id.namespace
    };
    let name = if id.name.is_empty() { "~N" } else { &id.name };
    format!("{}|{}|{}", id.gvk, ns, name)
}

/// The legacy sort: by kind rank, then gvk, then namespace and name.
pub fn legacy_sort(m: &mut ResMap, order: &TypeOrder) {
    let mut keyed: Vec<(i64, String, String, usize)> = m
        .resources()
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let id = r.cur_id();
            (
                order.rank(&id.gvk.kind),
                gvk_sort_string(&id.gvk),
                id_sort_string(&id),
                i,
            )
        })
        .collect();
    let kinds: Vec<(String, String)> = m
        .resources()
        .iter()
        .map(|r| (r.kind().to_string(), r.gvk().group))
        .collect();
    keyed.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| {
                if a.1 == b.1 {
                    return Ordering::Equal;
                }
                let (ka, ga) = &kinds[a.3];
                let (kb, gb) = &kinds[b.3];
                // kustomize reverses the gvk comparison between two Namespace kinds when one
                // is in the core group.
                if ka == "Namespace" && kb == "Namespace" && (ga.is_empty() || gb.is_empty()) {
                    b.1.cmp(&a.1)
                } else {
                    a.1.cmp(&b.1)
                }
            })
            .then_with(|| a.2.cmp(&b.2))
    });
    let order: Vec<usize> = keyed.into_iter().map(|k| k.3).collect();
    let items: Vec<_> = std::mem::take(m).into_resources();
    let mut slots: Vec<Option<_>> = items.into_iter().map(Some).collect();
    let sorted = order
        .into_iter()
        .filter_map(|old| slots[old].take())
        .collect();
    *m = ResMap::from_resources(sorted);
}
