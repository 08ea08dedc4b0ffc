//! The compact shape table both schemas share: the generated built-in one (static) and a
//! custom `openapi:` one (owned). Everything is an index into flat arrays so the built-in
//! table is plain `static` data and needs no parsing at start-up.
//!
//! A *shape* is what kyaml's `ResourceSchema` is during a merge: a schema with `$ref`s
//! already resolved. Only what a merge reads is kept: which properties lead to which
//! shapes, the `additionalProperties` and `items` shapes, whether the type is `array`, and
//! the three patch extensions.

use std::borrow::Cow;

/// "No child": an absent `items`/`additionalProperties`.
pub(crate) const NONE: u32 = u32::MAX;
/// A property whose `$ref` does not resolve. kyaml's `Field` then returns no schema and,
/// unlike an absent property, does not fall back to `additionalProperties`.
pub(crate) const UNRESOLVED: u32 = u32::MAX - 1;

#[derive(Debug, Clone)]
pub(crate) struct Shape {
    /// `type` is exactly `["array"]` (kyaml's `Elements` requires it).
    pub array: bool,
    /// `(first, count)` in the property table; sorted by name within the range.
    pub props: (u32, u32),
    pub additional: u32,
    pub items: u32,
    /// `x-kubernetes-patch-strategy`, `""` when absent.
    pub strategy: Cow<'static, str>,
    /// `x-kubernetes-patch-merge-key`.
    pub merge_key: Option<Cow<'static, str>>,
    /// `x-kubernetes-list-map-keys` as `(first, count)` in the key table.
    pub list_map_keys: Option<(u32, u32)>,
}

#[derive(Debug, Clone)]
pub(crate) struct Prop {
    pub name: Cow<'static, str>,
    pub shape: u32,
}

#[derive(Debug, Clone)]
pub(crate) struct TypeEntry {
    pub api_version: Cow<'static, str>,
    pub kind: Cow<'static, str>,
    pub shape: u32,
}

// Short constructors keep the generated table readable and small.

#[allow(clippy::too_many_arguments)]
pub(super) const fn s(
    array: bool,
    first_prop: u32,
    prop_count: u32,
    additional: u32,
    items: u32,
    strategy: &'static str,
    merge_key: Option<&'static str>,
    list_map_keys: Option<(u32, u32)>,
) -> Shape {
    Shape {
        array,
        props: (first_prop, prop_count),
        additional,
        items,
        strategy: Cow::Borrowed(strategy),
        merge_key: match merge_key {
            Some(k) => Some(Cow::Borrowed(k)),
            None => None,
        },
        list_map_keys,
    }
}

pub(super) const fn p(name: &'static str, shape: u32) -> Prop {
    Prop {
        name: Cow::Borrowed(name),
        shape,
    }
}

pub(super) const fn t(api_version: &'static str, kind: &'static str, shape: u32) -> TypeEntry {
    TypeEntry {
        api_version: Cow::Borrowed(api_version),
        kind: Cow::Borrowed(kind),
        shape,
    }
}
