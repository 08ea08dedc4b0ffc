//! Values that are one YAML node in several places of a resource, as they are in kustomize.
//!
//! kustomize's label and annotation transformers make one scalar node per resource and key
//! (`filtersutil.SetEntry`) and put that very node into every map where they *create* the
//! key: `commonLabels: {app: web}` on a Deployment without labels leaves `metadata.labels.app`,
//! `spec.selector.matchLabels.app` and `spec.template.metadata.labels.app` sharing a node.
//! Where kyaml later sets an existing field it copies into the node in place
//! (`RNode.SetYNode`), so a later transformer that writes one of those places writes them
//! all: an overlay's `labels` without selectors, a strategic-merge patch of
//! `metadata.labels.app`, a replacement into one of them, or a var expanded in one of them
//! changes the selector too.
//!
//! A resource here is a plain tree, so each set of shared places is remembered as a list of
//! JSON pointers. Whatever kustomize does that builds new nodes in such a place (a JSON
//! patch re-reads the whole object, a merge replaces a map or a list, annotations are
//! rewritten as a whole) ends the sharing for the places it rebuilt.

use serde_json::Value;

use super::Resource;

/// Whether `p` is `prefix` or below it.
fn is_under(p: &str, prefix: &str) -> bool {
    p.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// What a strategic-merge patch does to the node at a path of the resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    /// The patch does not reach it: the node stays.
    Untouched,
    /// The patch sets it to a scalar: kyaml copies into the node in place.
    Set,
    /// The node is removed or replaced by a new one.
    Replaced,
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

/// How kyaml's merge walk treats the node at `ptr` when merging `patch`.
fn merge_effect(patch: &Value, ptr: &str) -> Effect {
    let tokens: Vec<String> = ptr.split('/').skip(1).map(unescape).collect();
    let mut cur = patch;
    for (i, tok) in tokens.iter().enumerate() {
        let Value::Object(m) = cur else {
            return Effect::Replaced;
        };
        // `$patch: replace` at the top keeps kustomize's own node; below, the map is new.
        if i > 0 {
            match m.get("$patch").and_then(Value::as_str) {
                Some("replace") | Some("delete") => return Effect::Replaced,
                _ => {}
            }
            if let Some(Value::Array(keep)) = m.get("$retainKeys") {
                if !keep.iter().any(|k| k.as_str() == Some(tok)) {
                    return Effect::Replaced;
                }
            }
        }
        let Some(child) = m.get(tok.as_str()) else {
            return Effect::Untouched;
        };
        let last = i + 1 == tokens.len();
        match child {
            Value::Object(_) if !last => cur = child,
            // A list on the way is merged or replaced element by element: assume new nodes.
            Value::Null | Value::Object(_) | Value::Array(_) => return Effect::Replaced,
            _ if last => return Effect::Set,
            _ => return Effect::Replaced,
        }
    }
    Effect::Untouched
}

impl Resource {
    /// One node now sits at all of `places` (JSON pointers to map entries the caller just
    /// created). A place that was created cannot still share an older node.
    pub fn share_node(&mut self, places: Vec<String>) {
        for g in &mut self.aliases {
            g.retain(|p| !places.contains(p));
        }
        self.aliases.retain(|g| g.len() > 1);
        if places.len() > 1 {
            self.aliases.push(places);
        }
    }

    /// Whether any place shares its node with another.
    pub fn shares_nodes(&self) -> bool {
        !self.aliases.is_empty()
    }

    /// Whether the two places are one node.
    pub fn same_node(&self, a: &str, b: &str) -> bool {
        self.aliases
            .iter()
            .any(|g| g.iter().any(|p| p == a) && g.iter().any(|p| p == b))
    }

    /// The node at `place` was written in place: every place sharing it gets its value.
    pub fn written_in_place(&mut self, place: &str) {
        let Some(gi) = self
            .aliases
            .iter()
            .position(|g| g.iter().any(|p| p == place))
        else {
            return;
        };
        let Some(value) = self.obj.pointer(place).cloned() else {
            return;
        };
        let mut group = std::mem::take(&mut self.aliases[gi]);
        group.retain(|p| match self.obj.value_mut().pointer_mut(p) {
            Some(v) => {
                *v = value.clone();
                true
            }
            // Gone: it was removed without our knowing; it shares nothing any more.
            None => false,
        });
        self.aliases[gi] = group;
    }

    /// The node at `place` (and everything under it) was rebuilt: nothing there shares a
    /// node any more.
    pub fn rebuilt(&mut self, place: &str) {
        if self.aliases.is_empty() {
            return;
        }
        for g in &mut self.aliases {
            g.retain(|p| !is_under(p, place));
        }
        self.aliases.retain(|g| g.len() > 1);
    }

    /// A strategic merge of `patch` happened: places it set share the new value, places it
    /// replaced or removed share nothing. Several places of one node set to different values
    /// end with the one kyaml's walk (keys in sorted order) wrote last.
    pub fn merged(&mut self, patch: &Value) {
        if self.aliases.is_empty() {
            return;
        }
        let mut set = Vec::new();
        for g in &mut self.aliases {
            let mut last_set: Option<String> = None;
            g.retain(|p| match merge_effect(patch, p) {
                Effect::Untouched => true,
                Effect::Replaced => false,
                Effect::Set => {
                    if last_set
                        .as_ref()
                        .is_none_or(|l| walk_order_key(p) > walk_order_key(l))
                    {
                        last_set = Some(p.clone());
                    }
                    true
                }
            });
            set.extend(last_set);
        }
        self.aliases.retain(|g| g.len() > 1);
        for p in set {
            self.written_in_place(&p);
        }
    }
}

fn walk_order_key(ptr: &str) -> Vec<String> {
    ptr.split('/').skip(1).map(unescape).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::Source;
    use serde_json::json;

    fn deployment() -> Resource {
        Resource::new(
            json!({
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "web", "labels": {"app": "a"}},
                "spec": {"selector": {"matchLabels": {"app": "a"}},
                         "template": {"metadata": {"labels": {"app": "a"}}}}
            }),
            Source::default(),
        )
    }

    const META: &str = "/metadata/labels/app";
    const SELECTOR: &str = "/spec/selector/matchLabels/app";
    const TEMPLATE: &str = "/spec/template/metadata/labels/app";

    fn shared() -> Resource {
        let mut r = deployment();
        r.share_node(vec![META.into(), SELECTOR.into(), TEMPLATE.into()]);
        r
    }

    #[test]
    fn a_value_written_in_place_reaches_every_place_of_its_node() {
        let mut r = shared();
        *r.obj_mut().pointer_mut(META).unwrap() = json!("b");
        r.written_in_place(META);
        assert_eq!(r.obj().pointer(SELECTOR), Some(&json!("b")));
        assert_eq!(r.obj().pointer(TEMPLATE), Some(&json!("b")));
    }

    #[test]
    fn a_merge_that_sets_one_place_sets_them_all() {
        let mut r = shared();
        let patch = json!({"metadata": {"name": "web", "labels": {"app": "x"}}});
        *r.obj_mut().pointer_mut(META).unwrap() = json!("x");
        r.merged(&patch);
        assert_eq!(r.obj().pointer(SELECTOR), Some(&json!("x")));
    }

    #[test]
    fn a_merge_that_replaces_a_map_ends_the_sharing_there() {
        let mut r = shared();
        let patch = json!({"spec": {"template": {"metadata": {"labels": {"$patch": "replace", "app": "t"}}}}});
        r.merged(&patch);
        *r.obj_mut().pointer_mut(META).unwrap() = json!("m");
        r.written_in_place(META);
        assert_eq!(r.obj().pointer(SELECTOR), Some(&json!("m")));
        assert_eq!(r.obj().pointer(TEMPLATE), Some(&json!("a")));
    }

    #[test]
    fn the_place_kyaml_walks_last_wins() {
        let mut r = shared();
        let patch = json!({"metadata": {"labels": {"app": "m"}}, "spec": {"selector": {"matchLabels": {"app": "s"}}}});
        *r.obj_mut().pointer_mut(META).unwrap() = json!("m");
        *r.obj_mut().pointer_mut(SELECTOR).unwrap() = json!("s");
        r.merged(&patch);
        assert_eq!(r.obj().pointer(META), Some(&json!("s")));
        assert_eq!(r.obj().pointer(TEMPLATE), Some(&json!("s")));
    }

    #[test]
    fn rebuilding_a_map_ends_the_sharing_below_it() {
        let mut r = shared();
        r.rebuilt("/spec");
        *r.obj_mut().pointer_mut(META).unwrap() = json!("z");
        r.written_in_place(META);
        assert_eq!(r.obj().pointer(SELECTOR), Some(&json!("a")));
    }
}
