//! Fuzz target for the `$imagepolicy` setters: any bytes as a file, a fixed set of
//! policies. Beyond "never panics", it checks what an update promises: the output
//! scans again, a second update changes nothing (the marked values already hold the new
//! values), and a file without the marker token never changes. It also checks the scan
//! the setters stand on: a UTF-8 file the reader accepts scans, and a block scalar's span
//! starts at its `|` or `>`.
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

/// The line breaks the scan refuses, because go-yaml and granit-parser read them
/// differently: a lone `\r`, U+0085, U+2028, U+2029.
fn odd_line_breaks(text: &str) -> bool {
    text.contains(['\u{85}', '\u{2028}', '\u{2029}']) || text.replace("\r\n", "").contains('\r')
}

fn check_scan(data: &[u8]) {
    let read = rustomize::yaml::read_stream(data, rustomize::yaml::Limits::default());
    let scannable = std::str::from_utf8(data).is_ok_and(|t| !odd_line_breaks(t));
    match scan(data) {
        Ok(docs) => {
            for s in docs.iter().flat_map(|d| &d.scalars) {
                if s.block.is_some() {
                    let first = data.get(s.span.start).copied();
                    assert!(
                        matches!(first, Some(b'|' | b'>')),
                        "block span {:?} starts at {first:?}",
                        s.span
                    );
                }
            }
        }
        Err(e) => assert!(
            !scannable || read.is_err(),
            "the reader reads this file, the scan fails: {e}"
        ),
    }
}

fuzz_target!(|data: &[u8]| {
    check_scan(data);
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
