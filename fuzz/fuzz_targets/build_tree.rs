//! A whole build on an in-memory tree made from the input: the pipeline may reject it,
//! never panic, hang or print.
//!
//! The input's first byte chooses the tree's shape; the rest is split at 0xFF bytes into
//! the files below. The shape adds what hostile repositories hold: a symlink out of the
//! root, a directory symlink loop, a FIFO, a symlinked base; it may leave the root without
//! a kustomization and build in Flux mode (which generates one). Bases nest three deep and
//! a component is available. Limits are small so that amplification is found quickly.
//! A successful build is also split into `-o DIR` files, whose names must stay in DIR.
#![no_main]

use std::path::Path;
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use rustomize::fs::MemFs;

const FILES: [&str; 9] = [
    "/app/kustomization.yaml",
    "/app/a.yaml",
    "/app/base/kustomization.yaml",
    "/app/base/c.yaml",
    "/app/base/deeper/kustomization.yaml",
    "/app/base/deeper/d.yaml",
    "/app/comp/kustomization.yaml",
    "/app/comp/e.yaml",
    "/outside.yaml",
];

fuzz_target!(|data: &[u8]| {
    let Some((&shape, rest)) = data.split_first() else {
        return;
    };
    let flux = shape & 0x08 != 0;
    let mut fs = MemFs::new();
    for (i, (name, part)) in FILES.iter().zip(rest.split(|&b| b == 0xFF)).enumerate() {
        // In Flux mode the root may have no kustomization, so Flux generates one.
        if i == 0 && flux && shape & 0x10 != 0 {
            continue;
        }
        fs.add(name, part.to_vec());
    }
    if shape & 0x01 != 0 {
        fs.add_symlink("/app/link.yaml", "../outside.yaml");
    }
    if shape & 0x02 != 0 {
        fs.add_symlink("/app/base/loop", "..");
    }
    if shape & 0x04 != 0 {
        fs.add_special("/app/fifo.yaml");
    }
    if shape & 0x20 != 0 {
        fs.add_symlink("/app/linked", "base/deeper");
    }
    let mut limits = rustomize::budget::Limits::default();
    for (name, value) in [
        ("file-bytes", "64K"),
        ("value-bytes", "4M"),
        ("nodes", "200000"),
        ("resources", "2000"),
        ("kustomizations", "200"),
        ("depth", "50"),
        ("output-bytes", "4M"),
    ] {
        let _ = limits.set(name, value);
    }
    let fs = Arc::new(fs);
    let built = if flux {
        let mut opts = rustomize::flux::FluxOptions::new("/app");
        opts.limits = limits;
        rustomize::flux::build(fs, Path::new("/app"), &Default::default(), &[], &opts)
    } else {
        let mut opts = rustomize::build::Options::default();
        if shape & 0x40 != 0 {
            opts.load_restrictor = rustomize::fs::LoadRestrictor::None;
        }
        opts.limits = limits;
        rustomize::build::build(fs, Path::new("/app"), &opts)
    };
    if let Ok(m) = built {
        if let Ok(files) = rustomize::build::output::individual_files(&m) {
            for (name, _) in files {
                assert!(rustomize::build::output::is_plain_file_name(&name), "{name:?}");
            }
        }
    }
});
