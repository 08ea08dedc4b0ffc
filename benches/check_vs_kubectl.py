#!/usr/bin/env python3
"""`rustomize check` against the loop CI runs today: `kubectl kustomize` on every
kustomization directory of a repository, one process each.

For each repository given (and, with --generate N, a synthetic fleet repository of N
clusters x 20 apps over 20 shared bases), the roots `rustomize check` builds successfully
are built by a shell-style loop of `kubectl kustomize DIR` and of `rustomize build DIR`,
then by one `rustomize check`; every root's check output is compared byte for byte with
kubectl's. Prints a Markdown table. Whole-process wall times, run back to back on the same
machine (`--rounds` repeats and keeps the median).

Usage: benches/check_vs_kubectl.py [--rustomize BIN] [--generate N] [--rounds R] REPO...
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

APPS = 20


def generate(clusters, out):
    """A fleet repository: bases/app-XX (Deployment, Service, ConfigMap), and for each
    cluster an overlay per app (namespace, prefix, labels, image, a patch) plus the
    cluster's own kustomization listing its overlays."""
    for a in range(APPS):
        d = os.path.join(out, "bases", f"app-{a:02}")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "kustomization.yaml"), "w") as f:
            f.write("resources:\n- deploy.yaml\n- service.yaml\nconfigMapGenerator:\n"
                    f"- name: app-{a:02}-config\n  literals:\n  - LOG_LEVEL=info\n")
        with open(os.path.join(d, "deploy.yaml"), "w") as f:
            f.write(f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-{a:02}
spec:
  replicas: 1
  selector:
    matchLabels:
      app: app-{a:02}
  template:
    metadata:
      labels:
        app: app-{a:02}
    spec:
      containers:
      - name: app
        image: registry.example.com/app-{a:02}:1.0.0
        envFrom:
        - configMapRef:
            name: app-{a:02}-config
""")
        with open(os.path.join(d, "service.yaml"), "w") as f:
            f.write(f"""apiVersion: v1
kind: Service
metadata:
  name: app-{a:02}
spec:
  selector:
    app: app-{a:02}
  ports:
  - port: 80
    targetPort: 8080
""")
    for c in range(clusters):
        cdir = os.path.join(out, "clusters", f"c{c:03}")
        names = []
        for a in range(APPS):
            d = os.path.join(cdir, f"app-{a:02}")
            os.makedirs(d, exist_ok=True)
            names.append(f"app-{a:02}")
            with open(os.path.join(d, "kustomization.yaml"), "w") as f:
                f.write(f"""resources:
- ../../../bases/app-{a:02}
namespace: c{c:03}-apps
namePrefix: c{c:03}-
labels:
- pairs:
    cluster: c{c:03}
  includeSelectors: true
images:
- name: registry.example.com/app-{a:02}
  newTag: 1.{c}.{a}
patches:
- patch: |-
    - op: replace
      path: /spec/replicas
      value: {1 + (c + a) % 3}
  target:
    kind: Deployment
""")
        with open(os.path.join(cdir, "kustomization.yaml"), "w") as f:
            f.write("resources:\n" + "".join(f"- {n}\n" for n in names))


def run(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def measure(rz, repo, rounds):
    probe = run([rz, "check", repo, "--format", "json"])
    report = json.loads(probe.stdout)
    roots = [r["dir"] for r in report["roots"] if r["status"] == "ok"]
    times = {"kubectl": [], "build": [], "check": []}
    identical = 0
    for i in range(rounds):
        start = time.perf_counter()
        outputs = {}
        for d in roots:
            outputs[d] = run(["kubectl", "kustomize", os.path.join(repo, d)]).stdout
        times["kubectl"].append(time.perf_counter() - start)
        start = time.perf_counter()
        for d in roots:
            run([rz, "build", os.path.join(repo, d)])
        times["build"].append(time.perf_counter() - start)
        out_dir = tempfile.mkdtemp(prefix="rz-check-")
        start = time.perf_counter()
        run([rz, "check", repo, "--output-dir", out_dir])
        times["check"].append(time.perf_counter() - start)
        if i == 0:
            for d in roots:
                name = d.replace("/", "_") + ".yaml"
                with open(os.path.join(out_dir, name), "rb") as f:
                    identical += f.read() == outputs[d]
        shutil.rmtree(out_dir)
    med = {k: statistics.median(v) for k, v in times.items()}
    return len(report["roots"]), len(roots), identical, med


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rustomize", default="target/release/rustomize")
    p.add_argument("--generate", type=int, default=0, metavar="CLUSTERS")
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("repos", nargs="*")
    a = p.parse_args()
    repos = list(a.repos)
    tmp = None
    if a.generate:
        tmp = tempfile.mkdtemp(prefix="rz-fleet-")
        generate(a.generate, tmp)
        repos.append(tmp)
    print("| repository | roots (built) | identical to kubectl | kubectl loop | rustomize build loop | rustomize check | kubectl loop / check |")
    print("|---|---|---|---|---|---|---|")
    for repo in repos:
        found, built, identical, med = measure(a.rustomize, repo, a.rounds)
        name = f"synthetic fleet ({a.generate} clusters x {APPS} apps)" if repo == tmp else repo
        print(f"| {name} | {found} ({built}) | {identical}/{built} | {med['kubectl']:.2f} s | "
              f"{med['build']:.2f} s | {med['check']:.3f} s | {med['kubectl'] / med['check']:.0f}x |")
        sys.stdout.flush()
    if tmp:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
