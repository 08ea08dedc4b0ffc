//! `kustomize edit`, in place: the same changes to a kustomization's content as kustomize's
//! `edit set image|namespace|nameprefix|namesuffix|replicas|label|annotation` and `edit
//! add resource|component|patch|label|annotation` and `edit remove resource` make, written
//! the way the setters write: only the bytes that must change do.
//!
//! kustomize rewrites the whole file (comments move, key order and quoting change, empty
//! fields vanish). Here an edit is computed on the document model first, with kustomize's
//! semantics ([`Edit::apply_to`]); then the file is changed by the smallest structural
//! splices that turn its old content into the new ([`edit_bytes`]): a scalar's bytes, the
//! lines of an entry or item, new lines after a collection's last line, a new field at the
//! end of the file. The result is parsed again and must equal the model; where a splice
//! cannot be made (flow collections, anchors) the field is written whole instead, and that
//! is checked too. Comments, order, quoting and blank lines elsewhere are kept.
//!
//! Two deliberate differences from kustomize, both to keep diffs minimal: existing entries
//! of `images`/`replicas` keep their order (kustomize sorts the lists by name; order does
//! not change what a build does), and legacy fields are not migrated (`bases`, `imageTags`
//! stay as written; an image named in `imageTags` is updated there).
//!
//! ```
//! use rustomize::edit::{edit_bytes, Edit};
//!
//! let before = "# prod overlay\nresources:\n- ../base # the app\n\nimages:\n- name: app\n  newTag: \"1.0\"\n";
//! let edit = Edit::SetImage(vec![rustomize::edit::ImageArg::parse("app:1.1").unwrap()]);
//! let after = edit_bytes(before.as_bytes(), &edit).unwrap();
//! assert_eq!(
//!     String::from_utf8(after.bytes).unwrap(),
//!     before.replace("\"1.0\"", "\"1.1\"")
//! );
//! ```

use serde_json::{Map, Value};

use crate::setters::render::{replacement, Splice};
use crate::yaml::spans::{self, DocumentSpans, KeySpan, PathSeg, ScalarSpan};
use crate::yaml::{self, Dialect};

/// Why an edit cannot be made. Messages are kustomize's where it has one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EditError(pub String);

fn err(m: impl Into<String>) -> EditError {
    EditError(m.into())
}

/// `NAME=NEWNAME:TAG@DIGEST` and its shorter forms (kustomize's `edit set image`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageArg {
    /// The image name the `images` entry matches in resources.
    pub name: String,
    /// The replacement name; empty for none, `*` to keep the existing entry's.
    pub new_name: String,
    /// The replacement tag; empty for none, `*` to keep the existing entry's.
    pub new_tag: String,
    /// The replacement digest; empty for none, `*` to keep the existing entry's.
    pub digest: String,
}

const IMAGE_FORMATS: &str = "invalid format of image, use one of the following options:
- <image>=<newimage>:<newtag>
- <image>=<newimage>@<digest>
- <image>=<newimage>:<newtag>@<digest>
- <image>=<newimage>
- <image>:<newtag>
- <image>:<newtag>@<digest>
- <image>@<digest>";

impl ImageArg {
    /// Parses one argument: `name=newName[:tag][@digest]`, `name[:tag][@digest]`; `*` as
    /// new name, tag or digest keeps the existing entry's.
    pub fn parse(arg: &str) -> Result<ImageArg, EditError> {
        let (key, value) = match arg.split_once('=') {
            Some((k, v)) => (k, v),
            None => ("", arg),
        };
        let (name, tag, digest) = split_image(value);
        if name == arg {
            return Err(err(IMAGE_FORMATS));
        }
        Ok(if key.is_empty() {
            ImageArg {
                name,
                new_name: String::new(),
                new_tag: tag,
                digest,
            }
        } else {
            ImageArg {
                name: key.to_string(),
                new_name: name,
                new_tag: tag,
                digest,
            }
        })
    }
}

/// kustomize's `image.Split`: name, tag, digest; a registry's port is not a tag.
fn split_image(value: &str) -> (String, String, String) {
    let search_from = match value.find('/') {
        Some(i) if i > 0 => i,
        _ => 0,
    };
    let rest = &value[search_from..];
    let at = rest.find('@').map(|i| i + search_from);
    let colon = rest.find(':').map(|i| i + search_from);
    match (colon, at) {
        (Some(c), Some(a)) if c < a => (
            value[..c].to_string(),
            value[c + 1..a].to_string(),
            value[a + 1..].to_string(),
        ),
        (_, Some(a)) => (
            value[..a].to_string(),
            String::new(),
            value[a + 1..].to_string(),
        ),
        (Some(c), None) => (
            value[..c].to_string(),
            value[c + 1..].to_string(),
            String::new(),
        ),
        (None, None) => (value.to_string(), String::new(), String::new()),
    }
}

/// `KEY:VALUE` arguments of `add label`/`add annotation` (kustomize's `ConvertSliceToMap`:
/// the first `:` splits, surrounding double quotes are stripped, commas are not special).
pub fn parse_pairs(args: &[String], what: &str) -> Result<Vec<(String, String)>, EditError> {
    if args.is_empty() {
        return Err(err(format!("must specify {what}")));
    }
    let mut out = Vec::new();
    for a in args {
        let (k, v) = match a.split_once(':') {
            Some(("", _)) => {
                return Err(err(format!(
                    "invalid {what}: '{a}' (need k:v pair where v may be quoted)"
                )))
            }
            Some((k, v)) => (k, v),
            None => (a.as_str(), ""),
        };
        let v = if v.len() >= 2 && v.starts_with('"') && v.ends_with('"') {
            &v[1..v.len() - 1]
        } else {
            v
        };
        out.push((k.to_string(), v.to_string()));
    }
    Ok(out)
}

/// A patch to add (`edit add patch`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PatchArg {
    /// A patch file, relative to the kustomization (`--path`); set this or `patch`.
    pub path: String,
    /// An inline patch (`--patch`); set this or `path`.
    pub patch: String,
    /// group, version, kind, name, namespace, annotationSelector, labelSelector
    pub target: Vec<(&'static str, String)>,
}

/// One edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// `set image`: each image's `images` entry is replaced, or added if there is none.
    SetImage(Vec<ImageArg>),
    /// `set namespace`; an empty string removes the field.
    SetNamespace(String),
    /// `set nameprefix`; an empty string removes the field.
    SetNamePrefix(String),
    /// `set namesuffix`; an empty string removes the field.
    SetNameSuffix(String),
    /// `set replicas`: (name, count) pairs, each replacing the `replicas` entry of that name
    /// or added after the others.
    SetReplicas(Vec<(String, i64)>),
    /// `add resource`: paths already expanded (globs) by the caller; one already listed is
    /// skipped with a notice.
    AddResources(Vec<String>),
    /// `add component`: paths already expanded by the caller; one already listed is
    /// skipped with a notice.
    AddComponents(Vec<String>),
    /// `add patch`: a `patches` entry, unless an identical one exists.
    AddPatch(PatchArg),
    /// `add label`: into `commonLabels`, or a new `labels` entry with `without_selector`.
    AddLabels {
        /// Label keys and values, as [`parse_pairs`] returns them.
        pairs: Vec<(String, String)>,
        /// Overwrite keys already set, instead of failing.
        force: bool,
        /// Leave selectors alone: write a `labels` entry rather than `commonLabels`.
        without_selector: bool,
        /// Label pod templates too (`includeTemplates`); needs `without_selector`.
        include_templates: bool,
    },
    /// `add annotation`: into `commonAnnotations`.
    AddAnnotations {
        /// Annotation keys and values, as [`parse_pairs`] returns them.
        pairs: Vec<(String, String)>,
        /// Overwrite keys already set, instead of failing.
        force: bool,
    },
    /// `set label`: into `commonLabels`, overwriting keys already set.
    SetLabels(Vec<(String, String)>),
    /// `set annotation`: into `commonAnnotations`, overwriting keys already set; keys must be
    /// valid Kubernetes annotation keys.
    SetAnnotations(Vec<(String, String)>),
    /// `remove resource`: entries of `resources` (and legacy `bases`) matching any of these
    /// `filepath.Match` patterns; a list left empty is removed.
    RemoveResources(Vec<String>),
}

/// The result of an edit: the new bytes, whether anything changed, and notices
/// (kustomize's log lines, e.g. "resource a.yaml already in kustomization file").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edited {
    /// The file's new content (the input itself when nothing changed).
    pub bytes: Vec<u8>,
    /// Whether `bytes` differs from the input, so a caller can skip writing the file.
    pub changed: bool,
    /// Messages for the user about what was skipped, in kustomize's words.
    pub notices: Vec<String>,
}

impl Edit {
    /// The edit on the kustomization's content (a YAML map), with kustomize's semantics.
    /// Returns notices; an error leaves `k` as it was meant to be written: unchanged.
    pub fn apply_to(&self, k: &mut Map<String, Value>) -> Result<Vec<String>, EditError> {
        let mut notices = Vec::new();
        match self {
            Edit::SetImage(args) => set_images(k, args)?,
            Edit::SetNamespace(v) => set_string(k, "namespace", v),
            Edit::SetNamePrefix(v) => set_string(k, "namePrefix", v),
            Edit::SetNameSuffix(v) => set_string(k, "nameSuffix", v),
            Edit::SetReplicas(list) => {
                let replicas = seq_mut(k, "replicas")?;
                for (name, count) in list {
                    let entry = serde_json::json!({"name": name, "count": count});
                    match replicas
                        .iter_mut()
                        .find(|r| r.get("name").and_then(Value::as_str) == Some(name))
                    {
                        Some(r) => *r = entry,
                        None => replicas.push(entry),
                    }
                }
            }
            Edit::AddResources(paths) | Edit::AddComponents(paths) => {
                let (field, what) = match self {
                    Edit::AddResources(_) => ("resources", "resource"),
                    _ => ("components", "component"),
                };
                let existing: Vec<String> = ["resources", "bases"]
                    .iter()
                    .filter(|f| field == "resources" || **f == field)
                    .chain((field == "components").then_some(&"components"))
                    .flat_map(|f| strings_of(k.get(*f)))
                    .collect();
                let list = seq_mut(k, field)?;
                let mut seen = existing;
                for p in paths {
                    if crate::kustomization::FILE_NAMES.contains(&p.as_str()) {
                        continue;
                    }
                    if seen.contains(p) {
                        notices.push(format!("{what} {p} already in kustomization file"));
                        continue;
                    }
                    list.push(Value::String(p.clone()));
                    seen.push(p.clone());
                }
            }
            Edit::AddPatch(p) => {
                if p.path.is_empty() == p.patch.is_empty() {
                    return Err(err(if p.path.is_empty() {
                        "must provide either patch or path"
                    } else {
                        "patch and path can't be set at the same time"
                    }));
                }
                let mut entry = Map::new();
                if !p.path.is_empty() {
                    entry.insert("path".into(), p.path.clone().into());
                }
                if !p.patch.is_empty() {
                    entry.insert("patch".into(), p.patch.clone().into());
                }
                let target: Map<String, Value> = p
                    .target
                    .iter()
                    .filter(|(_, v)| !v.is_empty())
                    .map(|(k, v)| (k.to_string(), Value::String(v.clone())))
                    .collect();
                if !target.is_empty() {
                    entry.insert("target".into(), Value::Object(target));
                }
                let entry = Value::Object(entry);
                let list = seq_mut(k, "patches")?;
                if list.contains(&entry) {
                    notices.push("patch already in kustomization file".into());
                } else {
                    list.push(entry);
                }
            }
            Edit::AddLabels {
                pairs,
                force,
                without_selector,
                include_templates,
            } => {
                if *include_templates && !*without_selector {
                    return Err(err(
                        "--without-selector flag must be specified for --include-templates to work",
                    ));
                }
                if *without_selector {
                    let mut entry = Map::new();
                    if *include_templates {
                        entry.insert("includeTemplates".into(), true.into());
                    }
                    entry.insert("pairs".into(), string_map(pairs));
                    seq_mut(k, "labels")?.push(Value::Object(entry));
                } else {
                    merge_pairs(k, "commonLabels", pairs, *force, "label")?;
                }
            }
            Edit::AddAnnotations { pairs, force } => {
                merge_pairs(k, "commonAnnotations", pairs, *force, "annotation")?
            }
            Edit::SetLabels(pairs) => merge_pairs(k, "commonLabels", pairs, true, "label")?,
            Edit::SetAnnotations(pairs) => {
                for (key, _) in pairs {
                    if !valid_annotation_key(key) {
                        return Err(err("invalid annotation key: see the syntax and character set rules at https://kubernetes.io/docs/concepts/overview/working-with-objects/annotations/"));
                    }
                }
                merge_pairs(k, "commonAnnotations", pairs, true, "annotation")?
            }
            Edit::RemoveResources(patterns) => {
                if patterns.is_empty() {
                    return Err(err("must specify a resource file"));
                }
                for field in ["resources", "bases"] {
                    let Some(Value::Array(list)) = k.get_mut(field) else {
                        continue;
                    };
                    let mut bad = None;
                    list.retain(|v| {
                        let Some(s) = v.as_str() else { return true };
                        !patterns.iter().any(|p| match go_match(p, s) {
                            Ok(m) => m,
                            Err(e) => {
                                bad = Some(e);
                                false
                            }
                        })
                    });
                    if let Some(e) = bad {
                        return Err(e);
                    }
                    if list.is_empty() {
                        k.remove(field);
                    }
                }
            }
        }
        Ok(notices)
    }
}

fn strings_of(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(String::from))
            .collect(),
        _ => Vec::new(),
    }
}

fn string_map(pairs: &[(String, String)]) -> Value {
    Value::Object(
        pairs
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

fn set_string(k: &mut Map<String, Value>, field: &str, v: &str) {
    if v.is_empty() {
        k.remove(field);
    } else {
        k.insert(field.into(), Value::String(v.into()));
    }
}

/// The list at `field`, created if absent (null counts as absent).
fn seq_mut<'a>(
    k: &'a mut Map<String, Value>,
    field: &str,
) -> Result<&'a mut Vec<Value>, EditError> {
    let slot = k
        .entry(field.to_string())
        .or_insert_with(|| Value::Array(Vec::new()));
    if slot.is_null() {
        *slot = Value::Array(Vec::new());
    }
    match slot {
        Value::Array(a) => Ok(a),
        _ => Err(err(format!("{field} is not a list"))),
    }
}

fn merge_pairs(
    k: &mut Map<String, Value>,
    field: &str,
    pairs: &[(String, String)],
    force: bool,
    what: &str,
) -> Result<(), EditError> {
    let slot = k
        .entry(field.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if slot.is_null() {
        *slot = Value::Object(Map::new());
    }
    let Value::Object(map) = slot else {
        return Err(err(format!("{field} is not a map")));
    };
    if !force {
        if let Some((key, _)) = pairs.iter().find(|(key, _)| map.contains_key(key)) {
            return Err(err(format!("{what} {key} already in kustomization file")));
        }
    }
    for (key, v) in pairs {
        map.insert(key.clone(), Value::String(v.clone()));
    }
    Ok(())
}

fn set_images(k: &mut Map<String, Value>, args: &[ImageArg]) -> Result<(), EditError> {
    if args.is_empty() {
        return Err(err("no image specified"));
    }
    for arg in args {
        // The entry to update: in images, else in the legacy imageTags; else a new one.
        let field = ["images", "imageTags"]
            .into_iter()
            .find(|f| {
                matches!(k.get(*f), Some(Value::Array(a)) if a.iter().any(|e| e.get("name").and_then(Value::as_str) == Some(&arg.name)))
            })
            .unwrap_or("images");
        let list = seq_mut(k, field)?;
        let existing = list
            .iter()
            .position(|e| e.get("name").and_then(Value::as_str) == Some(&arg.name));
        let old = existing.map(|i| list[i].clone()).unwrap_or(Value::Null);
        let part = |new: &str, key: &str| -> String {
            if new == "*" {
                old.get(key)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            } else {
                new.to_string()
            }
        };
        let mut entry = Map::new();
        entry.insert("name".into(), arg.name.clone().into());
        for (key, new) in [
            ("newName", &arg.new_name),
            ("newTag", &arg.new_tag),
            ("digest", &arg.digest),
        ] {
            let v = part(new, key);
            if !v.is_empty() {
                entry.insert(key.into(), v.into());
            }
        }
        match existing {
            Some(i) => list[i] = Value::Object(entry),
            None => list.push(Value::Object(entry)),
        }
    }
    Ok(())
}

fn valid_annotation_key(key: &str) -> bool {
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    let name_ok = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    let prefix_ok = prefix.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 253
            && p.starts_with(|c: char| c.is_ascii_alphabetic())
            && p.ends_with(|c: char| c.is_ascii_alphanumeric())
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-.".contains(c))
    });
    name_ok && prefix_ok
}

/// Go's `filepath.Match`: `*` (not `/`), `?`, `[...]` classes, `\\` escapes.
pub fn go_match(pattern: &str, name: &str) -> Result<bool, EditError> {
    fn class(p: &[char], c: char) -> Result<(bool, usize), EditError> {
        // p starts after '['; returns (matched, chars consumed including ']').
        let mut i = 0;
        let negate = p.first() == Some(&'^');
        if negate {
            i += 1;
        }
        let mut matched = false;
        let mut first = true;
        loop {
            let Some(&lo) = p.get(i) else {
                return Err(err("syntax error in pattern"));
            };
            if lo == ']' && !first {
                i += 1;
                break;
            }
            first = false;
            let (lo, step) = if lo == '\\' {
                (
                    *p.get(i + 1).ok_or_else(|| err("syntax error in pattern"))?,
                    2,
                )
            } else {
                (lo, 1)
            };
            i += step;
            let mut hi = lo;
            if p.get(i) == Some(&'-') && p.get(i + 1) != Some(&']') {
                hi = *p.get(i + 1).ok_or_else(|| err("syntax error in pattern"))?;
                i += 2;
            }
            if lo <= c && c <= hi {
                matched = true;
            }
        }
        Ok((matched != negate, i))
    }
    fn go(p: &[char], n: &[char]) -> Result<bool, EditError> {
        match p.first() {
            None => Ok(n.is_empty()),
            Some('*') => {
                for k in 0..=n.len() {
                    if k > 0 && n[k - 1] == '/' {
                        break;
                    }
                    if go(&p[1..], &n[k..])? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Some('?') => Ok(n.first().is_some_and(|&c| c != '/') && go(&p[1..], &n[1..])?),
            Some('[') => {
                let Some(&c) = n.first() else {
                    return class(&p[1..], ' ').map(|_| false);
                };
                let (m, used) = class(&p[1..], c)?;
                Ok(m && c != '/' && go(&p[1 + used..], &n[1..])?)
            }
            Some('\\') => {
                let Some(&lit) = p.get(1) else {
                    return Err(err("syntax error in pattern"));
                };
                Ok(n.first() == Some(&lit) && go(&p[2..], &n[1..])?)
            }
            Some(&lit) => Ok(n.first() == Some(&lit) && go(&p[1..], &n[1..])?),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    go(&p, &n)
}

/// Applies `edit` to a kustomization file's bytes, changing as few bytes as it can.
pub fn edit_bytes(bytes: &[u8], edit: &Edit) -> Result<Edited, EditError> {
    let old = read_map(bytes)?;
    let mut new = old.clone();
    let notices = edit.apply_to(&mut new)?;
    if new == old {
        return Ok(Edited {
            bytes: bytes.to_vec(),
            changed: false,
            notices,
        });
    }
    let minimal = rewrite(bytes, &old, &new, false)?;
    let out = if read_map(&minimal).ok().as_ref() == Some(&new) {
        minimal
    } else {
        let whole = rewrite(bytes, &old, &new, true)?;
        if read_map(&whole).ok().as_ref() != Some(&new) {
            return Err(err(
                "the kustomization could not be edited in place (please report this)",
            ));
        }
        whole
    };
    Ok(Edited {
        bytes: out,
        changed: true,
        notices,
    })
}

/// The kustomization as kustomize reads it (go-yaml v2 rules); null or empty is `{}`.
fn read_map(bytes: &[u8]) -> Result<Map<String, Value>, EditError> {
    match yaml::read_document(bytes, Dialect::V2, Default::default())
        .map_err(|e| err(format!("invalid kustomization: {e}")))?
    {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m),
        Some(_) => Err(err("invalid kustomization: the file is not a map")),
    }
}

/// Where things are in the file: mapping keys and scalars by path.
struct Layout<'a> {
    src: &'a [u8],
    doc: Option<DocumentSpans>,
}

impl Layout<'_> {
    fn key(&self, path: &[PathSeg]) -> Option<&KeySpan> {
        self.doc.as_ref()?.keys.iter().find(|k| k.path == path)
    }

    fn scalar(&self, path: &[PathSeg]) -> Option<&ScalarSpan> {
        self.doc.as_ref()?.scalars.iter().find(|s| s.path == path)
    }

    /// The byte range of every token at or below `path`.
    fn extent(&self, path: &[PathSeg]) -> Option<(usize, usize, bool)> {
        let doc = self.doc.as_ref()?;
        let mut lo = usize::MAX;
        let mut hi = 0;
        let mut flow = false;
        for k in doc.keys.iter().filter(|k| k.path.starts_with(path)) {
            lo = lo.min(k.span.start);
            hi = hi.max(k.span.end);
        }
        for s in doc.scalars.iter().filter(|s| s.path.starts_with(path)) {
            lo = lo.min(s.span.start);
            hi = hi.max(s.span.end);
            flow |= s.in_flow;
        }
        (lo != usize::MAX).then_some((lo, hi, flow))
    }

    fn line_start(&self, at: usize) -> usize {
        self.src[..at.min(self.src.len())]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1)
    }

    /// The end of the line holding `at` (after its `\n`).
    fn line_end(&self, at: usize) -> usize {
        let at = at.min(self.src.len());
        if at > 0 && self.src.get(at - 1) == Some(&b'\n') {
            return at;
        }
        self.src[at..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(self.src.len(), |i| at + i + 1)
    }

    /// The lines of the map entry or sequence item at `path`: from its first line to the
    /// end of its last; `None` when it cannot be cut out as lines (flow style).
    fn lines_of(&self, path: &[PathSeg]) -> Option<(usize, usize)> {
        let (lo, hi, flow) = self.extent(path)?;
        if flow {
            return None;
        }
        let start = self.line_start(lo);
        // Another node may not share the first line (`- a: 1` is item and entry at once,
        // which is fine; `a: 1, b: 2` cannot happen in block style).
        Some((start, self.line_end(hi.saturating_sub(1).max(lo))))
    }

    /// The lines of a top-level field, flow style or not: from its key's line to the line
    /// before the next top-level key, less the blank and comment lines at the end (they
    /// introduce what follows).
    fn field_lines(&self, field: &str) -> Option<(usize, usize)> {
        let doc = self.doc.as_ref()?;
        let path = [PathSeg::Key(field.to_string())];
        let key = self.key(&path)?;
        let start = self.line_start(key.span.start);
        let next = doc
            .keys
            .iter()
            .filter(|k| k.path.len() == 1 && k.span.start > key.span.start)
            .map(|k| self.line_start(k.span.start))
            .min()
            .unwrap_or(self.src.len());
        let last_token = self.extent(&path).map_or(key.span.end, |(_, hi, _)| hi);
        let floor = self.line_end(last_token.saturating_sub(1).max(key.span.start));
        let mut end = next;
        while end > floor {
            let line = self.line_start(end - 1);
            let text = &self.src[line..end];
            let blank = text.iter().all(|b| b.is_ascii_whitespace());
            if blank || text.first() == Some(&b'#') {
                end = line;
            } else {
                break;
            }
        }
        Some((start, end.max(floor)))
    }

    /// The column (0-based, in bytes) where the entries of the block collection at `path`
    /// start: its first key, or for a sequence its first `-`.
    fn child_indent(&self, path: &[PathSeg], seq: bool) -> Option<usize> {
        let mut first = path.to_vec();
        first.push(if seq {
            PathSeg::Index(0)
        } else {
            PathSeg::Key(String::new())
        });
        let (lo, _, flow) = if seq {
            self.extent(&first)?
        } else {
            let doc = self.doc.as_ref()?;
            let k = doc
                .keys
                .iter()
                .find(|k| k.path.len() == path.len() + 1 && k.path.starts_with(path))?;
            (k.span.start, k.span.end, false)
        };
        if flow {
            return None;
        }
        let line = self.line_start(lo);
        if !seq {
            return Some(lo - line);
        }
        // The `-` before the item's first token on its line.
        let dash = self.src[line..lo].iter().rposition(|&b| b == b'-')?;
        let before = &self.src[line..line + dash];
        before.iter().all(|&b| b == b' ').then_some(dash)
    }
}

/// Turns `old` into `new` in `src`: structurally where possible, or (with `whole_fields`)
/// by writing every changed top-level field anew.
fn rewrite(
    src: &[u8],
    old: &Map<String, Value>,
    new: &Map<String, Value>,
    whole_fields: bool,
) -> Result<Vec<u8>, EditError> {
    let layout = Layout {
        src,
        doc: spans::scan(src).ok().and_then(|d| d.into_iter().next()),
    };
    let mut splices: Vec<Splice> = Vec::new();
    let mut appended = String::new();
    for (field, new_value) in new {
        if old.get(field) == Some(new_value) {
            continue;
        }
        let path = [PathSeg::Key(field.clone())];
        let done = !whole_fields
            && old
                .get(field)
                .is_some_and(|o| diff(&layout, &path, o, new_value, &mut splices));
        if done {
            continue;
        }
        match layout.field_lines(field) {
            // The field as a whole, in place.
            Some((start, end)) if old.contains_key(field) => splices.push(Splice {
                range: start..end,
                text: emit_entry(field, new_value, 0)?,
            }),
            _ if old.contains_key(field) => {
                return Err(err(format!("cannot locate the field {field} in the file")))
            }
            _ => appended.push_str(&emit_entry(field, new_value, 0)?),
        }
    }
    for field in old.keys().filter(|f| !new.contains_key(*f)) {
        let (start, end) = layout
            .field_lines(field)
            .ok_or_else(|| err(format!("cannot locate the field {field} in the file")))?;
        splices.push(Splice {
            range: start..end,
            text: String::new(),
        });
    }
    let mut out = apply(src, splices);
    if !appended.is_empty() {
        if !out.is_empty() && !out.ends_with(b"\n") {
            out.push(b'\n');
        }
        out.extend_from_slice(appended.as_bytes());
    }
    Ok(out)
}

/// Adds the splices that turn the node at `path` from `old` into `new`; false when this
/// node must be written whole instead.
fn diff(
    layout: &Layout,
    path: &[PathSeg],
    old: &Value,
    new: &Value,
    out: &mut Vec<Splice>,
) -> bool {
    match (old, new) {
        (a, b) if a == b => true,
        (Value::Object(a), Value::Object(b)) => {
            let Some(indent) = layout.child_indent(path, false) else {
                return false;
            };
            let mut inserted = String::new();
            for (k, nv) in b {
                let mut p = path.to_vec();
                p.push(PathSeg::Key(k.clone()));
                match a.get(k) {
                    Some(ov) => {
                        if !diff(layout, &p, ov, nv, out) {
                            let Some((s, e)) = layout.lines_of(&p) else {
                                return false;
                            };
                            // A seq item's first entry shares its line with the `-`.
                            if layout.line_start(layout.key(&p).map_or(s, |k| k.span.start)) != s
                                || starts_item(layout, &p)
                            {
                                return false;
                            }
                            let Ok(text) = emit_entry(k, nv, indent) else {
                                return false;
                            };
                            out.push(Splice { range: s..e, text });
                        }
                    }
                    None => match emit_entry(k, nv, indent) {
                        Ok(t) => inserted.push_str(&t),
                        Err(_) => return false,
                    },
                }
            }
            for k in a.keys().filter(|k| !b.contains_key(*k)) {
                let mut p = path.to_vec();
                p.push(PathSeg::Key(k.clone()));
                match layout.lines_of(&p) {
                    Some((s, e)) if !starts_item(layout, &p) => out.push(Splice {
                        range: s..e,
                        text: String::new(),
                    }),
                    _ => return false,
                }
            }
            if !inserted.is_empty() {
                let Some((_, end)) = layout.lines_of(path) else {
                    return false;
                };
                out.push(Splice {
                    range: end..end,
                    text: inserted,
                });
            }
            true
        }
        (Value::Array(a), Value::Array(b)) => {
            let Some(indent) = layout.child_indent(path, true) else {
                return false;
            };
            // Items kept in order, some removed, some changed in place, some appended.
            let mut j = 0;
            let mut removed = Vec::new();
            for (i, ov) in a.iter().enumerate() {
                if j < b.len() && (&b[j] == ov || same_entry(ov, &b[j])) {
                    let mut p = path.to_vec();
                    p.push(PathSeg::Index(i));
                    if !diff(layout, &p, ov, &b[j], out) {
                        return false;
                    }
                    j += 1;
                } else {
                    removed.push(i);
                }
            }
            for i in removed {
                let mut p = path.to_vec();
                p.push(PathSeg::Index(i));
                let Some((s, e)) = layout.lines_of(&p) else {
                    return false;
                };
                out.push(Splice {
                    range: s..e,
                    text: String::new(),
                });
            }
            if j < b.len() {
                let Some((_, end)) = layout.lines_of(path) else {
                    return false;
                };
                let Ok(text) = emit_items(&b[j..], indent) else {
                    return false;
                };
                out.push(Splice {
                    range: end..end,
                    text,
                });
            }
            true
        }
        (Value::Array(_) | Value::Object(_), _) | (_, Value::Array(_) | Value::Object(_)) => false,
        (_, new) => {
            let Some(s) = layout.scalar(path) else {
                return false;
            };
            let text = match new {
                Value::String(v) => {
                    out.extend(replacement(layout.src, s, v));
                    return true;
                }
                Value::Number(n) => yaml::emit::format_number(n),
                Value::Bool(b) => b.to_string(),
                _ => return false,
            };
            out.push(Splice {
                range: s.span.clone(),
                text,
            });
            true
        }
    }
}

/// Is the entry at `path` the first of a sequence item's map (on the `-` line)?
fn starts_item(layout: &Layout, path: &[PathSeg]) -> bool {
    let Some(k) = layout.key(path) else {
        return false;
    };
    let line = layout.line_start(k.span.start);
    layout.src[line..k.span.start].contains(&b'-')
}

/// Two list entries that are the same entry changed (the same `name`).
fn same_entry(a: &Value, b: &Value) -> bool {
    match (a.get("name"), b.get("name")) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

fn indent_lines(text: &str, indent: usize) -> String {
    let pad = " ".repeat(indent);
    text.lines()
        .map(|l| {
            if l.is_empty() {
                "\n".to_string()
            } else {
                format!("{pad}{l}\n")
            }
        })
        .collect()
}

/// `key: value` as kustomize writes it (go-yaml v2 by way of JSON), at `indent`.
fn emit_entry(key: &str, value: &Value, indent: usize) -> Result<String, EditError> {
    let mut m = Map::new();
    m.insert(key.to_string(), value.clone());
    let text = yaml::to_string(&Value::Object(m)).map_err(|e| err(e.to_string()))?;
    Ok(indent_lines(&text, indent))
}

/// Sequence items, as kustomize writes them, with the `-` at `indent`.
fn emit_items(items: &[Value], indent: usize) -> Result<String, EditError> {
    let text = yaml::to_string(&Value::Array(items.to_vec())).map_err(|e| err(e.to_string()))?;
    Ok(indent_lines(&text, indent))
}

/// Splices in order (they never overlap: each comes from a distinct node).
fn apply(src: &[u8], mut splices: Vec<Splice>) -> Vec<u8> {
    splices.sort_by_key(|s| (s.range.start, s.range.end));
    let mut out = Vec::with_capacity(src.len() + 64);
    let mut at = 0;
    for s in splices {
        if s.range.start < at {
            continue;
        }
        out.extend_from_slice(&src[at..s.range.start]);
        out.extend_from_slice(s.text.as_bytes());
        at = s.range.end;
    }
    out.extend_from_slice(&src[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(src: &str, e: Edit) -> String {
        String::from_utf8(edit_bytes(src.as_bytes(), &e).unwrap().bytes).unwrap()
    }

    fn image(arg: &str) -> ImageArg {
        ImageArg::parse(arg).unwrap()
    }

    #[test]
    fn image_arguments_as_kustomize_reads_them() {
        let i = image("image1=my-image1:my-tag@sha256:abc");
        assert_eq!(
            (
                i.name.as_str(),
                i.new_name.as_str(),
                i.new_tag.as_str(),
                i.digest.as_str()
            ),
            ("image1", "my-image1", "my-tag", "sha256:abc")
        );
        let i = image("ngnix=localhost:5000/my-project/ngnix:dev-01");
        assert_eq!(i.new_name, "localhost:5000/my-project/ngnix");
        assert_eq!(i.new_tag, "dev-01");
        assert_eq!(image("image1@sha256:abc").digest, "sha256:abc");
        for bad in ["nginx", "localhost:5000/img"] {
            assert!(ImageArg::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn set_image_keeps_everything_but_the_changed_value() {
        let src = "# overlay\nimages:\n  # the app\n  - name: app\n    newName: reg/app # pinned\n    newTag: '1.0'\n\nresources: [a.yaml]\n";
        assert_eq!(
            edit(src, Edit::SetImage(vec![image("app=reg/app:1.1")])),
            src.replace("'1.0'", "'1.1'")
        );
    }

    #[test]
    fn set_image_star_keeps_the_existing_part_and_new_images_are_appended() {
        let src = "images:\n- name: app\n  newName: reg/app\n  newTag: \"1.0\"\n";
        assert_eq!(
            edit(src, Edit::SetImage(vec![image("app=*:2.0"), image("db:15")])),
            "images:\n- name: app\n  newName: reg/app\n  newTag: \"2.0\"\n- name: db\n  newTag: \"15\"\n"
        );
        // Without `*` the entry is replaced whole: the old name goes.
        assert_eq!(
            edit(src, Edit::SetImage(vec![image("app:2.0")])),
            "images:\n- name: app\n  newTag: \"2.0\"\n"
        );
    }

    #[test]
    fn new_fields_go_to_the_end_and_scalars_change_in_place() {
        let src = "resources:\n- a.yaml\n# trailing comment\n";
        assert_eq!(
            edit(src, Edit::SetNamespace("prod".into())),
            "resources:\n- a.yaml\n# trailing comment\nnamespace: prod\n"
        );
        let src = "namespace: dev # env\nresources:\n- a.yaml\n";
        assert_eq!(
            edit(src, Edit::SetNamespace("prod".into())),
            "namespace: prod # env\nresources:\n- a.yaml\n"
        );
        assert_eq!(
            edit(src, Edit::SetNamespace(String::new())),
            "resources:\n- a.yaml\n"
        );
    }

    #[test]
    fn resources_are_appended_at_the_list_s_indentation_and_duplicates_noted() {
        let src = "resources:\n  - a.yaml   # first\n  - b.yaml\n\n# patches\npatches: []\n";
        let out = edit_bytes(
            src.as_bytes(),
            &Edit::AddResources(vec![
                "b.yaml".into(),
                "c.yaml".into(),
                "kustomization.yaml".into(),
            ]),
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out.bytes).unwrap(),
            "resources:\n  - a.yaml   # first\n  - b.yaml\n  - c.yaml\n\n# patches\npatches: []\n"
        );
        assert_eq!(
            out.notices,
            ["resource b.yaml already in kustomization file"]
        );
    }

    #[test]
    fn remove_resource_deletes_only_the_matching_lines() {
        let src = "resources:\n- foo/a.yaml # x\n- keep.yaml\n- foo/b.yaml\n";
        assert_eq!(
            edit(src, Edit::RemoveResources(vec!["foo/*.yaml".into()])),
            "resources:\n- keep.yaml\n"
        );
        let out = edit_bytes(
            src.as_bytes(),
            &Edit::RemoveResources(vec!["nothing".into()]),
        )
        .unwrap();
        assert!(!out.changed);
    }

    #[test]
    fn flow_lists_are_written_whole() {
        let src = "# c\nresources: [a.yaml]\nnamePrefix: p-\n";
        assert_eq!(
            edit(src, Edit::AddResources(vec!["b.yaml".into()])),
            "# c\nresources:\n- a.yaml\n- b.yaml\nnamePrefix: p-\n"
        );
    }

    #[test]
    fn labels_and_annotations() {
        let src = "commonLabels:\n  app: web\n";
        let add = |pairs: &[(&str, &str)], force| Edit::AddLabels {
            pairs: pairs
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            force,
            without_selector: false,
            include_templates: false,
        };
        assert_eq!(
            edit(src, add(&[("tier", "be")], false)),
            "commonLabels:\n  app: web\n  tier: be\n"
        );
        assert_eq!(
            edit_bytes(src.as_bytes(), &add(&[("app", "x")], false))
                .unwrap_err()
                .0,
            "label app already in kustomization file"
        );
        assert_eq!(
            edit(src, add(&[("app", "x")], true)),
            "commonLabels:\n  app: x\n"
        );
        assert_eq!(
            parse_pairs(
                &[
                    "k1:\"v1:v2\"".into(),
                    "k2:v1,k3:v3".into(),
                    "novalue".into()
                ],
                "label"
            )
            .unwrap(),
            [
                ("k1".into(), "v1:v2".into()),
                ("k2".into(), "v1,k3:v3".into()),
                ("novalue".into(), String::new())
            ]
        );
    }

    #[test]
    fn replicas_and_patches() {
        let src = "replicas:\n- name: app\n  count: 1\n";
        assert_eq!(
            edit(
                src,
                Edit::SetReplicas(vec![("app".into(), 5), ("db".into(), 2)])
            ),
            "replicas:\n- name: app\n  count: 5\n- count: 2\n  name: db\n"
        );
        let p = PatchArg {
            path: "p.yaml".into(),
            target: vec![("kind", "Deployment".into())],
            ..Default::default()
        };
        assert_eq!(
            edit("resources:\n- a.yaml\n", Edit::AddPatch(p)),
            "resources:\n- a.yaml\npatches:\n- path: p.yaml\n  target:\n    kind: Deployment\n"
        );
    }

    #[test]
    fn go_glob_matching() {
        assert!(go_match("foo/*.yaml", "foo/a.yaml").unwrap());
        assert!(!go_match("*.yaml", "foo/a.yaml").unwrap());
        assert!(go_match("res?.yaml", "res1.yaml").unwrap());
        assert!(go_match("[a-c]*", "banana").unwrap());
        assert!(go_match("[", "x").is_err());
    }
}
