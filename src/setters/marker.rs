//! Markers and setters: which comments Flux obeys, which setter a marker names, and the
//! value each setter writes.
//!
//! For every policy `ns:name` Flux registers four setters, and only these: `ns:name`
//! (the full reference), `ns:name:tag`, `ns:name:name` and `ns:name:digest`. A marker is
//! a comment that, once all its leading `#` are dropped, is exactly one JSON object of
//! strings with `"$imagepolicy"` naming one of them. kyaml's older long form
//! `{"$ref": "#/definitions/io.k8s.cli.setters.ns:name"}` names them too. Anything else
//! (an unknown policy, an unknown suffix, text after the object, YAML flow syntax) is
//! an ordinary comment.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::{Error, ImageRef};

/// The part of a policy's latest image that a setter writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// `name:tag`, or `name:tag@digest` when the policy reflects digests.
    Image,
    /// The tag alone (`ns:name:tag` markers).
    Tag,
    /// The repository without tag or digest (`ns:name:name` markers).
    Name,
    /// The digest, empty unless the policy reflects digests (`ns:name:digest` markers).
    Digest,
}

/// Marker suffixes after `ns:name`, one per setter Flux registers for a policy.
const SUFFIXES: &[(&str, Field)] = &[
    ("", Field::Image),
    (":tag", Field::Tag),
    (":name", Field::Name),
    (":digest", Field::Digest),
];

/// The short-hand key of a marker object.
const SHORT_HAND: &str = "$imagepolicy";
/// The long form's `$ref` prefix (kyaml setters' definitions path).
const REF_PREFIX: &str = "#/definitions/io.k8s.cli.setters.";

/// One setter: a policy and the field of its image that the marked value receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setter {
    /// `namespace:name` of the ImagePolicy.
    pub policy: String,
    /// Which part of the policy's image the value becomes.
    pub field: Field,
}

impl Setter {
    /// The setter's name as written in markers and reports (`flux-system:app:tag`).
    pub fn name(&self) -> String {
        let suffix = SUFFIXES
            .iter()
            .find(|(_, f)| *f == self.field)
            .map_or("", |(s, _)| s);
        format!("{}{}", self.policy, suffix)
    }

    /// The value this setter writes for `image`.
    pub fn value(&self, image: &ImageRef) -> String {
        match self.field {
            Field::Image => image.to_string(),
            Field::Tag => image.tag.clone(),
            Field::Name => image.name.clone(),
            Field::Digest => image.digest.clone(),
        }
    }
}

/// The latest image of each ImagePolicy, keyed by `namespace:name`.
///
/// ```
/// use rustomize::setters::{ImageRef, Policies};
///
/// let mut policies = Policies::new();
/// policies.insert("flux-system:app", ImageRef::parse("ghcr.io/org/app:1.2.3").unwrap()).unwrap();
/// let setter = policies.setter("flux-system:app:tag").unwrap();
/// assert_eq!(setter.value(policies.get("flux-system:app").unwrap()), "1.2.3");
/// assert!(policies.setter("flux-system:app:sha").is_none());
///
/// let file = b"flux-system:web: nginx:1.27\n";
/// let from_file = Policies::from_yaml("policies.yaml".as_ref(), file).unwrap();
/// assert_eq!(from_file.get("flux-system:web").unwrap().tag, "1.27");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policies {
    refs: BTreeMap<String, ImageRef>,
}

impl Policies {
    /// No policies; add them with [`insert`](Self::insert).
    pub fn new() -> Policies {
        Policies::default()
    }

    /// Adds (or replaces) a policy. The key must be `namespace:name` and the image a
    /// reference Flux would accept; Flux fails the whole update otherwise.
    pub fn insert(&mut self, policy: &str, image: ImageRef) -> Result<(), Error> {
        let valid_key = policy
            .split_once(':')
            .is_some_and(|(ns, name)| !ns.is_empty() && !name.is_empty() && !name.contains(':'));
        if !valid_key || policy.chars().any(char::is_whitespace) {
            return Err(Error::PolicyName(policy.to_string()));
        }
        image.validate().map_err(|reason| Error::ImageRef {
            policy: policy.to_string(),
            reference: image.to_string(),
            reason,
        })?;
        self.refs.insert(policy.to_string(), image);
        Ok(())
    }

    /// The latest image of `policy` (`namespace:name`).
    pub fn get(&self, policy: &str) -> Option<&ImageRef> {
        self.refs.get(policy)
    }

    /// Number of policies.
    pub fn len(&self) -> usize {
        self.refs.len()
    }

    /// Whether there are no policies at all.
    pub fn is_empty(&self) -> bool {
        self.refs.is_empty()
    }

    /// Each policy's `namespace:name` and image, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ImageRef)> {
        self.refs.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The setter called `name`, if its policy is known.
    pub fn setter(&self, name: &str) -> Option<Setter> {
        SUFFIXES.iter().find_map(|(suffix, field)| {
            let policy = name.strip_suffix(suffix)?;
            self.refs.contains_key(policy).then(|| Setter {
                policy: policy.to_string(),
                field: *field,
            })
        })
    }

    /// Reads policies from YAML: either a map `namespace:name: image-ref`, or ImagePolicy
    /// objects (one per document, or in a `List`'s `items`) whose `status.latestRef`
    /// (or `status.latestImage`) is the image. Policies without either are skipped, as
    /// Flux skips policies that have not chosen an image yet.
    pub fn from_yaml(path: &Path, bytes: &[u8]) -> Result<Policies, Error> {
        let yaml_error = |source| Error::Yaml {
            path: path.to_path_buf(),
            source,
        };
        let docs =
            crate::yaml::read_stream(bytes, crate::yaml::Limits::default()).map_err(yaml_error)?;
        let mut policies = Policies::new();
        for doc in &docs {
            policies.add_document(&doc.value).map_err(|e| match e {
                Error::Policies { message, .. } => Error::Policies {
                    path: path.to_path_buf(),
                    message: format!("document at line {}: {message}", doc.line),
                },
                other => other,
            })?;
        }
        Ok(policies)
    }

    fn add_document(&mut self, doc: &Value) -> Result<(), Error> {
        let bad = |message: String| Error::Policies {
            path: Default::default(),
            message,
        };
        let Value::Object(map) = doc else {
            return Err(bad("expected a map of policies or an ImagePolicy".into()));
        };
        let kind = map.get("kind").and_then(Value::as_str);
        if let Some(items) = map.get("items").and_then(Value::as_array) {
            if kind.is_some_and(|k| k.ends_with("List")) {
                return items.iter().try_for_each(|item| self.add_document(item));
            }
        }
        if kind == Some("ImagePolicy") {
            return self
                .add_policy_object(doc)
                .map_err(bad)
                .and_then(|entry| match entry {
                    Some((key, image)) => self.insert(&key, image),
                    None => Ok(()),
                });
        }
        for (key, value) in map {
            let reference = value
                .as_str()
                .ok_or_else(|| bad(format!("{key}: expected an image reference string")))?;
            let image = ImageRef::parse(reference).map_err(|reason| Error::ImageRef {
                policy: key.clone(),
                reference: reference.to_string(),
                reason,
            })?;
            self.insert(key, image)?;
        }
        Ok(())
    }

    /// `namespace:name` and latest image of an ImagePolicy object, `None` if it has none.
    fn add_policy_object(&self, doc: &Value) -> Result<Option<(String, ImageRef)>, String> {
        let text = |v: &Value, path: &[&str]| -> Option<String> {
            path.iter()
                .try_fold(v, |v, k| v.get(k))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let name = text(doc, &["metadata", "name"]).ok_or("ImagePolicy without metadata.name")?;
        let namespace = text(doc, &["metadata", "namespace"])
            .ok_or_else(|| format!("ImagePolicy {name} has no metadata.namespace"))?;
        let key = format!("{namespace}:{name}");
        let status = doc.get("status").unwrap_or(&Value::Null);
        if let Some(latest) = status.get("latestRef").filter(|v| v.is_object()) {
            let image = ImageRef {
                name: text(latest, &["name"]).unwrap_or_default(),
                tag: text(latest, &["tag"]).unwrap_or_default(),
                digest: text(latest, &["digest"]).unwrap_or_default(),
            };
            return Ok(Some((key, image)));
        }
        if let Some(latest) = text(status, &["latestImage"]) {
            let image = ImageRef::parse(&latest).map_err(|e| format!("{key}: {e}"))?;
            return Ok(Some((key, image)));
        }
        Ok(None)
    }
}

/// The setter a comment names, if the comment is a marker for a known policy.
///
/// ```
/// use rustomize::setters::{marker_setter, ImageRef, Policies};
///
/// let mut p = Policies::new();
/// p.insert("ns:app", ImageRef::parse("app:1").unwrap()).unwrap();
/// assert!(marker_setter(r#"# {"$imagepolicy": "ns:app:tag"}"#, &p).is_some());
/// assert!(marker_setter(r#"##{ "$imagepolicy" : "ns:app" }"#, &p).is_some());
/// assert!(marker_setter(r#"# {"$imagepolicy": "ns:app"} trailing"#, &p).is_none());
/// assert!(marker_setter(r#"# {$imagepolicy: ns:app}"#, &p).is_none());
/// ```
pub fn marker_setter(comment: &str, policies: &Policies) -> Option<Setter> {
    let json = comment.trim_start_matches('#');
    let Ok(Value::Object(object)) = serde_json::from_str::<Value>(json) else {
        return None;
    };
    // Go decodes the short hand into map[string]string: every value must be a string
    // (null decodes as "").
    let all_strings = object.values().all(|v| v.is_string() || v.is_null());
    if all_strings {
        if let Some(setter) = object
            .get(SHORT_HAND)
            .and_then(Value::as_str)
            .and_then(|name| policies.setter(name))
        {
            return Some(setter);
        }
    }
    object
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix(REF_PREFIX))
        .and_then(|name| policies.setter(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policies() -> Policies {
        let mut p = Policies::new();
        p.insert("ns:app", ImageRef::parse("reg.io/app:v2@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef").unwrap())
            .unwrap();
        p
    }

    #[test]
    fn marker_forms() {
        let p = policies();
        let name = |c: &str| marker_setter(c, &p).map(|s| s.name());
        assert_eq!(
            name(r#"# {"$imagepolicy": "ns:app"}"#).as_deref(),
            Some("ns:app")
        );
        assert_eq!(
            name(r#"#{"$imagepolicy":"ns:app:digest"}"#).as_deref(),
            Some("ns:app:digest")
        );
        assert_eq!(
            name(r#"# {"$imagepolicy": "ns:app:name", "x": null}"#).as_deref(),
            Some("ns:app:name")
        );
        assert_eq!(
            name(r##"# {"$ref": "#/definitions/io.k8s.cli.setters.ns:app:tag"}"##).as_deref(),
            Some("ns:app:tag")
        );
        for not_marker in [
            r#"# {"$imagepolicy": "ns:other"}"#,
            r#"# {"$imagepolicy": "ns:app:sha"}"#,
            r#"# {'$imagepolicy': 'ns:app'}"#,
            r#"# {"$imagepolicy": "ns:app", "n": 1}"#,
            r#"# [{"$imagepolicy": "ns:app"}]"#,
            "# just a comment",
        ] {
            assert_eq!(name(not_marker), None, "{not_marker}");
        }
    }

    #[test]
    fn setter_values() {
        let p = policies();
        let image = p.get("ns:app").unwrap();
        let value = |n: &str| p.setter(n).unwrap().value(image);
        assert_eq!(value("ns:app:tag"), "v2");
        assert_eq!(value("ns:app:name"), "reg.io/app");
        assert!(value("ns:app:digest").starts_with("sha256:0123"));
        assert!(value("ns:app").starts_with("reg.io/app:v2@sha256:"));
    }

    #[test]
    fn policy_keys_are_namespaced_names() {
        let mut p = Policies::new();
        for bad in ["app", ":app", "ns:", "ns:app:tag", "ns: app"] {
            assert!(
                p.insert(bad, ImageRef::parse("app:1").unwrap()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn policies_from_image_policy_objects() {
        let yaml = b"apiVersion: v1\nkind: List\nitems:\n- kind: ImagePolicy\n  metadata: {name: a, namespace: ns}\n  status:\n    latestRef: {name: reg/a, tag: '1.0'}\n- kind: ImagePolicy\n  metadata: {name: b, namespace: ns}\n  status: {latestImage: 'reg/b:2'}\n- kind: ImagePolicy\n  metadata: {name: c, namespace: ns}\n";
        let p = Policies::from_yaml(Path::new("p.yaml"), yaml).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p.get("ns:a").unwrap().tag, "1.0");
        assert_eq!(p.get("ns:b").unwrap().name, "reg/b");
    }
}
