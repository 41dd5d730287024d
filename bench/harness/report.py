"""Aggregate runs into medians and ratios; render Markdown; check goals G1–G15 (performance.md §C)."""

import statistics

JSON_ROUTES = ("healthz", "hello", "item", "echo")
# The request-model change's bar (issue): JSON routes ≤ 1.10× bare hyper's CPU/req on these three; no
# route more than 0.5 µs/req slower than before; DB routes not slower than before.
CHANGE_JSON_ROUTES = ("hello", "item", "echo")
CHANGE_JSON_CPU_RATIO = 1.10
MAX_SLOWDOWN_US = 0.5
PEERS = ("bun", "fastify", "loco")


def _med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _min(values):
    values = [v for v in values if v is not None]
    return min(values) if values else None


def _max(values):
    values = [v for v in values if v is not None]
    return max(values) if values else None


def _ratio(a, b):
    return a / b if a is not None and b else None


def _r(x, nd=2):
    return None if x is None else round(x, nd)


def build(meta, servers, routes, runs, cold, idle_rss, peak_rss, hello=None):
    rows = []
    stats = {}
    for route in routes:
        for s in servers:
            rs = runs.get((s.name, route.name))
            if not rs:
                continue
            stats[(s.name, route.name)] = {
                "rps": _med([r["rps"] for r in rs]),
                "rps_min": _min([r["rps"] for r in rs]),
                "rps_max": _max([r["rps"] for r in rs]),
                "p50": _med([r["p50_ms"] for r in rs]),
                "p99": _med([r["p99_ms"] for r in rs]),
                "p99_min": _min([r["p99_ms"] for r in rs]),
                "p99_max": _max([r["p99_ms"] for r in rs]),
                "cpu": _med([r["cpu_us_per_req"] for r in rs]),
                "cpu_min": _min([r["cpu_us_per_req"] for r in rs]),
                "cpu_max": _max([r["cpu_us_per_req"] for r in rs]),
                "pg_cpu": _med([r["pg_cpu_us_per_req"] for r in rs]),
                "wrk": _med([r["wrk_cores"] for r in rs]),
                "server_cores": _med([r["server_cores"] for r in rs]),
                "foreign_max": _max([r["foreign_cores"] for r in rs]),
                "foreign_med": _med([r["foreign_cores"] for r in rs]),
                "errors": sum(r["errors"] for r in rs),
                "rss_mid_max": _max([r["rss_mid_kib"] for r in rs]),
                "n": len(rs),
                "runs": rs,
            }

    per_server = {}
    for s in servers:
        c = cold.get(s.name)
        mids = [st["rss_mid_max"] for (sn, rn), st in stats.items()
                if sn == s.name and rn != "db-pg" and st["rss_mid_max"]]
        per_server[s.name] = {
            "server": s.name,
            "label": s.label,
            "cold_start_ms": _r(c["median_ms"], 2) if c else None,
            "cold_start_min_ms": _r(c["min_ms"], 2) if c else None,
            "cold_start_max_ms": _r(c["max_ms"], 2) if c else None,
            # Idle: no DB (the cold-start process, 500 ms after its first 200); "with DB": the bench
            # process, DATABASE_URL set (SQLite), 500 ms after its first 200.
            "idle_rss_mib": _r(c["idle_rss_kib"] / 1024, 1) if c and c.get("idle_rss_kib") else None,
            "idle_rss_db_mib": _r(_med(idle_rss.get(s.name, [])) / 1024, 1) if idle_rss.get(s.name) else None,
            "load_rss_mib": _r(max(mids) / 1024, 1) if mids else None,
            "peak_rss_mib": _r(max(peak_rss[s.name]) / 1024, 1) if peak_rss.get(s.name) else None,
            "size_bytes": s.size,
            "size_note": s.size_note,
            "hello_world_size_bytes": s.hello_size,
        }

    for route in routes:
        bare = stats.get(("bare", route.name))
        for s in servers:
            st = stats.get((s.name, route.name))
            if not st:
                continue
            ps = per_server[s.name]
            rows.append({
                "server": s.name,
                "label": s.label,
                "route": route.name,
                "request": f"{route.method} {route.path}",
                "rps_median": _r(st["rps"], 0),
                "rps_min": _r(st["rps_min"], 0),
                "rps_max": _r(st["rps_max"], 0),
                "p50_ms": _r(st["p50"], 3),
                "p99_ms": _r(st["p99"], 3),
                "p99_min_ms": _r(st["p99_min"], 3),
                "p99_max_ms": _r(st["p99_max"], 3),
                "cpu_us_per_req": _r(st["cpu"], 2),
                "cpu_us_per_req_min": _r(st["cpu_min"], 2),
                "cpu_us_per_req_max": _r(st["cpu_max"], 2),
                "pg_cpu_us_per_req": _r(st["pg_cpu"], 2),
                "ratio_to_bare": _r(_ratio(st["rps"], bare and bare["rps"]), 3),
                "cpu_ratio_to_bare": _r(_ratio(st["cpu"], bare and bare["cpu"]), 3),
                "p99_ratio_to_bare": _r(_ratio(st["p99"], bare and bare["p99"]), 3),
                "wrk_cores": _r(st["wrk"], 2),
                "server_cores": _r(st["server_cores"], 2),
                "foreign_cores_median": _r(st["foreign_med"], 2),
                "foreign_cores_max": _r(st["foreign_max"], 2),
                "errors": st["errors"],
                "cold_start_ms": ps["cold_start_ms"],
                "idle_rss_mib": ps["idle_rss_mib"],
                "load_rss_mib": ps["load_rss_mib"],
                "runs": [
                    {k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items() if k != "wrk_output"}
                    for r in st["runs"]
                ],
            })
    result = {"meta": meta, "results": rows, "servers": list(per_server.values())}
    result["hello_world"] = hello_world(hello or [])
    result["before_after"] = before_after(result, routes) if "before" in meta else None
    result["goals"] = goals(result)
    return result


def hello_world(rows):
    """Hello-world sizes and idle RSS, with ratios to bare hyper's hello world."""
    base = next((r for r in rows if r["key"] == "bare"), None)
    out = []
    for r in rows:
        r = dict(r)
        r["size_ratio_to_bare"] = _r(_ratio(r["size_bytes"], base and base["size_bytes"]), 3)
        r["idle_rss_mib"] = _r(r["idle_rss_kib"] / 1024, 2) if r.get("idle_rss_kib") else None
        r["idle_rss_ratio_to_bare"] = _r(_ratio(r.get("idle_rss_kib"), base and base.get("idle_rss_kib")), 3)
        out.append(r)
    return out


def before_after(result, routes):
    """Per route: webstir before (server webstir-before) vs after (webstir), and the change's checks."""
    rows = []
    for route in routes:
        a, b = _row(result, "webstir", route.name), _row(result, "webstir-before", route.name)
        if not a or not b or a["cpu_us_per_req"] is None or b["cpu_us_per_req"] is None:
            continue
        delta = a["cpu_us_per_req"] - b["cpu_us_per_req"]
        rows.append({
            "route": route.name,
            "cpu_before": b["cpu_us_per_req"], "cpu_before_min": b["cpu_us_per_req_min"],
            "cpu_before_max": b["cpu_us_per_req_max"],
            "cpu_after": a["cpu_us_per_req"], "cpu_after_min": a["cpu_us_per_req_min"],
            "cpu_after_max": a["cpu_us_per_req_max"],
            "cpu_delta_us": _r(delta, 2),
            "cpu_delta_pct": _r(100 * delta / b["cpu_us_per_req"], 1) if b["cpu_us_per_req"] else None,
            "rps_before": b["rps_median"], "rps_after": a["rps_median"],
            "rps_ratio": _r(_ratio(a["rps_median"], b["rps_median"]), 3),
            "p99_before_ms": b["p99_ms"], "p99_after_ms": a["p99_ms"],
            "cpu_ratio_to_bare_before": b["cpu_ratio_to_bare"], "cpu_ratio_to_bare_after": a["cpu_ratio_to_bare"],
            # Overlapping min–max ranges: the difference is within this run's round-to-round spread.
            "overlap": (a["cpu_us_per_req_min"] is not None and b["cpu_us_per_req_max"] is not None
                        and a["cpu_us_per_req_min"] <= b["cpu_us_per_req_max"]),
        })
    checks = []

    def check(name, status, detail):
        checks.append({"check": name, "status": status, "detail": detail})

    if rows:
        worst = max(rows, key=lambda r: r["cpu_delta_us"])
        check(f"no route slower than before by more than {MAX_SLOWDOWN_US} µs/request (server CPU µs/req)",
              "met" if worst["cpu_delta_us"] <= MAX_SLOWDOWN_US else "MISSED",
              f"worst: {worst['route']} {worst['cpu_delta_us']:+.2f} µs/req; "
              + ", ".join(f"{r['route']} {r['cpu_delta_us']:+.2f}" for r in rows))
    else:
        check(f"no route slower than before by more than {MAX_SLOWDOWN_US} µs/request", "not measured",
              "no route was measured on both webstir and webstir (before)")
    db = [r for r in rows if r["route"].startswith("db-")]
    if db:
        slower = [r for r in db if r["cpu_delta_us"] > 0 or (r["rps_ratio"] is not None and r["rps_ratio"] < 1)]
        status = "met" if not slower else (
            "within run-to-run range" if all(r["overlap"] for r in slower) else "MISSED")
        check("DB routes not slower than before (CPU µs/req and req/s)", status,
              ", ".join(f"{r['route']} CPU {r['cpu_delta_us']:+.2f} µs/req, req/s ×{_f(r['rps_ratio'], 3)}" for r in db))
    else:
        check("DB routes not slower than before", "not measured", "no DB route measured on both")
    json_rows = [(n, _row(result, "webstir", n)) for n in CHANGE_JSON_ROUTES]
    json_rows = [(n, r["cpu_ratio_to_bare"]) for n, r in json_rows if r and r["cpu_ratio_to_bare"] is not None]
    if json_rows:
        n, v = max(json_rows, key=lambda x: x[1])
        check(f"JSON routes ({', '.join(CHANGE_JSON_ROUTES)}) CPU µs/req ≤ {CHANGE_JSON_CPU_RATIO}× bare hyper (after)",
              "met" if v <= CHANGE_JSON_CPU_RATIO else "MISSED",
              f"worst: {n} {v:.2f}; " + ", ".join(f"{a} {b:.2f}" for a, b in json_rows))
    else:
        check(f"JSON routes CPU µs/req ≤ {CHANGE_JSON_CPU_RATIO}× bare hyper", "not measured", "")
    return {"before": result["meta"]["before"], "after": result["meta"].get("after"), "rows": rows,
            "checks": checks}


def _row(result, server, route):
    for r in result["results"]:
        if r["server"] == server and r["route"] == route:
            return r
    return None


def _srv(result, server):
    for s in result["servers"]:
        if s["server"] == server:
            return s
    return None


def _status(value, must, target, higher_is_better):
    if value is None:
        return "not measured"
    ok = (lambda v, t: v >= t) if higher_is_better else (lambda v, t: v <= t)
    if ok(value, target):
        return "met"
    if must is not None and ok(value, must):
        return "must met, target missed"
    return "MISSED"


def goals(result):
    out = []

    def add(goal, definition, value, must, target, higher, detail=""):
        out.append({
            "goal": goal, "definition": definition, "value": _r(value, 3), "must": must, "target": target,
            "status": _status(value, must, target, higher), "detail": detail,
        })

    def worst(key, routes, higher):
        vals = [(r, _row(result, "webstir", r)) for r in routes]
        vals = [(r, row[key]) for r, row in vals if row and row[key] is not None]
        if not vals:
            return None, ""
        r, v = (min if higher else max)(vals, key=lambda x: x[1])
        return v, f"worst route: {r}; " + ", ".join(f"{n} {x:.2f}" for n, x in vals)

    v, d = worst("ratio_to_bare", JSON_ROUTES, True)
    add("G1", "JSON routes req/s ÷ bare hyper", v, 0.8, 0.9, True, d)
    v, d = worst("cpu_ratio_to_bare", JSON_ROUTES, False)
    add("G2", "JSON routes CPU µs/req ÷ bare hyper", v, 1.25, 1.1, False, d)
    v, d = worst("p99_ratio_to_bare", JSON_ROUTES, False)
    add("G3", "JSON routes p99 ÷ bare hyper", v, 1.5, 1.2, False, d)
    log_row = _row(result, "webstir-log", "hello")
    add("G4", "access log on (/api/hello): CPU µs/req ÷ bare hyper",
        log_row and log_row["cpu_ratio_to_bare"], 1.6, 1.4, False)
    pg = _row(result, "webstir", "db-pg")
    add("G5", "PostgreSQL row req/s ÷ bare hyper + one pipelined tokio-postgres client",
        pg and pg["ratio_to_bare"], 0.7, 0.85, True)
    sq = _row(result, "webstir", "db-sqlite")
    add("G6", "SQLite row req/s ÷ bare hyper + rusqlite inline", sq and sq["ratio_to_bare"], 0.7, 0.85, True)
    w, b = _srv(result, "webstir"), _srv(result, "bare")
    if w and b and w["cold_start_ms"] is not None and b["cold_start_ms"] is not None:
        add("G11", "cold start − bare hyper's (ms, no DB)", w["cold_start_ms"] - b["cold_start_ms"], None, 2.0, False,
            f"webstir {w['cold_start_ms']} ms, bare {b['cold_start_ms']} ms")
    else:
        add("G11", "cold start − bare hyper's (ms, no DB)", None, None, 2.0, False)
    if w and b:
        add("G12", "idle RSS (no DB) ÷ bare hyper", _ratio(w["idle_rss_mib"], b["idle_rss_mib"]), 2.0, 1.5, False,
            f"webstir {w['idle_rss_mib']} MiB, bare {b['idle_rss_mib']} MiB")
        add("G13", "RSS under 64 connections ÷ bare hyper", _ratio(w["load_rss_mib"], b["load_rss_mib"]), 2.5, 1.75,
            False, f"webstir {w['load_rss_mib']} MiB, bare {b['load_rss_mib']} MiB")
        # G14 is about the hello world with only the features it uses: --no-default-features once the
        # runtime has cargo features, else the default build.
        wh, bh, which = w["hello_world_size_bytes"], b["hello_world_size_bytes"], "default features"
        nd = next((h for h in result["hello_world"] if h["key"] == "webstir-no-default" and h["size_bytes"]), None)
        if nd:
            wh, which = nd["size_bytes"], "--no-default-features"
        add("G14", "stripped hello-world binary ÷ bare hyper's", _ratio(wh, bh), 3.0, 2.5, False,
            f"webstir ({which}) {wh:,} B, hyper {bh:,} B" if wh and bh else "")
    # G15: against the JS peers, on every row both serve.
    peer_ratios, p99_worse = [], []
    for r in result["results"]:
        if r["server"] not in ("bun", "fastify"):
            continue
        mine = _row(result, "webstir", r["route"])
        if not mine or not r["rps_median"]:
            continue
        peer_ratios.append((f"{r['route']} vs {r['server']}", mine["rps_median"] / r["rps_median"]))
        if mine["p99_ms"] is not None and r["p99_ms"] is not None and mine["p99_ms"] > r["p99_ms"]:
            p99_worse.append(f"{r['route']} vs {r['server']}")
    if peer_ratios:
        name, v = min(peer_ratios, key=lambda x: x[1])
        add("G15", "webstir req/s ÷ JS peer (webstir/Bun, Fastify), worst row", v, 2.0, 3.0, True,
            f"worst: {name}; " + ", ".join(f"{n} {x:.2f}" for n, x in peer_ratios))
        out.append({"goal": "G15b", "definition": "p99 equal or lower than every JS peer on every row",
                    "value": len(p99_worse), "must": 0, "target": 0,
                    "status": "met" if not p99_worse else "MISSED",
                    "detail": ("higher p99 on: " + ", ".join(p99_worse)) if p99_worse else ""})
    return out


def _f(x, nd=0, dash="–"):
    if x is None:
        return dash
    return f"{x:,.{nd}f}"


def _size(b):
    if not b:
        return "–"
    return f"{b / 1e6:.2f} MB"


def markdown(result):
    m = result["meta"]
    lines = [
        f"# webstir bench: {m['date']} ({m['mode']})",
        "",
        f"Machine: {m['machine']}. Tools: " + ", ".join(m["tools"].values()) + ".",
        f"Method: server (and our PostgreSQL backends) on CPU {m['server_cpu']}, "
        f"`wrk -t1 -c{m['connections']} -d{m['duration_s']}s` on CPU {m['client_cpu']} after a {m['warmup_s']} s warm-up; "
        f"{m['rounds']} interleaved round(s); medians (min–max); runs with foreign load > {m['foreign_limit_cores']} cores "
        f"repeated (bounded). Measuring took {m['bench_seconds'] / 60:.1f} min.",
        "",
        "| route | server | req/s median (min–max) | p50 ms | p99 ms median (min–max) | server CPU µs/req (min–max) "
        "| ×bare req/s | ×bare CPU/req | ×bare p99 | wrk cores | max foreign |",
        "|---|---|---|---:|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in result["results"]:
        lines.append(
            f"| {r['route']} | {r['label']} | {_f(r['rps_median'])} ({_f(r['rps_min'])}–{_f(r['rps_max'])}) "
            f"| {_f(r['p50_ms'], 2)} | {_f(r['p99_ms'], 2)} ({_f(r['p99_min_ms'], 2)}–{_f(r['p99_max_ms'], 2)}) "
            f"| {_f(r['cpu_us_per_req'], 1)} ({_f(r['cpu_us_per_req_min'], 1)}–{_f(r['cpu_us_per_req_max'], 1)})"
            + (f" +PG {_f(r['pg_cpu_us_per_req'], 1)}" if r["pg_cpu_us_per_req"] else "")
            + f" | {_f(r['ratio_to_bare'], 2)} | {_f(r['cpu_ratio_to_bare'], 2)} | {_f(r['p99_ratio_to_bare'], 2)} "
            f"| {_f(r['wrk_cores'], 2)} | {_f(r['foreign_cores_max'], 2)}"
            + (f" ⚠ {r['errors']} errors" if r["errors"] else "") + " |"
        )
    lines += [
        "",
        "| server | cold start ms median (min–max) | idle RSS MiB (no DB / SQLite open) | RSS under load MiB (mid-run / peak) | size |",
        "|---|---|---|---|---|",
    ]
    for s in result["servers"]:
        cold = "–"
        if s["cold_start_ms"] is not None:
            cold = f"{_f(s['cold_start_ms'], 1)} ({_f(s['cold_start_min_ms'], 1)}–{_f(s['cold_start_max_ms'], 1)})"
        size = _size(s["size_bytes"]) + (f" ({s['size_note']})" if s["size_note"] else "")
        if s["hello_world_size_bytes"]:
            size += f"; hello world {_size(s['hello_world_size_bytes'])}"
        lines.append(
            f"| {s['label']} | {cold} | {_f(s['idle_rss_mib'], 1)} / {_f(s['idle_rss_db_mib'], 1)} "
            f"| {_f(s['load_rss_mib'], 1)} / {_f(s['peak_rss_mib'], 1)} | {size} |"
        )
    if result.get("hello_world"):
        lines += ["", "| hello world | build | stripped size | ×bare hyper's | idle RSS MiB | ×bare hyper's | cold start ms |",
                  "|---|---|---:|---:|---:|---:|---:|"]
        for h in result["hello_world"]:
            if not h["size_bytes"]:
                lines.append(f"| {h['label']} | {h['flags']} | {h['note'] or 'not available'} | | | | |")
                continue
            lines.append(f"| {h['label']} | {h['flags']} | {_size(h['size_bytes'])} | {_f(h['size_ratio_to_bare'], 2)} "
                         f"| {_f(h['idle_rss_mib'], 1)} | {_f(h['idle_rss_ratio_to_bare'], 2)} | {_f(h['cold_start_ms'], 1)} |")
    ba = result.get("before_after")
    if ba:
        lines += ["", before_after_markdown(ba)]
    lines += ["", "| goal | webstir vs … | measured | must / target | status |", "|---|---|---:|---|---|"]
    for g in result["goals"]:
        must = "–" if g["must"] is None else g["must"]
        detail = f" ({g['detail']})" if g["detail"] else ""
        lines.append(f"| {g['goal']} | {g['definition']}{detail} | {_f(g['value'], 2)} | {must} / {g['target']} "
                     f"| {g['status']} |")
    notes = list(m["notes"])
    notes.append("When bare hyper's wrk cores are ≥ 0.9 the req/s ratio is client-bound (one wrk core is the "
                 "ceiling); CPU µs/req is then the figure that separates servers.")
    lines += ["", "Notes:"] + [f"- {n}" for n in notes] + [""]
    return "\n".join(lines)


def before_after_markdown(ba):
    """The before/after section (also meant for the README's Performance section)."""
    b = ba["before"]
    lines = [
        f"### Before/after: webstir at {b['desc']} vs {ba['after']}",
        "",
        "Same run, same method: both builds are interleaved with bare hyper in every round.",
        "",
        "| route | CPU µs/req before (min–max) | after (min–max) | Δ µs/req | Δ % | req/s before | req/s after "
        "| ×bare CPU before | ×bare CPU after |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in ba["rows"]:
        lines.append(
            f"| {r['route']} | {_f(r['cpu_before'], 2)} ({_f(r['cpu_before_min'], 1)}–{_f(r['cpu_before_max'], 1)}) "
            f"| {_f(r['cpu_after'], 2)} ({_f(r['cpu_after_min'], 1)}–{_f(r['cpu_after_max'], 1)}) "
            f"| {r['cpu_delta_us']:+.2f} | {_f(r['cpu_delta_pct'], 1)} | {_f(r['rps_before'])} | {_f(r['rps_after'])} "
            f"| {_f(r['cpu_ratio_to_bare_before'], 2)} | {_f(r['cpu_ratio_to_bare_after'], 2)} |")
    lines.append("")
    for c in ba["checks"]:
        lines.append(f"- **{c['status']}**: {c['check']}" + (f" ({c['detail']})" if c["detail"] else ""))
    return "\n".join(lines)
