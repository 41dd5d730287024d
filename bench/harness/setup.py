"""Install and build what each server needs; say clearly what is skipped and why.

Everything third-party goes to bench/scratch/ (gitignored) or, for Loco's slow build, to a cache dir
outside the repo (~/.cache/webstir-bench, or $WEBSTIR_BENCH_CACHE).
"""

import hashlib
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys

BENCH = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(BENCH)
SCRATCH = os.path.join(BENCH, "scratch")
TARGET = os.path.join(BENCH, "target", "release")
CACHE = os.environ.get("WEBSTIR_BENCH_CACHE", os.path.expanduser("~/.cache/webstir-bench"))
SERVERS_SRC = os.path.join(BENCH, "servers")

SQLITE_PATH = os.path.join(SCRATCH, "bench.sqlite")
PG_ADMIN = ["psql", "-h", "127.0.0.1", "-p", "5432", "-U", "postgres", "-X", "-q", "-A", "-t"]
PG_DB = "webstir_bench"
PG_URL = f"postgres://postgres@127.0.0.1:5432/{PG_DB}"
WORLD_ROWS = 10_000

LOCO_VERSION = "1.2.0"


def log(msg):
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def run(cmd, cwd=None, env=None, nice=False, quiet=True, timeout=None):
    """Run a command; return (ok, combined output)."""
    if nice:
        cmd = ["nice", "-n", "19"] + cmd
    try:
        p = subprocess.run(
            cmd,
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE if quiet else None,
            stderr=subprocess.STDOUT if quiet else None,
            text=True,
            timeout=timeout,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, str(e)
    return p.returncode == 0, p.stdout or ""


def digest(*paths):
    h = hashlib.sha256()
    for p in paths:
        with open(p, "rb") as f:
            h.update(f.read())
    return h.hexdigest()[:16]


def stamp_ok(stamp_file, value):
    try:
        with open(stamp_file) as f:
            return f.read().strip() == value
    except OSError:
        return False


def write_stamp(stamp_file, value):
    with open(stamp_file, "w") as f:
        f.write(value + "\n")


# ---------------------------------------------------------------- tools


def ensure_wrk():
    if shutil.which("wrk"):
        return True
    log("wrk is missing: apt-get update && apt-get install -y wrk")
    run(["apt-get", "update", "-qq"], timeout=300)
    _ok, out = run(["apt-get", "install", "-y", "-qq", "wrk"], timeout=300)
    if shutil.which("wrk"):
        return True
    tail = out.strip().splitlines()[-1] if out.strip() else "no output"
    log(f"could not install wrk ({tail}): nothing to measure with")
    return False


def webstir_has_db():
    path = os.path.join(REPO, "crates", "webstir", "src", "context.rs")
    try:
        with open(path) as f:
            return "fn db" in f.read()
    except OSError:
        return False


def build_rust(with_db):
    """Build hyper-bare, webstir-app (+ db feature when the runtime has ctx.db()) and coldstart."""
    cmd = [
        "cargo", "build", "--release", "--quiet",
        "--manifest-path", os.path.join(BENCH, "Cargo.toml"),
        "-p", "hyper-bare", "-p", "webstir-app", "-p", "coldstart",
    ]
    if with_db:
        cmd += ["--features", "webstir-app/db"]
    log("cargo build --release (bench workspace" + (", webstir-app/db" if with_db else "") + ")")
    ok, out = run(cmd, nice=True, quiet=False)
    return ok


# ---------------------------------------------------------------- databases


def ensure_sqlite():
    if os.path.exists(SQLITE_PATH):
        try:
            con = sqlite3.connect(SQLITE_PATH)
            n = con.execute("SELECT count(*) FROM world").fetchone()[0]
            con.close()
            if n == WORLD_ROWS:
                return True
        except sqlite3.Error:
            pass
        os.remove(SQLITE_PATH)
    os.makedirs(SCRATCH, exist_ok=True)
    con = sqlite3.connect(SQLITE_PATH)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE world (id INTEGER PRIMARY KEY, randomnumber INTEGER NOT NULL)")
    rng = random.Random(7)
    con.executemany(
        "INSERT INTO world VALUES (?, ?)", [(i, rng.randint(1, 10_000)) for i in range(1, WORLD_ROWS + 1)]
    )
    con.commit()
    con.close()
    return True


def psql(sql, db="postgres"):
    return run(PG_ADMIN + ["-d", db, "-c", sql], timeout=60)


def ensure_postgres():
    """The `world` table (bigint id, randomnumber) in database webstir_bench; False (and why) if unreachable."""
    if not shutil.which("psql"):
        log("PostgreSQL rows skipped: psql is not installed (apt-get install postgresql)")
        return False
    ok, out = psql("SELECT 1")
    if not ok and shutil.which("pg_ctlcluster"):
        log("PostgreSQL is not answering on 127.0.0.1:5432; trying pg_ctlcluster 15 main start")
        run(["pg_ctlcluster", "15", "main", "start"], timeout=60)
        ok, out = psql("SELECT 1")
    if not ok:
        log("PostgreSQL rows skipped: cannot connect as postgres@127.0.0.1:5432 (" + out.strip()[:200] + ")")
        return False
    ok, out = psql(f"SELECT count(*) FROM world", db=PG_DB)
    if ok and out.strip() == str(WORLD_ROWS):
        return True
    psql(f"CREATE DATABASE {PG_DB}")
    ok, out = psql(
        "DROP TABLE IF EXISTS world; "
        "CREATE TABLE world (id bigint PRIMARY KEY, randomnumber bigint NOT NULL); "
        f"INSERT INTO world SELECT i, 1 + floor(random() * 10000)::bigint FROM generate_series(1, {WORLD_ROWS}) i; "
        "ANALYZE world;",
        db=PG_DB,
    )
    if not ok:
        log("PostgreSQL rows skipped: could not create the bench table (" + out.strip()[:200] + ")")
    return ok


def pg_backend_pids():
    ok, out = run(
        PG_ADMIN + ["-d", PG_DB, "-c",
                    f"SELECT pid FROM pg_stat_activity WHERE datname = '{PG_DB}' AND pid <> pg_backend_pid()"],
        timeout=30,
    )
    if not ok:
        return []
    return [int(x) for x in out.split() if x.strip().isdigit()]


# ---------------------------------------------------------------- JS peers


def _npm_install(dir_, package_json_text, label):
    os.makedirs(dir_, exist_ok=True)
    pj = os.path.join(dir_, "package.json")
    stamp = os.path.join(dir_, ".installed")
    want = hashlib.sha256(package_json_text.encode()).hexdigest()[:16]
    if stamp_ok(stamp, want) and os.path.isdir(os.path.join(dir_, "node_modules")):
        return True
    with open(pj, "w") as f:
        f.write(package_json_text)
    log(f"{label}: npm install into {os.path.relpath(dir_, REPO)} (once)")
    ok, out = run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=dir_, nice=True, timeout=1200)
    if not ok:
        log(f"{label} skipped: npm install failed: " + out.strip()[-400:])
        return False
    write_stamp(stamp, want)
    return True


def node_major():
    ok, out = run(["node", "--version"])
    if not ok:
        return None
    try:
        return int(out.strip().lstrip("v").split(".")[0])
    except ValueError:
        return None


def ensure_fastify():
    """bench/scratch/fastify with fastify + better-sqlite3; returns the install dir or None."""
    if not shutil.which("node") or not shutil.which("npm"):
        log("Fastify skipped: node/npm not installed")
        return None
    major = node_major()
    if major is None or major < 20:
        log(f"Fastify skipped: Fastify 5 needs Node >= 20 (found {major})")
        return None
    dir_ = os.path.join(SCRATCH, "fastify")
    with open(os.path.join(SERVERS_SRC, "fastify", "package.json")) as f:
        text = f.read()
    if not _npm_install(dir_, text, "Fastify"):
        return None
    shutil.copyfile(os.path.join(SERVERS_SRC, "fastify", "server.mjs"), os.path.join(dir_, "server.mjs"))
    return dir_


def ensure_bun_webstir():
    """bench/scratch/bun-webstir: bun, pino, @webstir-io/webstir-backend (+ the local module-contract
    stand-in); scaffolded and built in publish mode with the package's own provider. Returns the dir or None."""
    if not shutil.which("npm"):
        log("webstir/Bun skipped: npm not installed")
        return None
    src = os.path.join(SERVERS_SRC, "bun-webstir")
    dir_ = os.path.join(SCRATCH, "bun-webstir")
    with open(os.path.join(src, "package.json")) as f:
        text = f.read().replace("MODULE_CONTRACT_DIR", os.path.join(src, "module-contract"))
    if not _npm_install(dir_, text, "webstir/Bun"):
        return None
    bun = os.path.join(dir_, "node_modules", ".bin", "bun")
    ok, out = run([bun, "--version"])
    if not ok:
        log("webstir/Bun skipped: the bun binary from the npm package does not run: " + out.strip()[:200])
        return None
    want = digest(os.path.join(src, "module.ts"), os.path.join(src, "setup.mjs"), os.path.join(src, "package.json"))
    stamp = os.path.join(dir_, ".built")
    entry = os.path.join(dir_, "app", "build", "backend", "index.js")
    if stamp_ok(stamp, want) and os.path.exists(entry):
        return dir_
    shutil.copyfile(os.path.join(src, "setup.mjs"), os.path.join(dir_, "setup.mjs"))
    log("webstir/Bun: scaffold + publish build with the package's provider")
    ok, out = run([bun, "setup.mjs", os.path.join(src, "module.ts")], cwd=dir_, timeout=300)
    if not ok or not os.path.exists(entry):
        log("webstir/Bun skipped: build failed: " + out.strip()[-600:])
        return None
    write_stamp(stamp, want)
    return dir_


# ---------------------------------------------------------------- Loco


def ensure_loco():
    """Loco 1.2 (`cargo install loco`, lightweight no-DB preset + our controller), release-built once into
    the cache dir. Returns the server binary path or None."""
    src = os.path.join(SERVERS_SRC, "loco")
    cli_root = os.path.join(CACHE, "loco-cli")
    cli = os.path.join(cli_root, "bin", "loco")
    os.makedirs(CACHE, exist_ok=True)
    if not os.path.exists(cli):
        log(f"Loco: cargo install loco {LOCO_VERSION} into {cli_root} (once, slow)")
        ok, out = run(["cargo", "install", "loco", "--version", LOCO_VERSION, "--locked", "--root", cli_root],
                      nice=True, timeout=3600)
        if not ok or not os.path.exists(cli):
            log("Loco skipped: cargo install loco failed: " + out.strip()[-400:])
            return None
    app = os.path.join(CACHE, "loco-app", "bench_loco")
    if not os.path.exists(os.path.join(app, "Cargo.toml")):
        os.makedirs(os.path.dirname(app), exist_ok=True)
        log("Loco: loco new (lightweight: no DB, blocking workers, no assets)")
        ok, out = run([cli, "new", "--name", "bench_loco", "--db", "none", "--bg", "blocking", "--assets", "none",
                       "--allow-in-git-repo"], cwd=os.path.dirname(app), timeout=600)
        if not ok or not os.path.exists(os.path.join(app, "Cargo.toml")):
            log("Loco skipped: loco new failed: " + out.strip()[-600:])
            return None
    # Overlay our files (routes + production config) and build when they changed.
    overlay = [("bench.rs", os.path.join("src", "controllers", "bench.rs"))]
    want = digest(*[os.path.join(src, a) for a, _ in overlay], os.path.join(src, "patch.py"))
    stamp = os.path.join(app, ".bench-built")
    binary = os.path.join(app, "target", "release", "bench_loco-cli")
    if stamp_ok(stamp, want) and os.path.exists(binary):
        return binary
    for a, b in overlay:
        shutil.copyfile(os.path.join(src, a), os.path.join(app, b))
    ok, out = run([sys.executable, os.path.join(src, "patch.py"), app])
    if not ok:
        log("Loco skipped: could not wire the bench controller: " + out.strip()[-400:])
        return None
    log("Loco: cargo build --release in the cache dir (cold build ~5 min, once)")
    ok, out = run(["cargo", "build", "--release", "--quiet"], cwd=app, nice=True, timeout=3600)
    if not ok or not os.path.exists(binary):
        log("Loco skipped: release build failed: " + out.strip()[-800:])
        return None
    write_stamp(stamp, want)
    return binary


def stripped_size(path):
    """Size in bytes of a stripped copy of a binary (the file itself is left alone)."""
    tmp = os.path.join(SCRATCH, "stripped.tmp")
    ok, _ = run(["strip", "-o", tmp, path])
    if not ok:
        return os.path.getsize(path)
    size = os.path.getsize(tmp)
    os.remove(tmp)
    return size


def tree_size(*paths):
    total = 0
    for p in paths:
        if os.path.isfile(p):
            total += os.path.getsize(os.path.realpath(p))
            continue
        for root, _dirs, files in os.walk(p):
            for name in files:
                fp = os.path.join(root, name)
                if not os.path.islink(fp):
                    total += os.path.getsize(fp)
    return total


def tool_versions():
    versions = {}
    for name, cmd in [("rustc", ["rustc", "--version"]), ("wrk", ["wrk", "--version"]),
                      ("node", ["node", "--version"])]:
        ok, out = run(cmd)
        if out.strip():
            versions[name] = out.strip().splitlines()[0]
    return versions


def machine_description():
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_gib = 0
    try:
        with open("/proc/meminfo") as f:
            mem_gib = round(int(f.readline().split()[1]) / 1024 / 1024)
    except OSError:
        pass
    return f"{os.cpu_count()} vCPU {model}, {mem_gib} GiB, kernel {os.uname().release}"


def json_dump(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")
