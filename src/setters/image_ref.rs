//! An image reference as an ImagePolicy reports it (`status.latestRef`): repository name,
//! tag, optional digest, and the checks Flux makes before it writes one anywhere.

use std::fmt;

/// `status.latestRef` of an ImagePolicy: `name` is the ImageRepository's image as written
/// (`ghcr.io/org/app`), `tag` the chosen tag, `digest` empty unless the policy reflects
/// digests.
///
/// ```
/// use rustomize::setters::ImageRef;
///
/// let r = ImageRef::parse("localhost:5000/app:v1.2@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef").unwrap();
/// assert_eq!(r.name, "localhost:5000/app");
/// assert_eq!(r.tag, "v1.2");
/// assert!(r.digest.starts_with("sha256:"));
/// assert_eq!(ImageRef::parse("nginx:1.27").unwrap().to_string(), "nginx:1.27");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImageRef {
    /// The repository, with its registry if any (`ghcr.io/org/app`).
    pub name: String,
    /// The tag; empty for none.
    pub tag: String,
    /// `sha256:` and 64 hex digits; empty for none.
    pub digest: String,
}

impl ImageRef {
    /// Splits `NAME[:TAG][@DIGEST]`: the digest follows the last `@`, the tag the last `:`
    /// after the last `/` (so a registry port is not a tag). The result is
    /// [validated](Self::validate).
    pub fn parse(s: &str) -> Result<ImageRef, String> {
        let (rest, digest) = match s.rsplit_once('@') {
            Some((r, d)) => (r, d),
            None => (s, ""),
        };
        let slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest.get(slash..).and_then(|last| last.rfind(':')) {
            Some(colon) => (
                rest.get(..slash + colon).unwrap_or_default(),
                rest.get(slash + colon + 1..).unwrap_or_default(),
            ),
            None => (rest, ""),
        };
        let r = ImageRef {
            name: name.to_string(),
            tag: tag.to_string(),
            digest: digest.to_string(),
        };
        r.validate()?;
        Ok(r)
    }

    /// Flux refuses to write a reference that go-containerregistry cannot parse (with weak
    /// validation); these are the same rules: repository path of `[a-z0-9_.-/]` (2-255
    /// characters), optional `host[:port]/` registry, tag of `[A-Za-z0-9_.-]` (1-127), digest
    /// `sha256:` and 64 hex digits.
    pub fn validate(&self) -> Result<(), String> {
        let full = self.to_string();
        if full.starts_with("http://") || full.starts_with("https://") {
            return Err("image reference must not contain a URL scheme".into());
        }
        if self.name.contains('@') || self.tag.contains('@') || self.tag.contains(':') {
            return Err(format!("could not parse reference: {full}"));
        }
        if !self.tag.is_empty() {
            check_element("tag", &self.tag, 1, 127, |c| {
                c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
            })?;
        }
        if !self.digest.is_empty() {
            check_element(
                "digest",
                &self.digest,
                71,
                71,
                |c| matches!(c, 's' | 'h' | ':' | '0'..='9' | 'a'..='f'),
            )?;
        }
        check_repository(&self.name)
    }
}

/// `name[:tag][@digest]`, which is what a full `$imagepolicy` marker receives.
impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if !self.tag.is_empty() {
            write!(f, ":{}", self.tag)?;
        }
        if !self.digest.is_empty() {
            write!(f, "@{}", self.digest)?;
        }
        Ok(())
    }
}

fn check_element(
    what: &str,
    value: &str,
    min: usize,
    max: usize,
    allowed: impl Fn(char) -> bool,
) -> Result<(), String> {
    if value.len() < min || value.len() > max {
        return Err(format!(
            "{what} must be between {min} and {max} characters in length: {value}"
        ));
    }
    if let Some(c) = value.chars().find(|&c| !allowed(c)) {
        return Err(format!("{what} contains invalid character {c:?}: {value}"));
    }
    Ok(())
}

fn check_repository(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("a repository name must be specified".into());
    }
    // The first path component is a registry only if it looks like a host.
    let (registry, repo) = match name.split_once('/') {
        Some((first, rest)) if first.contains('.') || first.contains(':') => (first, rest),
        _ => ("", name),
    };
    check_element(
        "repository",
        repo,
        2,
        255,
        |c| matches!(c, 'a'..='z' | '0'..='9' | '_' | '-' | '.' | '/'),
    )?;
    if !registry.is_empty() {
        check_registry(registry)?;
    }
    Ok(())
}

/// A URI authority: host (name or bracketed IPv6) and an optional numeric port.
fn check_registry(registry: &str) -> Result<(), String> {
    let bad = || format!("registries must be valid RFC 3986 URI authorities: {registry}");
    let (host, port) = if let Some(v6) = registry.strip_prefix('[') {
        let (addr, after) = v6.split_once(']').ok_or_else(bad)?;
        if addr.is_empty()
            || !addr
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        {
            return Err(bad());
        }
        match after {
            "" => (addr, ""),
            p => (addr, p.strip_prefix(':').ok_or_else(bad)?),
        }
    } else {
        match registry.rsplit_once(':') {
            Some((h, p)) => (h, p),
            None => (registry, ""),
        }
    };
    let host_ok = host
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | '%' | ':'));
    if host.is_empty() || !host_ok || !port.chars().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_flux() {
        let r = ImageRef::parse("index.repo.fake/updated:v1.0.1").unwrap();
        assert_eq!(
            (r.name.as_str(), r.tag.as_str()),
            ("index.repo.fake/updated", "v1.0.1")
        );
        let r = ImageRef::parse("localhost:5000/app").unwrap();
        assert_eq!(
            (r.name.as_str(), r.tag.as_str()),
            ("localhost:5000/app", "")
        );
        let d = "sha256:6745aaad46d795c9836632e1fb62f24b7e7f4c843144da8e47a5465c411a14be";
        let r = ImageRef::parse(&format!("image:v1.0.0@{d}")).unwrap();
        assert_eq!(r.digest, d);
        assert_eq!(r.to_string(), format!("image:v1.0.0@{d}"));
    }

    #[test]
    fn rejects_what_go_containerregistry_rejects() {
        for bad in [
            "",
            "Upper/case:1",
            "a:1",
            "app:bad tag",
            "app:v1@sha256:short",
            "https://example.com/app:1",
            "host:port/app:1",
        ] {
            let r = ImageRef::parse(bad);
            assert!(r.is_err(), "{bad:?} accepted: {r:?}");
        }
        assert!(ImageRef::parse("[::1]:5000/app:1").is_ok());
        assert!(ImageRef::parse("ghcr.io/org/app_x-y.z:1.0_rc-1").is_ok());
    }
}
