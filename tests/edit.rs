//! `rustomize edit`: kustomize's documented results (its `commands/edit` tests) for what
//! the kustomization holds afterwards, and the minimal-diff property for its bytes:
//! every line the edit had no reason to touch is still there, in order.

use std::path::PathBuf;
use std::process::Command;

use serde_json::{json, Value};

/// kustomize's own test kustomization (`testutils.go`), comments and all.
const STD: &str = "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namePrefix: some-prefix
nameSuffix: some-suffix
# Labels to add to all objects and selectors.
# These labels would also be used to form the selector for apply --prune
# Named differently than \u{201c}labels\u{201d} to avoid confusion with metadata for this object
commonLabels:
  app: helloworld
commonAnnotations:
  note: This is an example annotation
resources: []
#- service.yaml
#- ../some-dir/
# There could also be configmaps in Base, which would make these overlays
configMapGenerator: []
# There could be secrets in Base, if just using a fork/rebase workflow
secretGenerator: []
replacements:
  - path: replacement.yaml
";

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str, kustomization: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("rz-edit-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("kustomization.yaml"), kustomization).unwrap();
        Dir(d)
    }

    fn edit(&self, args: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_rustomize"))
            .arg("edit")
            .arg("-C")
            .arg(&self.0)
            .args(args)
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.edit(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.text()
    }

    fn text(&self) -> String {
        std::fs::read_to_string(self.0.join("kustomization.yaml")).unwrap()
    }

    fn field(&self, name: &str) -> Value {
        let v = rustomize::yaml::read_document(
            self.text().as_bytes(),
            rustomize::yaml::Dialect::V2,
            Default::default(),
        )
        .unwrap()
        .unwrap();
        v.get(name).cloned().unwrap_or(Value::Null)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Every line of `before` except `changed` ones appears in `after`, in order, and `after`
/// has at most `added` lines more than those.
fn minimal(before: &str, after: &str, changed: usize, added: usize) {
    let a: Vec<&str> = before.lines().collect();
    let b: Vec<&str> = after.lines().collect();
    // Longest common subsequence of lines.
    let mut dp = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            dp[i][j] = if a[i] == b[j] {
                dp[i + 1][j + 1] + 1
            } else {
                dp[i + 1][j].max(dp[i][j + 1])
            };
        }
    }
    let kept = dp[0][0];
    assert!(
        a.len() - kept <= changed && b.len() - kept <= changed + added,
        "too many lines changed ({} removed, {} added):\n--- before\n{before}\n--- after\n{after}",
        a.len() - kept,
        b.len() - kept
    );
}

#[test]
fn set_image_as_kustomize_documents_it() {
    let d = Dir::new("image", STD);
    d.ok(&["set", "image", "image1=my-image1:1234"]);
    assert_eq!(
        d.field("images"),
        json!([{"name": "image1", "newName": "my-image1", "newTag": "1234"}])
    );
    minimal(STD, &d.text(), 0, 4);
    let before = d.text();
    d.ok(&[
        "set",
        "image",
        "image1=*@sha256:24a0c4b4a4c0eb97a1aabb8e29f18e917d05abfe1b7a7c07857230879ce7d3d3",
    ]);
    assert_eq!(
        d.field("images"),
        json!([{"name": "image1", "newName": "my-image1", "digest": "sha256:24a0c4b4a4c0eb97a1aabb8e29f18e917d05abfe1b7a7c07857230879ce7d3d3"}])
    );
    // The tag line goes, the digest line comes; nothing else moves.
    minimal(&before, &d.text(), 1, 1);
    d.ok(&[
        "set",
        "image",
        "ngnix=localhost:5000/my-project/ngnix:dev-01",
    ]);
    assert_eq!(
        d.field("images")[1],
        json!({"name": "ngnix", "newName": "localhost:5000/my-project/ngnix", "newTag": "dev-01"})
    );
    let bad = d.edit(&["set", "image", "nginx"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("invalid format of image"));
}

#[test]
fn set_namespace_prefix_suffix_and_replicas() {
    let d = Dir::new("scalars", STD);
    d.ok(&["set", "nameprefix", "acme-"]);
    assert_eq!(
        d.text(),
        STD.replace("namePrefix: some-prefix", "namePrefix: acme-")
    );
    d.ok(&["set", "namesuffix", "--", "-acme"]);
    assert_eq!(d.field("nameSuffix"), json!("-acme"));
    d.ok(&["set", "namespace", "staging"]);
    assert!(d.text().ends_with("namespace: staging\n"));
    d.ok(&["set", "replicas", "app=5", "other-app=2"]);
    assert_eq!(
        d.field("replicas"),
        json!([{"name": "app", "count": 5}, {"name": "other-app", "count": 2}])
    );
    let bad = d.edit(&["set", "replicas", "app=bad"]);
    assert!(String::from_utf8_lossy(&bad.stderr)
        .contains("invalid format of replica, use the following format: <name>=<count>"));
}

#[test]
fn add_and_remove_resources() {
    let d = Dir::new("resources", STD);
    std::fs::write(d.0.join("myWonderfulResource.yaml"), "").unwrap();
    std::fs::write(d.0.join("myWonderfulResource.yamlanother"), "").unwrap();
    d.ok(&["add", "resource", "myWonderfulResource.yaml*"]);
    assert_eq!(
        d.field("resources"),
        json!([
            "myWonderfulResource.yaml",
            "myWonderfulResource.yamlanother"
        ])
    );
    // The flow-style empty list is written anew; everything else stays.
    minimal(STD, &d.text(), 1, 3);
    let again = d.edit(&["add", "resource", "myWonderfulResource.yaml"]);
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already in kustomization file"));
    d.ok(&["add", "resource", "kustomization.yaml"]);
    assert_eq!(d.field("resources").as_array().unwrap().len(), 2);
    let missing = d.edit(&["add", "resource", "nothere.yaml"]);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nothere.yaml has no match"));
    let before = d.text();
    d.ok(&["remove", "resource", "*.yamlanother"]);
    assert_eq!(d.field("resources"), json!(["myWonderfulResource.yaml"]));
    minimal(&before, &d.text(), 1, 0);
}

#[test]
fn add_labels_annotations_and_patches() {
    let d = Dir::new("meta", STD);
    d.ok(&["add", "label", "owls:cute", "otters:adorable"]);
    assert_eq!(
        d.field("commonLabels"),
        json!({"app": "helloworld", "otters": "adorable", "owls": "cute"})
    );
    minimal(STD, &d.text(), 0, 2);
    let clash = d.edit(&["add", "label", "owls:wise"]);
    assert!(
        String::from_utf8_lossy(&clash.stderr).contains("label owls already in kustomization file")
    );
    d.ok(&["add", "label", "-f", "owls:wise"]);
    assert_eq!(d.field("commonLabels")["owls"], json!("wise"));
    d.ok(&[
        "add",
        "label",
        "--without-selector",
        "--include-templates",
        "new:label",
    ]);
    assert_eq!(
        d.field("labels"),
        json!([{"includeTemplates": true, "pairs": {"new": "label"}}])
    );
    d.ok(&["add", "annotation", "test:{\"k1\":\"v1\",\"k2\":\"v2\"}"]);
    assert_eq!(
        d.field("commonAnnotations")["test"],
        json!("{\"k1\":\"v1\",\"k2\":\"v2\"}")
    );
    d.ok(&[
        "add",
        "patch",
        "--path",
        "myWonderfulPatch.yaml",
        "--kind",
        "myKind",
        "--group",
        "myGroup",
        "--version",
        "myVersion",
        "--name",
        "myName",
        "--namespace",
        "myNamespace",
        "--annotation-selector",
        "myAnnotationSelector",
        "--label-selector",
        "myLabelSelector",
    ]);
    assert_eq!(
        d.field("patches"),
        json!([{"path": "myWonderfulPatch.yaml", "target": {
            "annotationSelector": "myAnnotationSelector", "group": "myGroup", "kind": "myKind",
            "labelSelector": "myLabelSelector", "name": "myName", "namespace": "myNamespace",
            "version": "myVersion"}}])
    );
    let none = d.edit(&["add", "patch"]);
    assert!(String::from_utf8_lossy(&none.stderr).contains("must provide either patch or path"));
}

#[test]
fn an_edit_keeps_comments_blank_lines_and_quoting_everywhere_else() {
    let src = "# Production overlay.\n---\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n\n# The bases.\nresources:\n    - ../../base   # shared\n    - 'ingress.yaml'\n\nimages:\n  - name: web # the front end\n    newName: \"registry.example.com/web\"\n    newTag: \"1.0.0\" # {\"$imagepolicy\": \"flux-system:web:tag\"}\n  - name: api\n    newTag: '2.3'\n\npatches:\n  - path: replicas.yaml\n";
    let d = Dir::new("keep", src);
    d.ok(&["set", "image", "web=*:1.1.0"]);
    assert_eq!(d.text(), src.replace("\"1.0.0\"", "\"1.1.0\""));
    d.ok(&["add", "resource", "--no-verify", "extra.yaml"]);
    assert_eq!(
        d.text(),
        src.replace("\"1.0.0\"", "\"1.1.0\"").replace(
            "    - 'ingress.yaml'\n",
            "    - 'ingress.yaml'\n    - extra.yaml\n"
        )
    );
}
