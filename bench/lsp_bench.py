#!/usr/bin/env python3
"""Benchmark `tenantlint server` over stdio, as an editor drives it.

Usage:
    python3 bench/lsp_bench.py BINARY PROJECT [--edits 200] [--app app_000] [--no-cache]

Measures, on PROJECT (e.g. `python3 bench/gen_project.py /tmp/p1m-lsp --lines 1000000 --seed 1`):

* time to first diagnostics: from `didOpen` of `APP/views.py` (the server loads the project
  then) to its `publishDiagnostics`;
* republish latency of an edit inside a view function (a line that adds or removes a TEN301,
  alternately): from `didChange` to the `publishDiagnostics` of that version, p50/p90;
* cross-file republish latency: with `APP/models.py` open too, an edit that swaps a model's
  `objects = TenantAwareManager()` for a plain `models.Manager()` and back (a class edit: the index re-derives), from `didChange`
  of models.py to the `publishDiagnostics` of views.py that gains or loses the TEN201, p50/p90;
* the server's peak RSS (VmHWM from /proc) at the end.

Only the standard library is used. Latencies include the server's debounce (20 ms quiet period).
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path


class Server:
    def __init__(self, argv: list[str], cwd: str) -> None:
        self.proc = subprocess.Popen(
            argv, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self.inbox: queue.Queue = queue.Queue()
        self.next_id = 0
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        self.log: list[str] = []

    def _drain_stderr(self) -> None:
        for line in self.proc.stderr:
            self.log.append(line.decode(errors="replace").rstrip())

    def _read(self) -> None:
        out = self.proc.stdout
        while True:
            length = None
            while True:
                line = out.readline()
                if not line:
                    return
                line = line.strip()
                if not line:
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            body = out.read(length)
            self.inbox.put((time.perf_counter(), json.loads(body)))

    def send(self, msg: dict) -> None:
        data = json.dumps(msg).encode()
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(data) + data)
        self.proc.stdin.flush()

    def notify(self, method: str, params) -> float:
        t = time.perf_counter()
        self.send({"jsonrpc": "2.0", "method": method, "params": params})
        return t

    def request(self, method: str, params):
        self.next_id += 1
        rid = self.next_id
        self.send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        while True:
            _, m = self.inbox.get(timeout=120)
            if m.get("id") == rid and "method" not in m:
                return m.get("result")

    def wait(self, pred, timeout: float = 120.0):
        deadline = time.perf_counter() + timeout
        while True:
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError("no matching message")
            t, m = self.inbox.get(timeout=left)
            if pred(m):
                return t, m

    def cpu_ms(self) -> float:
        """CPU time (user + system) the server used so far: less noisy than wall time on a busy machine."""
        with open(f"/proc/{self.proc.pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")

    def peak_rss_mb(self) -> float:
        with open(f"/proc/{self.proc.pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return float("nan")


def uri(p: Path) -> str:
    return p.resolve().as_uri()


def published(u: str, version: int | None = None):
    def pred(m: dict) -> bool:
        return (
            m.get("method") == "textDocument/publishDiagnostics"
            and m["params"]["uri"] == u
            and (version is None or m["params"].get("version") == version)
        )

    return pred


def codes(m: dict) -> list[str]:
    return sorted(d["code"] for d in m["params"]["diagnostics"])


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("project")
    ap.add_argument("--edits", type=int, default=200)
    ap.add_argument("--app", default="app_000")
    ap.add_argument("--no-cache", action="store_true")
    args = ap.parse_args()

    root = Path(args.project).resolve()
    views, models = root / args.app / "views.py", root / args.app / "models.py"
    views_text, models_text = views.read_text(), models.read_text()

    argv = [str(Path(args.binary).resolve()), "server"] + (["--no-cache"] if args.no_cache else [])
    s = Server(argv, str(root))
    s.request(
        "initialize",
        {
            "processId": os.getpid(),
            "capabilities": {},
            "workspaceFolders": [{"uri": uri(root), "name": root.name}],
        },
    )
    s.notify("initialized", {})

    t0 = s.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": uri(views), "languageId": "python", "version": 1, "text": views_text}},
    )
    t1, first = s.wait(published(uri(views)))
    first_ms = (t1 - t0) * 1000
    print(f"first diagnostics for {views.relative_to(root)}: {first_ms:.0f} ms ({len(first['params']['diagnostics'])} diagnostics)")

    # In-function edit: toggle a TEN301 line after the first `tenant = request.tenant`.
    lines = views_text.splitlines(keepends=True)
    at = next(i for i, l in enumerate(lines) if l.strip() == "tenant = request.tenant")
    indent = re.match(r"\s*", lines[at]).group(0)
    bad = f'{indent}django_cache.get("bench-key")\n'
    version = 1
    lat: list[float] = []
    cpu0 = s.cpu_ms()
    for k in range(args.edits):
        version += 1
        insert = k % 2 == 0
        change = {
            "range": {"start": {"line": at + 1, "character": 0}, "end": {"line": at + 1 + (0 if insert else 1), "character": 0}},
            "text": bad if insert else "",
        }
        t = s.notify(
            "textDocument/didChange",
            {"textDocument": {"uri": uri(views), "version": version}, "contentChanges": [change]},
        )
        t2, m = s.wait(published(uri(views), version))
        assert ("TEN301" in codes(m)) or not insert
        lat.append((t2 - t) * 1000)
        time.sleep(0.03)
    cpu = (s.cpu_ms() - cpu0) / len(lat)
    print(f"in-function edit, {len(lat)} edits: p50 {pct(lat, 50):.1f} ms, p90 {pct(lat, 90):.1f} ms, max {max(lat):.1f} ms; server CPU {cpu:.1f} ms/edit")

    # Cross-file: open models.py; remove/restore the scoped manager of a model views.py queries.
    s.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": uri(models), "languageId": "python", "version": 1, "text": models_text}},
    )
    s.wait(published(uri(models)))
    mlines = models_text.splitlines(keepends=True)
    target = None
    cls = None
    for i, l in enumerate(mlines):
        mm = re.match(r"class (\w+)\(", l)
        if mm:
            cls = mm.group(1)
        if l.strip() == "objects = TenantAwareManager()" and cls and re.search(rf"\b{cls}\.objects\.all\(\)", views_text):
            target = i
            break
    if target is None:
        print("no model with `objects = TenantAwareManager()` queried in views.py; skipping the cross-file edits")
    else:
        original = mlines[target]
        # A plain manager instead of the scoped one: the model's queries become unscoped.
        removed = original.replace("TenantAwareManager()", "models.Manager()")
        cross: list[float] = []
        mversion = 1
        n = max(10, args.edits // 4)
        cpu0 = s.cpu_ms()
        for k in range(n):
            mversion += 1
            remove = k % 2 == 0
            change = {
                "range": {"start": {"line": target, "character": 0}, "end": {"line": target + 1, "character": 0}},
                "text": removed if remove else original,
            }
            t = s.notify(
                "textDocument/didChange",
                {"textDocument": {"uri": uri(models), "version": mversion}, "contentChanges": [change]},
            )

            t2, m = s.wait(published(uri(views)), timeout=30)
            assert ("TEN201" in codes(m)) == remove, codes(m)
            cross.append((t2 - t) * 1000)
            time.sleep(0.05)
        cpu = (s.cpu_ms() - cpu0) / len(cross)
        print(f"cross-file edit ({cls} in models.py -> views.py), {len(cross)} edits: p50 {pct(cross, 50):.1f} ms, p90 {pct(cross, 90):.1f} ms, max {max(cross):.1f} ms; server CPU {cpu:.1f} ms/edit")

    print(f"peak RSS: {s.peak_rss_mb():.0f} MB")
    s.request("shutdown", None)
    s.notify("exit", None)
    s.proc.wait(timeout=30)
    for line in s.log:
        if "loaded" in line:
            print("server:", line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
