//! Build-wide limits: what one build may read, create and print.
//!
//! Per-file bounds (file size, YAML nesting, alias expansion) stop one hostile file; a
//! [`Budget`] stops many files or many steps adding up: forty small files whose aliases
//! each expand to a million nodes, a JSON patch that copies an array into itself forty
//! times, a ten-megabyte `namePrefix` applied to a thousand resources, or a diamond of bases
//! that doubles the resources at every level. Every build shares one budget across its
//! kustomizations and threads; each charge names the limit it exceeded, so the error says
//! which knob to turn ([`Limits`] in the library, `--limit NAME=N` on the command line).
//!
//! The defaults are far above any real repository: the largest of 2,356 real kustomization
//! roots measured reads ~12 MB of YAML, prints 12 MB and 636 resources, and nests bases
//! fewer than 20 deep.

use std::sync::atomic::{AtomicU64, Ordering};

/// The limits of one build. `Default` gives limits far above any real repository.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Largest single file read (kustomizations, resources, patches, generator sources).
    pub file_bytes: u64,
    /// Bytes of YAML values the build creates: everything read (aliases expanded) plus what
    /// transformers copy into resources (prefixes, labels, patches, replacements, vars).
    pub value_bytes: u64,
    /// YAML nodes (scalars, maps, sequences) the build reads and creates.
    pub nodes: u64,
    /// Resources accumulated, counted at every kustomization they pass through (a base
    /// used by three overlays counts three times).
    pub resources: u64,
    /// Kustomization directories loaded (a base used twice counts twice).
    pub kustomizations: u64,
    /// Deepest chain of kustomizations (an overlay of an overlay of ... a base).
    pub depth: u64,
    /// Bytes of output.
    pub output_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            file_bytes: 64 << 20,
            value_bytes: 512 << 20,
            nodes: 10_000_000,
            resources: 2_000_000,
            kustomizations: 20_000,
            depth: 4_000,
            output_bytes: 1 << 30,
        }
    }
}

/// The names of the limits, as `--limit NAME=N` spells them, with what each bounds.
pub const LIMIT_NAMES: &[(&str, &str)] = &[
    ("file-bytes", "bytes in one file"),
    ("value-bytes", "bytes of YAML values read and created"),
    ("nodes", "YAML nodes read and created"),
    ("resources", "resources accumulated over all kustomizations"),
    ("kustomizations", "kustomizations loaded"),
    ("depth", "nested kustomizations"),
    ("output-bytes", "bytes of output"),
];

impl Limits {
    /// Sets one limit by its `--limit` name. Values take an optional binary suffix
    /// (`K`, `M`, `G`: 2^10, 2^20, 2^30).
    ///
    /// ```
    /// let mut limits = rustomize::budget::Limits::default();
    /// limits.set("file-bytes", "1M").unwrap();
    /// assert_eq!(limits.file_bytes, 1 << 20);
    /// ```
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), String> {
        let n = parse_size(value)
            .ok_or_else(|| format!("invalid value {value:?} for limit {name}: expected a number such as 5000, 64M or 2G"))?;
        let slot = match name {
            "file-bytes" => &mut self.file_bytes,
            "value-bytes" => &mut self.value_bytes,
            "nodes" => &mut self.nodes,
            "resources" => &mut self.resources,
            "kustomizations" => &mut self.kustomizations,
            "depth" => &mut self.depth,
            "output-bytes" => &mut self.output_bytes,
            _ => {
                let names: Vec<&str> = LIMIT_NAMES.iter().map(|(n, _)| *n).collect();
                return Err(format!(
                    "unknown limit {name:?}; the limits are {}",
                    names.join(", ")
                ));
            }
        };
        *slot = n;
        Ok(())
    }
}

fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (digits, shift) = match s.as_bytes().last()? {
        b'K' | b'k' => (&s[..s.len() - 1], 10),
        b'M' | b'm' => (&s[..s.len() - 1], 20),
        b'G' | b'g' => (&s[..s.len() - 1], 30),
        _ => (s, 0),
    };
    let n: u64 = digits.replace('_', "").parse().ok()?;
    n.checked_mul(1u64 << shift)
}

/// A limit the build went past.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the build exceeds its limit of {limit} {what} (raise it with --limit {name}=N, or Limits::{field} in the library)")]
pub struct Exceeded {
    /// The limit's `--limit` name (`value-bytes`, `resources`, ...).
    pub name: &'static str,
    /// What it counts.
    pub what: &'static str,
    /// The field of [`Limits`].
    pub field: &'static str,
    /// Its value.
    pub limit: u64,
}

/// What one build has used so far, against its [`Limits`]. Shared by every kustomization
/// and thread of the build.
#[derive(Debug, Default)]
pub struct Budget {
    limits: Limits,
    value_bytes: AtomicU64,
    nodes: AtomicU64,
    resources: AtomicU64,
    kustomizations: AtomicU64,
}

macro_rules! charge_fn {
    ($fn:ident, $counter:ident, $name:literal, $field:literal) => {
        #[doc = concat!("Charges `n` against `Limits::", $field, "`.")]
        pub fn $fn(&self, n: u64) -> Result<(), Exceeded> {
            let used = self
                .$counter
                .fetch_add(n, Ordering::Relaxed)
                .saturating_add(n);
            if used > self.limits.$counter {
                return Err(self.exceeded($name, $field, self.limits.$counter));
            }
            Ok(())
        }
    };
}

/// What a budget has charged, counter by counter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Used {
    /// Bytes of strings and keys.
    pub value_bytes: u64,
    /// YAML nodes.
    pub nodes: u64,
    /// Resources.
    pub resources: u64,
    /// Kustomizations loaded.
    pub kustomizations: u64,
}

impl Used {
    /// What was charged between `before` and `self`.
    pub fn since(&self, before: &Used) -> Used {
        Used {
            value_bytes: self.value_bytes.saturating_sub(before.value_bytes),
            nodes: self.nodes.saturating_sub(before.nodes),
            resources: self.resources.saturating_sub(before.resources),
            kustomizations: self.kustomizations.saturating_sub(before.kustomizations),
        }
    }
}

impl Budget {
    /// What has been charged so far.
    pub fn used(&self) -> Used {
        Used {
            value_bytes: self.value_bytes.load(Ordering::Relaxed),
            nodes: self.nodes.load(Ordering::Relaxed),
            resources: self.resources.load(Ordering::Relaxed),
            kustomizations: self.kustomizations.load(Ordering::Relaxed),
        }
    }

    /// Charges all of `used` if it fits within every limit; charges nothing and returns
    /// false if it does not (the caller then does the work, which fails where it fails).
    pub fn charge_if_fits(&self, used: &Used) -> bool {
        let now = self.used();
        let fits = now.value_bytes.saturating_add(used.value_bytes) <= self.limits.value_bytes
            && now.nodes.saturating_add(used.nodes) <= self.limits.nodes
            && now.resources.saturating_add(used.resources) <= self.limits.resources
            && now.kustomizations.saturating_add(used.kustomizations) <= self.limits.kustomizations;
        if fits {
            self.value_bytes
                .fetch_add(used.value_bytes, Ordering::Relaxed);
            self.nodes.fetch_add(used.nodes, Ordering::Relaxed);
            self.resources.fetch_add(used.resources, Ordering::Relaxed);
            self.kustomizations
                .fetch_add(used.kustomizations, Ordering::Relaxed);
        }
        fits
    }

    /// A budget with nothing used yet; one per build.
    pub fn new(limits: Limits) -> Budget {
        Budget {
            limits,
            ..Default::default()
        }
    }

    /// The limits this budget charges against.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    charge_fn!(
        charge_value_bytes,
        value_bytes,
        "value-bytes",
        "value_bytes"
    );
    charge_fn!(charge_nodes, nodes, "nodes", "nodes");
    charge_fn!(charge_resources, resources, "resources", "resources");
    charge_fn!(
        charge_kustomization,
        kustomizations,
        "kustomizations",
        "kustomizations"
    );

    /// Charges a YAML value that was read or created: its nodes and bytes.
    pub fn charge_value(&self, nodes: u64, bytes: u64) -> Result<(), Exceeded> {
        self.charge_nodes(nodes)?;
        self.charge_value_bytes(bytes)
    }

    /// Checks a nesting depth against `Limits::depth`.
    pub fn check_depth(&self, depth: u64) -> Result<(), Exceeded> {
        if depth > self.limits.depth {
            return Err(self.exceeded("depth", "depth", self.limits.depth));
        }
        Ok(())
    }

    /// Checks an output size against `Limits::output_bytes`.
    pub fn check_output(&self, bytes: u64) -> Result<(), Exceeded> {
        if bytes > self.limits.output_bytes {
            return Err(self.exceeded("output-bytes", "output_bytes", self.limits.output_bytes));
        }
        Ok(())
    }

    /// The limit of one file's size.
    pub fn file_bytes(&self) -> u64 {
        self.limits.file_bytes
    }

    fn exceeded(&self, name: &'static str, field: &'static str, limit: u64) -> Exceeded {
        let what = LIMIT_NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, w)| *w);
        Exceeded {
            name,
            what,
            field,
            limit,
        }
    }
}

/// The nodes and bytes of a value (the bytes of its strings, keys included).
pub fn measure(v: &serde_json::Value) -> (u64, u64) {
    use serde_json::Value;
    let mut nodes = 0u64;
    let mut bytes = 0u64;
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        nodes += 1;
        match v {
            Value::String(s) => bytes += s.len() as u64,
            Value::Array(a) => stack.extend(a.iter()),
            Value::Object(m) => {
                for (k, x) in m {
                    bytes += k.len() as u64;
                    stack.push(x);
                }
            }
            _ => bytes += 8,
        }
    }
    (nodes, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_add_up_to_the_limit() {
        let b = Budget::new(Limits {
            resources: 10,
            ..Default::default()
        });
        assert!(b.charge_resources(6).is_ok());
        let e = b.charge_resources(5).unwrap_err();
        assert_eq!(e.name, "resources");
        assert!(e.to_string().contains("--limit resources=N"), "{e}");
    }

    #[test]
    fn limits_are_set_by_name_with_suffixes() {
        let mut l = Limits::default();
        l.set("output-bytes", "2G").unwrap();
        assert_eq!(l.output_bytes, 2 << 30);
        l.set("resources", "5_000").unwrap();
        assert_eq!(l.resources, 5000);
        assert!(l.set("resource", "1").is_err());
        assert!(l.set("nodes", "many").is_err());
    }
}
