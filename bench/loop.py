#!/usr/bin/env python3
"""Speed of the backend loop with the real `webstir` binary.

Measures, in a fresh temporary project that builds into this checkout's target/ (so the webstir
crates and their dependencies are already compiled: a warm cargo cache):

  1. init -> first 200 from /api/health: `webstir init NAME --server-only`, then `webstir watch`,
     until GET /api/health answers 200 (includes the first compile of the project's own crate).
  2. edit -> new behaviour served: a handler file is rewritten with a new response body; the clock
     stops when GET /api/hello returns that body (polled every 5 ms). Median of N (default 5),
     after one warm-up edit that is not counted.

A warm-up project with the same package name is built first, so step 1 measures the user's crate
only. Usage: python3 bench/loop.py [--runs N] [--keep]
"""

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
NAME = "bench-loop"

HANDLER = """//! Benchmark handler, rewritten by bench/loop.py.

use webstir::serde_json::json;
use webstir::{{Ctx, Reply, Result, Route}};

/// Method, path and metadata of the route.
pub fn route() -> Route {{
    Route::get("/api/hello").name("hello").handler(handle)
}}

/// Answers the route.
pub async fn handle(_ctx: Ctx) -> Result<Reply> {{
    Ok(Reply::json(&json!({{ "version": {version} }})))
}}
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as r:
            return r.status, r.read().decode()
    except (urllib.error.URLError, ConnectionError, OSError):
        return None, None


def env():
    e = dict(os.environ)
    e["CARGO_TARGET_DIR"] = TARGET
    e["NO_COLOR"] = "1"
    e.pop("PORT", None)
    return e


def webstir():
    subprocess.run(["cargo", "build", "-q", "-p", "webstir-cli"], cwd=ROOT, check=True)
    return os.path.join(TARGET, "debug", "webstir")


class Watch:
    """`webstir watch` with its stdout lines timestamped."""

    def __init__(self, exe, root, port):
        self.proc = subprocess.Popen(
            [exe, "watch", "--runtime", "backend", "--port", str(port)],
            cwd=root, env=env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        self.lines = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append((time.perf_counter(), line.rstrip("\n")))

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)


def wait_until(pred, limit=600):
    deadline = time.perf_counter() + limit
    while time.perf_counter() < deadline:
        if pred():
            return time.perf_counter()
        time.sleep(0.005)
    raise SystemExit("timed out")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    exe = webstir()
    tmp = tempfile.mkdtemp(prefix="webstir-loop-")
    try:
        # Warm-up: compile the webstir crates for this package name once.
        warm = os.path.join(tmp, "warm")
        os.mkdir(warm)
        subprocess.run([exe, "init", NAME, "--server-only"], cwd=warm, env=env(), check=True,
                       stdout=subprocess.DEVNULL)
        subprocess.run([exe, "build"], cwd=os.path.join(warm, NAME), env=env(), check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        # 1. init -> first 200 from /api/health.
        work = os.path.join(tmp, "work")
        os.mkdir(work)
        port = free_port()
        t0 = time.perf_counter()
        subprocess.run([exe, "init", NAME, "--server-only"], cwd=work, env=env(), check=True,
                       stdout=subprocess.DEVNULL)
        t_init = time.perf_counter()
        root = os.path.join(work, NAME)
        watch = Watch(exe, root, port)
        t_first = wait_until(lambda: get(port, "/api/health")[0] == 200)
        print(f"init -> first 200 from /api/health: {t_first - t0:.2f} s "
              f"(init {t_init - t0:.3f} s, first build + start {t_first - t_init:.2f} s)")

        # 2. edit -> new behaviour served.
        handler = os.path.join(root, "src", "backend", "routes", "hello.rs")
        samples, builds = [], []
        for i in range(args.runs + 1):
            version = 1000 + i
            seen = len(watch.lines)
            time.sleep(1.0)
            t_save = time.perf_counter()
            with open(handler, "w") as f:
                f.write(HANDLER.format(version=version))
            want = json.dumps({"version": version}, separators=(",", ":"))
            t_served = wait_until(lambda: get(port, "/api/hello")[1] == want)
            restarted = [t for t, l in watch.lines[seen:] if "backend restarted at" in l]
            if i == 0:
                continue  # a warm-up edit, not counted
            samples.append(t_served - t_save)
            if restarted:
                builds.append(restarted[0] - t_save)
        watch.stop()
        print(f"edit -> new behaviour served (median of {len(samples)}): "
              f"{statistics.median(samples):.2f} s  samples: "
              + ", ".join(f"{s:.2f}" for s in samples))
        if builds:
            print(f"  of which save -> '[webstir] backend restarted' (debounce + cargo build + "
                  f"restart): median {statistics.median(builds):.2f} s")
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
