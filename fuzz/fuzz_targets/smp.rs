//! Strategic merge on arbitrary documents: the first two YAML documents of the input are
//! a target and a patch. Merging may fail, never panic or run away; the indexed list merge
//! must agree with the step-by-step model of kyaml; a kept result must print.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rustomize::internals::smp::{self, ApplyOptions, Outcome};
use rustomize::internals::Schema;

fuzz_target!(|data: &[u8]| {
    let limits = rustomize::yaml::Limits {
        max_depth: 200,
        max_alias_nodes: 100_000,
        max_alias_bytes: 1 << 20,
    };
    let Ok(docs) = rustomize::yaml::read_stream(data, limits) else {
        return;
    };
    let mut docs = docs.into_iter().map(|d| d.value);
    let (Some(target), Some(patch)) = (docs.next(), docs.next()) else {
        return;
    };
    let schema = Schema::builtin();

    let mut fast = target.clone();
    let mut slow = target.clone();
    let fast_outcome = smp::merge(&mut fast, &patch, schema);
    let slow_outcome = smp::merge_step_by_step(&mut slow, &patch, schema);
    assert_eq!(fast_outcome, slow_outcome);
    if fast_outcome == Ok(Outcome::Kept) {
        assert_eq!(fast, slow);
        let _ = rustomize::yaml::to_string(&fast);
    }

    for selected in [false, true] {
        let mut t = target.clone();
        let options = ApplyOptions::default();
        let _ = if selected {
            smp::apply_to_selected(&mut t, &patch, schema, options)
        } else {
            smp::apply_to_resource(&mut t, &patch, schema, options)
        };
    }
});
