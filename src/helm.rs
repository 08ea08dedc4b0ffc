//! Helm charts: kustomize's HelmChartInflationGenerator (`helmCharts:`, `helmGlobals:`, the
//! deprecated `helmChartInflationGenerator:`, and the generator configured in a
//! `generators:` file), running the `helm` binary exactly as kustomize v5.5.0 runs it.
//!
//! Per chart entry kustomize runs `helm version -c --short` (the major version must be 3),
//! `helm pull` when the chart is not in the chart home and a repository is given, then
//! `helm template` with the release name (or `--generate-name`), the chart directory,
//! `--namespace`, `--name-template`, one `-f` values file kustomize writes (the chart's
//! values file, merged with `valuesInline` as `valuesMerge` says) and one per
//! `additionalValuesFiles`, `--api-versions`, `--kube-version`, `--include-crds`,
//! `--skip-tests`, `--no-hooks`, `--debug`; with `HELM_CONFIG_HOME`, `HELM_CACHE_HOME` and
//! `HELM_DATA_HOME` pointing into the config home (a temporary directory by default). The
//! chart's output is read as resources. Nothing runs without `--enable-helm`
//! ([`HelmOptions::enabled`]).
//!
//! Two kustomize behaviours are reproduced on purpose, because the goldens show them: an
//! entry's `kubeVersion`, `apiVersions` and `debug` win over the command line's, and the
//! command line's `--helm-api-versions` list is one array shared by every entry of the
//! build, which an entry's own `apiVersions` overwrites in place (`ApiVersions`).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::fs::Loader;
use crate::remote::git::TempDir;
use crate::yaml;

/// The command line's Helm settings (`--enable-helm`, `--helm-command`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelmOptions {
    /// `--enable-helm` (or `--enable-alpha-plugins`): without it a chart is an error.
    pub enabled: bool,
    /// `--helm-command`: the program run (a name on `PATH`, or a path).
    pub command: String,
    /// `--helm-api-versions`, repeatable.
    pub api_versions: Vec<String>,
    /// `--helm-kube-version`.
    pub kube_version: String,
    /// `--helm-debug`.
    pub debug: bool,
}

impl Default for HelmOptions {
    fn default() -> Self {
        HelmOptions {
            enabled: false,
            command: "helm".into(),
            api_versions: Vec::new(),
            kube_version: String::new(),
            debug: false,
        }
    }
}

/// `helmGlobals:`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq, serde::Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HelmGlobals {
    /// The directory charts are found in and pulled into, relative to the kustomization
    /// unless absolute; empty means `charts`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub chart_home: String,
    /// Helm's `HELM_CONFIG_HOME` (its cache and data homes go below it); empty means a
    /// fresh temporary directory for each chart.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub config_home: String,
}

/// One `helmCharts:` entry.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, serde::Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HelmChart {
    /// The chart's name; required.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// The chart version to pull; with `repo` it also names the chart's own directory
    /// (`NAME-VERSION`) in the chart home.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version: String,
    /// The chart repository (`https://…` or `oci://…`); without it the chart must already
    /// be in the chart home.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub repo: String,
    /// The release name; empty lets helm generate one (`--generate-name`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub release_name: String,
    /// `helm template --namespace`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// More values files, relative to the kustomization, given to helm after the main one
    /// (so they win).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub additional_values_files: Vec<String>,
    /// The values file; empty means the chart's own `values.yaml`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub values_file: String,
    /// Values written in the kustomization, combined with `values_file` as `values_merge`
    /// says.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub values_inline: Map<String, Value>,
    /// How `values_inline` combines with `values_file`: `override` (the default: inline
    /// values win), `merge` (the file's win) or `replace` (inline values alone).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub values_merge: String,
    /// `--include-crds`: render the chart's CRDs too.
    #[serde(default, rename = "includeCRDs", skip_serializing_if = "is_false")]
    pub include_crds: bool,
    /// `--no-hooks`: leave out the chart's hook resources.
    #[serde(default, skip_serializing_if = "is_false")]
    pub skip_hooks: bool,
    /// `--api-versions`, in place of the command line's (with kustomize's sharing quirk,
    /// see the module doc).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub api_versions: Vec<String>,
    /// `--kube-version`; wins over the command line's `--helm-kube-version`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kube_version: String,
    /// `--name-template`: a template for the release name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name_template: String,
    /// `--skip-tests`: leave out the chart's test resources.
    #[serde(default, skip_serializing_if = "is_false")]
    pub skip_tests: bool,
    /// `--debug`, also turned on by the command line's `--helm-debug`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub debug: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// One entry of the deprecated `helmChartInflationGenerator:` field.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LegacyHelmChart {
    /// Becomes [`HelmChart::name`].
    #[serde(default)]
    pub chart_name: String,
    /// Becomes [`HelmChart::version`].
    #[serde(default)]
    pub chart_version: String,
    /// Becomes [`HelmChart::repo`].
    #[serde(default, rename = "chartRepoUrl")]
    pub chart_repo_url: String,
    /// Becomes [`HelmGlobals::chart_home`] when the kustomization has no `helmGlobals`.
    #[serde(default)]
    pub chart_home: String,
    /// Accepted and ignored, as kustomize's conversion drops it.
    #[serde(default)]
    pub chart_repo_name: String,
    /// Accepted and ignored: the program run is always `--helm-command`.
    #[serde(default)]
    pub helm_bin: String,
    /// Becomes [`HelmGlobals::config_home`] when the kustomization has no `helmGlobals`.
    #[serde(default)]
    pub helm_home: String,
    /// Becomes [`HelmChart::values_file`].
    #[serde(default)]
    pub values: String,
    /// Becomes [`HelmChart::values_inline`].
    #[serde(default)]
    pub values_local: Map<String, Value>,
    /// Becomes [`HelmChart::values_merge`].
    #[serde(default)]
    pub values_merge: String,
    /// Becomes [`HelmChart::release_name`].
    #[serde(default)]
    pub release_name: String,
    /// Accepted and ignored, as kustomize's conversion drops it.
    #[serde(default)]
    pub release_namespace: String,
    /// Accepted and ignored, as kustomize's conversion drops them.
    #[serde(default)]
    pub extra_args: Vec<String>,
}

impl LegacyHelmChart {
    /// kustomize's `FixKustomization` conversion (release namespace, extra arguments,
    /// repository name and helm binary are dropped, as there).
    pub fn to_chart(&self) -> HelmChart {
        HelmChart {
            name: self.chart_name.clone(),
            version: self.chart_version.clone(),
            repo: self.chart_repo_url.clone(),
            values_file: self.values.clone(),
            values_inline: self.values_local.clone(),
            values_merge: self.values_merge.clone(),
            release_name: self.release_name.clone(),
            ..Default::default()
        }
    }
}

/// Why a chart could not be inflated. The message is kustomize's where one exists.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct HelmError(pub String);

/// Which `--api-versions` an entry renders with (kustomize's slice aliasing, see the
/// module doc).
#[derive(Debug, Clone, PartialEq, Eq)]
enum ApiVersions {
    /// The first `n` items of the build's shared array.
    Shared(usize),
    /// A list of its own.
    Own(Vec<String>),
}

/// Helm state shared by every entry of one build: the command line's `--helm-api-versions`
/// array as Go holds it (its capacity is the next power of two of its length), which
/// entries with their own `apiVersions` overwrite in place.
#[derive(Debug, Clone, Default)]
pub struct HelmState {
    shared: Vec<String>,
    cli_len: usize,
}

impl HelmState {
    /// The state a build starts with, from the command line's settings.
    pub fn new(opts: &HelmOptions) -> HelmState {
        let n = opts.api_versions.len();
        let cap = if n == 0 { 0 } else { n.next_power_of_two() };
        let mut shared = opts.api_versions.clone();
        shared.resize(cap, String::new());
        HelmState { shared, cli_len: n }
    }

    /// What an entry with `own` as its `apiVersions` renders with. Go decodes the entry's
    /// list into the command line's slice: into its array, as far as its capacity goes.
    fn assign(&mut self, own: &[String]) -> ApiVersions {
        if self.cli_len == 0 {
            return ApiVersions::Own(own.to_vec());
        }
        if own.is_empty() {
            return ApiVersions::Shared(self.cli_len);
        }
        for (slot, v) in self.shared.iter_mut().zip(own) {
            *slot = v.clone();
        }
        if own.len() <= self.shared.len() {
            ApiVersions::Shared(own.len())
        } else {
            ApiVersions::Own(own.to_vec())
        }
    }

    fn resolve(&self, api: &ApiVersions) -> Vec<String> {
        match api {
            ApiVersions::Shared(n) => self.shared.iter().take(*n).cloned().collect(),
            ApiVersions::Own(v) => v.clone(),
        }
    }
}

/// A chart entry, configured: what `helm template` will be given.
#[derive(Debug, Clone)]
pub struct Configured {
    chart: HelmChart,
    globals: HelmGlobals,
    api_versions: ApiVersions,
    kube_version: String,
    debug: bool,
    /// Absolute chart home (with `NAME-VERSION` for a versioned chart from a repository).
    chart_home: PathBuf,
    values_file: String,
    additional: Vec<PathBuf>,
    values_merge: String,
}

/// The configuration text kustomize prints when an entry fails configuration.
fn config_text(chart: &HelmChart, globals: &HelmGlobals) -> String {
    let mut v = serde_json::to_value(chart).unwrap_or(Value::Null);
    if let (Value::Object(m), Ok(Value::Object(g))) = (&mut v, serde_json::to_value(globals)) {
        m.extend(g);
    }
    yaml::to_string(&v).unwrap_or_default()
}

/// kustomize's `Config()` for one entry: command-line settings first, the entry over
/// them, then validation and defaults.
pub fn configure(
    chart: &HelmChart,
    globals: &HelmGlobals,
    opts: &HelmOptions,
    state: &mut HelmState,
    ldr: &Loader,
) -> Result<Configured, HelmError> {
    let wrap = |m: String| {
        HelmError(format!(
            "trouble configuring builtin HelmChartInflationGenerator with config: `\n{}`: {m}",
            config_text(chart, globals)
        ))
    };
    if !opts.enabled {
        return Err(wrap("must specify --enable-helm".into()));
    }
    if opts.command.is_empty() {
        return Err(wrap("must specify --helm-command".into()));
    }
    let api_versions = state.assign(&chart.api_versions);
    let kube_version = if chart.kube_version.is_empty() {
        opts.kube_version.clone()
    } else {
        chart.kube_version.clone()
    };
    if chart.name.is_empty() {
        return Err(wrap("chart name cannot be empty".into()));
    }
    let home = if globals.chart_home.is_empty() {
        "charts"
    } else {
        globals.chart_home.as_str()
    };
    let mut chart_home = if Path::new(home).is_absolute() {
        PathBuf::from(home)
    } else {
        crate::fs::normalize(&ldr.root().join(home))
    };
    if !chart.version.is_empty() && !chart.repo.is_empty() {
        chart_home = chart_home.join(format!("{}-{}", chart.name, chart.version));
    }
    let values_file = if chart.values_file.is_empty() {
        chart_home
            .join(&chart.name)
            .join("values.yaml")
            .to_string_lossy()
            .into_owned()
    } else {
        chart.values_file.clone()
    };
    let mut additional = Vec::new();
    for f in &chart.additional_values_files {
        ldr.load(f)
            .map_err(|e| wrap(format!("could not load additionalValuesFile: {e}")))?;
        additional.push(crate::fs::normalize(&ldr.root().join(f)));
    }
    let values_merge = match chart.values_merge.as_str() {
        "" => "override".to_string(),
        m @ ("merge" | "override" | "replace") => m.to_string(),
        _ => {
            return Err(wrap(
                "valuesMerge must be one of [merge override replace]".into(),
            ))
        }
    };
    Ok(Configured {
        chart: chart.clone(),
        globals: globals.clone(),
        api_versions,
        kube_version,
        debug: chart.debug || opts.debug,
        chart_home,
        values_file,
        additional,
        values_merge,
    })
}

/// Runs helm for a configured entry and returns what `helm template` printed.
pub fn inflate(
    c: &Configured,
    opts: &HelmOptions,
    state: &HelmState,
    ldr: &Loader,
) -> Result<Vec<u8>, HelmError> {
    let temp = TempDir::new(&std::env::temp_dir(), "kustomize-helm-").map_err(|e| {
        HelmError(format!(
            "unable to create tmp dir for HELM_CONFIG_HOME: {e}"
        ))
    })?;
    let config_home = if c.globals.config_home.is_empty() {
        temp.path().join("helm").to_string_lossy().into_owned()
    } else {
        c.globals.config_home.clone()
    };
    let env = [
        ("HELM_CONFIG_HOME".to_string(), config_home.clone()),
        (
            "HELM_CACHE_HOME".to_string(),
            format!("{config_home}/.cache"),
        ),
        ("HELM_DATA_HOME".to_string(), format!("{config_home}/.data")),
    ];
    let run = |args: &[String]| run_helm(&opts.command, args, &env);

    let version = run(&["version".into(), "-c".into(), "--short".into()])?;
    check_version(&String::from_utf8_lossy(&version))?;

    let chart_dir = c.chart_home.join(&c.chart.name);
    if !chart_dir.is_dir() {
        if c.chart.repo.is_empty() {
            let shown = if chart_dir.exists() {
                chart_dir.display().to_string()
            } else {
                String::new()
            };
            return Err(HelmError(format!(
                "no repo specified for pull, no chart found at '{shown}'"
            )));
        }
        let mut args: Vec<String> = vec![
            "pull".into(),
            "--untar".into(),
            "--untardir".into(),
            c.chart_home.to_string_lossy().into_owned(),
        ];
        if c.chart.repo.starts_with("oci://") {
            args.push(format!(
                "{}/{}",
                c.chart.repo.trim_end_matches('/'),
                c.chart.name
            ));
        } else {
            args.extend(["--repo".into(), c.chart.repo.clone(), c.chart.name.clone()]);
        }
        if !c.chart.version.is_empty() {
            args.extend(["--version".into(), c.chart.version.clone()]);
        }
        run(&args)?;
    }

    let values = values_file_bytes(c, ldr)?;
    let values_path = temp
        .path()
        .join(format!("{}-kustomize-values.yaml", c.chart.name));
    std::fs::write(&values_path, values)
        .map_err(|e| HelmError(format!("failed to write values file: {e}")))?;

    let mut args: Vec<String> = vec!["template".into()];
    if c.chart.release_name.is_empty() {
        args.push("--generate-name".into());
    } else {
        args.push(c.chart.release_name.clone());
    }
    args.push(
        crate::fs::normalize(&chart_dir)
            .to_string_lossy()
            .into_owned(),
    );
    if !c.chart.namespace.is_empty() {
        args.extend(["--namespace".into(), c.chart.namespace.clone()]);
    }
    if !c.chart.name_template.is_empty() {
        args.extend(["--name-template".into(), c.chart.name_template.clone()]);
    }
    args.extend(["-f".into(), values_path.to_string_lossy().into_owned()]);
    for f in &c.additional {
        args.extend(["-f".into(), f.to_string_lossy().into_owned()]);
    }
    for a in state.resolve(&c.api_versions) {
        args.extend(["--api-versions".into(), a]);
    }
    if !c.kube_version.is_empty() {
        args.extend(["--kube-version".into(), c.kube_version.clone()]);
    }
    if c.chart.include_crds {
        args.push("--include-crds".into());
    }
    if c.chart.skip_tests {
        args.push("--skip-tests".into());
    }
    if c.chart.skip_hooks {
        args.push("--no-hooks".into());
    }
    if c.debug {
        args.push("--debug".into());
    }
    run(&args)
}

/// The values file kustomize gives helm: the chart's values file as it is, or merged with
/// `valuesInline` (kyaml's merge without a schema: maps merge, lists and scalars are
/// replaced, null deletes), or `valuesInline` alone for `replace`.
fn values_file_bytes(c: &Configured, ldr: &Loader) -> Result<Vec<u8>, HelmError> {
    let inline = Value::Object(c.chart.values_inline.clone());
    if c.chart.values_inline.is_empty() {
        return ldr
            .load(&c.values_file)
            .map(|(_, b)| b)
            .map_err(|e| HelmError(e.to_string()));
    }
    if c.values_merge == "replace" {
        return yaml::to_string(&inline)
            .map(String::into_bytes)
            .map_err(|e| HelmError(e.to_string()));
    }
    let (_, bytes) = ldr
        .load(&c.values_file)
        .map_err(|e| HelmError(e.to_string()))?;
    let docs = yaml::reader::read_resource_stream(&bytes, yaml::Limits::default())
        .map_err(|e| HelmError(format!("could not parse values file into rnode: {e}")))?;
    let Some(doc) = docs.into_iter().next() else {
        return Err(HelmError(
            "could not parse values file into rnode: EOF".into(),
        ));
    };
    let mut chart_values = doc.value;
    // kyaml drops map entries written with no value at all (`key:`) when it walks.
    for pointer in doc.empty_nulls.iter().rev() {
        remove_null_at(&mut chart_values, pointer);
    }
    let schema = crate::schema::Schema::builtin();
    let merged = if c.values_merge == "merge" {
        let mut dest = inline;
        crate::patch::smp::merge(&mut dest, &chart_values, schema).map(|_| dest)
    } else {
        let mut dest = chart_values;
        crate::patch::smp::merge(&mut dest, &inline, schema).map(|_| dest)
    }
    .map_err(|e| HelmError(format!("could not merge values: {e}")))?;
    let merged = match merged {
        Value::Null => Value::Object(Map::new()),
        v => v,
    };
    yaml::to_string(&merged)
        .map(String::into_bytes)
        .map_err(|e| HelmError(e.to_string()))
}

fn remove_null_at(v: &mut Value, pointer: &str) {
    let Some((parent, key)) = pointer.rsplit_once('/') else {
        return;
    };
    let key = key.replace("~1", "/").replace("~0", "~");
    if let Some(Value::Object(m)) = v.pointer_mut(parent) {
        if m.get(&key) == Some(&Value::Null) {
            m.remove(&key);
        }
    }
}

/// `helm version -c --short` must name a version 3.
fn check_version(stdout: &str) -> Result<(), HelmError> {
    let found = find_version(stdout)
        .ok_or_else(|| HelmError(format!("cannot find version string in {stdout}")))?;
    let version = found.trim_start_matches('v');
    let major = version.split('.').next().unwrap_or("");
    if major != "3" {
        return Err(HelmError(format!(
            "this plugin requires helm V3 but got v{version}"
        )));
    }
    Ok(())
}

/// The first match of `v?\d+(\.\d+)+`.
fn find_version(s: &str) -> Option<&str> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            let start = if i > 0 && b[i - 1] == b'v' { i - 1 } else { i };
            let mut j = i;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            let mut groups = 0;
            while j + 1 < b.len() && b[j] == b'.' && b[j + 1].is_ascii_digit() {
                j += 1;
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
                groups += 1;
            }
            if groups > 0 {
                return Some(&s[start..j]);
            }
            i = j;
        } else {
            i += 1;
        }
    }
    None
}

/// Runs helm; its stdout, or kustomize's error with helm's stderr in front.
fn run_helm(
    command: &str,
    args: &[String],
    env: &[(String, String); 3],
) -> Result<Vec<u8>, HelmError> {
    let shown = format!("{command} {}", args.join(" "));
    let env_text = env
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ");
    let fail = |stderr: &str, why: String| {
        let prefix = if stderr.is_empty() {
            String::new()
        } else {
            format!("{stderr}: ")
        };
        HelmError(format!(
            "{prefix}unable to run: '{shown}' with env=[{env_text}] (is '{command}' installed?): {why}"
        ))
    };
    let out = Command::new(command)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| fail("", format!("fork/exec {command}: {e}")))?;
    if !out.status.success() {
        let code = out
            .status
            .code()
            .map_or("signal".to_string(), |c| format!("exit status {c}"));
        return Err(fail(&String::from_utf8_lossy(&out.stderr), code));
    }
    Ok(out.stdout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_as_kustomize_finds_them() {
        assert_eq!(find_version("v3.16.2+gabc\n"), Some("v3.16.2"));
        assert_eq!(
            find_version("version.BuildInfo{Version:\"v3.14.2\"}"),
            Some("v3.14.2")
        );
        assert_eq!(find_version("3\n"), None);
        assert!(check_version("v2.17.0").is_err());
        assert!(check_version("v10.1.0").is_err());
        assert!(check_version("v3.1").is_ok());
    }

    #[test]
    fn the_cli_api_versions_array_is_shared_as_in_go() {
        // kustomize's case api-versions-cli-shared-slice: CLI c1,c2,c3 (capacity 4);
        // entries a:[x] b:- c:[p,q,r,s] d:- e:[v1..v5], all configured before any renders.
        let list = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let opts = HelmOptions {
            enabled: true,
            api_versions: list(&["c1", "c2", "c3"]),
            ..Default::default()
        };
        let mut state = HelmState::new(&opts);
        let five = list(&["v1", "v2", "v3", "v4", "v5"]);
        let entries = [
            state.assign(&list(&["x"])),
            state.assign(&[]),
            state.assign(&list(&["p", "q", "r", "s"])),
            state.assign(&[]),
            state.assign(&five),
        ];
        let got: Vec<Vec<String>> = entries.iter().map(|e| state.resolve(e)).collect();
        assert_eq!(
            got,
            [
                list(&["v1"]),
                list(&["v1", "v2", "v3"]),
                list(&["v1", "v2", "v3", "v4"]),
                list(&["v1", "v2", "v3"]),
                five.clone(),
            ]
        );
        // Without the flag nothing is shared.
        let mut alone = HelmState::new(&HelmOptions::default());
        let a = alone.assign(&list(&["x"]));
        assert_eq!(alone.resolve(&a), list(&["x"]));
    }
}
