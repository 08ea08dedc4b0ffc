//! One test per kyaml quirk, named after it. The kubectl-verified versions of most of
//! these are the cases in `fixtures/conformance/smp/` (run by `tests/smp.rs`).

use proptest::prelude::*;
use serde_json::{json, Value};

use super::*;

fn deployment(pod_spec: Value) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {"template": {"spec": pod_spec}}
    })
}

fn merged(mut target: Value, patch: &Value) -> Value {
    let outcome = merge(&mut target, patch, Schema::builtin());
    assert_eq!(outcome, Ok(Outcome::Kept), "merge of {patch}");
    target
}

fn pod_spec(v: &Value) -> &Value {
    &v["spec"]["template"]["spec"]
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["name"].as_str().unwrap_or("?"))
                .collect()
        })
        .unwrap_or_default()
}

fn containers(names: &[&str]) -> Value {
    Value::Array(
        names
            .iter()
            .map(|n| json!({"name": n, "image": format!("{n}:1")}))
            .collect(),
    )
}

#[test]
fn null_in_patch_deletes_field() {
    let out = merged(
        json!({"kind": "X", "apiVersion": "v9", "a": 1, "b": {"c": 2}}),
        &json!({"a": null, "b": null}),
    );
    assert_eq!(out, json!({"kind": "X", "apiVersion": "v9"}));
}

#[test]
fn null_for_missing_field_adds_nothing() {
    let out = merged(json!({"a": 1}), &json!({"b": null, "c": {"d": null}}));
    assert_eq!(out, json!({"a": 1, "c": {}}));
}

#[test]
fn explicit_null_in_target_is_kept() {
    // kustomize issue 4628: a null the patch does not mention persists.
    let out = merged(json!({"a": null, "b": 1}), &json!({"b": 2}));
    assert_eq!(out, json!({"a": null, "b": 2}));
}

#[test]
fn nulls_inside_an_added_map_are_dropped() {
    let out = merged(json!({"a": 1}), &json!({"m": {"x": null, "y": 1}}));
    assert_eq!(out, json!({"a": 1, "m": {"y": 1}}));
}

#[test]
fn map_directive_delete_removes_the_map() {
    let out = merged(
        json!({"m": {"x": 1}, "k": 1}),
        &json!({"m": {"$patch": "delete", "x": 2}}),
    );
    assert_eq!(out, json!({"k": 1}));
}

#[test]
fn map_directive_replace_replaces_the_map() {
    let out = merged(
        json!({"m": {"x": 1, "y": 2}}),
        &json!({"m": {"$patch": "replace", "z": 3, "n": null}}),
    );
    assert_eq!(out, json!({"m": {"z": 3}}));
}

#[test]
fn map_directive_merge_is_elided() {
    let out = merged(
        json!({"m": {"x": 1}}),
        &json!({"m": {"$patch": "merge", "y": 2}}),
    );
    assert_eq!(out, json!({"m": {"x": 1, "y": 2}}));
}

#[test]
fn unknown_directive_on_existing_map_is_an_error() {
    let mut target = json!({"spec": {"m": {"x": 1}}});
    let err = merge(
        &mut target,
        &json!({"spec": {"m": {"$patch": "foo"}}}),
        Schema::builtin(),
    );
    assert_eq!(
        err,
        Err(SmpError::UnknownDirective {
            path: "spec.m".into(),
            value: "foo".into()
        })
    );
}

#[test]
fn unknown_directive_on_added_map_is_kept() {
    // fixture smp/added-map-unknown-directive
    let out = merged(json!({"a": 1}), &json!({"m": {"$patch": "foo", "x": 1}}));
    assert_eq!(out, json!({"a": 1, "m": {"$patch": "foo", "x": 1}}));
}

#[test]
fn top_level_delete_deletes_the_resource() {
    let mut target = deployment(json!({"containers": containers(&["a"])}));
    let patch = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "$patch": "delete"});
    assert_eq!(
        merge(&mut target, &patch, Schema::builtin()),
        Ok(Outcome::Deleted)
    );
}

#[test]
fn resource_left_empty_is_deleted() {
    let mut target = json!({"a": 1});
    assert_eq!(
        merge(&mut target, &json!({"a": null}), Schema::builtin()),
        Ok(Outcome::Deleted)
    );
}

#[test]
fn new_elements_go_first() {
    // ListIncreaseDirection: Prepend; fixture smp/container-added-goes-first.
    let out = merged(
        deployment(json!({"containers": containers(&["a", "b"])})),
        &deployment(
            json!({"containers": [{"name": "c", "image": "c:1"}, {"name": "b", "image": "b:2"}]}),
        ),
    );
    assert_eq!(names(&pod_spec(&out)["containers"]), ["c", "b", "a"]);
    assert_eq!(pod_spec(&out)["containers"][1]["image"], "b:2");
}

#[test]
fn element_directive_delete_removes_the_element() {
    let out = merged(
        deployment(json!({"containers": containers(&["a", "b"])})),
        &deployment(
            json!({"containers": [{"name": "a", "$patch": "delete"}, {"name": "zz", "$patch": "delete"}]}),
        ),
    );
    assert_eq!(names(&pod_spec(&out)["containers"]), ["b"]);
}

#[test]
fn element_directive_replace_is_ignored() {
    // fixture smp/element-patch-replace-is-ignored: kyaml puts the target's element back.
    let out = merged(
        deployment(json!({"containers": containers(&["a", "b"])})),
        &deployment(json!({"containers": [{"name": "b", "$patch": "replace", "image": "new"}]})),
    );
    assert_eq!(pod_spec(&out)["containers"], containers(&["b", "a"]));
}

#[test]
fn list_directive_replace_replaces_the_list() {
    let out = merged(
        deployment(json!({"containers": containers(&["a", "b"])})),
        &deployment(json!({"containers": [{"$patch": "replace"}, {"name": "c", "image": "c:1"}]})),
    );
    assert_eq!(pod_spec(&out)["containers"], containers(&["c"]));
}

#[test]
fn list_directive_delete_removes_the_list() {
    let out = merged(
        deployment(json!({"containers": containers(&["a"]), "volumes": [{"name": "v"}]})),
        &deployment(json!({"volumes": [{"$patch": "delete"}]})),
    );
    assert!(pod_spec(&out).get("volumes").is_none());
}

#[test]
fn list_directive_needs_a_one_key_element() {
    // fixture smp/list-marker-with-two-keys-is-an-element
    let out = merged(
        deployment(json!({"containers": containers(&["a", "b"])})),
        &deployment(json!({"containers": [{"$patch": "replace", "name": "b", "image": "x"}]})),
    );
    assert_eq!(pod_spec(&out)["containers"], containers(&["b", "a"]));
}

#[test]
fn list_directive_unknown_is_an_error() {
    let mut target = deployment(json!({"containers": containers(&["a"])}));
    let err = merge(
        &mut target,
        &deployment(json!({"containers": [{"$patch": "nope"}]})),
        Schema::builtin(),
    );
    assert!(matches!(err, Err(SmpError::UnknownDirective { value, .. }) if value == "nope"));
}

#[test]
fn added_list_keeps_its_marker_element() {
    // fixture smp/added-list-with-replace-marker: no list directive when adding a list,
    // and the marker (no key) wipes the keyed elements.
    let out = merged(
        deployment(json!({"containers": containers(&["a"])})),
        &deployment(json!({"volumes": [{"$patch": "replace"}, {"name": "x", "emptyDir": {}}]})),
    );
    assert_eq!(pod_spec(&out)["volumes"], json!([{"$patch": "replace"}]));
}

#[test]
fn lists_without_strategy_are_replaced_with_their_markers() {
    // fixture smp/crd-list-patch-markers-kept
    let out = merged(
        json!({"apiVersion": "example.com/v1", "kind": "W", "l": [1, 2]}),
        &json!({"l": [{"$patch": "replace"}, 3]}),
    );
    assert_eq!(out["l"], json!([{"$patch": "replace"}, 3]));
}

#[test]
fn two_keys_move_target_elements_to_the_end() {
    // fixture smp/ports-order-two-keys
    let port = |p: i64| json!({"containerPort": p, "protocol": "TCP"});
    let out = merged(
        deployment(json!({"containers": [{"name": "a", "ports": [port(80), port(81)]}]})),
        &deployment(json!({"containers": [{"name": "a", "ports": [port(82), port(81)]}]})),
    );
    assert_eq!(
        pod_spec(&out)["containers"][0]["ports"],
        json!([port(82), port(80), port(81)])
    );
}

#[test]
fn port_without_protocol_loses_the_patch() {
    // fixture smp/ports-protocol-missing-in-target
    let out = merged(
        deployment(json!({"containers": [{"name": "a", "ports": [{"containerPort": 80}]}]})),
        &deployment(json!({"containers": [{"name": "a", "ports": [
            {"containerPort": 80, "protocol": "TCP", "name": "http"}
        ]}]})),
    );
    assert_eq!(
        pod_spec(&out)["containers"][0]["ports"],
        json!([{"containerPort": 80}])
    );
}

#[test]
fn merge_values_uses_the_tuple_as_it_was() {
    // Go ranges over a copy of each tuple; kubectl prints `[{}]` here.
    let out = merged(
        deployment(json!({"containers": [{"name": "c"}]})),
        &deployment(json!({"containers": [{"name": "c", "ports": [
            {"containerPort": 81},
            {"containerPort": 81, "protocol": "UDP", "name": "a"},
            {}
        ]}]})),
    );
    assert_eq!(pod_spec(&out)["containers"][0]["ports"], json!([{}]));
}

#[test]
fn element_without_key_wipes_keyed_elements() {
    // fixture smp/element-without-key-in-target
    let out = merged(
        deployment(json!({"containers": [{"name": "a", "env": [{"name": "X"}, {"value": "v"}]}]})),
        &json!({"spec": {"replicas": 1}}),
    );
    assert_eq!(
        pod_spec(&out)["containers"][0]["env"],
        json!([{"value": "v"}])
    );
}

#[test]
fn empty_element_in_target_keeps_only_the_first() {
    // fixture smp/empty-element-in-target
    let out = merged(
        deployment(json!({"containers": [{"name": "a"}, {}, {"name": "b"}]})),
        &json!({"spec": {"replicas": 1}}),
    );
    assert_eq!(pod_spec(&out)["containers"], json!([{"name": "a"}]));
}

#[test]
fn duplicate_keys_collapse_to_the_last() {
    // fixture smp/duplicate-keys-in-target-collapse
    let out = merged(
        deployment(
            json!({"containers": [{"name": "a", "image": "1"}, {"name": "a", "image": "2"}]}),
        ),
        &json!({"spec": {"replicas": 1}}),
    );
    assert_eq!(
        pod_spec(&out)["containers"],
        json!([{"name": "a", "image": "2"}])
    );
}

#[test]
fn values_list_keeps_the_target_copy() {
    // fixture smp/primitive-list-target-copy-wins
    let out = merged(
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"finalizers": [1, "two"]}}),
        &json!({"metadata": {"finalizers": ["three", "1"]}}),
    );
    assert_eq!(out["metadata"]["finalizers"], json!(["three", 1, "two"]));
}

#[test]
fn merge_keys_compare_as_text() {
    // fixture smp/merge-key-string-matches-int
    let out = merged(
        json!({"apiVersion": "v1", "kind": "Service", "spec": {"ports": [{"port": 80, "protocol": "TCP", "name": "a"}]}}),
        &json!({"spec": {"ports": [{"port": "80", "protocol": "TCP", "targetPort": 8}]}}),
    );
    assert_eq!(
        out["spec"]["ports"],
        json!([{"port": "80", "protocol": "TCP", "name": "a", "targetPort": 8}])
    );
}

#[test]
fn nested_typed_object_gets_its_schema() {
    // fixture smp/crd-nested-typed-object
    let target = json!({"apiVersion": "example.com/v1", "kind": "W", "spec": {
        "apiVersion": "v1", "kind": "Pod", "spec": {"containers": containers(&["a", "b"])}}});
    let out = merged(
        target,
        &json!({"spec": {"spec": {"containers": [{"name": "b", "image": "b:2"}]}}}),
    );
    assert_eq!(names(&out["spec"]["spec"]["containers"]), ["b", "a"]);
}

#[test]
fn parent_schema_wins_over_nested_type() {
    // fixture smp/parent-schema-wins-over-nested-type
    let mut target = deployment(json!({"containers": containers(&["a", "b"])}));
    target["spec"]["template"]["apiVersion"] = json!("example.com/v1");
    target["spec"]["template"]["kind"] = json!("Widget");
    let out = merged(
        target,
        &json!({"spec": {"template": {"spec": {"containers": [{"name": "b", "image": "b:2"}]}}}}),
    );
    assert_eq!(names(&pod_spec(&out)["containers"]), ["b", "a"]);
}

#[test]
fn opaque_schema_blocks_nested_lookup() {
    // fixture smp/opaque-field-blocks-nested-type: ControllerRevision.data is RawExtension.
    let target = json!({"apiVersion": "apps/v1", "kind": "ControllerRevision", "data": {
        "apiVersion": "v1", "kind": "Pod", "spec": {"containers": containers(&["a", "b"])}}});
    let out = merged(
        target,
        &json!({"data": {"spec": {"containers": [{"name": "b"}]}}}),
    );
    assert_eq!(out["data"]["spec"]["containers"], json!([{"name": "b"}]));
}

#[test]
fn kubernetes_only_directives_are_copied() {
    // fixture smp/directives-unknown
    let out = merged(
        deployment(json!({"containers": containers(&["a"])})),
        &deployment(json!({
            "$setElementOrder/containers": [{"name": "a"}],
            "$retainKeys": ["containers"],
            "containers": [{"name": "a", "$deleteFromPrimitiveList/args": ["x"]}]
        })),
    );
    let spec = pod_spec(&out);
    assert_eq!(spec["$setElementOrder/containers"], json!([{"name": "a"}]));
    assert_eq!(spec["$retainKeys"], json!(["containers"]));
    assert_eq!(
        spec["containers"][0]["$deleteFromPrimitiveList/args"],
        json!(["x"])
    );
}

#[test]
fn retain_keys_strategy_is_ignored() {
    // fixture smp/volume-source-change-keeps-old-source
    let out = merged(
        deployment(json!({"volumes": [{"name": "v", "emptyDir": {}}]})),
        &deployment(json!({"volumes": [{"name": "v", "configMap": {"name": "c"}}]})),
    );
    assert_eq!(
        pod_spec(&out)["volumes"],
        json!([{"name": "v", "emptyDir": {}, "configMap": {"name": "c"}}])
    );
}

#[test]
fn kind_mismatch_is_an_error_with_a_path() {
    let mut target = deployment(json!({"containers": [{"name": "a", "env": [{"name": "X"}]}]}));
    let err = merge(
        &mut target,
        &deployment(json!({"containers": [{"name": "a", "env": "nope"}]})),
        Schema::builtin(),
    );
    assert_eq!(
        err,
        Err(SmpError::KindMismatch {
            path: "spec.template.spec.containers[name=a].env".into(),
            target: NodeKind::List,
            patch: NodeKind::Scalar,
        })
    );
    let err = merge(
        &mut deployment(json!({"containers": containers(&["a"])})),
        &json!({"spec": {"template": "nope"}}),
        Schema::builtin(),
    );
    assert_eq!(
        err.map_err(|e| e.to_string()),
        Err("spec.template: the target has a map where the patch has a scalar".to_string())
    );
}

#[test]
fn non_map_element_in_keyed_list_is_an_error() {
    let mut target = deployment(json!({"containers": ["oops", {"name": "a"}]}));
    let err = merge(
        &mut target,
        &json!({"spec": {"replicas": 1}}),
        Schema::builtin(),
    );
    assert!(
        matches!(err, Err(SmpError::ElementNotMap { .. })),
        "{err:?}"
    );
}

#[test]
fn too_deep_is_an_error_not_a_crash() {
    let mut deep = json!(1);
    for _ in 0..(MAX_DEPTH + 10) {
        deep = json!({ "a": deep });
    }
    // Added (walked as both sides), merged with itself, and walked as the target alone.
    for (target, patch) in [
        (json!({"b": 1}), &deep),
        (deep.clone(), &deep),
        (deep.clone(), &json!({"b": 1})),
    ] {
        let mut target = target;
        let err = merge(&mut target, patch, Schema::builtin());
        assert!(matches!(err, Err(SmpError::TooDeep { .. })), "{err:?}");
        let mut v = target;
        while let Value::Object(mut m) = v {
            v = m.remove("a").unwrap_or(Value::Null);
        }
    }
    // Drop the deep value without recursing the stack.
    let mut v = deep;
    while let Value::Object(mut m) = v {
        v = m.remove("a").unwrap_or(Value::Null);
    }
}

#[test]
fn apply_to_resource_keeps_the_targets_id() {
    let mut target = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "cm", "namespace": "ns"}, "data": {"a": "1"}});
    let patch = json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "other", "namespace": "elsewhere"}, "data": {"b": "2"}});
    let outcome = apply_to_resource(
        &mut target,
        &patch,
        Schema::builtin(),
        ApplyOptions::default(),
    );
    assert_eq!(outcome, Ok(Outcome::Kept));
    assert_eq!(
        target,
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "cm", "namespace": "ns"}, "data": {"a": "1", "b": "2"}})
    );
    let allow = ApplyOptions {
        allow_name_change: true,
        allow_kind_change: true,
    };
    apply_to_resource(&mut target, &patch, Schema::builtin(), allow).expect("merge");
    assert_eq!(target["metadata"]["name"], "other");
    assert_eq!(target["kind"], "Secret");
    assert_eq!(target["metadata"]["namespace"], "ns");
}

#[test]
fn apply_to_resource_drops_a_namespace_the_target_lacked() {
    let mut target = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}});
    let patch = json!({"metadata": {"name": "cm", "namespace": "x"}});
    apply_to_resource(
        &mut target,
        &patch,
        Schema::builtin(),
        ApplyOptions::default(),
    )
    .expect("merge");
    assert_eq!(target["metadata"], json!({"name": "cm"}));
}

#[test]
fn selected_patch_labels_become_strings() {
    // fixture smp/selector-labels-null-is-a-string
    let mut target = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "cm", "labels": {"a": "x", "b": "y"}}});
    let patch =
        json!({"metadata": {"name": "cm", "labels": {"a": null, "c": 5}, "annotations": {}}});
    apply_to_selected(
        &mut target,
        &patch,
        Schema::builtin(),
        ApplyOptions::default(),
    )
    .expect("merge");
    assert_eq!(
        target["metadata"],
        json!({"name": "cm", "labels": {"a": "null", "b": "y", "c": "5"}})
    );
}

#[test]
fn selected_patch_takes_the_targets_api_version() {
    // The patch's apiVersion is replaced by the target's, so its `apps/v1beta1` does not
    // leak into the result.
    let mut target = deployment(json!({"containers": containers(&["a"])}));
    let patch =
        json!({"apiVersion": "apps/v1beta1", "kind": "Deployment", "metadata": {"name": "web"}});
    apply_to_selected(
        &mut target,
        &patch,
        Schema::builtin(),
        ApplyOptions::default(),
    )
    .expect("merge");
    assert_eq!(target["apiVersion"], "apps/v1");
}

#[test]
fn untagged_scalars_stay_strings_when_yaml_1_1_would_not() {
    assert_eq!(untagged_scalar("80"), json!("80"));
    assert_eq!(untagged_scalar("yes"), json!("yes"));
    assert_eq!(untagged_scalar("web"), json!("web"));
    assert_eq!(untagged_scalar("0o12"), json!("0o12"));
    assert_eq!(untagged_scalar("a b"), json!("a b"));
}

// The indexed list merge must agree with the step-by-step emulation of kyaml.

fn element(key_names: &'static [&'static str]) -> impl Strategy<Value = Value> {
    (
        prop::collection::vec(
            prop::option::of(prop_oneof![Just("a"), Just("b"), Just("c")]),
            key_names.len(),
        ),
        prop::option::of(prop_oneof![Just("delete"), Just("replace"), Just("merge")]),
        prop::option::of(prop_oneof![
            Just(json!(1)),
            Just(json!(null)),
            Just(json!({"z": 1}))
        ]),
    )
        .prop_map(move |(keys, directive, extra)| {
            let mut m = Map::new();
            for (k, v) in key_names.iter().zip(keys) {
                if let Some(v) = v {
                    m.insert((*k).to_string(), json!(v));
                }
            }
            if let Some(d) = directive {
                m.insert("$patch".into(), json!(d));
            }
            if let Some(x) = extra {
                m.insert("x".into(), x);
            }
            Value::Object(m)
        })
}

fn unique_by(key_names: &'static [&'static str], v: Vec<Value>) -> Vec<Value> {
    let mut seen = std::collections::HashSet::new();
    v.into_iter()
        .filter(|e| {
            let t: Vec<String> = key_names.iter().map(|k| e[*k].to_string()).collect();
            seen.insert(t)
        })
        .collect()
}

fn list_of(key_names: &'static [&'static str], patch: bool) -> impl Strategy<Value = Vec<Value>> {
    (
        prop::collection::vec(element(key_names), 0..5),
        any::<bool>(),
    )
        .prop_map(move |(v, dedupe)| {
            let v: Vec<Value> = if patch {
                v
            } else {
                v.into_iter()
                    .map(|mut e| {
                        if let Value::Object(m) = &mut e {
                            m.remove("$patch");
                        }
                        e
                    })
                    .collect()
            };
            // Mostly well-formed lists, so the indexed path runs.
            if dedupe {
                unique_by(key_names, v)
            } else {
                v
            }
        })
}

fn values_list() -> impl Strategy<Value = Vec<Value>> {
    prop::collection::vec(
        prop_oneof![
            Just(json!("a")),
            Just(json!("b")),
            Just(json!("c")),
            Just(json!(1)),
            Just(json!(""))
        ],
        0..5,
    )
}

fn both_paths(target: &Value, patch: &Value) -> (Result<Value, SmpError>, Result<Value, SmpError>) {
    let mut fast = target.clone();
    let mut slow = target.clone();
    (
        merge(&mut fast, patch, Schema::builtin()).map(|_| fast),
        merge_step_by_step(&mut slow, patch, Schema::builtin()).map(|_| slow),
    )
}

proptest! {
    #[test]
    fn indexed_list_merge_agrees_with_emulation(
        names_t in list_of(&["name"], false),
        names_p in list_of(&["name"], true),
        ports_t in list_of(&["containerPort", "protocol"], false),
        ports_p in list_of(&["containerPort", "protocol"], true),
        fin_t in values_list(),
        fin_p in values_list(),
        add in any::<bool>(),
    ) {
        let target = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "finalizers": fin_t},
            "spec": {"template": {"spec": {
                "containers": [{"name": "app", "env": names_t, "ports": ports_t}],
                "volumes": if add { Value::Null } else { json!([{"name": "v"}]) }
            }}}
        });
        let patch = json!({
            "metadata": {"finalizers": fin_p},
            "spec": {"template": {"spec": {
                "containers": [{"name": "app", "env": names_p.clone(), "ports": ports_p}],
                "volumes": names_p
            }}}
        });
        let (fast, slow) = both_paths(&target, &patch);
        prop_assert_eq!(fast, slow);
        // And with nothing in the patch (the target walked alone).
        let (fast, slow) = both_paths(&target, &json!({"kind": "Deployment"}));
        prop_assert_eq!(fast, slow);
    }
}

#[test]
fn deep_documents_fit_in_a_small_stack() {
    // MAX_DEPTH is chosen so that a merge at the limit fits in a 2 MiB thread (the default
    // for spawned threads and test threads) even in a debug build.
    let run = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(|| {
            let mut deep = json!({"containers": containers(&["a", "b"])});
            for _ in 0..(MAX_DEPTH - 4) {
                deep = json!({ "a": deep });
            }
            let mut outcomes = Vec::new();
            for (target, patch) in [
                (json!({"b": 1}), deep.clone()),
                (deep.clone(), deep.clone()),
                (deep.clone(), json!({"b": 1})),
            ] {
                let mut target = target;
                outcomes.push(merge(&mut target, &patch, Schema::builtin()));
            }
            outcomes
        })
        .expect("thread")
        .join()
        .expect("no stack overflow");
    assert!(run.iter().all(|o| o == &Ok(Outcome::Kept)), "{run:?}");
}

#[test]
fn irregular_list_too_long_is_an_error() {
    // A nameless element sends the list to the quadratic emulation; past the limit that is
    // refused instead of taking minutes.
    let mut env: Vec<Value> = (0..MAX_IRREGULAR_ELEMENTS)
        .map(|i| json!({"name": format!("E{i}")}))
        .collect();
    env.push(json!({"value": "nameless"}));
    let mut target = deployment(json!({"containers": [{"name": "a", "env": env}]}));
    let err = merge(
        &mut target,
        &json!({"spec": {"replicas": 1}}),
        Schema::builtin(),
    );
    assert!(
        matches!(&err, Err(SmpError::IrregularListTooLong { path, .. })
            if path == "spec.template.spec.containers[name=a].env"),
        "{err:?}"
    );
    // A well-formed list of any length takes the indexed path.
    let env: Vec<Value> = (0..3 * MAX_IRREGULAR_ELEMENTS)
        .map(|i| json!({"name": format!("E{i}")}))
        .collect();
    let mut target = deployment(json!({"containers": [{"name": "a", "env": env}]}));
    let patch =
        deployment(json!({"containers": [{"name": "a", "env": [{"name": "E7", "value": "v"}]}]}));
    assert_eq!(
        merge(&mut target, &patch, Schema::builtin()),
        Ok(Outcome::Kept)
    );
    assert_eq!(
        pod_spec(&target)["containers"][0]["env"][0],
        json!({"name": "E7", "value": "v"})
    );
}
