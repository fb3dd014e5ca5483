"""Kubernetes' conformance suite (e2e.test v1.34.12) against a fresh kubeshim, and a report of the run.

    python tools/e2e_conformance.py [--focus REGEX] [--skip REGEX] [--out DIR] [--timeout SECONDS]

Builds (or finds cached) e2e.test, agnhost and the ginkgo CLI with tools/k8s/build.sh, starts `kubeshim up`
on a new data dir with image rules that run the suite's test images as local programs (agnhost's images as the
agnhost binary, busybox-like ones as the host's tools), runs every spec matching `--focus` (default: all
`[Conformance]` specs) several at a time, and writes DIR/report.md: passed / failed / skipped per SIG, then the
failures grouped by cause (their first failure line with names, numbers and addresses blanked out), each with
its specs.

tests/conformance imports this module to run its fixed list of specs the same way.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
BUILD_SCRIPT = ROOT / "tools" / "k8s" / "build.sh"
CONFORMANCE = r"\[Conformance\]"
#: the suite's own deadline per run; a spec that hangs fails at its own timeout long before
SUITE_TIMEOUT = 4 * 3600
#: specs run at once: they mostly wait (for pods, conditions, timeouts), so more than the cores
PROCS = 6
#: `kubeshim up` flags for the server under test: the chunking spec waits for a compaction to expire its
#: continue token (polling every 20 s, up to twice etcd's 5 min), so history is compacted every 10 s
SERVER_FLAGS = ("--compaction-interval", "10")


def build(timeout: float = 3600) -> Path:
    """The directory holding e2e.test, agnhost and ginkgo (built first when missing or stale)."""
    proc = subprocess.run(["nice", "-n", "10", str(BUILD_SCRIPT), "e2e.test", "agnhost", "ginkgo"],
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{BUILD_SCRIPT} exited {proc.returncode}:\n{proc.stderr[-5000:]}")
    return Path(proc.stdout.strip().splitlines()[-1])


def image_rules(bin_dir: Path, work: Path) -> list[dict[str, Any]]:
    """Image rules for the suite's images: what each image's ENTRYPOINT/CMD would run, found on this machine.

    agnhost is one binary with a subcommand per test server, as in its image; the pause image is agnhost's
    `pause`; busybox and the e2e shell images are the host's coreutils and shell. Images with servers of their
    own (httpd, nginx, redis, ...) have no rule, so their pods fail as unpullable images do.
    """
    tools = work / "image-bin"
    tools.mkdir(parents=True, exist_ok=True)
    agnhost = tools / "agnhost"
    if not agnhost.exists():
        agnhost.symlink_to(bin_dir / "agnhost")
    host_path = ["/usr/local/bin", "/usr/bin", "/bin"]
    return [
        {"match": ["registry.k8s.io/e2e-test-images/agnhost:*"], "path": [str(tools), *host_path],
         "entrypoint": ["agnhost"], "cmd": ["pause"]},
        {"match": ["registry.k8s.io/pause:*"], "path": [str(tools)], "entrypoint": ["agnhost", "pause"]},
        {"match": ["registry.k8s.io/e2e-test-images/busybox:*", "*busybox*"], "path": host_path,
         "cmd": ["sh"]},
    ]


def kubelet_settings(bin_dir: Path, work: Path) -> Path:
    """A --kubelet-config file for the kubeshim under test."""
    path = work / "kubelet.yaml"
    path.write_text(yaml.safe_dump({"image_rules": image_rules(bin_dir, work)}))
    return path


def run_suite(bin_dir: Path, kubeconfig: Path, out: Path, focus: str, skip: str = "",
              timeout: float = SUITE_TIMEOUT, procs: int = PROCS) -> tuple[int, Path]:
    """Run e2e.test's specs under the ginkgo CLI, `procs` at a time (most of a spec's time is waiting on the
    cluster; [Serial] specs still run alone, at the end); its exit status and the JSON report it wrote."""
    out.mkdir(parents=True, exist_ok=True)
    report = out / "ginkgo.json"
    args = [str(bin_dir / "ginkgo"), f"--procs={procs}", f"--focus={focus}", "--no-color", "--timeout=4h",
            f"--output-dir={out}", "--json-report=ginkgo.json"]
    if skip:
        args.append(f"--skip={skip}")
    args += [str(bin_dir / "e2e.test"), "--", f"--kubeconfig={kubeconfig}", "--provider=skeleton",
             f"--report-dir={out}", f"--e2e-output-dir={out}"]
    with open(out / "e2e.log", "wb") as log:
        proc = subprocess.run(args, stdout=log, stderr=subprocess.STDOUT, timeout=timeout, cwd=out)
    return proc.returncode, report


@dataclass
class Spec:
    name: str
    state: str  # passed, failed, skipped (what ginkgo reports; timedout/panicked count as failed)
    seconds: float
    failure: str = ""

    @property
    def sig(self) -> str:
        found = re.match(r"\[(sig-[a-z-]+)\]", self.name)
        return found.group(1) if found else "(no sig)"


@dataclass
class Report:
    specs: list[Spec] = field(default_factory=list)
    #: failures of the suite's own setup or teardown (a failed BeforeSuite runs no spec at all)
    suite_failures: list[str] = field(default_factory=list)
    #: how many specs the focus selected (ginkgo's count, known even when none ran)
    selected: int = 0

    def by_sig(self) -> dict[str, collections.Counter[str]]:
        counts: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
        for spec in self.specs:
            counts[spec.sig][spec.state] += 1
        return dict(sorted(counts.items()))

    def failures_by_cause(self) -> list[tuple[str, list[Spec]]]:
        groups: dict[str, list[Spec]] = collections.defaultdict(list)
        for spec in self.specs:
            if spec.state == "failed":
                groups[cause_of(spec.failure)].append(spec)
        return sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))


def read_report(path: Path, focus: str = CONFORMANCE) -> Report:
    """The specs of a ginkgo JSON report that the run selected (those `focus` matches)."""
    selected = re.compile(focus)
    report = Report()
    for suite in json.loads(path.read_text()):
        report.selected += (suite.get("PreRunStats") or {}).get("SpecsThatWillRun") or 0
        for spec in suite.get("SpecReports") or []:
            if spec.get("LeafNodeType") != "It":
                if spec.get("State") not in ("passed", "skipped", "pending"):
                    message = (spec.get("Failure") or {}).get("Message") or ""
                    report.suite_failures.append(f"{spec.get('LeafNodeType')}: {cause_of(message)}")
                continue
            name = " ".join([*(spec.get("ContainerHierarchyTexts") or []), spec.get("LeafNodeText", "")])
            labels = [label for labels in spec.get("ContainerHierarchyLabels") or [] for label in labels or []]
            labels += spec.get("LeafNodeLabels") or []
            name = " ".join([name, *(f"[{label}]" for label in labels if f"[{label}]" not in name)])
            if not selected.search(name):
                continue
            state = spec.get("State", "")
            state = "failed" if state in ("failed", "timedout", "panicked", "interrupted", "aborted") else state
            failure = ((spec.get("Failure") or {}).get("Message") or "") if state == "failed" else ""
            report.specs.append(Spec(name, state, (spec.get("RunTime") or 0) / 1e9, failure))
    return report


_VARIABLE = [
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"), "<uid>"),
    (re.compile(r"\b\d{1,3}(\.\d{1,3}){3}(:\d+)?\b"), "<address>"),
    (re.compile(r"\b[a-z0-9]+(-[a-z0-9]+)*-[a-z0-9]{4,5}\b"), "<name>"),
    (re.compile(r"\b\d+(\.\d+)?\b"), "N"),
]


def cause_of(message: str) -> str:
    """A failure's first meaningful line with what varies between runs blanked out, so alike failures group."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    line = lines[0] if lines else "(no message)"
    if len(line) < 20:  # gomega's "Expected / <value> / to equal / <value>": the lines after say what
        line = " ".join(lines[:4])
    for pattern, replacement in _VARIABLE:
        line = pattern.sub(replacement, line)
    return line[:300]


def render(report: Report, title: str) -> str:
    total = collections.Counter(spec.state for spec in report.specs)
    out = [f"# {title}", "",
           f"{report.selected} specs selected, {len(report.specs)} ran: {total['passed']} passed, "
           f"{total['failed']} failed, {total['skipped']} skipped",
           *(f"suite failure: {failure}" for failure in report.suite_failures),
           "", "| SIG | passed | failed | skipped |", "|---|---|---|---|"]
    out += [f"| {sig} | {c['passed']} | {c['failed']} | {c['skipped']} |" for sig, c in report.by_sig().items()]
    out += ["", "## Failures by cause", ""]
    for cause, specs in report.failures_by_cause():
        out.append(f"### {len(specs)} × {cause}")
        out += [f"- {spec.name}" for spec in sorted(specs, key=lambda s: s.name)]
        out.append("")
    return "\n".join(out)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_kubeshim(data: Path, kubelet_config: Path) -> tuple[subprocess.Popen[bytes], Path]:
    """`kubeshim up` from this checkout with the kubelet: its process and kubeconfig, once /readyz answers."""
    port = _free_port()
    data.mkdir(parents=True, exist_ok=True)
    log = open(data.parent / "kubeshim.log", "ab")
    proc = subprocess.Popen([sys.executable, "-m", "shim", "up", "--data-dir", str(data), "--port", str(port),
                             "--kubelet-config", str(kubelet_config), *SERVER_FLAGS], cwd=ROOT, stdout=log,
                            stderr=subprocess.STDOUT)
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"https://127.0.0.1:{port}/readyz", context=ctx, timeout=1):
                if (data / "kubeconfig").exists():
                    return proc, data / "kubeconfig"
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"kubeshim did not become ready; see {data.parent / 'kubeshim.log'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--focus", default=CONFORMANCE, help="ginkgo focus regex (default: every [Conformance] spec)")
    parser.add_argument("--skip", default="", help="ginkgo skip regex")
    parser.add_argument("--out", type=Path, help="where the logs and report go (default: a new temporary dir)")
    parser.add_argument("--timeout", type=float, default=SUITE_TIMEOUT, help="seconds for the whole run")
    args = parser.parse_args()
    out = (args.out or Path(tempfile.mkdtemp(prefix="kubeshim-conformance-"))).resolve()
    out.mkdir(parents=True, exist_ok=True)
    bin_dir = build()
    proc, kubeconfig = start_kubeshim(out / "kubeshim" / "data", kubelet_settings(bin_dir, out))
    try:
        started = time.monotonic()
        code, json_report = run_suite(bin_dir, kubeconfig, out / "e2e", args.focus, args.skip, args.timeout)
        minutes = (time.monotonic() - started) / 60
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    if not json_report.exists():
        sys.exit(f"e2e.test exited {code} without a report; see {out / 'e2e' / 'e2e.log'}")
    report = read_report(json_report, args.focus)
    text = render(report, f"e2e.test v1.34.12 against kubeshim: focus {args.focus!r}"
                          + (f", skip {args.skip!r}" if args.skip else "") + f" ({minutes:.0f} min)")
    (out / "report.md").write_text(text + "\n")
    print(text)
    print(f"\nreport: {out / 'report.md'}; suite log: {out / 'e2e' / 'e2e.log'}", file=sys.stderr)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
