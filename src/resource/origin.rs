//! kustomize's origin annotations: which file (and repository) a resource came from, and
//! which generator or transformer made or changed it.

/// kustomize's `resource.Origin`: where a resource was read or which plugin made or
/// changed it (`buildMetadata: [originAnnotations, transformerAnnotations]`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    /// The file, relative to the top kustomization's directory (or to the repository's
    /// root for a remote resource).
    pub path: String,
    /// The repository a remote resource came from (its clone URL).
    pub repo: String,
    /// The ref of that repository.
    pub git_ref: String,
    /// The file that configured the generator or transformer.
    pub configured_in: String,
    /// apiVersion, kind, name, namespace of the configuring plugin.
    pub configured_by: [String; 4],
}

impl Origin {
    /// kustomize's `Origin.Append`: the origin of something at `input` relative to this
    /// one. A repository URL starts over at that repository (its directory, where
    /// kustomize's own arithmetic on the not-yet-cloned path gives `notCloned` for the
    /// repository's root); a path is joined as Go's `filepath.Join` joins.
    pub fn append(&self, input: &str) -> Origin {
        let mut o = self.clone();
        let mut input = input.to_string();
        if let Ok(spec) = crate::remote::RepoSpec::parse(&input) {
            o.repo = spec.clone_url();
            o.git_ref = spec.git_ref.clone();
            o.path = String::new();
            let dir = spec.kust_dir();
            input = if dir.is_empty() {
                "notCloned".into()
            } else {
                dir
            };
        }
        let joined = crate::fs::normalize(&std::path::Path::new(&o.path).join(&input));
        o.path = match joined.to_string_lossy().as_ref() {
            "." => String::new(),
            s => s.to_string(),
        };
        o
    }

    /// The YAML kustomize writes into the annotation (fields in declaration order,
    /// empty ones left out, 2-space indentation).
    pub fn to_yaml(&self, indent: &str) -> String {
        let mut out = String::new();
        let mut first = true;
        let mut line = |out: &mut String, text: String| {
            out.push_str(if first { "" } else { indent });
            first = false;
            out.push_str(&text);
            out.push('\n');
        };
        if !self.path.is_empty() {
            line(&mut out, format!("path: {}", yaml_scalar(&self.path)));
        }
        if !self.repo.is_empty() {
            line(&mut out, format!("repo: {}", yaml_scalar(&self.repo)));
        }
        if !self.git_ref.is_empty() {
            line(&mut out, format!("ref: {}", yaml_scalar(&self.git_ref)));
        }
        if !self.configured_in.is_empty() {
            line(
                &mut out,
                format!("configuredIn: {}", yaml_scalar(&self.configured_in)),
            );
        }
        if self.configured_by.iter().any(|s| !s.is_empty()) {
            line(&mut out, "configuredBy:".to_string());
            for (k, v) in ["apiVersion", "kind", "name", "namespace"]
                .iter()
                .zip(&self.configured_by)
            {
                if !v.is_empty() {
                    line(&mut out, format!("  {k}: {}", yaml_scalar(v)));
                }
            }
        }
        out
    }
}

/// A scalar for the origin annotations: plain when that reads back as the same string.
fn yaml_scalar(s: &str) -> String {
    let plain_ok = !s.is_empty()
        && crate::yaml::resolve::v2_plain_is_string(s)
        && crate::yaml::emit::plain_allowed(s);
    if plain_ok {
        s.to_string()
    } else {
        serde_json::Value::String(s.to_string()).to_string()
    }
}
