//! Strategic merge patches, exactly as kustomize v5.5.0 applies them.
//!
//! kustomize does not use Kubernetes' strategic-merge-patch code. Its
//! `PatchStrategicMergeTransformer` and `PatchTransformer` call
//! `api/filters/patchstrategicmerge`, which calls kyaml's `merge2.Merge` with
//! `ListIncreaseDirection: Prepend`: a walker over the pair (target, patch) that merges
//! maps key by key, replaces scalars and lists, and merges a list element by element only
//! when the schema gives it a `merge` patch strategy. This module reproduces that walker's
//! observable behaviour, including its surprises (each pinned by a unit test and a
//! kubectl-verified case under `fixtures/conformance/smp/`):
//!
//! - `null` in the patch deletes a field; an explicit `null` in the target that the patch
//!   does not mention stays.
//! - `$patch: delete | replace | merge` works on maps and on merged lists (`- $patch:
//!   replace` as a one-key element). At the top of a patch, `delete` removes the resource
//!   ([`Outcome::Deleted`]) and `replace` does nothing at all (`resource-patch-replace-is-ignored`).
//!   On a merged list's *element*, `replace` is a no-op too: kyaml puts the target's element
//!   back (`element-patch-replace-is-ignored`). Any other `$patch` value is an error, except
//!   on a map the target does not have, where it is kept verbatim.
//! - `$setElementOrder/…`, `$retainKeys` and `$deleteFromPrimitiveList/…` mean nothing to
//!   kyaml: they are copied into the result like any other field (`directives-unknown`).
//! - Lists without a merge strategy (every list of a CRD, `args`, `command`, …) are
//!   replaced by the patch's list, `$patch` elements and all.
//! - Merged lists put the patch's elements first, in patch order, then the target's other
//!   elements. With two merge keys (container and service ports) the target's elements
//!   move after the patch-only ones. An element without a merge key, or a port without a
//!   protocol on one side, triggers kyaml's matching rules, which can drop elements (see
//!   `smp/assoc.rs`).
//! - The whole target is walked even where the patch has nothing, so merged lists in the
//!   target are normalised (empty elements dropped, duplicates collapsed) by any patch.
//! - A map with its own known `apiVersion`/`kind` nested where the schema has nothing (an
//!   unknown kind, a CRD) is merged with that type's schema.
//! - A number or boolean replacing a quoted string becomes a string (kyaml keeps the old
//!   value's YAML style).
//!
//! [`merge`] is kyaml's merge as kustomize's resource sees it. [`apply_to_resource`] and
//! [`apply_to_selected`] add what kustomize's resource layer does around it (restoring the
//! target's kind, name and namespace; normalising the patch's labels and annotations on
//! the selector path).
//!
//! Known differences, all from the document model (`serde_json::Value` keeps resolved
//! values, not YAML text or style): a target field written `key:` (empty) is kept as
//! `null` where kyaml drops it (only `key: null` and `key: ~` survive there); a target
//! string counts as quoted only when it could not have been written plain; merge keys
//! compare by the canonical text of their value, so `0x50` and `80` match here but not in
//! kyaml; and schemas given in YAML comments (`# {"$openapi": …}`) are not read. Two
//! limits kustomize does not have turn hostile input into errors: nesting deeper than
//! [`MAX_DEPTH`], and ill-formed merged lists longer than [`MAX_IRREGULAR_ELEMENTS`].

mod assoc;

pub use assoc::MAX_IRREGULAR_ELEMENTS;

use std::borrow::Cow;
use std::fmt;

use serde_json::{Map, Value};

use crate::resource::is_nil_or_empty;
use crate::schema::{Schema, TypeRef};
use crate::yaml::emit::format_number;
use crate::yaml::resolve::{resolve_plain, v2_plain_is_string, Dialect, Resolved};

/// Deepest nesting a merge walks; deeper documents are an error ([`SmpError::TooDeep`]),
/// not a stack overflow. Kubernetes objects rarely nest deeper than 30 levels; 256 levels
/// fit in a 2 MiB thread stack even in a debug build (about 3.5 KiB per level there,
/// under 1 KiB in release). kustomize itself has no limit.
pub const MAX_DEPTH: usize = 256;

/// The key of kyaml's strategic-merge directive.
const DIRECTIVE_KEY: &str = "$patch";

/// What happened to the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The target holds the merged resource.
    Kept,
    /// The patch deleted the resource (`$patch: delete` at the top, or nothing left); the
    /// pipeline removes it from the resource map. The target's content is unspecified.
    Deleted,
}

/// The three kinds of YAML node, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// A mapping (a JSON object).
    Map,
    /// A sequence (a JSON array).
    List,
    /// A string, number or boolean.
    Scalar,
}

impl fmt::Display for NodeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NodeKind::Map => "map",
            NodeKind::List => "list",
            NodeKind::Scalar => "scalar",
        })
    }
}

/// Why a patch could not be merged. `path` is where in the resource (`spec.ports[port=80]`,
/// `<root>` for the resource itself); the pipeline adds the patch file and resource id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmpError {
    /// The target and the patch disagree on what a node is, so they cannot be merged.
    #[error("{path}: the target has a {target} where the patch has a {patch}")]
    KindMismatch {
        /// Where in the resource.
        path: String,
        /// What the target has there.
        target: NodeKind,
        /// What the patch has there.
        patch: NodeKind,
    },
    /// A `$patch` directive other than `merge`, `replace` or `delete`.
    #[error("{path}: unknown patch strategy '{value}' (expected merge, replace or delete)")]
    UnknownDirective {
        /// Where in the resource.
        path: String,
        /// The directive's value as written.
        value: String,
    },
    /// A list the schema merges by key holds an element that is not a map, so it has no
    /// key to match on.
    #[error("{path}: a list merged by key [{keys}] has an element that is not a map")]
    ElementNotMap {
        /// Where in the resource.
        path: String,
        /// The list's merge keys, comma-separated.
        keys: String,
    },
    /// A list of scalars merged by value holds a map or a list.
    #[error("{path}: a list merged by value has an element that is a map or a list")]
    ElementNotScalar {
        /// Where in the resource.
        path: String,
    },
    /// The documents nest deeper than [`MAX_DEPTH`].
    #[error("{path}: nested deeper than {limit} levels")]
    TooDeep {
        /// Where in the resource the limit was reached.
        path: String,
        /// The limit, [`MAX_DEPTH`].
        limit: usize,
    },
    /// A merged list with elements missing their merge key (or repeating one) is longer
    /// than [`MAX_IRREGULAR_ELEMENTS`]; matching such a list takes quadratic time.
    #[error(
        "{path}: a merged list of {len} elements has elements without their merge key, \
         or repeated keys; rustomize merges such lists only up to {limit} elements"
    )]
    IrregularListTooLong {
        /// Where in the resource.
        path: String,
        /// The elements of the target's and the patch's list together.
        len: usize,
        /// The limit, [`MAX_IRREGULAR_ELEMENTS`].
        limit: usize,
    },
    /// The patch's `metadata` is not a map, so its labels and annotations cannot be
    /// normalised before a targeted patch.
    #[error("metadata: {field} cannot be set: metadata is a {found}, not a map")]
    MetadataNotAMap {
        /// The metadata field that was to be set.
        field: &'static str,
        /// What the patch's `metadata` is instead.
        found: NodeKind,
    },
}

/// Options of a `patches:` entry (`options: {allowNameChange, allowKindChange}`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApplyOptions {
    /// `allowNameChange`: the patch may rename the resource.
    pub allow_name_change: bool,
    /// `allowKindChange`: the patch may change the resource's kind.
    pub allow_kind_change: bool,
}

/// kyaml's `merge2.Merge(patch, target, {ListIncreaseDirection: Prepend})` as it reaches
/// a kustomize resource: merges `patch` into `target` in place. The schema for the walk is
/// found from the target's `apiVersion`/`kind`, then the patch's. `$patch: delete` at the
/// top (or a result with no fields) gives [`Outcome::Deleted`]; `$patch: replace` at the
/// top leaves the target as it was, because kustomize keeps its own node.
pub fn merge(target: &mut Value, patch: &Value, schema: &Schema) -> Result<Outcome, SmpError> {
    Walker::new(schema).merge_root(target, patch)
}

/// [`merge`] with every merged list taken through the step-by-step model of kyaml's
/// algorithm instead of the indexed path for well-formed lists. Same result, slower; for
/// differential tests and fuzzing.
#[doc(hidden)]
pub fn merge_step_by_step(
    target: &mut Value,
    patch: &Value,
    schema: &Schema,
) -> Result<Outcome, SmpError> {
    Walker {
        schema,
        fast_lists: false,
    }
    .merge_root(target, patch)
}

/// kustomize's `Resource.ApplySmPatch`: what a `patches:` entry without `target:` does to
/// the resource whose id the patch names. After the merge the target keeps its kind and
/// name (unless the options allow a change) and its namespace, whatever the patch said.
pub fn apply_to_resource(
    target: &mut Value,
    patch: &Value,
    schema: &Schema,
    options: ApplyOptions,
) -> Result<Outcome, SmpError> {
    let name = meta_string(target, "name");
    let namespace = meta_string(target, "namespace");
    let kind = root_string(target, "kind");
    if merge(target, patch, schema)? == Outcome::Deleted {
        return Ok(Outcome::Deleted);
    }
    let Value::Object(root) = target else {
        return Ok(Outcome::Kept);
    };
    if !options.allow_kind_change {
        set_string_like(root, "kind", &kind);
    }
    if !options.allow_name_change {
        if let Some(meta) = metadata_for_write(root) {
            set_string_like(meta, "name", &name);
        }
    }
    // SetNamespace("") removes the field.
    if namespace.is_empty() {
        if let Some(Value::Object(meta)) = root.get_mut("metadata") {
            meta.remove("namespace");
        }
    } else if let Some(meta) = metadata_for_write(root) {
        set_string_like(meta, "namespace", &namespace);
    }
    Ok(Outcome::Kept)
}

/// kustomize's `ResMap.ApplySmPatch`: what a `patches:` entry *with* a `target:` selector
/// does to each selected resource, and what `patchesStrategicMerge` does to the resource
/// the patch names. The patch is first adjusted per resource: its labels and annotations
/// become string maps (`CopyMergeMetaDataFieldsFrom`, so `null` there sets the string
/// `"null"` instead of deleting), its `apiVersion` becomes the target's, its `kind` stays
/// its own. Then [`apply_to_resource`].
pub fn apply_to_selected(
    target: &mut Value,
    patch: &Value,
    schema: &Schema,
    options: ApplyOptions,
) -> Result<Outcome, SmpError> {
    let mut patch = patch.clone();
    normalize_meta_maps(&mut patch)?;
    if let Value::Object(p) = &mut patch {
        // SetGvk(target's Gvk), then SetKind(patch's kind).
        let patch_kind = p
            .get("kind")
            .map(|k| raw_text(k).into_owned())
            .unwrap_or_default();
        let api_version = root_string(target, "apiVersion");
        let api_version = match api_version.split_once('/') {
            Some(("", version)) => version.to_string(),
            _ => api_version,
        };
        let target_kind = root_string(target, "kind");
        set_string_like(p, "kind", &target_kind);
        set_string_like(p, "apiVersion", &api_version);
        set_string_like(p, "kind", &patch_kind);
    }
    apply_to_resource(target, &patch, schema, options)
}

/// A merge directive (`$patch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Directive {
    Merge,
    Replace,
    Delete,
}

impl Directive {
    fn parse(text: &str) -> Option<Directive> {
        match text {
            "merge" => Some(Directive::Merge),
            "replace" => Some(Directive::Replace),
            "delete" => Some(Directive::Delete),
            _ => None,
        }
    }
}

/// The result of walking one (target, patch) pair, as kyaml's visitor returns it.
#[derive(Debug)]
enum Walked {
    /// Remove the field or element.
    Clear,
    /// Keep the target's node, merged in place.
    Dest,
    /// A different node takes the target's place (taken from the patch).
    New(Value),
}

/// An error on its way up, collecting the path in reverse.
#[derive(Debug)]
pub(crate) struct Fail {
    kind: FailKind,
    rev_path: Vec<Segment>,
}

#[derive(Debug)]
enum FailKind {
    KindMismatch { target: NodeKind, patch: NodeKind },
    UnknownDirective(String),
    ElementNotMap { keys: String },
    ElementNotScalar,
    TooDeep,
    IrregularListTooLong { len: usize },
}

#[derive(Debug)]
enum Segment {
    Field(String),
    Element(String),
}

impl Fail {
    fn new(kind: FailKind) -> Fail {
        Fail {
            kind,
            rev_path: Vec::new(),
        }
    }

    fn field(mut self, name: &str) -> Fail {
        self.rev_path.push(Segment::Field(name.to_string()));
        self
    }

    fn element(mut self, desc: String) -> Fail {
        self.rev_path.push(Segment::Element(desc));
        self
    }

    fn into_error(self) -> SmpError {
        let mut path = String::new();
        for seg in self.rev_path.iter().rev() {
            match seg {
                Segment::Field(name) => {
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(name);
                }
                Segment::Element(desc) => {
                    path.push('[');
                    path.push_str(desc);
                    path.push(']');
                }
            }
        }
        if path.is_empty() {
            path.push_str("<root>");
        }
        match self.kind {
            FailKind::KindMismatch { target, patch } => SmpError::KindMismatch {
                path,
                target,
                patch,
            },
            FailKind::UnknownDirective(value) => SmpError::UnknownDirective { path, value },
            FailKind::ElementNotMap { keys } => SmpError::ElementNotMap { path, keys },
            FailKind::ElementNotScalar => SmpError::ElementNotScalar { path },
            FailKind::TooDeep => SmpError::TooDeep {
                path,
                limit: MAX_DEPTH,
            },
            FailKind::IrregularListTooLong { len } => SmpError::IrregularListTooLong {
                path,
                len,
                limit: assoc::MAX_IRREGULAR_ELEMENTS,
            },
        }
    }
}

/// The walker: kyaml's `walk.Walker` with the `merge2.Merger` visitor, specialised to two
/// sources (target, patch) and to the one-source case kyaml reaches when a patch node
/// becomes the target (`walk_same`).
pub(crate) struct Walker<'s> {
    schema: &'s Schema,
    /// Use the indexed list merge for well-formed lists (see [`assoc`]); the tests turn it
    /// off to compare with the step-by-step emulation.
    fast_lists: bool,
}

impl<'s> Walker<'s> {
    pub(crate) fn new(schema: &'s Schema) -> Walker<'s> {
        Walker {
            schema,
            fast_lists: true,
        }
    }

    pub(crate) fn merge_root(
        &self,
        target: &mut Value,
        patch: &Value,
    ) -> Result<Outcome, SmpError> {
        // kyaml edits the patch as it goes (it removes `$patch` keys, and nodes it adds to
        // the target are shared with the patch); a repeated list lookup can see those
        // edits, so the walk gets its own copy to edit.
        let mut patch = patch.clone();
        match self
            .walk(Some(target), Some(&mut patch), None, 0)
            .map_err(Fail::into_error)?
        {
            Walked::Clear => {
                *target = Value::Null;
                return Ok(Outcome::Deleted);
            }
            Walked::Dest => {}
            // The merge hands back a different node only for `$patch: replace` at the top.
            // kustomize's `Resource.ApplyFilter` keeps its own node and looks only at
            // whether one came back, so the resource stays as it was
            // (fixture smp/resource-patch-replace-is-ignored).
            Walked::New(_) => {}
        }
        // kustomize drops a resource left empty (`IsNilOrEmpty`).
        Ok(if is_nil_or_empty(target) {
            Outcome::Deleted
        } else {
            Outcome::Kept
        })
    }

    /// `Walker.GetSchema`: the schema from the parent, else the type named by the node's
    /// own `apiVersion`/`kind` (target first, then patch). This is how a typed object
    /// nested in an unknown kind gets merge keys.
    fn lookup(&self, node: &Value) -> Option<TypeRef<'s>> {
        let m = node.as_object()?;
        let api_version = meta_text(m.get("apiVersion")?)?;
        let kind = meta_text(m.get("kind")?)?;
        self.schema.type_for(&api_version, &kind)
    }

    fn walk(
        &self,
        dest: Option<&mut Value>,
        patch: Option<&mut Value>,
        schema: Option<TypeRef<'s>>,
        depth: usize,
    ) -> Result<Walked, Fail> {
        // This function and the ones it recurses through stay small: their frames are
        // what a deep document costs in stack.
        if depth > MAX_DEPTH {
            return Err(Fail::new(FailKind::TooDeep));
        }
        let schema = self.schema_of(schema, dest.as_deref(), patch.as_deref());
        match pair_kind(dest.as_deref(), patch.as_deref())? {
            // Two null or missing nodes are walked as maps.
            None | Some(NodeKind::Map) => self.walk_map(dest, patch, schema, depth),
            Some(NodeKind::List) => self.walk_list(dest, patch, schema, depth),
            Some(NodeKind::Scalar) => Ok(visit_scalar(patch.as_deref())),
        }
    }

    /// `Walker.GetSchema` for a pair: the parent's schema, else the target's own type,
    /// else the patch's.
    fn schema_of(
        &self,
        given: Option<TypeRef<'s>>,
        dest: Option<&Value>,
        patch: Option<&Value>,
    ) -> Option<TypeRef<'s>> {
        given
            .or_else(|| dest.and_then(|d| self.lookup(d)))
            .or_else(|| patch.and_then(|p| self.lookup(p)))
    }

    /// `Merger.VisitMap`, then the fields.
    fn walk_map(
        &self,
        dest: Option<&mut Value>,
        patch: Option<&mut Value>,
        schema: Option<TypeRef<'s>>,
        depth: usize,
    ) -> Result<Walked, Fail> {
        match dest {
            Some(Value::Object(dm)) => match patch {
                None => {
                    self.dest_only_fields(dm, schema, depth)?;
                    Ok(Walked::Dest)
                }
                Some(Value::Object(pm)) => self.merge_map(dm, pm, schema, depth),
                // A null patch clears the field.
                Some(_) => Ok(Walked::Clear),
            },
            Some(Value::Null) => self.add_map(true, patch, schema, depth),
            // The kind check let only maps and nulls through.
            Some(_) => Ok(Walked::Dest),
            None => self.add_map(false, patch, schema, depth),
        }
    }

    /// `VisitMap` where the target has no map (missing, or null when `dest_null`).
    fn add_map(
        &self,
        dest_null: bool,
        patch: Option<&mut Value>,
        schema: Option<TypeRef<'s>>,
        depth: usize,
    ) -> Result<Walked, Fail> {
        match patch {
            Some(Value::Object(pm)) => {
                // Adding a map: kyaml ignores a bad `$patch` value here, so it is kept
                // verbatim (fixture smp/added-map-unknown-directive). A good one is
                // removed from the patch, even `delete`.
                let directive = map_directive(pm);
                if matches!(directive, Ok(Some(_))) {
                    pm.remove(DIRECTIVE_KEY);
                }
                if directive == Ok(Some(Directive::Delete)) {
                    return Ok(Walked::Clear);
                }
                // The patch's map becomes the target's: kyaml walks it as both sides.
                self.same_fields(pm, schema, depth)?;
                Ok(Walked::New(Value::Object(pm.clone())))
            }
            // An explicit null in the target survives a patch that does not mention it
            // (`MakePersistentNullNode`, kustomize issue 4628).
            None if dest_null => Ok(Walked::Dest),
            _ => Ok(Walked::Clear),
        }
    }

    /// `VisitMap` with a map on both sides: the patch's directive, then the fields.
    fn merge_map(
        &self,
        dm: &mut Map<String, Value>,
        pm: &mut Map<String, Value>,
        schema: Option<TypeRef<'s>>,
        depth: usize,
    ) -> Result<Walked, Fail> {
        let directive = map_directive(pm).map_err(|v| Fail::new(FailKind::UnknownDirective(v)))?;
        if directive.is_some() {
            pm.remove(DIRECTIVE_KEY);
        }
        match directive {
            Some(Directive::Delete) => Ok(Walked::Clear),
            Some(Directive::Replace) => {
                // The patch's map replaces the target's, walked as both sides.
                self.same_fields(pm, schema, depth)?;
                Ok(Walked::New(Value::Object(pm.clone())))
            }
            Some(Directive::Merge) | None => {
                self.merge_fields(dm, pm, schema, depth)?;
                Ok(Walked::Dest)
            }
        }
    }

    fn merge_fields(
        &self,
        dm: &mut Map<String, Value>,
        pm: &mut Map<String, Value>,
        schema: Option<TypeRef<'s>>,
        depth: usize,
    ) -> Result<(), Fail> {
        for (k, dv) in dm.iter_mut() {
            if pm.contains_key(k) {
                continue;
            }
            self.dest_only(dv, schema.and_then(|s| s.field(k)), depth + 1)
                .map_err(|e| e.field(k))?;
        }
        for (k, pv) in pm.iter_mut() {
            let child = schema.and_then(|s| s.field(k));
            match self
                .walk(dm.get_mut(k), Some(pv), child, depth + 1)
                .map_err(|e| e.field(k))?
            {
                Walked::Clear => {
                    dm.remove(k);
                }
                Walked::Dest => {}
                Walked::New(v) => {
                    let v = keep_quoted_style(dm.get(k), v);
                    dm.insert(k.clone(), v);
                }
            }
        }
        Ok(())
    }

    /// `Merger.VisitList`, then the elements of a merged list.
    fn walk_list(
        &self,
        dest: Option<&mut Value>,
        patch: Option<&mut Value>,
        schema: Option<TypeRef<'s>>,
        depth: usize,
    ) -> Result<Walked, Fail> {
        let Some(list_schema) = schema.filter(TypeRef::is_associative) else {
            // Not merged by key: the patch's list (or null) replaces the target's.
            return Ok(visit_scalar(patch.as_deref()));
        };
        let dl = match dest {
            Some(Value::Array(dl)) => dl,
            // The kind check let only lists and nulls through.
            Some(d) if !d.is_null() => return Ok(Walked::Dest),
            _ => {
                // Adding a list: the patch's list is taken as it is (no list-level
                // `$patch`), then merged with itself.
                let Some(Value::Array(pl)) = patch else {
                    return Ok(Walked::Clear);
                };
                assoc::merge(self, pl, assoc::PatchSide::SameAsDest, list_schema, depth)?;
                return Ok(Walked::New(Value::Array(pl.clone())));
            }
        };
        let pl = match patch {
            None => {
                assoc::merge(self, dl, assoc::PatchSide::Absent, list_schema, depth)?;
                return Ok(Walked::Dest);
            }
            Some(Value::Array(pl)) => pl,
            Some(_) => return Ok(Walked::Clear),
        };
        let directive = list_directive(pl).map_err(|v| Fail::new(FailKind::UnknownDirective(v)))?;
        if let Some((_, marker)) = &directive {
            pl.retain(|e| !is_elided_element(e, marker));
        }
        match directive.map(|(d, _)| d) {
            Some(Directive::Delete) => Ok(Walked::Clear),
            Some(Directive::Replace) => {
                // The patch's list replaces the target's, merged with itself.
                assoc::merge(self, pl, assoc::PatchSide::SameAsDest, list_schema, depth)?;
                Ok(Walked::New(Value::Array(pl.clone())))
            }
            Some(Directive::Merge) | None => {
                assoc::merge(self, dl, assoc::PatchSide::List(pl), list_schema, depth)?;
                Ok(Walked::Dest)
            }
        }
    }

    /// A target node the patch does not mention. kyaml still walks it: merged lists inside
    /// are normalised, nested typed objects looked up. Nothing is ever removed here.
    fn dest_only(
        &self,
        dest: &mut Value,
        schema: Option<TypeRef<'s>>,
        depth: usize,
    ) -> Result<(), Fail> {
        if depth > MAX_DEPTH {
            return Err(Fail::new(FailKind::TooDeep));
        }
        let schema = schema.or_else(|| self.lookup(dest));
        match dest {
            Value::Object(m) => self.dest_only_fields(m, schema, depth),
            Value::Array(items) => match schema.filter(TypeRef::is_associative) {
                Some(list_schema) => {
                    assoc::merge(self, items, assoc::PatchSide::Absent, list_schema, depth)
                }
                None => Ok(()),
            },
            _ => Ok(()),
        }
    }

    fn dest_only_fields(
        &self,
        m: &mut Map<String, Value>,
        schema: Option<TypeRef<'s>>,
        depth: usize,
    ) -> Result<(), Fail> {
        for (k, v) in m.iter_mut() {
            self.dest_only(v, schema.and_then(|s| s.field(k)), depth + 1)
                .map_err(|e| e.field(k))?;
        }
        Ok(())
    }

    /// A patch node that became the target (added, or `$patch: replace`): kyaml walks it
    /// as both target and patch. Nulls vanish, `$patch` directives inside apply, merged
    /// lists are merged with themselves. Returns whether the node stays.
    fn walk_same(
        &self,
        node: &mut Value,
        schema: Option<TypeRef<'s>>,
        depth: usize,
    ) -> Result<bool, Fail> {
        if depth > MAX_DEPTH {
            return Err(Fail::new(FailKind::TooDeep));
        }
        let schema = schema.or_else(|| self.lookup(node));
        match node {
            Value::Null => Ok(false),
            Value::Object(m) => {
                // The directive is removed even for `delete`: kyaml's list rebuild may
                // put the node back (fixture smp/added-element-delete-without-key-is-kept).
                let directive =
                    map_directive(m).map_err(|v| Fail::new(FailKind::UnknownDirective(v)))?;
                if directive.is_some() {
                    m.remove(DIRECTIVE_KEY);
                }
                if directive == Some(Directive::Delete) {
                    return Ok(false);
                }
                self.same_fields(m, schema, depth)?;
                Ok(true)
            }
            Value::Array(items) => {
                let Some(list_schema) = schema.filter(TypeRef::is_associative) else {
                    return Ok(true);
                };
                let directive =
                    list_directive(items).map_err(|v| Fail::new(FailKind::UnknownDirective(v)))?;
                if let Some((_, marker)) = &directive {
                    items.retain(|e| !is_elided_element(e, marker));
                }
                if matches!(directive, Some((Directive::Delete, _))) {
                    return Ok(false);
                }
                assoc::merge(
                    self,
                    items,
                    assoc::PatchSide::SameAsDest,
                    list_schema,
                    depth,
                )?;
                Ok(true)
            }
            _ => Ok(true),
        }
    }

    fn same_fields(
        &self,
        m: &mut Map<String, Value>,
        schema: Option<TypeRef<'s>>,
        depth: usize,
    ) -> Result<(), Fail> {
        let mut gone = Vec::new();
        for (k, v) in m.iter_mut() {
            if !self
                .walk_same(v, schema.and_then(|s| s.field(k)), depth + 1)
                .map_err(|e| e.field(k))?
            {
                gone.push(k.clone());
            }
        }
        for k in gone {
            m.remove(&k);
        }
        Ok(())
    }
}

/// `determineMappingNodePatchStrategy`: `Ok(None)` when there is no `$patch`, the unknown
/// value as the error.
fn map_directive(m: &Map<String, Value>) -> Result<Option<Directive>, String> {
    match m.get(DIRECTIVE_KEY) {
        None => Ok(None),
        Some(v) => {
            let text = raw_text(v);
            Directive::parse(&text)
                .map(Some)
                .ok_or_else(|| text.into_owned())
        }
    }
}

/// `determineSequenceNodePatchStrategy`: the first map element with a `$patch` key decides,
/// and only if `$patch` is its only key. Returns the directive and its text (to elide the
/// marker elements with [`is_elided_element`]).
fn list_directive(items: &[Value]) -> Result<Option<(Directive, String)>, String> {
    let marker = items
        .iter()
        .filter_map(Value::as_object)
        .find(|m| m.contains_key(DIRECTIVE_KEY));
    let Some(marker) = marker else {
        return Ok(None);
    };
    if marker.len() > 1 {
        return Ok(None);
    }
    let text = marker.get(DIRECTIVE_KEY).map(raw_text).unwrap_or_default();
    match Directive::parse(&text) {
        Some(d) => Ok(Some((d, text.into_owned()))),
        None => Err(text.into_owned()),
    }
}

/// Eliding a list directive is an `ElementSetter` delete keyed on `$patch`: it removes
/// every map whose `$patch` has the directive's text, and, like every `ElementSetter`,
/// null and empty-map elements.
fn is_elided_element(e: &Value, marker: &str) -> bool {
    match e {
        Value::Null => true,
        Value::Object(m) if m.is_empty() => true,
        Value::Object(m) => m.get(DIRECTIVE_KEY).is_some_and(|v| raw_text(v) == marker),
        _ => false,
    }
}

/// The kind of a (target, patch) pair: the first non-null node's; every other non-null
/// node must agree (`ErrorIfAnyInvalidAndNonNull`).
fn pair_kind(dest: Option<&Value>, patch: Option<&Value>) -> Result<Option<NodeKind>, Fail> {
    let d_kind = dest.and_then(node_kind);
    let p_kind = patch.and_then(node_kind);
    match (d_kind, p_kind) {
        (Some(target), Some(patch)) if target != patch => {
            Err(Fail::new(FailKind::KindMismatch { target, patch }))
        }
        _ => Ok(d_kind.or(p_kind)),
    }
}

/// `FieldSetter` gives the new value of an existing field the old value's YAML style, and
/// kustomize prints through YAML text: a number or boolean from the patch that replaces a
/// quoted string becomes a string (`value: "8080"` patched with `value: 9090` prints
/// `value: "9090"`). The document model does not keep styles, so a target string counts
/// as quoted only when it could not have been written plain (fixture
/// smp/scalar-replacing-quoted-string-becomes-string). A plain target string (`targetPort:
/// http` patched with `8080`) keeps the patch's type, as in kustomize.
fn keep_quoted_style(old: Option<&Value>, new: Value) -> Value {
    match (old, &new) {
        (Some(Value::String(s)), Value::Number(_) | Value::Bool(_)) if must_be_quoted(s) => {
            Value::String(raw_text(&new).into_owned())
        }
        _ => new,
    }
}

/// Could `s` not be written as a plain YAML scalar that reads back as this string?
fn must_be_quoted(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return true;
    };
    if !matches!(
        resolve_plain(s, Dialect::V3),
        Resolved::Str | Resolved::Timestamp(_)
    ) {
        return true;
    }
    if s.contains('\n') || s.contains(": ") || s.contains(" #") || s.ends_with(':') {
        return true;
    }
    if first.is_whitespace() || s.ends_with(char::is_whitespace) {
        return true;
    }
    if "[]{},#&*!|>'\"%@`".contains(first) {
        return true;
    }
    // `-`, `?` and `:` start a plain scalar only when something other than a space follows.
    matches!(first, '-' | '?' | ':') && s.chars().nth(1).is_none_or(|c| c == ' ')
}

/// `VisitScalar`: the patch's value wins.
fn visit_scalar(patch: Option<&Value>) -> Walked {
    match patch {
        Some(p) => new_or_clear(p.clone()),
        None => Walked::Dest,
    }
}

fn node_kind(v: &Value) -> Option<NodeKind> {
    match v {
        Value::Null => None,
        Value::Object(_) => Some(NodeKind::Map),
        Value::Array(_) => Some(NodeKind::List),
        _ => Some(NodeKind::Scalar),
    }
}

/// A null from the patch clears (`FieldSetter` drops tagged nulls).
fn new_or_clear(v: Value) -> Walked {
    if v.is_null() {
        Walked::Clear
    } else {
        Walked::New(v)
    }
}

/// The text kyaml compares: a scalar's YAML text (here: its canonical form), `""` for maps
/// and lists, `null` for null.
pub(crate) fn raw_text(v: &Value) -> Cow<'_, str> {
    match v {
        Value::String(s) => Cow::Borrowed(s.as_str()),
        Value::Number(n) => Cow::Owned(format_number(n)),
        Value::Bool(true) => Cow::Borrowed("true"),
        Value::Bool(false) => Cow::Borrowed("false"),
        Value::Null => Cow::Borrowed("null"),
        Value::Array(_) | Value::Object(_) => Cow::Borrowed(""),
    }
}

/// `GetMeta`'s reading of `apiVersion`/`kind`: a non-empty value's text, if not empty.
fn meta_text(v: &Value) -> Option<Cow<'_, str>> {
    if is_nil_or_empty(v) {
        return None;
    }
    let t = raw_text(v);
    (!t.is_empty()).then_some(t)
}

/// A scalar kyaml creates from text (`NewScalarRNode`, no tag): written double-quoted when
/// YAML 1.1 would read it as something else, so it stays a string; otherwise read back
/// plain by go-yaml v3.
pub(crate) fn untagged_scalar(text: &str) -> Value {
    if !text.is_empty() && !text.contains('\n') && !v2_plain_is_string(text) {
        return Value::String(text.to_string());
    }
    plain_scalar(text)
}

fn plain_scalar(text: &str) -> Value {
    match resolve_plain(text, Dialect::V3) {
        Resolved::Null => Value::Null,
        Resolved::Bool(b) => Value::Bool(b),
        Resolved::Int(i) => Value::Number(i.into()),
        Resolved::UInt(u) => Value::Number(u.into()),
        Resolved::Float(f) => serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(text.to_string())),
        Resolved::Timestamp(s) => Value::String(s),
        Resolved::Str | Resolved::Merge => Value::String(text.to_string()),
    }
}

/// `FieldSetter` with a new untagged scalar: the existing node's style is kept, so a
/// quoted string stays a string and a plain value is read back plain.
fn set_string_like(m: &mut Map<String, Value>, field: &str, text: &str) {
    let value = match m.get(field) {
        Some(Value::String(_)) => Value::String(text.to_string()),
        Some(_) => plain_scalar(text),
        None => untagged_scalar(text),
    };
    m.insert(field.to_string(), value);
}

/// `getMetaStringField`: the text of `metadata.<field>`, `""` when absent or empty.
fn meta_string(resource: &Value, field: &str) -> String {
    resource
        .get("metadata")
        .filter(|m| !is_nil_or_empty(m))
        .and_then(|m| m.get(field))
        .filter(|v| !is_nil_or_empty(v))
        .map(|v| raw_text(v).into_owned())
        .unwrap_or_default()
}

/// `GetKind`/`GetApiVersion`: the text of a top-level field, `""` when absent.
fn root_string(resource: &Value, field: &str) -> String {
    resource
        .get(field)
        .map(|v| raw_text(v).into_owned())
        .unwrap_or_default()
}

/// `LookupCreate(MappingNode, "metadata")`: the metadata map, created when missing.
fn metadata_for_write(root: &mut Map<String, Value>) -> Option<&mut Map<String, Value>> {
    let meta = root
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if meta.is_null() {
        *meta = Value::Object(Map::new());
    }
    meta.as_object_mut()
}

/// `CopyMergeMetaDataFieldsFrom` on the patch copy: labels and annotations are read as
/// `map[string]string` (each value's text) and written back as strings, sorted; empty ones
/// are removed. A missing `metadata` is created.
fn normalize_meta_maps(patch: &mut Value) -> Result<(), SmpError> {
    let Value::Object(root) = patch else {
        return Ok(());
    };
    let meta = root
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    let meta = match meta {
        Value::Object(m) => m,
        // Clearing a field of a null node is a no-op, and a null metadata has no labels.
        Value::Null => return Ok(()),
        other => {
            return Err(SmpError::MetadataNotAMap {
                field: "labels",
                found: node_kind(other).unwrap_or(NodeKind::Scalar),
            })
        }
    };
    for field in ["labels", "annotations"] {
        let strings: Map<String, Value> = match meta.get(field) {
            Some(Value::Object(m)) => m
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(raw_text(v).into_owned())))
                .collect(),
            // go-yaml stores a list's items where a map stores keys and values; kyaml
            // reads them pairwise.
            Some(Value::Array(items)) => items
                .chunks(2)
                .filter_map(|pair| match pair {
                    [k, v] => Some((
                        raw_text(k).into_owned(),
                        Value::String(raw_text(v).into_owned()),
                    )),
                    _ => None,
                })
                .collect(),
            _ => Map::new(),
        };
        meta.remove(field);
        if !strings.is_empty() {
            meta.insert(field.to_string(), Value::Object(strings));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
