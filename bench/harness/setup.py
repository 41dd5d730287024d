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


def webstir_has_db(root=REPO):
    """Whether the runtime under `root` has a `db()` accessor (the bench app's `db` feature needs it).

    Any `fn db(` in crates/webstir/src, so the accessor may move between files (or become an
    extractor's method) without the DB rows silently disappearing."""
    import re

    pattern = re.compile(r"\bfn db\s*[(<]")
    for dirpath, _dirs, files in os.walk(os.path.join(root, "crates", "webstir", "src")):
        for name in files:
            if name.endswith(".rs"):
                try:
                    with open(os.path.join(dirpath, name)) as f:
                        if pattern.search(f.read()):
                            return True
                except OSError:
                    pass
    return False


def build_rust(with_db, app=True):
    """Build hyper-bare and coldstart, then (when `app`) webstir-app (+ db feature when the runtime has a
    `db()` accessor) against the working tree's runtime. Returns (tools_ok, app_ok): a runtime that does not
    build (mid-change) only costs the webstir rows, not bare hyper's or the other servers'."""
    base = ["cargo", "build", "--release", "--quiet", "--manifest-path", os.path.join(BENCH, "Cargo.toml")]
    log("cargo build --release (bench workspace: hyper-bare, coldstart)")
    tools_ok, _ = run(base + ["-p", "hyper-bare", "-p", "coldstart"], nice=True, quiet=False)
    if not app:
        return tools_ok, False
    cmd = base + ["-p", "webstir-app"] + (["--features", "webstir-app/db"] if with_db else [])
    log("cargo build --release (bench workspace: webstir-app" + (", feature db" if with_db else "") + ")")
    app_ok, _ = run(cmd, nice=True, quiet=False)
    return tools_ok, app_ok


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


# ---------------------------------------------------------------- before/after and hello-world variants

# The last commit before the request-model change: `bench/run --before` measures webstir as it was there.
DEFAULT_BEFORE = "61fd241"
# Builds that must not collide with bench/target's binaries (the REV snapshot's webstir-app, the hello
# variants) share this target dir, so third-party crates are compiled once for all of them.
AUX_TARGET = os.path.join(SCRATCH, "target")


def _release_profile_env():
    """bench/Cargo.toml's [profile.release] as CARGO_PROFILE_RELEASE_* variables, so builds outside the
    bench workspace (the REV snapshot, the generated hello crates) use exactly the same settings."""
    import tomllib

    with open(os.path.join(BENCH, "Cargo.toml"), "rb") as f:
        profile = tomllib.load(f).get("profile", {}).get("release", {})
    env = dict(os.environ)
    env["CARGO_TARGET_DIR"] = AUX_TARGET
    for key, value in profile.items():
        if isinstance(value, dict):
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        env["CARGO_PROFILE_RELEASE_" + key.upper().replace("-", "_")] = str(value)
    return env


def git(*args):
    return run(["git", "-C", REPO] + list(args), timeout=120)


def _short(line, limit=72):
    line = line.strip()
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def after_description():
    """What "after" is: HEAD, plus a note when crates/webstir has uncommitted changes."""
    _ok, head = git("log", "-1", "--format=%h %s")
    _ok, dirty = git("status", "--porcelain", "--", "crates")
    desc = _short(head)
    if dirty.strip():
        desc += " + uncommitted changes under crates/"
    return desc


def ensure_before(rev, build=True):
    """Build bench/servers/webstir-app as it is at `rev`, against the runtime at `rev`.

    The tree at `rev` is extracted once (`git archive`, no worktree metadata) into
    bench/scratch/before/<sha>/src; its bench workspace is built with bench/Cargo.lock of the working tree
    (same third-party versions as "after") and the working tree's release profile, into the shared
    bench/scratch/target. When `rev` predates bench/, the current bench server source is used instead.
    Returns a dict (binary, hello, sha, desc, db) or None (and says why).
    """
    ok, sha = git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    sha = sha.strip()
    if not ok or not sha:
        log(f"before: cannot resolve {rev!r} to a commit")
        return None
    _ok, desc = git("log", "-1", "--format=%h %s", sha)
    desc = _short(desc)
    base = os.path.join(SCRATCH, "before", sha[:12])
    src = os.path.join(base, "src")
    stamp = os.path.join(base, ".extracted")
    if not stamp_ok(stamp, sha):
        shutil.rmtree(base, ignore_errors=True)
        os.makedirs(src)
        log(f"{rev}: extracting {desc} into {os.path.relpath(src, REPO)}")
        archive = subprocess.Popen(["git", "-C", REPO, "archive", sha], stdout=subprocess.PIPE)
        tar = subprocess.run(["tar", "-x", "-C", src], stdin=archive.stdout)
        archive.stdout.close()
        if archive.wait() != 0 or tar.returncode != 0:
            log("before: git archive | tar failed")
            return None
        bench_src = os.path.join(src, "bench")
        if not os.path.exists(os.path.join(bench_src, "servers", "webstir-app", "Cargo.toml")):
            log(f"before: {rev} has no bench/servers/webstir-app; using the current bench server source")
            shutil.rmtree(bench_src, ignore_errors=True)
            for part in ("servers/webstir-app", "servers/hyper-bare", "tools/coldstart"):
                shutil.copytree(os.path.join(BENCH, part), os.path.join(bench_src, part),
                                ignore=shutil.ignore_patterns("target", "scratch"))
            shutil.copyfile(os.path.join(BENCH, "Cargo.toml"), os.path.join(bench_src, "Cargo.toml"))
        write_stamp(stamp, sha)
    bench_src = os.path.join(src, "bench")
    shutil.copyfile(os.path.join(BENCH, "Cargo.lock"), os.path.join(bench_src, "Cargo.lock"))
    try:
        with open(os.path.join(bench_src, "servers", "webstir-app", "Cargo.toml")) as f:
            has_db = "db = [" in f.read() and webstir_has_db(src)
    except OSError:
        has_db = False
    info = {"rev": rev, "sha": sha, "desc": desc, "db": has_db, "binary": os.path.join(base, "webstir-app"),
            "hello": os.path.join(base, "webstir-hello")}
    if not build and os.path.exists(info["binary"]):
        if not os.path.exists(info["hello"]):
            info["hello"] = None
        return info
    cmd = ["cargo", "build", "--release", "--quiet", "--manifest-path", os.path.join(bench_src, "Cargo.toml"),
           "-p", "webstir-app"]
    if has_db:
        cmd += ["--features", "webstir-app/db"]
    log(f"{rev}: cargo build --release of the bench webstir-app at {sha[:12]} (into bench/scratch/target)")
    ok, out = run(cmd, cwd=BENCH, env=_release_profile_env(), nice=True, timeout=3600)
    built = os.path.join(AUX_TARGET, "release")
    if not ok or not os.path.exists(os.path.join(built, "webstir-app")):
        log(f"{rev}: build failed: " + out.strip()[-1500:])
        return None
    # Copy the binaries out: the next build of another REV would overwrite them in the shared target dir.
    shutil.copy2(os.path.join(built, "webstir-app"), info["binary"])
    if os.path.exists(os.path.join(built, "webstir-hello")):
        shutil.copy2(os.path.join(built, "webstir-hello"), info["hello"])
    else:
        info["hello"] = None
    return info


def webstir_features(root=REPO):
    """crates/webstir's [features] table (empty when it has none)."""
    import tomllib

    try:
        with open(os.path.join(root, "crates", "webstir", "Cargo.toml"), "rb") as f:
            return tomllib.load(f).get("features", {})
    except (OSError, ValueError):
        return {}


# name, cargo flags as shown, default-features, features
HELLO_VARIANTS = [
    ("no-default", "--no-default-features", False, []),
    ("sqlite", "--no-default-features --features sqlite", False, ["sqlite"]),
]


def build_hello_variants(root=REPO):
    """The bench hello world (servers/webstir-app/src/bin/webstir-hello.rs) built against the working
    tree's runtime with other feature sets, each as a generated crate under bench/scratch/hello/.

    Returns [{variant, flags, features, binary, note}]; binary is None (and note says why) when the
    runtime lacks the features, or the build fails — reported as "not available", never fatal."""
    features = webstir_features(root)
    out = []
    with open(os.path.join(BENCH, "Cargo.toml"), "rb") as f:
        import tomllib

        edition = tomllib.load(f).get("workspace", {}).get("package", {}).get("edition", "2024")
    hello_src = os.path.join(SERVERS_SRC, "webstir-app", "src", "bin", "webstir-hello.rs")
    for variant, flags, default_features, feats in HELLO_VARIANTS:
        entry = {"variant": variant, "flags": flags, "features": feats, "binary": None, "note": ""}
        out.append(entry)
        if "default" not in features:
            entry["note"] = "not available: crates/webstir has no cargo features yet (identical to the default build)"
            continue
        missing = [x for x in feats if x not in features]
        if missing:
            entry["note"] = "not available: crates/webstir has no feature " + ", ".join(missing)
            continue
        name = f"webstir-hello-{variant}"
        dir_ = os.path.join(SCRATCH, "hello", variant)
        os.makedirs(dir_, exist_ok=True)
        shutil.copyfile(hello_src, os.path.join(dir_, "main.rs"))
        dep = f'{{ path = {json.dumps(os.path.join(root, "crates", "webstir"))}, default-features = {str(default_features).lower()}, features = {json.dumps(feats)} }}'
        with open(os.path.join(dir_, "Cargo.toml"), "w") as f:
            f.write(
                "# Generated by bench/harness/setup.py (build_hello_variants): do not edit.\n"
                f'[package]\nname = "{name}"\nversion = "0.0.0"\nedition = "{edition}"\npublish = false\n\n'
                f'[[bin]]\nname = "{name}"\npath = "main.rs"\n\n[workspace]\n\n'
                f'[dependencies]\nwebstir = {dep}\nserde_json = "1"\n'
            )
        if not os.path.exists(os.path.join(dir_, "Cargo.lock")):
            shutil.copyfile(os.path.join(BENCH, "Cargo.lock"), os.path.join(dir_, "Cargo.lock"))
        log(f"hello world: cargo build --release, webstir {flags}")
        ok, text = run(["cargo", "build", "--release", "--quiet", "--manifest-path", os.path.join(dir_, "Cargo.toml")],
                       cwd=BENCH, env=_release_profile_env(), nice=True, timeout=3600)
        binary = os.path.join(AUX_TARGET, "release", name)
        if not ok or not os.path.exists(binary):
            tail = " ".join(text.strip().splitlines()[-3:])[:300]
            entry["note"] = f"not available: build failed ({tail})"
            log(f"hello world {flags}: {entry['note']}")
            continue
        entry["binary"] = binary
    return out
