//! Whole builds of every corpus case, in-process, as output MB/s (the whole-process
//! comparison with kubectl is `benches/compare.py`).

use std::path::Path;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rustomize::fs::DiskFs;

fn bench(c: &mut Criterion) {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/corpus");
    let mut cases: Vec<_> = std::fs::read_dir(&corpus)
        .expect("corpus")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    cases.sort();
    for case in cases {
        let Ok(meta) = std::fs::read_to_string(case.join("case.yaml")) else {
            continue;
        };
        let Some(root) = meta.lines().find_map(|l| l.strip_prefix("root: ")) else {
            continue;
        };
        let dir = case.join("in").join(root.trim());
        let opts = Default::default();
        let Ok(out) = rustomize::render(Arc::new(DiskFs), &dir, &opts) else {
            continue;
        };
        let name = case.file_name().map(|n| n.to_string_lossy().into_owned());
        let mut g = c.benchmark_group("build");
        g.sample_size(10);
        g.throughput(Throughput::Bytes(out.len() as u64));
        g.bench_function(name.unwrap_or_default(), |b| {
            b.iter(|| rustomize::render(Arc::new(DiskFs), &dir, &opts).unwrap())
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
