"""Server processes and one wrk measurement (performance.md §B.1 / §D, bench1.sh in Python)."""

import json
import os
import re
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request

from . import procfs
from .setup import SCRATCH, log, pg_backend_pids, run

SERVER_CPU = 0
CLIENT_CPU = 1
CONNECTIONS = 64

ECHO_BODY = '{"name":"Ada Lovelace","email":"ada@example.com","age":36}'


class Instance:
    """One running server process (a server in one configuration), pinned to SERVER_CPU."""

    def __init__(self, server, config, cmd, env, cwd, port):
        self.server = server  # e.g. "webstir"
        self.config = config  # "sqlite" or "pg"
        self.cmd = cmd
        self.env = env
        self.cwd = cwd
        self.port = port
        self.proc = None
        self.idle_rss_kib = None
        self.log_path = os.path.join(SCRATCH, "logs", f"{server}-{config}.log")

    def start(self):
        os.makedirs(os.path.dirname(self.log_path), exist_ok=True)
        env = dict(os.environ)
        env.update(self.env)
        env["PORT"] = str(self.port)
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            ["taskset", "-c", str(SERVER_CPU)] + self.cmd,
            cwd=self.cwd, env=env, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.server} exited during startup (see {self.log_path})")
            status, _ = http_get(self.port, "/healthz", timeout=1)
            if status == 200:
                time.sleep(0.5)
                self.idle_rss_kib = procfs.proc_status_kib(self.proc.pid, "VmRSS")
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.server} did not answer /healthz within 30 s (see {self.log_path})")

    @property
    def pid(self):
        return self.proc.pid

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        self.proc = None


def session_cookie(instance, route):
    """The `name=value` session cookie a route with `sign_in` needs, from a POST to that path."""
    if not route.sign_in:
        return None
    req = urllib.request.Request(f"http://127.0.0.1:{instance.port}{route.sign_in}", method="POST", data=b"")

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    try:
        res = urllib.request.build_opener(NoRedirect).open(req, timeout=5)
        headers = res.headers
    except urllib.error.HTTPError as e:
        headers = e.headers
    except OSError:
        return None
    cookie = headers.get("set-cookie")
    return cookie.split(";")[0] if cookie else None


def http_get(port, path, timeout=2, method="GET", body=None, cookie=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method)
    if cookie:
        req.add_header("cookie", cookie)
    data = None
    if body is not None:
        data = body.encode()
        req.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(req, data=data, timeout=timeout) as res:
            return res.status, res.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (OSError, ValueError):
        return None, b""


def verify(instance, route):
    """One request, checked against the expected body: (ok, why)."""
    cookie = session_cookie(instance, route)
    if route.sign_in and not cookie:
        return False, f"POST {route.sign_in} set no session cookie"
    status, body = http_get(instance.port, route.path, method=route.method, body=route.body, timeout=5,
                            cookie=cookie)
    if status != 200:
        return False, f"{route.method} {route.path} answered {status}: {body[:160].decode(errors='replace')}"
    if route.kind == "html":
        text = body.decode(errors="replace")
        return (True, "") if route.check(text) else (False, f"{route.path}: unexpected body {text[:160]}")
    try:
        value = json.loads(body)
    except ValueError:
        return False, f"{route.method} {route.path}: not JSON: {body[:160]!r}"
    if not route.check(value):
        return False, f"{route.method} {route.path}: unexpected body {body[:160].decode(errors='replace')}"
    return True, ""


def _wrk_script(route, cookie=None):
    if cookie:
        path = os.path.join(SCRATCH, f"wrk-{route.name}.lua")
        with open(path, "w") as f:
            f.write(f'wrk.headers["Cookie"] = "{cookie}"\n')
        return ["-s", path]
    if route.method == "GET":
        return []
    path = os.path.join(SCRATCH, f"wrk-{route.name}.lua")
    with open(path, "w") as f:
        f.write(f'wrk.method = "{route.method}"\n')
        f.write(f"wrk.body = '{route.body}'\n")
        f.write('wrk.headers["Content-Type"] = "application/json"\n')
    return ["-s", path]


def _us(text):
    m = re.fullmatch(r"([0-9.]+)(us|ms|s)", text.strip())
    if not m:
        return None
    v = float(m.group(1))
    return v * {"us": 1, "ms": 1000, "s": 1_000_000}[m.group(2)]


def parse_wrk(out):
    r = {}
    m = re.search(r"Requests/sec:\s+([0-9.]+)", out)
    r["rps"] = float(m.group(1)) if m else 0.0
    m = re.search(r"(\d+) requests in", out)
    r["requests"] = int(m.group(1)) if m else 0
    for pct in ("50", "99"):
        m = re.search(rf"^\s+{pct}(?:\.000)?%\s+(\S+)", out, re.M)
        r[f"p{pct}_us"] = _us(m.group(1)) if m else None
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    r["non2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    r["socket_errors"] = sum(int(x) for x in m.groups()) if m else 0
    return r


def _wrk(args):
    """Run wrk pinned to CLIENT_CPU; return (stdout, cpu seconds it used)."""
    p = subprocess.Popen(["taskset", "-c", str(CLIENT_CPU), "wrk"] + args,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = p.stdout.read()
    _pid, _status, usage = os.wait4(p.pid, 0)
    p.returncode = 0
    p.stdout.close()
    return out, usage.ru_utime + usage.ru_stime


def measure(instance, route, duration, warmup, all_instances):
    """One measured run of `route` on `instance` (after a warm-up): a dict of figures."""
    url = f"http://127.0.0.1:{instance.port}{route.path}"
    script = _wrk_script(route, session_cookie(instance, route))
    _wrk(["-t1", f"-c{CONNECTIONS}", f"-d{warmup}s"] + script + [url])
    time.sleep(0.3)
    pg_pids = []
    if instance.config == "pg":
        pg_pids = pg_backend_pids()
        for pid in pg_pids:  # our own backends only: keep app + DB on the server CPU
            run(["taskset", "-pc", str(SERVER_CPU), str(pid)])
    pid = instance.pid
    others = [i.pid for i in all_instances if i.proc is not None]
    mid = {}

    def sample():
        mid["rss"] = procfs.proc_status_kib(pid, "VmRSS")

    timer = threading.Timer(duration / 2, sample)
    s0 = procfs.proc_ticks(pid)
    o0 = sum(procfs.proc_ticks(p) for p in others)
    g0 = sum(procfs.proc_ticks(p) for p in pg_pids)
    b0 = procfs.machine_busy_ticks()
    t0 = time.time()
    timer.start()
    out, wrk_cpu = _wrk(["-t1", f"-c{CONNECTIONS}", f"-d{duration}s", "--latency"] + script + [url])
    wall = time.time() - t0
    s1 = procfs.proc_ticks(pid)
    o1 = sum(procfs.proc_ticks(p) for p in others)
    g1 = sum(procfs.proc_ticks(p) for p in pg_pids)
    b1 = procfs.machine_busy_ticks()
    timer.join()
    hz = procfs.CLK_TCK
    w = parse_wrk(out)
    server_s = (s1 - s0) / hz
    ours_s = (o1 - o0) / hz  # every bench server process, including the measured one
    pg_s = (g1 - g0) / hz
    busy_s = (b1 - b0) / hz
    n = max(w["requests"], 1)
    return {
        "rps": w["rps"],
        "requests": w["requests"],
        "p50_ms": None if w["p50_us"] is None else w["p50_us"] / 1000,
        "p99_ms": None if w["p99_us"] is None else w["p99_us"] / 1000,
        "cpu_us_per_req": server_s / n * 1e6,
        "pg_cpu_us_per_req": (pg_s / n * 1e6) if pg_pids else None,
        "server_cores": server_s / wall,
        "wrk_cores": wrk_cpu / wall,
        "foreign_cores": max(0.0, (busy_s - ours_s - pg_s - wrk_cpu) / wall),
        "rss_mid_kib": mid.get("rss"),
        "errors": w["non2xx"] + w["socket_errors"],
        "wrk_output": out if (w["rps"] == 0 or w["non2xx"]) else None,
    }


def coldstart(tool, cmd, env, cwd, runs, port):
    """Median etc. of spawn → first 200 on /healthz (server on SERVER_CPU, poller on CLIENT_CPU)."""
    full_env = dict(os.environ)
    full_env.update(env)
    full_env.pop("DATABASE_URL", None)
    try:
        p = subprocess.run(
            [tool, "--runs", str(runs), "--port", str(port), "--path", "/healthz",
             "--server-cpu", str(SERVER_CPU), "--client-cpu", str(CLIENT_CPU), "--"] + cmd,
            cwd=cwd, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300,
        )
    except subprocess.TimeoutExpired:
        log(f"cold start timed out: {cmd[0]}")
        return None
    if p.returncode != 0:
        log(f"cold start failed for {cmd[0]}: {p.stderr.strip()[:300]}")
        return None
    return json.loads(p.stdout)
