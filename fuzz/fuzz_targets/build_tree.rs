//! A whole build on an in-memory tree made from the input: the pipeline may reject it,
//! never panic, hang or print. The input is split at 0xFF bytes into the files
//! `kustomization.yaml`, `a.yaml`, `b.yaml` (the root) and `base/kustomization.yaml`,
//! `base/c.yaml`.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use rustomize::fs::MemFs;

const FILES: [&str; 5] = [
    "/app/kustomization.yaml",
    "/app/a.yaml",
    "/app/b.yaml",
    "/app/base/kustomization.yaml",
    "/app/base/c.yaml",
];

fuzz_target!(|data: &[u8]| {
    let mut fs = MemFs::new();
    for (name, part) in FILES.iter().zip(data.split(|&b| b == 0xFF)) {
        fs.add(name, part.to_vec());
    }
    let mut opts = rustomize::build::Options::default();
    opts.limits.file_bytes = 1 << 16;
    let _ = rustomize::build::render(Arc::new(fs), "/app".as_ref(), &opts);
});
