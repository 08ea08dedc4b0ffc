//! Read and emit throughput (MB/s) on the largest corpus output (Argo Workflows, ~12 MB of
//! CRDs with deep openAPIV3Schema trees).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rustomize::yaml::reader::{with_reader_mode, ReaderMode};

fn bench(c: &mut Criterion) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/corpus/argo-workflows-quick-start/expected.yaml"
    );
    let bytes = std::fs::read(path).expect("corpus fixture");
    let docs = rustomize::yaml::read_stream(&bytes, Default::default()).expect("parses");
    let values: Vec<serde_json::Value> = docs.into_iter().map(|d| d.value).collect();
    let emitted = rustomize::yaml::emit_stream(values.iter()).expect("emits");
    assert_eq!(
        emitted, bytes,
        "emit(read(x)) must reproduce kubectl's output"
    );

    let mut g = c.benchmark_group("yaml");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("read", |b| {
        b.iter_with_large_drop(|| rustomize::yaml::read_stream(&bytes, Default::default()).unwrap())
    });
    // The same without the block-style fast path: what it saves.
    g.bench_function("read_full_parser_only", |b| {
        b.iter_with_large_drop(|| {
            with_reader_mode(ReaderMode::FullOnly, || {
                rustomize::yaml::read_stream(&bytes, Default::default()).unwrap()
            })
        })
    });
    g.bench_function("emit_one_core", |b| {
        b.iter(|| rustomize::yaml::emit_stream_on(values.iter(), 1).unwrap())
    });
    g.bench_function("emit", |b| {
        b.iter(|| rustomize::yaml::emit_stream(values.iter()).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
