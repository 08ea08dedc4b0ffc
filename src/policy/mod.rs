//! ImagePolicy tag selection: given an image's tags, which one is the latest? The same
//! answer Flux's image-reflector-controller writes to `status.latestRef.tag`.
//!
//! An [`ImagePolicy`] is `spec.policy` (exactly one of `semver`, `alphabetical`,
//! `numerical`) plus an optional `spec.filterTags`. [`ImagePolicy::latest`] runs Flux's
//! pipeline:
//!
//! 1. with a filter, keep the tags its pattern matches and rank the extracted values
//!    instead ([`filter`]);
//! 2. an empty list is an error;
//! 3. `semver`: tags that parse as versions ([`semver::Version::parse_tag`]) and satisfy
//!    the range; the highest wins (the first of equals), returned as written;
//!    `alphabetical`: bytewise string order, `ASC` (default) takes the greatest, `DESC`
//!    the least; `numerical`: every candidate must be a Go float ([`numeric`]), `ASC` takes
//!    the greatest (the later of equals), `DESC` the least;
//! 4. the winning candidate maps back to its original tag.
//!
//! Errors read as the controller reports them ("unable to determine latest version from
//! provided list", "failed to parse invalid numeric value '1a'", …).
//!
//! ```
//! use rustomize::policy::ImagePolicy;
//!
//! let policy = ImagePolicy::semver("1.0.x").unwrap();
//! assert_eq!(policy.latest(&["1.0.0", "1.0.1", "1.2.0", "v1.0.2-rc.1"]).unwrap(), "1.0.1");
//!
//! let builds = ImagePolicy::numerical("asc")
//!     .unwrap()
//!     .with_filter("^main-[a-f0-9]+-(?P<n>[0-9]+)$", "$n")
//!     .unwrap();
//! assert_eq!(builds.latest(&["main-a1-9", "main-b2-10", "1.0.0"]).unwrap(), "main-b2-10");
//!
//! let manifest = "apiVersion: image.toolkit.fluxcd.io/v1
//! kind: ImagePolicy
//! metadata: {name: app, namespace: flux-system}
//! spec:
//!   imageRepositoryRef: {name: app}
//!   policy:
//!     alphabetical: {order: desc}
//! ";
//! let policy = ImagePolicy::from_yaml("app.yaml".as_ref(), manifest.as_bytes()).unwrap();
//! assert_eq!(policy.latest(&["b", "a", "c"]).unwrap(), "a");
//! ```

pub mod filter;
pub mod numeric;
pub mod semver;

use std::path::{Path, PathBuf};

use serde_json::Value;

use self::filter::TagFilter;
use self::numeric::parse_go_float;
use self::semver::{Constraints, Version};

/// Why no tag could be chosen, or why the policy is unusable.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The policy cannot be built (bad range, bad order, no policy kind).
    #[error("invalid policy: {0}")]
    InvalidPolicy(String),
    /// `filterTags.pattern` does not compile.
    #[error("failed to filter tags: invalid regular expression pattern '{pattern}': {message}")]
    InvalidPattern {
        /// The pattern as written.
        pattern: String,
        /// The regular expression compiler's complaint.
        message: String,
    },
    /// No tags were given, or the filter kept none of them.
    #[error("version list argument cannot be empty")]
    EmptyTagList,
    /// `semver`: no candidate is a version that satisfies the range.
    #[error("unable to determine latest version from provided list")]
    NoVersionInRange,
    /// `numerical`: this candidate is not a number, which fails the whole list (as in Flux).
    #[error("failed to parse invalid numeric value '{0}'")]
    InvalidNumber(String),
    /// The manifest does not have the shape of an ImagePolicy.
    #[error("{0}")]
    Spec(String),
    /// The policy file is not valid YAML.
    #[error("{0}")]
    Yaml(crate::yaml::Error),
    /// The policy file has no ImagePolicy document (nor any with a `spec.policy`).
    #[error("no ImagePolicy document found")]
    NoImagePolicy,
    /// Any of the above, for the file it came from.
    #[error("{}: {source}", path.display())]
    InFile {
        /// The policy file.
        path: PathBuf,
        /// What went wrong in it.
        #[source]
        source: Box<Error>,
    },
}

/// Sort direction of the `alphabetical` and `numerical` policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// `ASC`: the greatest candidate wins.
    Asc,
    /// `DESC`: the least candidate wins.
    Desc,
}

impl Order {
    /// Flux upper-cases the order first; empty means `ASC`.
    pub fn parse(order: &str) -> Result<Order, Error> {
        match order.to_uppercase().as_str() {
            "" | "ASC" => Ok(Order::Asc),
            "DESC" => Ok(Order::Desc),
            other => Err(Error::InvalidPolicy(format!(
                "invalid order argument provided: '{other}', must be one of: ASC, DESC"
            ))),
        }
    }
}

/// `spec.policy`.
#[derive(Debug, Clone)]
pub enum Policy {
    /// `semver.range`: the highest version the range admits.
    SemVer(Constraints),
    /// `alphabetical.order`: bytewise string order.
    Alphabetical(Order),
    /// `numerical.order`: every candidate must parse as a number.
    Numerical(Order),
}

/// `spec.policy` with an optional `spec.filterTags`.
#[derive(Debug, Clone)]
pub struct ImagePolicy {
    /// How candidates are ranked.
    pub policy: Policy,
    /// `filterTags`, applied before ranking; `None` ranks every tag as written.
    pub filter: Option<TagFilter>,
}

impl ImagePolicy {
    /// A `semver` policy; `range` uses Masterminds' constraint syntax ([`Constraints::parse`]).
    pub fn semver(range: &str) -> Result<ImagePolicy, Error> {
        let c = Constraints::parse(range).map_err(|e| Error::InvalidPolicy(e.0))?;
        Ok(ImagePolicy::new(Policy::SemVer(c)))
    }

    /// An `alphabetical` policy; `order` is `asc` or `desc` in any case, empty for `asc`.
    pub fn alphabetical(order: &str) -> Result<ImagePolicy, Error> {
        Ok(ImagePolicy::new(Policy::Alphabetical(Order::parse(order)?)))
    }

    /// A `numerical` policy; `order` is `asc` or `desc` in any case, empty for `asc`.
    pub fn numerical(order: &str) -> Result<ImagePolicy, Error> {
        Ok(ImagePolicy::new(Policy::Numerical(Order::parse(order)?)))
    }

    fn new(policy: Policy) -> ImagePolicy {
        ImagePolicy {
            policy,
            filter: None,
        }
    }

    /// Adds `filterTags` (`extract` may be empty).
    pub fn with_filter(mut self, pattern: &str, extract: &str) -> Result<ImagePolicy, Error> {
        let f = TagFilter::new(pattern, extract).map_err(|message| Error::InvalidPattern {
            pattern: pattern.to_string(),
            message,
        })?;
        self.filter = Some(f);
        Ok(self)
    }

    /// Builds a policy from `spec.policy` and `spec.filterTags` (either may be JSON null).
    pub fn from_spec(policy: &Value, filter_tags: &Value) -> Result<ImagePolicy, Error> {
        let choice = |kind: &str| match policy.get(kind) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m)),
            Some(_) => Err(Error::Spec(format!("spec.policy.{kind} must be a map"))),
        };
        let field = |m: &serde_json::Map<String, Value>, path: &str, key: &str| match m.get(key) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(Error::Spec(format!("{path}.{key} must be a string"))),
        };
        // Flux looks at semver, then alphabetical, then numerical.
        let mut p = if let Some(m) = choice("semver")? {
            ImagePolicy::semver(&field(m, "spec.policy.semver", "range")?)?
        } else if let Some(m) = choice("alphabetical")? {
            ImagePolicy::alphabetical(&field(m, "spec.policy.alphabetical", "order")?)?
        } else if let Some(m) = choice("numerical")? {
            ImagePolicy::numerical(&field(m, "spec.policy.numerical", "order")?)?
        } else {
            return Err(Error::InvalidPolicy(
                "given ImagePolicyChoice object is invalid".into(),
            ));
        };
        match filter_tags {
            Value::Null => {}
            Value::Object(m) => {
                let pattern = field(m, "spec.filterTags", "pattern")?;
                let extract = field(m, "spec.filterTags", "extract")?;
                p = p.with_filter(&pattern, &extract)?;
            }
            _ => return Err(Error::Spec("spec.filterTags must be a map".into())),
        }
        Ok(p)
    }

    /// Builds a policy from an ImagePolicy object (its `spec`).
    pub fn from_manifest(manifest: &Value) -> Result<ImagePolicy, Error> {
        let spec = manifest.get("spec").unwrap_or(&Value::Null);
        ImagePolicy::from_spec(
            spec.get("policy").unwrap_or(&Value::Null),
            spec.get("filterTags").unwrap_or(&Value::Null),
        )
    }

    /// Reads the first `kind: ImagePolicy` document of a YAML file (or, failing that, the
    /// first document with a `spec.policy`). Errors name `path`.
    pub fn from_yaml(path: &Path, bytes: &[u8]) -> Result<ImagePolicy, Error> {
        let in_file = |e: Error| Error::InFile {
            path: path.to_path_buf(),
            source: Box::new(e),
        };
        let docs = crate::yaml::read_stream(bytes, crate::yaml::Limits::default())
            .map_err(|e| in_file(Error::Yaml(e)))?;
        let is_policy = |v: &Value| v.get("kind").and_then(Value::as_str) == Some("ImagePolicy");
        let has_spec = |v: &Value| v.get("spec").and_then(|s| s.get("policy")).is_some();
        let doc = docs
            .iter()
            .find(|d| is_policy(&d.value))
            .or_else(|| docs.iter().find(|d| has_spec(&d.value)))
            .ok_or_else(|| in_file(Error::NoImagePolicy))?;
        ImagePolicy::from_manifest(&doc.value).map_err(in_file)
    }

    /// The latest tag, as written in `tags`.
    pub fn latest<S: AsRef<str>>(&self, tags: &[S]) -> Result<String, Error> {
        let candidates: Vec<(String, &str)> = match &self.filter {
            Some(f) => f.apply(tags),
            None => tags
                .iter()
                .map(|t| (t.as_ref().to_string(), t.as_ref()))
                .collect(),
        };
        let names: Vec<&str> = candidates.iter().map(|(c, _)| c.as_str()).collect();
        let winner = self.policy.pick(&names)?;
        candidates
            .get(winner)
            .map(|(_, original)| original.to_string())
            .ok_or(Error::NoVersionInRange)
    }
}

impl Policy {
    /// Index of the winning candidate.
    fn pick(&self, candidates: &[&str]) -> Result<usize, Error> {
        if candidates.is_empty() {
            return Err(Error::EmptyTagList);
        }
        match self {
            Policy::SemVer(range) => {
                let mut best: Option<(usize, Version)> = None;
                for (i, c) in candidates.iter().enumerate() {
                    let Ok(v) = Version::parse_tag(c) else {
                        continue;
                    };
                    if range.check(&v) && best.as_ref().is_none_or(|(_, b)| &v > b) {
                        best = Some((i, v));
                    }
                }
                best.map(|(i, _)| i).ok_or(Error::NoVersionInRange)
            }
            Policy::Alphabetical(order) => {
                let ranked = candidates.iter().enumerate();
                let best = match order {
                    // The first of equal strings; they are the same tag anyway.
                    Order::Asc => ranked.rev().max_by(|a, b| a.1.cmp(b.1)),
                    Order::Desc => ranked.min_by(|a, b| a.1.cmp(b.1)),
                };
                best.map(|(i, _)| i).ok_or(Error::EmptyTagList)
            }
            Policy::Numerical(order) => {
                let mut best: Option<(usize, f64)> = None;
                for (i, c) in candidates.iter().enumerate() {
                    let x = parse_go_float(c).ok_or_else(|| Error::InvalidNumber(c.to_string()))?;
                    // Flux replaces the current best unless the new value is strictly worse.
                    let worse = best.is_some_and(|(_, b)| match order {
                        Order::Asc => x < b,
                        Order::Desc => x > b,
                    });
                    if !worse {
                        best = Some((i, x));
                    }
                }
                best.map(|(i, _)| i).ok_or(Error::EmptyTagList)
            }
        }
    }
}
