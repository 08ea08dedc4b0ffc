//! Differential: the block-style fast path against the full parser on the same bytes.
//! Whatever the fast path reads alone must equal the full parser's reading, and the reader
//! with the fast path on (falling back) must equal the full parser alone, errors included;
//! for resources (go-yaml v3's rules) and kustomization files (v2's) alike.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rustomize::yaml::reader::{
    read_resource_stream, read_stream, with_reader_mode, ReaderMode, FAST_PATH_DECLINED,
};

fuzz_target!(|data: &[u8]| {
    let limits = rustomize::yaml::Limits { max_depth: 200, max_alias_nodes: 100_000, max_alias_bytes: 1 << 20 };
    let v2 = |data: &[u8], limits| {
        rustomize::yaml::read_document(data, rustomize::yaml::Dialect::V2, limits).map(|v| {
            v.into_iter()
                .map(|value| rustomize::yaml::Document {
                    value,
                    line: 1,
                    empty_nulls: Vec::new(),
                    null_annotations: Vec::new(),
                    nodes: 0,
                    bytes: 0,
                })
                .collect::<Vec<_>>()
        })
    };
    let readers: [&dyn Fn(&[u8], rustomize::yaml::Limits) -> Result<Vec<rustomize::yaml::Document>, rustomize::yaml::Error>; 3] =
        [&read_stream, &read_resource_stream, &v2];
    for read in readers {
        let full = with_reader_mode(ReaderMode::FullOnly, || read(data, limits));
        let auto = with_reader_mode(ReaderMode::Auto, || read(data, limits));
        assert_eq!(full, auto, "readers disagree on {:?}", String::from_utf8_lossy(data));
        match with_reader_mode(ReaderMode::FastOnly, || read(data, limits)) {
            Err(e) if e.message == FAST_PATH_DECLINED => {}
            fast => assert_eq!(fast, full, "fast path alone differs on {:?}", String::from_utf8_lossy(data)),
        }
    }
});
