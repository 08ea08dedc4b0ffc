//! Whole builds: corpus cases, in-process (the whole-binary comparison with kubectl lives in
//! the issue notes; this tracks our own time).

use std::path::Path;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use rustomize::fs::DiskFs;

fn bench(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/corpus");
    let mut g = c.benchmark_group("build");
    g.sample_size(10);
    for (name, dir) in [
        ("sock-shop", "sock-shop/in/overlays/development"),
        ("kube-prometheus", "kube-prometheus/in"),
    ] {
        let dir = root.join(dir);
        let opts = Default::default();
        if rustomize::build::render(Arc::new(DiskFs), &dir, &opts).is_err() {
            continue;
        }
        g.bench_function(name, |b| {
            b.iter(|| rustomize::build::render(Arc::new(DiskFs), &dir, &opts).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
