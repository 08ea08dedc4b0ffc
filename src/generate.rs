//! configMapGenerator and secretGenerator: key/value sources, generator options, merge and
//! replace across overlays, and the content-hash name suffix.
//!
//! Sources are read in kustomize's order: env files, then literals, then files; a repeated
//! key is an error. ConfigMap values that are not UTF-8 go to `binaryData` (base64); Secret
//! values are base64-encoded, wrapped at 70 columns. The name suffix is the first ten hex
//! digits of a SHA-256 over a JSON encoding of the generated kind, type and data, with the
//! vowel-like digits replaced (`0→g 1→h 3→k a→m e→t`) as kustomize does.

use std::collections::BTreeMap;

use base64::Engine;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::fs::Loader;
use crate::kustomization::{GeneratorArgs, GeneratorOptions};
use crate::resource::{Behavior, Generated, Resource, Source};

/// Why a generator failed.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("{0}")]
    Invalid(String),
    #[error("loading {what} '{path}': {source}")]
    Load {
        what: &'static str,
        path: String,
        #[source]
        source: crate::fs::LoadError,
    },
}

/// Which generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    ConfigMap,
    Secret,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::ConfigMap => "ConfigMap",
            Kind::Secret => "Secret",
        }
    }
}

/// kustomize's `MergeGlobalOptionsIntoLocal`: local labels and annotations win; the flags
/// are or-ed.
pub fn merge_options(
    local: Option<&GeneratorOptions>,
    global: Option<&GeneratorOptions>,
) -> Option<GeneratorOptions> {
    let Some(global) = global else {
        return local.cloned();
    };
    let mut out = local.cloned().unwrap_or_default();
    for (field, g) in [
        (&mut out.labels, &global.labels),
        (&mut out.annotations, &global.annotations),
    ] {
        if let Some(g) = g {
            let m = field.get_or_insert_with(BTreeMap::new);
            for (k, v) in g {
                m.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
    }
    out.disable_name_suffix_hash |= global.disable_name_suffix_hash;
    out.immutable |= global.immutable;
    Some(out)
}

/// Builds one generated ConfigMap or Secret.
pub fn generate(
    kind: Kind,
    args: &GeneratorArgs,
    options: Option<&GeneratorOptions>,
    ldr: &Loader,
    source: Source,
) -> Result<Resource, GenerateError> {
    if args.name.is_empty() {
        return Err(GenerateError::Invalid(format!(
            "a {} must have a name",
            kind.name().to_lowercase()
        )));
    }
    let behavior = Behavior::parse(&args.behavior);
    let pairs = load_pairs(args, ldr)?;
    // kustomize writes the keys as new untagged nodes; one that reads as a non-string
    // makes the resource unprintable for it.
    let option_keys = options.into_iter().flat_map(|o| {
        [("labels", &o.labels), ("annotations", &o.annotations)]
            .into_iter()
            .flat_map(|(f, m)| m.iter().flatten().map(move |(k, _)| (f, k)))
    });
    if let Some((field, key)) = pairs
        .iter()
        .map(|(k, _)| ("data", k))
        .chain(option_keys)
        .find(|(_, k)| crate::transform::key_reads_as_non_string(k))
    {
        return Err(GenerateError::Invalid(
            crate::transform::non_string_key_error(field, key),
        ));
    }
    let mut obj = Map::new();
    obj.insert("apiVersion".into(), Value::String("v1".into()));
    obj.insert("kind".into(), Value::String(kind.name().into()));
    let mut meta = Map::new();
    meta.insert("name".into(), Value::String(args.name.clone()));
    if !args.namespace.is_empty() {
        meta.insert("namespace".into(), Value::String(args.namespace.clone()));
    }
    if let Some(o) = options {
        for (field, m) in [("labels", &o.labels), ("annotations", &o.annotations)] {
            if let Some(m) = m.as_ref().filter(|m| !m.is_empty()) {
                let v: Map<String, Value> = m
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect();
                meta.insert(field.into(), Value::Object(v));
            }
        }
    }
    obj.insert("metadata".into(), Value::Object(meta));
    match kind {
        Kind::ConfigMap => {
            let (data, binary) = config_map_data(pairs);
            if !data.is_empty() {
                obj.insert("data".into(), Value::Object(data));
            }
            if !binary.is_empty() {
                obj.insert("binaryData".into(), Value::Object(binary));
            }
        }
        Kind::Secret => {
            let t = if args.kind_type.is_empty() {
                "Opaque"
            } else {
                &args.kind_type
            };
            obj.insert("type".into(), Value::String(t.to_string()));
            let data: Map<String, Value> = pairs
                .into_iter()
                .map(|(k, v)| (k, Value::String(encode_base64(&v))))
                .collect();
            // kustomize creates the data map even when it stays empty.
            obj.insert("data".into(), Value::Object(data));
        }
    }
    if options.is_some_and(|o| o.immutable) {
        obj.insert("immutable".into(), Value::Bool(true));
    }
    let mut r = Resource::new(Value::Object(obj), source);
    r.generated = Some(Generated {
        behavior,
        needs_hash: !options.is_some_and(|o| o.disable_name_suffix_hash),
    });
    Ok(r)
}

/// A generated value: the bytes of a file may be any binary.
type Pair = (String, Vec<u8>);

fn config_map_data(pairs: Vec<Pair>) -> (Map<String, Value>, Map<String, Value>) {
    let mut data = Map::new();
    let mut binary = Map::new();
    for (k, v) in pairs {
        match String::from_utf8(v) {
            Ok(s) => {
                data.insert(k, Value::String(s));
            }
            Err(e) => {
                binary.insert(k, Value::String(encode_base64(e.as_bytes())));
            }
        }
    }
    (data, binary)
}

/// kustomize's `encodeBase64`: standard base64, split into 70-column lines (each ending in
/// a newline) once it is longer than one line.
pub fn encode_base64(data: &[u8]) -> String {
    const LINE: usize = 70;
    let enc = base64::engine::general_purpose::STANDARD.encode(data);
    if enc.len() < LINE {
        return enc;
    }
    let mut out = String::with_capacity(enc.len() + enc.len() / LINE + 1);
    for chunk in enc.as_bytes().chunks(LINE) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out
}

/// Env files, then literals, then files; a repeated key is an error.
fn load_pairs(args: &GeneratorArgs, ldr: &Loader) -> Result<Vec<Pair>, GenerateError> {
    let mut pairs: Vec<Pair> = Vec::new();
    let mut envs = args.envs.clone();
    if !args.env.is_empty() {
        envs.push(args.env.clone());
    }
    for p in &envs {
        let (_, bytes) = ldr.load(p).map_err(|e| GenerateError::Load {
            what: "env file",
            path: p.clone(),
            source: e,
        })?;
        pairs.extend(env_pairs(&bytes, p)?);
    }
    for lit in &args.literals {
        pairs.push(literal_pair(lit)?);
    }
    for f in &args.files {
        let (key, path) = parse_file_source(f)?;
        let (_, bytes) = ldr.load(&path).map_err(|e| GenerateError::Load {
            what: "file",
            path: path.clone(),
            source: e,
        })?;
        pairs.push((key, bytes));
    }
    let mut seen = std::collections::HashSet::new();
    for (k, _) in &pairs {
        if !seen.insert(k.clone()) {
            return Err(GenerateError::Invalid(format!(
                "configmap {} illegally repeats the key `{k}`",
                args.name
            )));
        }
    }
    Ok(pairs)
}

/// `KEY=VALUE` lines; blank lines and `#` comments skipped; leading whitespace trimmed; a
/// UTF-8 BOM on the first line ignored; no `=` means an empty value.
fn env_pairs(bytes: &[u8], path: &str) -> Result<Vec<Pair>, GenerateError> {
    let mut out = Vec::new();
    for (i, raw) in bytes.split(|&c| c == b'\n').enumerate() {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let Ok(mut line) = std::str::from_utf8(raw) else {
            return Err(GenerateError::Invalid(format!(
                "{path}: line {} has invalid utf8 bytes",
                i + 1
            )));
        };
        if i == 0 {
            line = line.strip_prefix('\u{feff}').unwrap_or(line);
        }
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (k, v) = line.split_once('=').unwrap_or((line, ""));
        if k.is_empty() {
            continue;
        }
        out.push((k.to_string(), v.as_bytes().to_vec()));
    }
    Ok(out)
}

/// `key=value`, with one pair of matching surrounding quotes removed from the value.
fn literal_pair(source: &str) -> Result<Pair, GenerateError> {
    let bad = || {
        GenerateError::Invalid(format!(
            "invalid literal source {source}, expected key=value"
        ))
    };
    if source.starts_with('=') {
        return Err(bad());
    }
    let (k, v) = source.split_once('=').ok_or_else(bad)?;
    let b = v.as_bytes();
    let v = if b.len() >= 2 && b[0] == b[b.len() - 1] && (b[0] == b'"' || b[0] == b'\'') {
        &v[1..v.len() - 1]
    } else {
        v
    };
    Ok((k.to_string(), v.as_bytes().to_vec()))
}

/// `path` (key = file name) or `key=path`.
fn parse_file_source(source: &str) -> Result<(String, String), GenerateError> {
    match source.matches('=').count() {
        0 => {
            let base = source
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or(source);
            Ok((base.to_string(), source.to_string()))
        }
        1 if source.starts_with('=') => Err(GenerateError::Invalid(format!(
            "missing key name for file path {:?} in source {source:?}",
            &source[1..]
        ))),
        1 if source.ends_with('=') => Err(GenerateError::Invalid(format!(
            "missing file path for key name {:?} in source {source:?}",
            &source[..source.len() - 1]
        ))),
        1 => {
            let (k, p) = source.split_once('=').unwrap_or((source, ""));
            Ok((k.to_string(), p.to_string()))
        }
        _ => Err(GenerateError::Invalid(format!(
            "source {source:?} key name or file path contains '='"
        ))),
    }
}

/// kustomize's name-suffix hash of a ConfigMap or Secret (any other kind hashes its JSON).
pub fn content_hash(obj: &Value) -> String {
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    // kustomize looks the name up as a single field called "metadata/name", which never
    // exists, so the name always hashes as "".
    let field = |k: &str| {
        obj.get(k)
            .cloned()
            .unwrap_or_else(|| Value::String(String::new()))
    };
    let mut m = BTreeMap::new();
    match kind {
        "ConfigMap" => {
            m.insert("kind", Value::String("ConfigMap".into()));
            m.insert("name", Value::String(String::new()));
            m.insert("data", scalarize(field("data")));
            if let Some(b @ Value::Object(_)) = obj.get("binaryData") {
                m.insert("binaryData", scalarize(b.clone()));
            }
        }
        "Secret" => {
            m.insert("kind", Value::String("Secret".into()));
            m.insert("type", scalarize(field("type")));
            m.insert("name", Value::String(String::new()));
            m.insert("data", scalarize(field("data")));
            if let Some(s @ Value::Object(_)) = obj.get("stringData") {
                m.insert("stringData", scalarize(s.clone()));
            }
        }
        _ => {
            let mut out = String::new();
            go_json(obj, &mut out);
            return encode_hash(&out);
        }
    }
    let mut out = String::new();
    go_json(
        &Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()),
        &mut out,
    );
    encode_hash(&out)
}

/// Scalars are read as their text (kustomize reads the YAML node's value string).
fn scalarize(v: Value) -> Value {
    match v {
        Value::Object(_) | Value::Array(_) | Value::String(_) => v,
        other => Value::String(crate::transform::scalar_text(&other).unwrap_or_default()),
    }
}

fn encode_hash(data: &str) -> String {
    let digest = Sha256::digest(data.as_bytes());
    let hex: String = digest.iter().take(5).map(|b| format!("{b:02x}")).collect();
    hex.chars()
        .map(|c| match c {
            '0' => 'g',
            '1' => 'h',
            '3' => 'k',
            'a' => 'm',
            'e' => 't',
            c => c,
        })
        .collect()
}

/// Go's `encoding/json` output: sorted keys, no spaces, HTML-safe escaping.
pub fn go_json(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => go_json_string(s, out),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go_json(x, out);
            }
            out.push(']');
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go_json_string(k, out);
                out.push(':');
                go_json(&m[k], out);
            }
            out.push('}');
        }
    }
}

fn go_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_wraps_at_70() {
        assert_eq!(encode_base64(b"abc"), "YWJj");
        let long = encode_base64(&[b'x'; 60]);
        assert!(long.ends_with('\n'));
        assert_eq!(long.lines().next().unwrap().len(), 70);
    }

    #[test]
    fn literal_quotes_are_removed() {
        assert_eq!(
            literal_pair("a=\"b c\"").unwrap(),
            ("a".into(), b"b c".to_vec())
        );
        assert_eq!(literal_pair("a='b").unwrap(), ("a".into(), b"'b".to_vec()));
        assert!(literal_pair("=b").is_err());
        assert!(literal_pair("ab").is_err());
    }

    #[test]
    fn file_sources() {
        assert_eq!(
            parse_file_source("dir/a.txt").unwrap(),
            ("a.txt".into(), "dir/a.txt".into())
        );
        assert_eq!(
            parse_file_source("k=dir/a.txt").unwrap(),
            ("k".into(), "dir/a.txt".into())
        );
        assert!(parse_file_source("a=b=c").is_err());
    }

    #[test]
    fn go_json_escapes_html() {
        let mut s = String::new();
        go_json(&serde_json::json!({"b": "<&>", "a": 1}), &mut s);
        assert_eq!(s, r#"{"a":1,"b":"\u003c\u0026\u003e"}"#);
    }
}
