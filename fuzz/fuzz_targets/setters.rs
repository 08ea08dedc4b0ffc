//! Fuzz target for the `$imagepolicy` setters: any bytes as a file, a fixed set of
//! policies. Beyond "never panics", it checks what an update promises: the output
//! scans again, a second update changes nothing (the marked values already hold the new
//! values), and a file without the marker token never changes.
//!
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run setters -- -dict=fuzz/setters.dict`
//! (seed it with `cp fixtures/conformance/flux-image/*/in/*.y*ml fuzz/corpus/setters/`).

#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rustomize::setters::{update_bytes, ImageRef, Policies};
use rustomize::yaml::spans::scan;

fn policies() -> &'static Policies {
    static POLICIES: OnceLock<Policies> = OnceLock::new();
    POLICIES.get_or_init(|| {
        let mut p = Policies::new();
        for (key, image) in [
            ("ns:app", "reg.io/team/app:1.10"),
            (
                "ns:digest",
                "app:v2@sha256:6745aaad46d795c9836632e1fb62f24b7e7f4c843144da8e47a5465c411a14be",
            ),
            ("ns:odd", "localhost:5000/xy:true"),
        ] {
            if let Ok(r) = ImageRef::parse(image) {
                let _ = p.insert(key, r);
            }
        }
        p
    })
}

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.yaml");
    let Ok(first) = update_bytes(path, data, policies()) else {
        return;
    };
    if first.objects.is_empty() {
        assert_eq!(
            first.output, data,
            "no change reported, but the bytes changed"
        );
        return;
    }
    assert!(
        data.windows(14).any(|w| w == b"\"$imagepolicy\""),
        "a change without the marker token"
    );
    if let Err(e) = scan(&first.output) {
        panic!("the updated file does not parse: {e}");
    }
    let second = update_bytes(path, &first.output, policies())
        .unwrap_or_else(|e| panic!("the updated file is rejected: {e}"));
    assert!(
        second.objects.is_empty(),
        "second update changed {:?}",
        second.objects
    );
    assert_eq!(second.output, first.output);
});
