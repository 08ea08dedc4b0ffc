//! Name references: after resources are renamed (prefix, suffix, namespace, hash), every
//! field that refers to one of them by name is updated to its new name.
//!
//! kustomize's rule, reproduced here: a field listed for referral kind K (the built-in
//! `nameReference` table plus configurations) names a resource of kind K by one of its
//! *previous* names. Candidates are narrowed by previous name, previous gvk, a RoleBinding's
//! `roleRef` kind, namespace reachability from the referrer, and then by matching
//! prefix/suffix history; ambiguity that remains is an error unless every candidate has the
//! same new name. One pass, from previous names to current names: a reference to `cfg` with
//! `namePrefix: p-` becomes `p-cfg` even if another resource is currently called `cfg`.
//! Candidates are looked up through an index of previous names, so the pass is linear in
//! the number of references.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use crate::fieldspec::{visit, walk, Create, FieldSpec, NameBackRef};
use crate::resource::{Gvk, ResId, ResMap, Resource};

use super::TransformError;

const NAME: &str = "NameReferenceTransformer";

/// What a referral looked like when references were resolved (resources are read-only
/// during resolution; updates are applied to referrers afterwards).
struct Candidate {
    cur: ResId,
    org_namespace: String,
    cluster_scoped: bool,
    kind: String,
    prev: Vec<ResId>,
    prefixes: Vec<String>,
    suffixes: Vec<String>,
}

/// Runs kustomize's `FixBackReferences`.
pub fn apply(m: &mut ResMap, back_refs: &[NameBackRef]) -> Result<(), TransformError> {
    let candidates: Vec<Candidate> = m
        .resources()
        .iter()
        .map(|r| {
            let cur = r.cur_id();
            Candidate {
                org_namespace: r.org_id().effective_namespace().to_string(),
                cluster_scoped: cur.gvk.is_cluster_scoped(),
                kind: r.kind().to_string(),
                prev: r.prev_res_ids(),
                cur,
                prefixes: r.prefixes.clone(),
                suffixes: r.suffixes.clone(),
            }
        })
        .collect();
    let mut by_prev_name: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, c) in candidates.iter().enumerate() {
        let mut seen = HashSet::new();
        for id in &c.prev {
            if seen.insert(id.name.as_str()) {
                by_prev_name.entry(id.name.as_str()).or_default().push(i);
            }
        }
    }
    let ctx = Ctx {
        candidates: &candidates,
        by_prev_name,
    };
    let mut referred: Vec<(usize, ResId)> = Vec::new();
    for ri in 0..m.len() {
        let Some(r) = m.get(ri) else { continue };
        let org = r.org_id();
        let mut jobs: Vec<(&FieldSpec, &Gvk)> = Vec::new();
        for br in back_refs {
            for spec in &br.referrers {
                if org.gvk.is_selected_by(&spec.gvk) {
                    jobs.push((spec, &br.gvk));
                }
            }
        }
        if jobs.is_empty() {
            continue;
        }
        let referrer = Referrer::of(r)?;
        let Some(r) = m.get_mut(ri) else { continue };
        for (spec, target) in jobs {
            let job = Job {
                referrer: &referrer,
                target,
                path: &spec.path,
            };
            // Most references already name their target: look before taking the object
            // for writing (that would copy an object shared with a cached render).
            let mark = referred.len();
            let mut changes = false;
            let looked = visit(r.obj(), spec, Create::Never, &mut |node| {
                changes |= job.plan(&ctx, node, &mut referred)?;
                Ok(())
            });
            if matches!(looked, Ok(true)) && !changes {
                continue;
            }
            referred.truncate(mark);
            let res = walk(r.obj_mut(), spec, Create::Never, &mut |node| {
                job.set(&ctx, node, &mut referred)
            });
            if let Err(e) = res {
                return Err(TransformError::on(
                    NAME,
                    r,
                    format!(
                        "updating name reference in '{}' field: {}",
                        spec.path, e.message
                    ),
                ));
            }
        }
    }
    for (i, by) in referred {
        if let Some(r) = m.get_mut(i) {
            r.ref_by.push(by);
        }
    }
    Ok(())
}

struct Ctx<'a> {
    candidates: &'a [Candidate],
    by_prev_name: HashMap<&'a str, Vec<usize>>,
}

/// The referrer's facts needed while its fields are being rewritten.
struct Referrer {
    id: ResId,
    prefixes: Vec<String>,
    suffixes: Vec<String>,
    /// Namespaces of ServiceAccount subjects, for RoleBindings.
    binding_namespaces: HashSet<String>,
    /// `roleRef`'s apiGroup and kind, when present.
    role_ref: Option<Gvk>,
}

impl Referrer {
    fn of(r: &Resource) -> Result<Referrer, TransformError> {
        let mut binding_namespaces = HashSet::new();
        if r.kind() == "RoleBinding" {
            if let Some(Value::Array(subjects)) = r.obj().get("subjects") {
                for s in subjects {
                    let (Some(ns), Some(kind)) = (s.get("namespace"), s.get("kind")) else {
                        continue;
                    };
                    if kind.as_str() == Some("ServiceAccount") {
                        match ns.as_str() {
                            Some(n) => {
                                binding_namespaces.insert(n.to_string());
                            }
                            None => {
                                return Err(TransformError::on(
                                    NAME,
                                    r,
                                    "Invalid Input: namespace is blank",
                                ))
                            }
                        }
                    }
                }
            }
        }
        let role_ref = r.obj().get("roleRef").and_then(|rr| {
            let g = rr.get("apiGroup")?.as_str()?;
            let k = rr.get("kind")?.as_str()?;
            Some(Gvk::new(g, "", k))
        });
        Ok(Referrer {
            id: r.cur_id(),
            prefixes: r.prefixes.clone(),
            suffixes: r.suffixes.clone(),
            binding_namespaces,
            role_ref,
        })
    }

    /// kustomize's `SubsetThatCouldBeReferencedByResource`.
    fn can_reach(&self, c: &Candidate) -> bool {
        if self.id.gvk.is_cluster_scoped() || c.cluster_scoped {
            return true;
        }
        c.cur.effective_namespace() == self.id.effective_namespace()
            || self.binding_namespaces.contains(c.cur.namespace.as_str())
    }
}

struct Job<'a> {
    referrer: &'a Referrer,
    target: &'a Gvk,
    path: &'a str,
}

/// What a name reference becomes: the candidate it names, and the fields that change.
struct Resolved {
    candidate: usize,
    name: Option<String>,
    namespace: Option<String>,
}

impl Job<'_> {
    /// Rewrites the reference at `node` and records who refers to whom.
    fn set(
        &self,
        ctx: &Ctx,
        node: &mut Value,
        referred: &mut Vec<(usize, ResId)>,
    ) -> Result<(), String> {
        match node {
            Value::Null => Ok(()),
            Value::Array(items) => {
                for item in items {
                    self.set_one(ctx, item, referred)?;
                }
                Ok(())
            }
            _ => self.set_one(ctx, node, referred),
        }
    }

    fn set_one(
        &self,
        ctx: &Ctx,
        node: &mut Value,
        referred: &mut Vec<(usize, ResId)>,
    ) -> Result<(), String> {
        let Some(to) = self.resolve(ctx, node)? else {
            return Ok(());
        };
        referred.push((to.candidate, self.referrer.id.clone()));
        match node {
            Value::Object(map) => {
                if let Some(name) = to.name {
                    map.insert("name".into(), Value::String(name));
                }
                if let Some(ns) = to.namespace {
                    map.insert("namespace".into(), Value::String(ns));
                }
            }
            _ => {
                if let Some(name) = to.name {
                    *node = Value::String(name);
                }
            }
        }
        Ok(())
    }

    /// [`Self::set`] without changing anything: records who refers to whom and tells
    /// whether `node` would change.
    fn plan(
        &self,
        ctx: &Ctx,
        node: &Value,
        referred: &mut Vec<(usize, ResId)>,
    ) -> Result<bool, String> {
        let mut changes = false;
        let mut one = |item: &Value| -> Result<(), String> {
            if let Some(to) = self.resolve(ctx, item)? {
                referred.push((to.candidate, self.referrer.id.clone()));
                changes |= to.name.is_some() || to.namespace.is_some();
            }
            Ok(())
        };
        match node {
            Value::Null => {}
            Value::Array(items) => items.iter().try_for_each(&mut one)?,
            _ => one(node)?,
        }
        Ok(changes)
    }

    /// The referral `node` (a name, or a map with `name` and maybe `namespace`) resolves
    /// to, if any.
    fn resolve(&self, ctx: &Ctx, node: &Value) -> Result<Option<Resolved>, String> {
        match node {
            Value::Array(_) => Err("node must be a scalar, sequence or map".into()),
            Value::Object(map) => {
                let Some(name) = map.get("name") else {
                    return Err("path config error; no 'name' field in node".into());
                };
                let old = super::scalar_text(name).unwrap_or_default();
                let ns = map
                    .get("namespace")
                    .map(|n| super::scalar_text(n).unwrap_or_default());
                let Some(i) = self.select(ctx, &old, ns.as_deref(), true)? else {
                    return Ok(None);
                };
                let c = &ctx.candidates[i];
                if c.cur.name == old && c.cur.namespace.is_empty() {
                    return Ok(Some(Resolved {
                        candidate: i,
                        name: None,
                        namespace: None,
                    }));
                }
                let differs = |key: &str, want: &str| !matches!(map.get(key), Some(Value::String(s)) if s == want);
                Ok(Some(Resolved {
                    candidate: i,
                    name: differs("name", &c.cur.name).then(|| c.cur.name.clone()),
                    namespace: (!c.cur.namespace.is_empty()
                        && differs("namespace", &c.cur.namespace))
                    .then(|| c.cur.namespace.clone()),
                }))
            }
            _ => {
                let Some(old) = super::scalar_text(node) else {
                    return Ok(None);
                };
                let Some(i) = self.select(ctx, &old, None, false)? else {
                    return Ok(None);
                };
                let new = &ctx.candidates[i].cur.name;
                Ok(Some(Resolved {
                    candidate: i,
                    name: (*new != old).then(|| new.clone()),
                    namespace: None,
                }))
            }
        }
    }

    /// kustomize's `selectReferral`, on the candidates whose previous names include `old`.
    fn select(
        &self,
        ctx: &Ctx,
        old: &str,
        map_ns: Option<&str>,
        map: bool,
    ) -> Result<Option<usize>, String> {
        let r = self.referrer;
        let pool: &[usize] = ctx.by_prev_name.get(old).map(Vec::as_slice).unwrap_or(&[]);
        let mut cands: Vec<usize> = pool
            .iter()
            .copied()
            .filter(|&i| r.can_reach(&ctx.candidates[i]))
            .collect();
        if let Some(ns) = map_ns {
            // Maps with a namespace field pick candidates from that namespace: by original
            // namespace when any reachable resource started there, else by current.
            let in_org = |c: &Candidate| !c.cluster_scoped && c.org_namespace == ns;
            let org_group_exists = ctx.candidates.iter().any(|c| r.can_reach(c) && in_org(c));
            if org_group_exists {
                cands.retain(|&i| in_org(&ctx.candidates[i]));
            } else {
                cands.retain(|&i| {
                    let c = &ctx.candidates[i];
                    !c.cluster_scoped && c.cur.effective_namespace() == ns
                });
            }
        }
        cands.retain(|&i| {
            ctx.candidates[i]
                .prev
                .iter()
                .any(|p| p.gvk.is_selected_by(self.target))
        });
        if self.path.ends_with("roleRef/name") {
            if let Some(rr) = &r.role_ref {
                cands.retain(|&i| {
                    ctx.candidates[i]
                        .prev
                        .iter()
                        .any(|p| p.gvk.is_selected_by(rr))
                });
            }
        }
        if !r.id.gvk.is_cluster_scoped() {
            cands.retain(|&i| {
                let c = &ctx.candidates[i];
                c.cluster_scoped
                    || c.kind == "ServiceAccount"
                    || c.cur.effective_namespace() == r.id.effective_namespace()
            });
        }
        if cands.len() == 1 {
            return Ok(Some(cands[0]));
        }
        cands.retain(|&i| affixes_equal(&ctx.candidates[i], r, true));
        if cands.len() > 1 {
            cands.retain(|&i| affixes_equal(&ctx.candidates[i], r, false));
        }
        match cands.len() {
            0 => Ok(None),
            1 => Ok(Some(cands[0])),
            _ => {
                let first = &ctx.candidates[cands[0]].cur;
                let identical = cands.iter().all(|&i| {
                    let c = &ctx.candidates[i].cur;
                    c.name == first.name && (!map || c.namespace == first.namespace)
                });
                if identical {
                    return Ok(Some(cands[0]));
                }
                let ids: Vec<String> = cands
                    .iter()
                    .map(|&i| ctx.candidates[i].cur.to_string())
                    .collect();
                Err(format!(
                    "found multiple possible referrals: {}",
                    ids.join(", ")
                ))
            }
        }
    }
}

/// kustomize's `PrefixesSuffixesEquals`.
fn affixes_equal(c: &Candidate, r: &Referrer, allow_empty: bool) -> bool {
    if allow_empty {
        let p =
            c.prefixes.is_empty() || r.prefixes.is_empty() || same_ending(&c.prefixes, &r.prefixes);
        let s =
            c.suffixes.is_empty() || r.suffixes.is_empty() || same_ending(&c.suffixes, &r.suffixes);
        p && s
    } else {
        same_ending(&c.prefixes, &r.prefixes) && same_ending(&c.suffixes, &r.suffixes)
    }
}

/// kustomize's `SameEndingSubSlice`: the shorter list is a suffix of the longer one; an
/// empty list only matches an empty list.
fn same_ending(a: &[String], b: &[String]) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if short.is_empty() {
        return long.is_empty();
    }
    long.ends_with(short)
}
