//! Merging a list element by element (kyaml's `walkAssociativeSequence` with
//! `ListIncreaseDirection: Prepend`).
//!
//! kyaml does not match elements with one lookup per key. It collects every element's key
//! values (patch first, then target), walks each distinct key tuple, and rebuilds the list
//! with its `ElementSetter`, which on every call also drops null and empty elements, treats
//! an empty key value as "any value", and, called with fewer values than keys, keeps only
//! the element being set. For well-formed lists the result is simple:
//!
//! - one merge key (or a list of values such as `finalizers`): the patch's elements in
//!   patch order, each merged with the target's element of the same key, then the target's
//!   other elements in their order;
//! - two merge keys (`containerPort`+`protocol`, `port`+`protocol`): the patch-only
//!   elements first, then all of the target's elements in their order (kyaml deletes and
//!   re-appends each target element; fixture smp/ports-order-two-keys).
//!
//! "Well-formed" means every element is a map with a non-empty scalar value for every key
//! (a non-empty scalar, for a list of values), and no key tuple repeats within the target or
//! within the patch. Such lists take an indexed path, linear in the list lengths. Anything
//! else (a port without `protocol`, an env var without `name`, `{}` elements, duplicates)
//! goes through [`emulate`], a step-by-step model of kyaml's algorithm, whose results
//! can be surprising and are pinned by tests (quadratic, like kyaml, but only for such
//! lists). A property test checks the two paths agree on well-formed lists.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::{raw_text, untagged_scalar, Fail, FailKind, Walked, Walker};
use crate::schema::TypeRef;

/// Lists at most this long are searched linearly instead of hashed.
const LINEAR_SEARCH_MAX: usize = 16;

/// Most elements (target and patch together) of a merged list that is not well-formed;
/// such a list takes the quadratic emulation (about a second at this size in a release
/// build).
pub const MAX_IRREGULAR_ELEMENTS: usize = 10_000;

/// The patch's side of a list merge.
pub(super) enum PatchSide<'p> {
    /// The patch does not mention the list: the target's list is walked alone.
    Absent,
    /// The patch's list, after its `$patch` element was removed. Its elements are edited
    /// in place, as kyaml edits its patch nodes.
    List(&'p mut Vec<Value>),
    /// The list came from the patch (added, or `$patch: replace`) and is both sides.
    SameAsDest,
}

/// Merges `side` into `dest`, in place. `schema` is the list's (associative) schema.
pub(super) fn merge(
    w: &Walker<'_>,
    dest: &mut Vec<Value>,
    side: PatchSide<'_>,
    schema: TypeRef<'_>,
    depth: usize,
) -> Result<(), Fail> {
    let keys = schema.merge_keys();
    let side = if w.fast_lists {
        match fast(w, dest, side, schema, &keys, depth)? {
            None => return Ok(()),
            Some(side) => side,
        }
    } else {
        side
    };
    // The emulation is quadratic, like kyaml. Ill-formed lists this long do not occur in
    // real manifests; refusing them keeps a hostile one from taking minutes.
    let len = dest.len()
        + match &side {
            PatchSide::List(p) => p.len(),
            _ => 0,
        };
    if len > MAX_IRREGULAR_ELEMENTS {
        return Err(Fail::new(FailKind::IrregularListTooLong { len }));
    }
    emulate(w, dest, side, schema, &keys, depth)
}

/// kyaml's `ElementValuesList`: the text of each key, `""` when the field is missing,
/// null, or an empty map or list.
fn key_text<'v>(element: &'v Value, key: &str) -> Cow<'v, str> {
    match element.as_object().and_then(|m| m.get(key)) {
        Some(Value::Null) | None => Cow::Borrowed(""),
        Some(Value::Object(m)) if m.is_empty() => Cow::Borrowed(""),
        Some(Value::Array(a)) if a.is_empty() => Cow::Borrowed(""),
        Some(v) => raw_text(v),
    }
}

/// The key tuple of a well-formed element, or `None`.
fn clean_tuple<'v>(element: &'v Value, keys: &[&str]) -> Option<Vec<Cow<'v, str>>> {
    if keys.is_empty() {
        return match element {
            Value::Null | Value::Object(_) | Value::Array(_) => None,
            v => Some(vec![raw_text(v)]).filter(|t| t.iter().all(|s| !s.is_empty())),
        };
    }
    let m = element.as_object()?;
    keys.iter()
        .map(|k| match m.get(*k)? {
            Value::Null | Value::Object(_) | Value::Array(_) => None,
            v => Some(raw_text(v)).filter(|t| !t.is_empty()),
        })
        .collect()
}

fn clean_tuples<'v, I>(elements: I, keys: &[&str]) -> Option<Vec<Vec<Cow<'v, str>>>>
where
    I: Iterator<Item = &'v Value>,
{
    let tuples: Vec<_> = elements
        .map(|e| clean_tuple(e, keys))
        .collect::<Option<_>>()?;
    let unique = if tuples.len() <= LINEAR_SEARCH_MAX {
        tuples
            .iter()
            .enumerate()
            .all(|(i, t)| tuples.iter().take(i).all(|u| u != t))
    } else {
        let mut seen = HashSet::with_capacity(tuples.len());
        tuples.iter().all(|t| seen.insert(t))
    };
    unique.then_some(tuples)
}

/// The indexed merge for well-formed lists. Hands `side` back, having changed nothing,
/// when a list is not well-formed.
fn fast<'p>(
    w: &Walker<'_>,
    dest: &mut Vec<Value>,
    side: PatchSide<'p>,
    schema: TypeRef<'_>,
    keys: &[&str],
    depth: usize,
) -> Result<Option<PatchSide<'p>>, Fail> {
    let element_schema = schema.items();
    let primitive = keys.is_empty();
    let Some(dest_tuples) = clean_tuples(dest.iter(), keys) else {
        return Ok(Some(side));
    };
    match side {
        PatchSide::Absent => {
            drop(dest_tuples);
            if !primitive {
                for e in dest.iter_mut() {
                    w.dest_only(e, element_schema, depth + 1)
                        .map_err(|f| f.element(element_desc(e, keys)))?;
                }
            }
            Ok(None)
        }
        PatchSide::SameAsDest => {
            drop(dest_tuples);
            if !primitive {
                let mut kept = Vec::with_capacity(dest.len());
                for mut e in std::mem::take(dest) {
                    let stays = w
                        .walk_same(&mut e, element_schema, depth + 1)
                        .map_err(|f| f.element(element_desc(&e, keys)))?;
                    if stays && !is_null_or_empty_map(&e) {
                        kept.push(e);
                    }
                }
                *dest = kept;
            }
            Ok(None)
        }
        PatchSide::List(patch) => {
            let Some(patch_tuples) = clean_tuples(patch.iter(), keys) else {
                return Ok(Some(PatchSide::List(patch)));
            };
            let index: Option<HashMap<&[Cow<'_, str>], usize>> =
                (dest_tuples.len() > LINEAR_SEARCH_MAX).then(|| {
                    dest_tuples
                        .iter()
                        .enumerate()
                        .map(|(i, t)| (t.as_slice(), i))
                        .collect()
                });
            let find = |t: &[Cow<'_, str>]| match &index {
                Some(index) => index.get(t).copied(),
                None => dest_tuples.iter().position(|d| d.as_slice() == t),
            };
            // Which target element each patch element meets, before anything moves.
            let partners: Vec<Option<usize>> = patch_tuples.iter().map(|t| find(t)).collect();
            let descs: Vec<String> = patch_tuples.iter().map(|t| describe(t, keys)).collect();
            drop(patch_tuples);
            drop(index);
            drop(dest_tuples);

            enum Slot {
                Target(usize),
                New(Value),
            }
            let mut taken = vec![false; dest.len()];
            let mut cleared = vec![false; dest.len()];
            let mut order: Vec<Slot> = Vec::with_capacity(patch.len() + dest.len());
            for ((p, partner), desc) in patch.iter_mut().zip(&partners).zip(descs) {
                match partner {
                    Some(i) => {
                        let i = *i;
                        if let Some(flag) = taken.get_mut(i) {
                            *flag = true;
                        }
                        if !primitive {
                            let Some(d) = dest.get_mut(i) else { continue };
                            match w
                                .walk(Some(d), Some(p), element_schema, depth + 1)
                                .map_err(|f| f.element(desc))?
                            {
                                Walked::Clear => {
                                    if let Some(c) = cleared.get_mut(i) {
                                        *c = true;
                                    }
                                    continue;
                                }
                                // Merged in place; or the patch element replaced itself, and
                                // kyaml puts the target's element back (fixture
                                // smp/element-patch-replace-is-ignored).
                                Walked::Dest | Walked::New(_) => {}
                            }
                        }
                        // A list of values keeps the target's copy of a shared value.
                        order.push(Slot::Target(i));
                    }
                    None => {
                        let added = if primitive {
                            Walked::New(p.clone())
                        } else {
                            w.walk(None, Some(p), element_schema, depth + 1)
                                .map_err(|f| f.element(desc))?
                        };
                        if let Walked::New(v) = added {
                            if !v.is_null() && !is_null_or_empty_map(&v) {
                                order.push(Slot::New(v));
                            }
                        }
                    }
                }
            }
            for (i, d) in dest.iter_mut().enumerate() {
                if !taken.get(i).copied().unwrap_or(true) && !primitive {
                    w.dest_only(d, element_schema, depth + 1)
                        .map_err(|f| f.element(element_desc(d, keys)))?;
                }
            }
            let two_keys = keys.len() > 1;
            let mut slots: Vec<Option<Value>> =
                std::mem::take(dest).into_iter().map(Some).collect();
            let mut out = Vec::with_capacity(order.len() + slots.len());
            for slot in order {
                match slot {
                    Slot::New(v) => out.push(v),
                    // With two keys the target's elements all go to the end, below.
                    Slot::Target(i) if !two_keys => {
                        if let Some(v) = slots.get_mut(i).and_then(Option::take) {
                            out.push(v);
                        }
                    }
                    Slot::Target(_) => {}
                }
            }
            for (i, slot) in slots.iter_mut().enumerate() {
                let gone = cleared.get(i).copied().unwrap_or(false);
                let placed = !two_keys && taken.get(i).copied().unwrap_or(false);
                if gone || placed {
                    continue;
                }
                if let Some(v) = slot.take() {
                    out.push(v);
                }
            }
            *dest = out;
            Ok(None)
        }
    }
}

/// A readable element locator for error paths: `name=web`, `port=80,protocol=TCP`, or
/// the value itself in a list of values.
fn describe(tuple: &[Cow<'_, str>], keys: &[&str]) -> String {
    if keys.is_empty() {
        return tuple.first().map(|t| t.to_string()).unwrap_or_default();
    }
    keys.iter()
        .zip(tuple)
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn element_desc(element: &Value, keys: &[&str]) -> String {
    if keys.is_empty() {
        return raw_text(element).into_owned();
    }
    let tuple: Vec<Cow<'_, str>> = keys.iter().map(|k| key_text(element, k)).collect();
    describe(&tuple, keys)
}

fn describe_values(keys: &[&str], values: &[&str]) -> String {
    keys.iter()
        .zip(values)
        .map(|(k, v)| {
            if k.is_empty() {
                (*v).to_string()
            } else {
                format!("{k}={v}")
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn is_null_or_empty_map(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        _ => false,
    }
}

/// kyaml's algorithm, step by step (`walkAssociativeSequence`,
/// `setAssociativeSequenceElements`, `appendListNode`, `ElementSetter`, `ElementMatcher`).
/// The target's elements and every element created by the walk live in one arena; lists
/// are lists of arena ids, as kyaml's are lists of node pointers.
fn emulate(
    w: &Walker<'_>,
    dest: &mut Vec<Value>,
    side: PatchSide<'_>,
    schema: TypeRef<'_>,
    keys: &[&str],
    depth: usize,
) -> Result<(), Fail> {
    let element_schema = schema.items();
    let primitive = keys.is_empty();
    let same = matches!(side, PatchSide::SameAsDest);
    let mut patch: Option<&mut Vec<Value>> = match side {
        PatchSide::List(p) => Some(p),
        _ => None,
    };

    // elementValues / elementPrimitiveValues: distinct tuples, patch first (Prepend).
    let mut tuples: Vec<Vec<String>> = Vec::new();
    {
        let mut seen: HashSet<Vec<String>> = HashSet::new();
        for e in patch.iter().flat_map(|p| p.iter()).chain(dest.iter()) {
            let t: Vec<String> = if primitive {
                vec![raw_text(e).into_owned()]
            } else {
                keys.iter().map(|k| key_text(e, k).into_owned()).collect()
            };
            if !seen.contains(&t) {
                seen.insert(t.clone());
                tuples.push(t);
            }
        }
    }
    if tuples.is_empty() {
        return Ok(());
    }
    let key_names: Vec<&str> = if primitive { vec![""] } else { keys.to_vec() };
    if key_names.len() > 1 && tuples.iter().any(|t| t.iter().any(String::is_empty)) {
        merge_values(&mut tuples);
    }
    // validateKeys: the keys some tuple has a value for; all keys when none has.
    let mut valid: Vec<usize> = (0..key_names.len())
        .filter(|&i| {
            tuples
                .iter()
                .any(|t| t.get(i).is_some_and(|v| !v.is_empty()))
        })
        .collect();
    if valid.is_empty() {
        valid = (0..key_names.len()).collect();
    }
    let valid_keys: Vec<&str> = valid
        .iter()
        .filter_map(|&i| key_names.get(i).copied())
        .collect();

    let mut nodes: Vec<Value> = std::mem::take(dest);
    let mut order: Vec<usize> = (0..nodes.len()).collect();
    let mut items: Vec<usize> = Vec::new();
    for t in &tuples {
        let values: Vec<&str> = valid
            .iter()
            .map(|&i| t.get(i).map_or("", String::as_str))
            .collect();
        // elementValueList narrows the lookup to the keys this tuple has values for.
        let (lookup_keys, lookup_values): (Vec<&str>, Vec<&str>) =
            if values.iter().any(|v| !v.is_empty()) {
                valid_keys
                    .iter()
                    .zip(&values)
                    .filter(|(_, v)| !v.is_empty())
                    .map(|(k, v)| (*k, *v))
                    .unzip()
            } else {
                (valid_keys.clone(), values.clone())
            };
        let desc = describe_values(&valid_keys, &values);
        let found = element_list(
            order.iter().map(|&i| (i, &nodes[i])),
            &lookup_keys,
            &lookup_values,
        );
        let merged: Option<usize> = if same {
            match found {
                Some(i) => w
                    .walk_same(&mut nodes[i], element_schema, depth + 1)
                    .map_err(|f| f.element(desc.clone()))?
                    .then_some(i),
                None => None,
            }
        } else {
            let p: Option<&mut Value> = match patch.as_deref_mut() {
                Some(list) => {
                    let at = element_list(list.iter().enumerate(), &lookup_keys, &lookup_values);
                    at.and_then(move |i| list.get_mut(i))
                }
                None => None,
            };
            let walked = match found {
                Some(i) => w.walk(Some(&mut nodes[i]), p, element_schema, depth + 1),
                None => w.walk(None, p, element_schema, depth + 1),
            }
            .map_err(|f| f.element(desc.clone()))?;
            match (walked, found) {
                (Walked::Clear, _) => None,
                (Walked::Dest, found) => found,
                (Walked::New(v), _) => {
                    nodes.push(v);
                    Some(nodes.len() - 1)
                }
            }
        };
        let Some(m) = merged.filter(|&i| !is_null_or_empty_map(&nodes[i])) else {
            // The element is gone: delete it from the target's list.
            element_setter(&mut order, &nodes, None, &valid_keys, &values)
                .map_err(|f| f.element(desc.clone()))?;
            continue;
        };
        if !primitive {
            // Put back key values the merge removed.
            match &mut nodes[m] {
                Value::Object(map) => {
                    for (k, v) in valid_keys.iter().zip(&values) {
                        if !v.is_empty() && !map.contains_key(*k) {
                            map.insert((*k).to_string(), untagged_scalar(v));
                        }
                    }
                }
                _ if values.iter().any(|v| !v.is_empty()) => {
                    return Err(Fail::new(FailKind::ElementNotMap {
                        keys: keys.join(","),
                    })
                    .element(desc));
                }
                _ => {}
            }
        }
        element_setter(&mut items, &nodes, Some(m), &valid_keys, &values)
            .map_err(|f| f.element(desc.clone()))?;
    }
    append_list_node(&mut items, &order, &nodes, &valid_keys)?;
    *dest = materialize(nodes, &items);
    Ok(())
}

/// `mergeValues`: tuples that agree wherever both have a value become one (a port without
/// a protocol meets the same port with one). Quadratic, as in kyaml; only reached when
/// some tuple lacks a value.
fn merge_values(tuples: &mut [Vec<String>]) {
    let n = tuples.len();
    for i in 0..n {
        // Go's `for i, values1 := range valuesList` copies the tuple once per outer
        // iteration: updates to tuple i during the inner loop do not change `values1`.
        let Some(values1) = tuples.get(i).cloned() else {
            continue;
        };
        for j in 0..n {
            let joined = tuples.get(j).and_then(|b| match_values(&values1, b));
            if let Some(m) = joined {
                if let Some(t) = tuples.get_mut(i) {
                    t.clone_from(&m);
                }
                if let Some(t) = tuples.get_mut(j) {
                    *t = m;
                }
            }
        }
    }
}

fn match_values(a: &[String], b: &[String]) -> Option<Vec<String>> {
    if a.len() != b.len() {
        return None;
    }
    let mut common = false;
    let mut out = Vec::with_capacity(a.len());
    for (x, y) in a.iter().zip(b) {
        if x == y {
            common = true;
            out.push(x.clone());
        } else if !x.is_empty() && !y.is_empty() {
            return None;
        } else if !x.is_empty() {
            out.push(x.clone());
        } else {
            out.push(y.clone());
        }
    }
    common.then_some(out)
}

/// `ElementMatcher`: the first element whose fields `keys` have the texts `values`; for a
/// list of values (`keys == [""]`), the first element with that text.
fn element_list<'v>(
    mut elements: impl Iterator<Item = (usize, &'v Value)>,
    keys: &[&str],
    values: &[&str],
) -> Option<usize> {
    let keys: &[&str] = if keys.is_empty() { &[""] } else { keys };
    let values: &[&str] = if values.is_empty() { &[""] } else { values };
    let first_key = keys.first().copied().unwrap_or("");
    if first_key.is_empty() {
        let want = values.first().copied().unwrap_or("");
        return elements.find(|(_, e)| raw_text(e) == want).map(|(i, _)| i);
    }
    if keys.len() != values.len() {
        return None;
    }
    elements
        .find(|(_, e)| match e {
            Value::Object(m) => keys
                .iter()
                .zip(values)
                .all(|(k, v)| m.get(*k).is_some_and(|f| raw_text(f) == *v)),
            _ => false,
        })
        .map(|(i, _)| i)
}

/// `FieldMatcher{Name, StringValue}`: does `item` have field `name` with text `value`? An
/// empty `value` matches any value of the field; an empty `name` compares the item itself.
fn field_matches(item: &Value, name: &str, value: &str, keys: &[&str]) -> Result<bool, Fail> {
    if item.is_null() {
        return Ok(false);
    }
    if name.is_empty() {
        if matches!(item, Value::Object(_) | Value::Array(_)) {
            return Err(Fail::new(FailKind::ElementNotScalar));
        }
        return Ok(raw_text(item) == value);
    }
    let Value::Object(m) = item else {
        return Err(Fail::new(FailKind::ElementNotMap {
            keys: keys.join(","),
        }));
    };
    Ok(match m.get(name) {
        None => false,
        Some(_) if value.is_empty() => true,
        Some(f) => raw_text(f) == value,
    })
}

/// `ElementSetter`: in `list`, drop null and empty-map elements, then replace every element
/// matching `values` on `keys` with `element` (delete it when `element` is `None`), and
/// append `element` when nothing matched. With fewer values than keys only the compared
/// keys count; with no values nothing matches and nothing else is kept.
fn element_setter(
    list: &mut Vec<usize>,
    nodes: &[Value],
    element: Option<usize>,
    keys: &[&str],
    values: &[&str],
) -> Result<(), Fail> {
    let keys: &[&str] = if keys.is_empty() { &[""] } else { keys };
    let first_key = keys.first().copied().unwrap_or("");
    let mapping_setter = !first_key.is_empty() && values.first().is_some_and(|v| !v.is_empty());
    let mut out = Vec::with_capacity(list.len() + 1);
    let mut found_any = false;
    for &id in list.iter() {
        let item = &nodes[id];
        if is_null_or_empty_map(item) {
            continue;
        }
        if mapping_setter && !item.is_object() {
            out.push(id);
            continue;
        }
        let mut matched = false;
        let mut found = true;
        for (j, key) in keys.iter().enumerate() {
            if let Some(v) = values.get(j) {
                matched = field_matches(item, key, v, keys)?;
            }
            if !matched {
                found = false;
                break;
            }
        }
        if !found {
            if !values.is_empty() {
                out.push(id);
            }
            continue;
        }
        found_any = true;
        if let Some(e) = element {
            out.push(e);
        }
    }
    *list = out;
    if let Some(e) = element {
        if !nodes[e].is_null() && !found_any {
            list.push(e);
        }
    }
    Ok(())
}

/// `appendListNode(items, target, keys)` (Prepend): each remaining target element is set
/// into the merged items, replacing the element with its key (so the target's copy wins);
/// an element without a key is appended; with two keys the old element is deleted first,
/// so the target's element lands at the end.
fn append_list_node(
    items: &mut Vec<usize>,
    order: &[usize],
    nodes: &[Value],
    keys: &[&str],
) -> Result<(), Fail> {
    let first_key = keys.first().copied().unwrap_or("");
    for &id in order {
        let element = &nodes[id];
        if first_key.is_empty() {
            let text = raw_text(element).into_owned();
            element_setter(items, nodes, Some(id), &[""], &[text.as_str()])
                .map_err(|f| f.element(text.clone()))?;
            continue;
        }
        let mut values: Vec<Cow<'_, str>> = Vec::with_capacity(keys.len());
        for key in keys {
            let field = match element {
                Value::Null => None,
                Value::Object(m) => m.get(*key),
                _ => {
                    return Err(Fail::new(FailKind::ElementNotMap {
                        keys: keys.join(","),
                    }))
                }
            };
            match field {
                None => items.push(id),
                Some(f) => values.push(raw_text(f)),
            }
        }
        let values: Vec<&str> = values.iter().map(|v| v.as_ref()).collect();
        if keys.len() > 1 {
            element_setter(items, nodes, None, keys, &values)?;
        }
        element_setter(items, nodes, Some(id), keys, &values)?;
    }
    Ok(())
}

/// The final list: arena ids to values, moving each node out on its last use.
fn materialize(nodes: Vec<Value>, items: &[usize]) -> Vec<Value> {
    let mut uses = vec![0usize; nodes.len()];
    for &i in items {
        if let Some(u) = uses.get_mut(i) {
            *u += 1;
        }
    }
    let mut slots: Vec<Option<Value>> = nodes.into_iter().map(Some).collect();
    let mut out = Vec::with_capacity(items.len());
    for &i in items {
        let last = match uses.get_mut(i) {
            Some(u) => {
                *u = u.saturating_sub(1);
                *u == 0
            }
            None => true,
        };
        let v = match slots.get_mut(i) {
            Some(slot) if last => slot.take(),
            Some(slot) => slot.clone(),
            None => None,
        };
        out.push(v.unwrap_or_default());
    }
    out
}
