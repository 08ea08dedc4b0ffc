//! `images:`: rewrite container image references (new name, new tag, tag suffix, digest).
//!
//! kustomize runs two passes per image entry: a legacy pass that finds every
//! `containers`/`initContainers` list anywhere in the object, then the configured field
//! specs (`spec/containers[]/image`, ...). CustomResourceDefinitions are never touched.
//! An image matches when the value is the configured name, optionally followed by `:tag`
//! and/or `@sha256:...`; the name is used as a regular expression, as kustomize does.

use regex::Regex;
use serde_json::Value;

use crate::fieldspec::{Create, FieldSpec};
use crate::kustomization::Image;
use crate::resource::ResMap;

use super::{for_each_field, TransformError};

/// One `images:` entry, ready to apply.
pub struct ImageUpdate<'a> {
    image: &'a Image,
    matcher: Option<Regex>,
}

impl<'a> ImageUpdate<'a> {
    pub fn new(image: &'a Image) -> ImageUpdate<'a> {
        // An invalid pattern matches nothing (kustomize ignores the compile error).
        let matcher = Regex::new(&format!(
            "^{}(:[a-zA-Z0-9_.{{}}-]*)?(@sha256:[a-zA-Z0-9_.{{}}-]*)?$",
            image.name
        ))
        .ok();
        ImageUpdate { image, matcher }
    }

    fn matches(&self, value: &str) -> bool {
        self.matcher.as_ref().is_some_and(|m| m.is_match(value))
    }

    /// The new value for `value`, or `None` when the image does not match.
    pub fn rewrite(&self, value: &str) -> Option<String> {
        if !self.matches(value) {
            return None;
        }
        let (name, tag, digest) = split(value);
        let mut name = name.to_string();
        let (mut tag, mut digest) = (tag.to_string(), digest.to_string());
        if !self.image.new_name.is_empty() {
            name = self.image.new_name.clone();
        }
        let i = self.image;
        if !i.new_tag.is_empty() && !i.digest.is_empty() {
            tag = i.new_tag.clone();
            digest = i.digest.clone();
        } else if !i.new_tag.is_empty() {
            tag = i.new_tag.clone();
            digest.clear();
        } else if !i.digest.is_empty() {
            tag.clear();
            digest = i.digest.clone();
        } else if !i.tag_suffix.is_empty() {
            tag.push_str(&i.tag_suffix);
            digest.clear();
        }
        if !tag.is_empty() {
            name.push(':');
            name.push_str(&tag);
        }
        if !digest.is_empty() {
            name.push('@');
            name.push_str(&digest);
        }
        Some(name)
    }

    fn update_node(&self, node: &mut Value) -> Result<(), String> {
        if let Some(new) = self.new_value(node)? {
            *node = Value::String(new);
        }
        Ok(())
    }

    /// What [`Self::update_node`] writes at `node`, if anything.
    fn new_value(&self, node: &Value) -> Result<Option<String>, String> {
        match node {
            Value::String(s) => Ok(self.rewrite(s)),
            Value::Number(_) | Value::Bool(_) => {
                Ok(self.rewrite(&super::scalar_text(node).unwrap_or_default()))
            }
            Value::Null => Ok(None),
            other => Err(format!(
                "image must be a scalar, found a {}",
                super::kind_name(other)
            )),
        }
    }

    /// Whether [`Self::update_node`] would change (or reject) `node`.
    fn acts_on(&self, node: &Value) -> bool {
        !matches!(self.new_value(node), Ok(None))
    }
}

/// Splits an image reference into name, tag and digest (kustomize's `image.Split`): the
/// first `:` or `@` after the first `/` ends the name.
pub fn split(image: &str) -> (&str, &str, &str) {
    let slash = match image.find('/') {
        Some(i) if i > 0 => i,
        _ => 0,
    };
    let search = &image[slash..];
    let at = search.find('@');
    let colon = search.find(':');
    match (colon, at) {
        (None, None) => (image, "", ""),
        (c, Some(d)) if c.is_none() || Some(d) < c => {
            let d = d + slash;
            (&image[..d], "", &image[d + 1..])
        }
        (Some(c), Some(d)) => {
            let (c, d) = (c + slash, d + slash);
            (&image[..c], &image[c + 1..d], &image[d + 1..])
        }
        (Some(c), None) => {
            let c = c + slash;
            (&image[..c], &image[c + 1..], "")
        }
        (None, Some(_)) => (image, "", ""),
    }
}

/// kustomize's `ImageTagTransformer` for one `images:` entry.
pub fn apply(m: &mut ResMap, image: &Image, specs: &[FieldSpec]) -> Result<(), TransformError> {
    let upd = ImageUpdate::new(image);
    for r in m.resources_mut() {
        if r.kind() == "CustomResourceDefinition" {
            continue;
        }
        let mut acts = false;
        legacy_images(r.obj(), &mut |image| acts |= upd.acts_on(image));
        if acts {
            if let Err(e) = legacy_walk(r.obj_mut(), &upd) {
                return Err(TransformError::on("ImageTagTransformer", r, e));
            }
        }
        for_each_field(
            "ImageTagTransformer",
            r,
            specs,
            Create::Never,
            &|node| upd.acts_on(node),
            &mut |node| upd.update_node(node),
        )?;
    }
    Ok(())
}

/// The images [`legacy_walk`] would consider, read-only, in its order.
fn legacy_images(node: &Value, f: &mut dyn FnMut(&Value)) {
    match node {
        Value::Object(map) => {
            for (k, v) in map {
                legacy_images(v, f);
                if k == "containers" || k == "initContainers" {
                    if let Value::Array(items) = v {
                        items
                            .iter()
                            .filter_map(|c| c.get("image"))
                            .for_each(&mut *f);
                    }
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| legacy_images(item, f)),
        _ => {}
    }
}

/// The legacy pass: every `containers` / `initContainers` list anywhere in the object.
fn legacy_walk(node: &mut Value, upd: &ImageUpdate) -> Result<(), String> {
    match node {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                legacy_walk(v, upd)?;
                if k == "containers" || k == "initContainers" {
                    if let Value::Array(items) = v {
                        for item in items {
                            if let Some(img) = item.as_object_mut().and_then(|c| c.get_mut("image"))
                            {
                                upd.update_node(img)?;
                            }
                        }
                    }
                }
            }
            Ok(())
        }
        Value::Array(items) => {
            for item in items {
                legacy_walk(item, upd)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_like_kustomize() {
        assert_eq!(split("nginx"), ("nginx", "", ""));
        assert_eq!(split("nginx:1.2"), ("nginx", "1.2", ""));
        assert_eq!(split("nginx@sha256:abc"), ("nginx", "", "sha256:abc"));
        assert_eq!(
            split("nginx:1.2@sha256:abc"),
            ("nginx", "1.2", "sha256:abc")
        );
        assert_eq!(
            split("localhost:5000/nginx:1.2"),
            ("localhost:5000/nginx", "1.2", "")
        );
    }

    #[test]
    fn rewrite_rules() {
        let img = Image {
            name: "nginx".into(),
            new_name: "apache".into(),
            new_tag: "3".into(),
            ..Default::default()
        };
        let u = ImageUpdate::new(&img);
        assert_eq!(u.rewrite("nginx:1@sha256:x").as_deref(), Some("apache:3"));
        assert_eq!(u.rewrite("nginxx:1"), None);
        let img = Image {
            name: "nginx".into(),
            digest: "sha256:d".into(),
            ..Default::default()
        };
        assert_eq!(
            ImageUpdate::new(&img).rewrite("nginx:1").as_deref(),
            Some("nginx@sha256:d")
        );
    }
}
