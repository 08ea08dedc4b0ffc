#!/usr/bin/env python3
"""Whole-process comparison: `kubectl kustomize` against `rustomize build` (and a peer
binary, e.g. the Rust `kustomizer`, with --peer) on every corpus root and on synthetic
trees from ../shared/tools/gen_scale.py-style generation (--scale N, repeatable).

Runs are paired: each round runs every tool once on the root, back to back, so that the
noise of a shared machine hits them alike; the table shows medians, the ratios of medians,
peak RSS (from wait4) and whether the outputs are byte-identical to kubectl's.

Usage: benches/compare.py [--rustomize BIN] [--peer BIN] [--rounds N] [--scale N]...
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "fixtures", "corpus")


def timed(cmd):
    """(seconds, stdout or None on failure) of one whole process."""
    start = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = p.stdout.read()
    _, status, _ = os.wait4(p.pid, 0)
    elapsed = time.perf_counter() - start
    ok = os.waitstatus_to_exitcode(status) == 0
    return elapsed, out if ok else None


def corpus_roots():
    for case in sorted(os.listdir(CORPUS)):
        meta = os.path.join(CORPUS, case, "case.yaml")
        if not os.path.exists(meta):
            continue
        with open(meta) as f:
            root = next(l.split(":", 1)[1].strip() for l in f if l.startswith("root:"))
        yield case, os.path.join(CORPUS, case, "in", root)


def write_scale_tree(n, out):
    """The shape of ../shared/tools/gen_scale.py: n apps (ConfigMap, Deployment, Service)
    in a base, three overlays (namespace, prefix, labels, image, two patches), one top."""
    os.makedirs(os.path.join(out, "base", "apps"))
    names = []
    for i in range(n):
        name = f"app-{i:05}"
        names.append(f"apps/{name}.yaml")
        with open(os.path.join(out, "base", "apps", f"{name}.yaml"), "w") as f:
            f.write(f"""apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}-config
data:
  LOG_LEVEL: info
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  labels:
    app: {name}
spec:
  replicas: 1
  selector:
    matchLabels:
      app: {name}
  template:
    metadata:
      labels:
        app: {name}
    spec:
      containers:
      - name: app
        image: nginx:1.25.0
        envFrom:
        - configMapRef:
            name: {name}-config
      volumes:
      - name: config
        configMap:
          name: {name}-config
---
apiVersion: v1
kind: Service
metadata:
  name: {name}
spec:
  selector:
    app: {name}
  ports:
  - port: 80
""")
    with open(os.path.join(out, "base", "kustomization.yaml"), "w") as f:
        f.write("resources:\n" + "".join(f"- {n}\n" for n in names))
    overlays = [("alpha", "a-", "1.25.1", 2), ("beta", "b-", "1.25.2", 3), ("gamma", "g-", "1.25.3", 4)]
    for name, prefix, tag, replicas in overlays:
        d = os.path.join(out, "overlays", name)
        os.makedirs(d)
        with open(os.path.join(d, "kustomization.yaml"), "w") as f:
            f.write(f"""resources:
- ../../base
namespace: team-{name}
namePrefix: {prefix}
commonLabels:
  team: {name}
images:
- name: nginx
  newTag: {tag}
patches:
- path: smp.yaml
  target:
    kind: Deployment
- path: json6902.yaml
  target:
    kind: Service
""")
        with open(os.path.join(d, "smp.yaml"), "w") as f:
            f.write(f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: any\nspec:\n  replicas: {replicas}\n")
        with open(os.path.join(d, "json6902.yaml"), "w") as f:
            f.write("- op: add\n  path: /metadata/annotations\n  value:\n    team: x\n")
    with open(os.path.join(out, "kustomization.yaml"), "w") as f:
        f.write("resources:\n" + "".join(f"- overlays/{o[0]}\n" for o in overlays))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rustomize", default=os.path.join(HERE, "..", "target", "release", "rustomize"))
    p.add_argument("--peer", help="another kustomize build binary (called as PEER build DIR)")
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--scale", type=int, action="append", default=[])
    a = p.parse_args()
    roots = list(corpus_roots())
    tmp = tempfile.mkdtemp(prefix="rz-compare-")
    for n in a.scale:
        d = os.path.join(tmp, f"scale-{n}")
        write_scale_tree(n, d)
        roots.append((f"synthetic N={n} ({9 * n} docs)", d))
    tools = [("kubectl", lambda d: ["kubectl", "kustomize", d]),
             ("rustomize", lambda d: [a.rustomize, "build", d])]
    if a.peer:
        tools.append(("peer", lambda d: [a.peer, "build", d]))
    head = "| root | docs / MB out | kubectl | rustomize | kubectl/rz | rz peak MB |"
    if a.peer:
        head += " peer | peer/rz |"
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for name, d in roots:
        times = {t: [] for t, _ in tools}
        rss = {}
        outputs = {}
        for _ in range(a.rounds):
            for t, cmd in tools:
                secs, out = timed(cmd(d))
                times[t].append(secs)
                outputs[t] = out
        # Peak RSS from a separate run under /usr/bin/time: wait4's figure for a child of
        # this (large) Python process would count the pages it inherited before exec.
        with tempfile.NamedTemporaryFile("r") as f:
            subprocess.run(["/usr/bin/time", "-f", "%M", "-o", f.name, a.rustomize, "build", d],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            rss["rustomize"] = int(f.read().split()[-1]) / 1024
        k = outputs["kubectl"] or b""
        docs = k.count(b"\n---\n") + 1 if k else 0
        med = {t: statistics.median(v) for t, v in times.items()}
        same = "" if outputs["rustomize"] == outputs["kubectl"] else " (differs!)"
        row = (f"| {name} | {docs} / {len(k) / 1e6:.2f} | {med['kubectl'] * 1000:.0f} ms | "
               f"{med['rustomize'] * 1000:.1f} ms{same} | {med['kubectl'] / med['rustomize']:.1f}x | "
               f"{rss['rustomize']:.0f} |")
        if a.peer:
            peer = "fails" if outputs["peer"] is None else f"{med['peer'] * 1000:.1f} ms"
            ratio = "" if outputs["peer"] is None else f"{med['peer'] / med['rustomize']:.1f}x"
            row += f" {peer} | {ratio} |"
        print(row)
        sys.stdout.flush()
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
