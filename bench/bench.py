#!/usr/bin/env python3
"""folio's benchmark: throughput, latency, first-load bytes, memory and cold start.

Run through `bench/run` (which checks the tools and builds the server if it is missing).
Everything happens on 127.0.0.1. Standard library only. This is a report, not a test: it
prints what it measured and never judges times.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import html.parser
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BIN = ROOT / "target" / "release" / "folio"
SITE = ROOT / "target" / "site"
HOST = "127.0.0.1"
KB = 1024  # bytes; budgets and sizes are printed in KB of 1024 bytes
JS_WASM_BUDGET = 100 * KB
CSS_BUDGET = 20 * KB


class BenchError(Exception):
    """A failure worth a one-line message rather than a traceback."""


def say(message: str) -> None:
    print(f"\033[1m==> {message}\033[0m", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# Child processes and cleanup


class Children:
    """The processes this run started, so that every exit path stops them.

    The state file (from bench/run) lists them too, so the shell can clean up if this
    process dies without running its own cleanup.
    """

    def __init__(self, state_file: str | None) -> None:
        self.state_file = Path(state_file) if state_file else None
        self.procs: dict[str, subprocess.Popen] = {}
        self.db_started = False
        self.db_env: dict[str, str] | None = None

    def _write_state(self) -> None:
        if not self.state_file:
            return
        lines = [f"pid {p.pid} {name}" for name, p in self.procs.items() if p.poll() is None]
        if self.db_started and self.db_env is not None:
            lines.append(f"db {self.db_env['FOLIO_DATA_DIR']}")
        self.state_file.write_text("".join(line + "\n" for line in lines))

    def add(self, name: str, proc: subprocess.Popen) -> None:
        self.procs[name] = proc
        self._write_state()

    def mark_db(self, started: bool, env: dict[str, str] | None = None) -> None:
        self.db_started = started
        if env is not None:
            self.db_env = env
        self._write_state()

    def stop(self, name: str, timeout: float = 20.0) -> float | None:
        """SIGTERM, wait; SIGKILL after `timeout`. Returns seconds to exit (None if not running)."""
        proc = self.procs.pop(name, None)
        if proc is None:
            return None
        took = None
        if proc.poll() is None:
            start = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
                took = time.monotonic() - start
            except subprocess.TimeoutExpired:
                say(f"{name} (pid {proc.pid}) did not exit {timeout:.0f} s after SIGTERM; killing it")
                proc.kill()
                proc.wait()
        self._write_state()
        return took

    def cleanup(self) -> None:
        for name in list(self.procs):
            try:
                self.stop(name)
            except Exception as error:  # keep cleaning up
                say(f"stopping {name} failed: {error}")
        if self.db_started and self.db_env is not None:
            result = subprocess.run(
                [str(BIN), "db", "stop"], cwd=ROOT, env=self.db_env,
                capture_output=True, text=True, timeout=90,
            )
            if result.returncode != 0:
                say(f"folio db stop failed: {result.stderr.strip() or result.stdout.strip()}")
            self.mark_db(False)
        if self.state_file and self.state_file.exists():
            self.state_file.write_text("")


def port_in_use(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((HOST, port)) == 0


# --------------------------------------------------------------------------------------------
# HTTP helpers (http.client does not decode bodies: byte counts are as served)


def http_get(port: int, path: str, headers: dict[str, str] | None = None, timeout: float = 10.0):
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        body = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body
    finally:
        conn.close()


def wait_http_ok(port: int, path: str, proc: subprocess.Popen | None, timeout: float,
                 interval: float = 0.005) -> float:
    """Polls until `path` answers 200. Returns the monotonic time of that answer."""
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise BenchError(f"the server exited with status {proc.returncode} before answering")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2.0)
            try:
                conn.request("GET", path)
                resp = conn.getresponse()
                resp.read()
                if resp.status == 200:
                    return time.monotonic()
            finally:
                conn.close()
        except (ConnectionError, OSError, http.client.HTTPException):
            pass
        if time.monotonic() > deadline:
            raise BenchError(f"http://{HOST}:{port}{path} did not answer 200 within {timeout:.0f} s")
        time.sleep(interval)


# --------------------------------------------------------------------------------------------
# Memory


def rss_kib(pid: int) -> dict[str, int] | None:
    """VmRSS and VmHWM (peak RSS) of one process, in KiB."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    out = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])
    return out


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of one process (all its threads), in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # After the command name: state is field 3, utime 14 and stime 15 (1-based, proc(5)).
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class RssSampler(threading.Thread):
    """Samples one process's VmRSS every `interval` seconds."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self.samples: list[int] = []
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            value = rss_kib(self.pid)
            if value and "VmRSS" in value:
                self.samples.append(value["VmRSS"])
            self._halt.wait(self.interval)

    def mark(self) -> int:
        return len(self.samples)

    def peak_since(self, mark: int) -> int | None:
        window = self.samples[mark:]
        return max(window) if window else None

    def halt(self) -> None:
        self._halt.set()
        self.join(timeout=2)


# --------------------------------------------------------------------------------------------
# wrk

UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def parse_duration_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text.strip())
    if not match:
        raise ValueError(f"unrecognised wrk duration {text!r}")
    return float(match.group(1)) * UNIT_MS[match.group(2)]


def parse_wrk(output: str) -> dict:
    result: dict = {"non_2xx_3xx": 0, "socket_errors": {"connect": 0, "read": 0, "write": 0, "timeout": 0}}
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if not match:
        raise BenchError("could not find Requests/sec in wrk's output:\n" + output)
    result["rps"] = float(match.group(1))
    for pct in ("50", "75", "90", "99"):
        match = re.search(rf"^\s+{pct}%\s+(\S+)\s*$", output, re.M)
        if match:
            result[f"p{pct}_ms"] = parse_duration_ms(match.group(1))
    if "p50_ms" not in result or "p99_ms" not in result:
        raise BenchError("could not find the 50%/99% latency lines in wrk's output:\n" + output)
    match = re.search(r"(\d+) requests in ([\d.]+\w+), ([\d.]+\w+) read", output)
    if match:
        result["requests"] = int(match.group(1))
        result["elapsed_ms"] = parse_duration_ms(match.group(2))
        result["read"] = match.group(3)
    match = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if match:
        result["non_2xx_3xx"] = int(match.group(1))
    match = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if match:
        result["socket_errors"] = dict(zip(("connect", "read", "write", "timeout"), map(int, match.groups())))
    match = re.search(r"Transfer/sec:\s+(\S+)", output)
    if match:
        result["transfer_per_sec"] = match.group(1)
    return result


def run_wrk(url: str, connections: int, seconds: int, threads: int, latency: bool,
            script: Path | None = None, env: dict[str, str] | None = None,
            headers: dict[str, str] | None = None) -> str:
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s"]
    if latency:
        cmd.append("--latency")
    for name, value in (headers or {}).items():
        cmd += ["-H", f"{name}: {value}"]
    if script is not None:
        cmd += ["-s", str(script)]
    cmd.append(url)
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60,
                            env={**os.environ, **(env or {})})
    if result.returncode != 0:
        raise BenchError(f"wrk failed ({' '.join(cmd)}):\n{result.stderr}{result.stdout}")
    return result.stdout


# --------------------------------------------------------------------------------------------
# Web Vitals ingest

INGEST_SCRIPT = HERE / "ingest.lua"


def psql_rows(db_url: str, sql: str) -> list[list[str]]:
    r = subprocess.run(["psql", db_url, "-X", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", sql],
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise BenchError(f"psql failed: {r.stderr.strip()}")
    return [line.split("\t") for line in r.stdout.splitlines() if line]


def run_ingest(port: int, connections: int, seconds: int, threads: int, per_beacon: int,
               db_url: str | None, tmp: Path) -> dict:
    """One wrk run of fresh beacons, then the loss count: every beacon answered 204 (wrk's
    script records their view ids from the echoed X-Request-Id) is looked up in the database,
    and each of its values that is not stored counts as lost."""
    run_id = f"b{int(time.time())}c{connections}"
    acked_file = tmp / f"acked-{run_id}.txt"
    env = {"INGEST_RUN": run_id, "INGEST_VALUES": str(per_beacon), "INGEST_ACKED": str(acked_file)}
    output = run_wrk(f"http://{HOST}:{port}/api/vitals", connections, seconds, threads, latency=True,
                     script=INGEST_SCRIPT, env=env)
    parsed = parse_wrk(output)
    acked = acked_file.read_text().split() if acked_file.exists() else []
    seconds_run = (parsed.get("elapsed_ms") or seconds * 1000) / 1000
    entry = {"run_id": run_id, "connections": connections, "values_per_beacon": per_beacon,
             "result": parsed, "wrk_output": output, "acked_beacons": len(acked),
             "acked_values": len(acked) * per_beacon,
             "values_per_s": len(acked) * per_beacon / seconds_run,
             "stored_values": None, "lost_values": None, "stored_unacknowledged": None}
    if db_url and shutil.which("psql"):
        time.sleep(0.5)  # commits of requests wrk left in flight (stored, never acknowledged)
        rows = psql_rows(db_url, f"select view_id, count(*) from vitals_metrics "
                                 f"where view_id like '{run_id}-%' group by view_id")
        stored = {view: int(n) for view, n in rows}
        acked_set = set(acked)
        entry["stored_values"] = sum(stored.values())
        entry["lost_values"] = sum(per_beacon - min(stored.get(view, 0), per_beacon) for view in acked_set)
        entry["stored_unacknowledged"] = sum(n for view, n in stored.items() if view not in acked_set)
    return entry


# --------------------------------------------------------------------------------------------
# First-load assets


class AssetFinder(html.parser.HTMLParser):
    """Finds the stylesheets, module scripts and WASM a page asks the browser to load: links,
    script sources, the islands loader's dynamic `import()` and WASM address, and inline
    `<style>` text (kept in `inline_css`)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.assets: list[tuple[str, str]] = []  # (kind, href)
        self.inline_css: list[str] = []
        self._in: str | None = None  # "style" or "script" while inside one

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "style":
            self.inline_css.append(data)
        elif self._in == "script":
            for href in re.findall(r"import\('([^']+\.js)'\)", data):
                self._add("js", href)
            for href in re.findall(r"module_or_path:'([^']+\.wasm)'", data):
                self._add("wasm", href)

    def _add(self, kind: str, href: str | None) -> None:
        if href and (kind, href) not in self.assets:
            self.assets.append((kind, href))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): (v or "") for k, v in attrs}
        if tag == "link":
            rel = a.get("rel", "").lower().split()
            href = a.get("href")
            if "stylesheet" in rel:
                self._add("css", href)
            elif "modulepreload" in rel:
                self._add("js", href)
            elif "preload" in rel:
                kind_as = a.get("as", "").lower()
                if kind_as == "fetch" and a.get("type", "").lower() == "application/wasm":
                    self._add("wasm", href)
                elif kind_as == "script":
                    self._add("js", href)
                elif kind_as == "style":
                    self._add("css", href)
        elif tag == "script" and a.get("src"):
            self._add("js", a["src"])
        elif tag == "script":
            self._in = "script"
        elif tag == "style":
            self._in = "style"


ENCODINGS = ("identity", "gzip", "br")


def measure_asset(port: int, path: str) -> dict:
    out = {}
    for enc in ENCODINGS:
        status, headers, body = http_get(port, path, {"Accept-Encoding": enc})
        if status != 200:
            raise BenchError(f"GET {path} (Accept-Encoding: {enc}) answered {status}")
        out[enc] = {
            "bytes": len(body),
            "content_length": int(headers["content-length"]) if "content-length" in headers else None,
            "content_encoding": headers.get("content-encoding", "identity"),
        }
    return out


def measure_text(data: bytes) -> dict:
    """Sizes of `data` as it would be sent: plain, gzip -9 and brotli (quality 11, via node)."""
    br = subprocess.run(
        ["node", "-e", "const z=require('zlib');const c=[];process.stdin.on('data',d=>c.push(d))"
         ".on('end',()=>process.stdout.write(String(z.brotliCompressSync(Buffer.concat(c),"
         "{params:{[z.constants.BROTLI_PARAM_QUALITY]:11}}).length)))"],
        input=data, capture_output=True, check=True).stdout
    sizes = {"identity": len(data), "gzip": len(gzip.compress(data, 9)), "br": int(br)}
    return {enc: {"bytes": n, "content_length": None, "content_encoding": enc} for enc, n in sizes.items()}


def first_load(port: int) -> dict:
    status, _, page = http_get(port, "/", {"Accept-Encoding": "identity"})
    if status != 200:
        raise BenchError(f"GET / answered {status}")
    finder = AssetFinder()
    finder.feed(page.decode("utf-8", "replace"))
    items = [{"kind": "html", "path": "/", "sizes": measure_asset(port, "/")}]
    if finder.inline_css:
        # Inline CSS travels inside the HTML (already counted there); it is also reported on its
        # own, compressed alone, against the CSS budget.
        items.append({"kind": "css", "path": "(inline <style>)", "inline": True,
                      "sizes": measure_text("".join(finder.inline_css).encode())})
    for kind, href in finder.assets:
        url = urllib.parse.urlsplit(urllib.parse.urljoin(f"http://{HOST}:{port}/", href))
        if url.hostname not in (HOST, "localhost") or url.port not in (port, None):
            say(f"skipping off-site asset {href}")
            continue
        path = url.path + (f"?{url.query}" if url.query else "")
        items.append({"kind": kind, "path": path, "sizes": measure_asset(port, path)})
    totals = {}
    for kind in ("html", "css", "js", "wasm"):
        totals[kind] = {enc: sum(i["sizes"][enc]["bytes"] for i in items if i["kind"] == kind) for enc in ENCODINGS}
    # What goes over the wire: inline CSS is inside the HTML already.
    totals["all"] = {enc: sum(i["sizes"][enc]["bytes"] for i in items if not i.get("inline")) for enc in ENCODINGS}
    js_wasm_br = totals["js"]["br"] + totals["wasm"]["br"]
    return {
        "items": items,
        "totals": totals,
        "budgets": {
            "js_wasm_br": {"bytes": js_wasm_br, "budget": JS_WASM_BUDGET, "fraction": js_wasm_br / JS_WASM_BUDGET},
            "css_br": {"bytes": totals["css"]["br"], "budget": CSS_BUDGET, "fraction": totals["css"]["br"] / CSS_BUDGET},
        },
        "missing_kinds": [k for k in ("css", "js", "wasm") if not any(i["kind"] == k for i in items)],
    }


# --------------------------------------------------------------------------------------------
# nginx

NGINX_CONF = """\
daemon off;
master_process on;
worker_processes 2;
{user}
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
worker_rlimit_nofile 8192;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    types {{ text/html html; text/plain txt; }}
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 65;
    keepalive_requests 1000000;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server {{
        listen {host}:{port} reuseport;
        root {tmp}/www;
        index index.html;
        location / {{ {compression} }}
    }}
}}
"""


def nginx_compression(nginx: str) -> str:
    """How nginx compresses the home page: `gzip_static` (sends index.html.gz, gzip -9, made
    here) if it was built with that module, else `gzip` (compresses every response, level 4)."""
    r = subprocess.run([nginx, "-V"], capture_output=True, text=True)
    return "gzip_static" if "--with-http_gzip_static_module" in r.stdout + r.stderr else "gzip"


def start_nginx(children: Children, nginx: str, tmp: Path, port: int, home: bytes, compression: str) -> None:
    """Serves `home` as / and favicon.svg. Requests without Accept-Encoding get the plain file
    either way; with gzip in Accept-Encoding, / is sent gzip-compressed (see nginx_compression)."""
    www = tmp / "www"
    www.mkdir()
    (www / "index.html").write_bytes(home)
    (www / "index.html.gz").write_bytes(gzip.compress(home, compresslevel=9, mtime=0))
    shutil.copy(SITE / "favicon.svg", www / "favicon.svg")
    user = "user root;" if os.geteuid() == 0 else ""
    # gzip_types always includes text/html (naming it again only earns a warning).
    directives = "gzip_static on;" if compression == "gzip_static" else "gzip on; gzip_comp_level 4;"
    conf = tmp / "nginx.conf"
    conf.write_text(NGINX_CONF.format(user=user, tmp=tmp, host=HOST, port=port, compression=directives))
    log = open(tmp / "nginx-stderr.log", "wb")
    proc = subprocess.Popen(
        [nginx, "-p", str(tmp), "-c", str(conf), "-e", str(tmp / "nginx-error.log")],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    children.add("nginx", proc)
    try:
        wait_http_ok(port, "/", proc, timeout=15, interval=0.05)
    except BenchError as error:
        detail = (tmp / "nginx-error.log").read_text(errors="replace") if (tmp / "nginx-error.log").exists() else ""
        raise BenchError(f"nginx did not start: {error}\n{detail}") from None


BROWSER_ACCEPT_ENCODING = "gzip, deflate, br, zstd"  # what Chrome and Firefox send


def compressed_vs_nginx(proc: subprocess.Popen, port: int, nginx_port: int, path: str, connections: int,
                        seconds: int, warmup: int, threads: int, nginx_mode: str) -> dict:
    """folio and nginx answering `path` as a browser asks for it: one request each to record
    the encoding and body size that came back, then a wrk run each with the same header."""
    headers = {"Accept-Encoding": BROWSER_ACCEPT_ENCODING}
    entry: dict = {"path": path, "connections": connections, "accept_encoding": BROWSER_ACCEPT_ENCODING,
                   "nginx_compression": nginx_mode}
    servers = (("folio", port), ("nginx", nginx_port))
    for server, p in servers:
        status, answer, body = http_get(p, path, headers)
        if status != 200:
            raise BenchError(f"{server}: GET {path} (Accept-Encoding: {BROWSER_ACCEPT_ENCODING}) answered {status}")
        entry[f"{server}_encoding"] = answer.get("content-encoding", "identity")
        entry[f"{server}_bytes"] = len(body)
    for server, p in servers:
        url = f"http://{HOST}:{p}{path}"
        if warmup > 0:
            run_wrk(url, connections, warmup, threads, latency=False, headers=headers)
        output = run_wrk(url, connections, seconds, threads, latency=True, headers=headers)
        if proc.poll() is not None:
            raise BenchError(f"folio exited with status {proc.returncode} during the compressed runs; "
                             "see bench/results/logs/folio.log")
        entry[server] = {"result": parse_wrk(output), "wrk_output": output}
    folio_rps, nginx_rps = entry["folio"]["result"]["rps"], entry["nginx"]["result"]["rps"]
    entry.update(folio_rps=folio_rps, nginx_rps=nginx_rps, fraction=folio_rps / nginx_rps if nginx_rps else None)
    return entry


# --------------------------------------------------------------------------------------------
# folio


def folio_env(data_dir: str, port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    env.update({
        "FOLIO_DATA_DIR": data_dir,
        "LEPTOS_SITE_ADDR": f"{HOST}:{port}",
        "RUST_LOG": "warn",
        "FOLIO_LOG_FORMAT": "text",
        # The ingest phase posts every beacon from 127.0.0.1, one client address.
        "FOLIO_VITALS_LIMIT_PER_MINUTE": "1000000000",
    })
    return env


def start_folio(children: Children, env: dict[str, str], log_path: Path, name: str = "folio") -> subprocess.Popen:
    log = open(log_path, "ab")
    proc = subprocess.Popen([str(BIN)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    log.close()
    children.add(name, proc)
    return proc


DEMO_TAGS = ["rust", "leptos", "postgres", "wasm", "design", "ops"]


def seed_sql(rows: int) -> str:
    values = []
    for i in range(1, rows + 1):
        tags = "{" + ",".join(DEMO_TAGS[(i + k) % len(DEMO_TAGS)] for k in range(3)) + "}"
        summary = (f"Benchmark demo project {i}: a short summary of the kind a portfolio shows, "
                   f"long enough to wrap over two lines on a narrow screen.")
        values.append(
            f"('bench-demo-{i}', 'Demo project {i}', '{summary}', "
            f"'Body of demo project {i}.', {2012 + i % 13}, '{tags}', {str(i <= 3).lower()}, {i}, now() - interval '{i} days')"
        )
    return ("insert into projects (slug, title, summary, body, year, tags, featured, sort_order, published_at) values\n"
            + ",\n".join(values) + "\non conflict (slug) do nothing;")


# --------------------------------------------------------------------------------------------
# Output


def fmt_ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 1000:.0f} us" if value < 1 else f"{value:.2f} ms"


def fmt_kb(n: int) -> str:
    return f"{n / KB:.1f} KB"


def fmt_mib(kib: int | None) -> str:
    return "-" if kib is None else f"{kib / 1024:.1f} MiB"


def table(rows: list[list[str]], header: list[str], right: set[int] | None = None) -> str:
    right = right if right is not None else set(range(1, len(header)))
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(r):
        return "  ".join(str(c).rjust(w) if i in right else str(c).ljust(w) for i, (c, w) in enumerate(zip(r, widths)))
    return "\n".join(["  " + line(header), "  " + "  ".join("-" * w for w in widths),
                      *("  " + line(r) for r in rows)])


def render(report: dict) -> str:
    out = []
    m = report["machine"]
    out.append(f"folio benchmark  {report['started']}  commit {m['git_commit'][:12]}{' (dirty)' if m['git_dirty'] else ''}")
    out.append(f"machine: {m['nproc']} CPUs ({m['cpu_model']}), {m['mem_total_mib']} MiB RAM, {m['kernel']}; "
               f"wrk {report['settings']['threads']} threads, {report['settings']['seconds']} s runs "
               f"after {report['settings']['warmup_seconds']} s warmup; client and servers share the machine")
    busy = m.get("cpu_busy_before_start")
    if busy is not None:
        out.append(f"CPU busy with other work in the second before the run: {busy * 100:.0f}%"
                   + (" (expect noisy numbers)" if busy > 0.15 else ""))
    out.append("")

    out.append("1-3. Throughput and latency (wrk, keep-alive, no Accept-Encoding: uncompressed bodies)")
    rows = []
    for run in report["load"]:
        r = run["result"]
        errors = sum(r["socket_errors"].values())
        rows.append([run["label"], str(run["connections"]), f"{r['rps']:,.0f}", fmt_ms(r["p50_ms"]), fmt_ms(r["p99_ms"]),
                     str(r["non_2xx_3xx"]), str(errors),
                     f"{run['folio_cpu_pct']:.0f}%" if run.get("folio_cpu_pct") is not None else "",
                     fmt_mib(run.get("folio_rss_peak_kib")) if run["server"] == "folio" else ""])
    out.append(table(rows, ["target", "conns", "req/s", "p50", "p99", "non-2xx", "sock err", "folio CPU", "folio RSS peak"]))
    out.append(f"   (folio CPU: user+system time of the folio process over the run; 100% = one of {report['machine']['nproc']} CPUs)")
    out.append("")
    out.append("   folio vs nginx (same bytes from disk), req/s")
    rows = []
    for cmp in report["vs_nginx"]:
        rows.append([cmp["path"], str(cmp["connections"]), f"{cmp['folio_rps']:,.0f}", f"{cmp['nginx_rps']:,.0f}",
                     f"{cmp['fraction']:.2f}"])
    out.append(table(rows, ["path", "conns", "folio", "nginx", "folio/nginx"]))
    out.append("")
    runs = report["compressed_vs_nginx"]
    nginx_how = {"gzip_static": "gzip_static, a copy made once with gzip -9"}.get(runs[0]["nginx_compression"],
                                                                               "gzip on, level 4, every request")
    out.append(f"   folio vs nginx as a browser asks (Accept-Encoding: {runs[0]['accept_encoding']}; nginx: {nginx_how})")
    rows = []
    for cmp in runs:
        rows.append([cmp["path"], str(cmp["connections"]), f"{cmp['folio_encoding']} / {cmp['nginx_encoding']}",
                     f"{cmp['folio_bytes']:,} / {cmp['nginx_bytes']:,}", f"{cmp['folio_rps']:,.0f}",
                     f"{cmp['nginx_rps']:,.0f}", f"{cmp['fraction']:.2f}", fmt_ms(cmp["folio"]["result"]["p99_ms"])])
    out.append(table(rows, ["path", "conns", "encoding (folio / nginx)", "bytes (folio / nginx)", "folio req/s",
                            "nginx req/s", "folio/nginx", "folio p99"]))
    out.append("   (encoding and bytes: the answer to one request before the runs, body as sent, not decoded)")
    out.append("")

    fl = report["first_load"]
    projects = report.get("published_projects")
    out.append("4. First load of / for an anonymous visitor (bytes as served"
               + (f"; {projects} published projects in the database)" if projects is not None else ")"))
    rows = []
    for item in fl["items"]:
        s = item["sizes"]
        rows.append([item["kind"], item["path"]] + [f"{s[e]['bytes']:,}" + ("" if s[e]["content_encoding"] == e or e == "identity" else f" ({s[e]['content_encoding']})") for e in ENCODINGS])
    out.append(table(rows, ["type", "url", "raw", "gzip", "br"], right={2, 3, 4}))
    out.append("")
    rows = []
    for kind in ("html", "css", "js", "wasm", "all"):
        t = fl["totals"][kind]
        rows.append([kind] + [f"{t[e]:,} B ({fmt_kb(t[e])})" for e in ENCODINGS])
    out.append(table(rows, ["total", "raw", "gzip", "br"]))
    b = fl["budgets"]
    out.append(f"   JS+WASM brotli: {fmt_kb(b['js_wasm_br']['bytes'])} of the {fmt_kb(b['js_wasm_br']['budget'])} budget "
               f"({b['js_wasm_br']['fraction'] * 100:.0f}%)")
    out.append(f"   CSS brotli:     {fmt_kb(b['css_br']['bytes'])} of the {fmt_kb(b['css_br']['budget'])} budget "
               f"({b['css_br']['fraction'] * 100:.0f}%)")
    if fl["missing_kinds"]:
        out.append(f"   note: the page links no {', '.join(fl['missing_kinds'])}")
    out.append("   (KB = 1024 bytes; a size shown with an encoding in brackets is what came back for that request)")
    out.append("")

    mem = report["memory"]
    out.append("5. folio resident memory (VmRSS of the folio process; PostgreSQL not included)")
    rows = [
        ["idle after start and a few requests", fmt_mib(mem["idle_kib"])],
        ["peak sampled during load (every 200 ms)", fmt_mib(mem["load_peak_kib"])],
        ["idle after the load runs", fmt_mib(mem["after_load_kib"])],
        ["kernel high-water mark (VmHWM) at the end", fmt_mib(mem["hwm_kib"])],
    ]
    out.append(table(rows, ["when", "RSS"]))
    out.append("")

    cs = report["cold_start"]
    out.append(f"6. Cold start: exec of the server to the first 200 from / (database already running, {len(cs['runs_ms'])} launches)")
    out.append(table([[fmt_ms(cs["median_ms"]), fmt_ms(cs["min_ms"]), fmt_ms(cs["max_ms"]),
                       ", ".join(f"{x:.0f}" for x in cs["runs_ms"]) + " ms",
                       fmt_ms(cs["stop_median_ms"])]],
                     ["median", "min", "max", "each", "SIGTERM to exit (median)"], right={0, 1, 2, 4}))
    out.append("")
    out.append(f"7. Web Vitals ingest (POST /api/vitals, {report['settings']['ingest_values']} values a beacon, every id new; "
               "acknowledged = answered 204)")
    rows = []
    for run in report["ingest"]:
        r = run["result"]
        errors = sum(r["socket_errors"].values())
        unknown = "?"
        rows.append([str(run["connections"]), f"{r['rps']:,.0f}", f"{run['values_per_s']:,.0f}", fmt_ms(r["p50_ms"]),
                     fmt_ms(r["p99_ms"]), f"{run['acked_values']:,}",
                     unknown if run["stored_values"] is None else f"{run['stored_values']:,}",
                     unknown if run["lost_values"] is None else str(run["lost_values"]),
                     str(r["non_2xx_3xx"]), str(errors),
                     f"{run['folio_cpu_pct']:.0f}%" if run.get("folio_cpu_pct") is not None else "",
                     fmt_mib(run.get("folio_rss_peak_kib"))])
    out.append(table(rows, ["conns", "beacons/s", "values/s", "p50", "p99", "acked values", "stored", "lost",
                            "non-2xx", "sock err", "folio CPU", "folio RSS peak"]))
    out.append("   (lost: values of acknowledged beacons missing from vitals_metrics; stored may exceed acked by the")
    out.append("    beacons still in flight when wrk stopped, committed but never answered)")
    if report["server_log"]["lines"]:
        out.append("")
        out.append(f"Server log: {report['server_log']['errors']} error and {report['server_log']['warnings']} warning lines "
                   f"(RUST_LOG=warn); first ones:")
        for line in report["server_log"]["lines"][:8]:
            out.append("   " + line[:200])
    out.append("")
    out.append(f"Total time {report['elapsed_s']:.0f} s. JSON: {report['json_path']}")
    return "\n".join(out)


# --------------------------------------------------------------------------------------------
# Machine


def loadavg() -> list[float] | None:
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except (OSError, ValueError):
        return None


def cpu_busy(seconds: float = 1.0) -> float | None:
    """The fraction of all CPUs busy over `seconds`, from /proc/stat: other work on the machine."""
    def snap():
        values = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
        return sum(values[:8]), idle
    try:
        total0, idle0 = snap()
        time.sleep(seconds)
        total1, idle1 = snap()
    except (OSError, ValueError, IndexError):
        return None
    return 1 - (idle1 - idle0) / (total1 - total0) if total1 > total0 else None


def machine_info() -> dict:
    def git(*args):
        r = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return r.stdout.strip() if r.returncode == 0 else ""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) // 1024
    except OSError:
        pass
    versions = {}
    for name, cmd in (("wrk", ["wrk", "--version"]), ("nginx", ["nginx", "-v"])):
        try:
            r = subprocess.run(cmd, capture_output=True, text=True)
            versions[name] = (r.stdout + r.stderr).strip().splitlines()[0]
        except (OSError, IndexError):
            versions[name] = ""
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu,
        "mem_total_mib": mem,
        "kernel": platform.release(),
        "hostname": platform.node(),
        "git_commit": git("rev-parse", "HEAD") or "unknown",
        "git_dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
        "binary_mtime": dt.datetime.fromtimestamp(BIN.stat().st_mtime, dt.timezone.utc).isoformat(timespec="seconds"),
        "binary_bytes": BIN.stat().st_size,
        "tools": versions,
        "loadavg_at_start": loadavg(),
        "cpu_busy_before_start": cpu_busy(),
    }


# --------------------------------------------------------------------------------------------
# Main


def main() -> int:
    parser = argparse.ArgumentParser(prog="bench/run", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="short runs (about a minute in all)")
    parser.add_argument("--seconds", type=int, help="length of each measured wrk run (default 15, quick 4)")
    parser.add_argument("--warmup", type=int, help="warmup before each wrk run, seconds (default 2, quick 1)")
    parser.add_argument("--connections", default="64,256", help="comma-separated connection counts (default 64,256)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--launches", type=int, default=5, help="cold-start launches (default 5)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", 3200)),
                        help="folio's port; nginx uses the next one (default 3200, or $BENCH_PORT)")
    parser.add_argument("--data-dir", default="target/bench-data", help="FOLIO_DATA_DIR, repo-relative (default target/bench-data)")
    parser.add_argument("--ingest-values", type=int, default=10, help="Web Vitals values in each beacon of the ingest runs (default 10; at most 50)")
    parser.add_argument("--ingest-connections", default="16,32,64", help="comma-separated connection counts of the ingest runs (default 16,32,64)")
    parser.add_argument("--rows", type=int, default=12, help="demo projects to make sure exist (default 12; 0: none)")
    parser.add_argument("--out", default=str(HERE / "results" / "latest.json"), help="where to write the JSON")
    parser.add_argument("--keep-tmp", action="store_true", help="keep the temporary folder (nginx config, logs)")
    args = parser.parse_args()

    seconds = args.seconds or (4 if args.quick else 15)
    warmup = args.warmup if args.warmup is not None else (1 if args.quick else 2)
    conns = [int(c) for c in args.connections.split(",") if c.strip()]
    ingest_conns = [int(c) for c in args.ingest_connections.split(",") if c.strip()]
    port, nginx_port = args.port, args.port + 1
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
    for tool, path in (("wrk", shutil.which("wrk")), ("nginx", nginx)):
        if not path:
            raise BenchError(f"{tool} is missing: apt-get install wrk nginx-light")
    if not BIN.is_file():
        raise BenchError(f"{BIN} is missing: build it with bench/run (or scripts/lib.sh build_release)")
    if not (SITE / "pkg").is_dir():
        raise BenchError(f"{SITE / 'pkg'} is missing: the site was not built (cargo leptos build --release --precompress)")
    for p in (port, nginx_port):
        if port_in_use(p):
            raise BenchError(f"port {p} on {HOST} is already in use; pick others with --port")

    started_wall = dt.datetime.now(dt.timezone.utc)
    t_start = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="folio-bench-"))
    logs_dir = HERE / "results" / "logs"
    logs_dir.mkdir(parents=True, exist_ok=True)
    for old in logs_dir.glob("*.log"):
        old.unlink()
    folio_log = logs_dir / "folio.log"
    children = Children(os.environ.get("BENCH_STATE_FILE"))
    env = folio_env(args.data_dir, port)
    report: dict = {
        "started": started_wall.isoformat(timespec="seconds"),
        "settings": {"quick": args.quick, "seconds": seconds, "warmup_seconds": warmup, "connections": conns,
                     "threads": args.threads, "launches": args.launches, "port": port, "nginx_port": nginx_port,
                     "data_dir": args.data_dir, "demo_rows": args.rows, "ingest_values": args.ingest_values,
                     "ingest_connections": ingest_conns},
    }

    def on_term(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_term)

    try:
        report["machine"] = machine_info()

        # The database stays up for the whole run; every server launch reuses it.
        say("starting the embedded database (folio db start)")
        children.mark_db(True, env)
        result = subprocess.run([str(BIN), "db", "start"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
        if result.returncode != 0:
            raise BenchError(f"folio db start failed:\n{result.stderr}{result.stdout}")
        db_url = result.stdout.strip().splitlines()[-1]

        say(f"starting folio on {HOST}:{port}")
        launch = time.monotonic()
        proc = start_folio(children, env, folio_log)
        wait_http_ok(port, "/healthz", proc, timeout=120, interval=0.02)
        say(f"folio is up ({time.monotonic() - launch:.2f} s, migrations included)")

        if args.rows > 0:
            if shutil.which("psql"):
                r = subprocess.run(["psql", db_url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", seed_sql(args.rows)],
                                   capture_output=True, text=True, timeout=60)
                if r.returncode != 0:
                    say(f"inserting demo projects failed (continuing): {r.stderr.strip()}")
            else:
                say("psql not found: the home page has no demo projects")
        r = subprocess.run(["psql", db_url, "-X", "-At", "-c", "select count(*) from projects where published_at <= now()"],
                           capture_output=True, text=True) if shutil.which("psql") else None
        report["published_projects"] = int(r.stdout.strip()) if r and r.returncode == 0 and r.stdout.strip().isdigit() else None

        # A few requests, then idle memory.
        for path in ("/", "/favicon.svg", "/", "/healthz", "/"):
            status, _, _ = http_get(port, path)
            if status != 200:
                raise BenchError(f"GET {path} answered {status}")
        time.sleep(1.0)
        idle = rss_kib(proc.pid) or {}

        say("measuring first-load bytes")
        report["first_load"] = first_load(port)

        status, _, home = http_get(port, "/", {"Accept-Encoding": "identity"})
        compression = nginx_compression(nginx)
        say(f"starting nginx on {HOST}:{nginx_port} with the same home page ({len(home):,} bytes; {compression})")
        start_nginx(children, nginx, tmp, nginx_port, home, compression)
        _, _, nginx_home = http_get(nginx_port, "/")
        if len(nginx_home) != len(home):
            raise BenchError(f"nginx serves {len(nginx_home)} bytes for / but folio served {len(home)}")

        targets = [("folio", port, "/"), ("nginx", nginx_port, "/"), ("folio", port, "/favicon.svg"),
                   ("nginx", nginx_port, "/favicon.svg")]
        sampler = RssSampler(proc.pid)
        sampler.start()
        load = []
        total_runs = len(conns) * len(targets)
        say(f"{total_runs} wrk runs of {seconds} s (+{warmup} s warmup each): about {total_runs * (seconds + warmup)} s")
        for c in conns:
            for server, p, path in targets:
                url = f"http://{HOST}:{p}{path}"
                if warmup > 0:
                    run_wrk(url, c, warmup, args.threads, latency=False)
                mark = sampler.mark()
                cpu0, wall0 = cpu_seconds(proc.pid), time.monotonic()
                output = run_wrk(url, c, seconds, args.threads, latency=True)
                cpu1, wall1 = cpu_seconds(proc.pid), time.monotonic()
                if proc.poll() is not None:
                    raise BenchError(f"folio exited with status {proc.returncode} during the load runs; see {folio_log}")
                parsed = parse_wrk(output)
                entry = {"label": f"{server} {path}", "server": server, "path": path, "connections": c,
                         "result": parsed, "wrk_output": output}
                if server == "folio":
                    entry["folio_rss_peak_kib"] = sampler.peak_since(mark)
                    entry["folio_rss_end_kib"] = (rss_kib(proc.pid) or {}).get("VmRSS")
                    if cpu0 is not None and cpu1 is not None:
                        used = cpu1 - cpu0
                        entry["folio_cpu_s"] = used
                        entry["folio_cpu_pct"] = 100 * used / (wall1 - wall0)
                        entry["folio_cpu_us_per_req"] = 1e6 * used / parsed["requests"] if parsed.get("requests") else None
                load.append(entry)
                say(f"{server} {path} c={c}: {parsed['rps']:,.0f} req/s, p50 {fmt_ms(parsed['p50_ms'])}, p99 {fmt_ms(parsed['p99_ms'])}")
        say(f"2 wrk runs of / with Accept-Encoding: {BROWSER_ACCEPT_ENCODING} (nginx: {compression}), "
            f"{seconds} s (+{warmup} s warmup each)")
        compressed = compressed_vs_nginx(proc, port, nginx_port, "/", 64, seconds, warmup, args.threads, compression)
        for server in ("folio", "nginx"):
            r = compressed[server]["result"]
            say(f"{server} / c=64 ({compressed[f'{server}_encoding']}, {compressed[f'{server}_bytes']:,} bytes): "
                f"{r['rps']:,.0f} req/s, p50 {fmt_ms(r['p50_ms'])}, p99 {fmt_ms(r['p99_ms'])}")
        ingest = []
        say(f"{len(ingest_conns)} ingest runs of {seconds} s (+{warmup} s warmup each), {args.ingest_values} values a beacon")
        for c in ingest_conns:
            if warmup > 0:
                run_ingest(port, c, warmup, args.threads, args.ingest_values, None, tmp)
            mark = sampler.mark()
            cpu0, wall0 = cpu_seconds(proc.pid), time.monotonic()
            entry = run_ingest(port, c, seconds, args.threads, args.ingest_values, db_url, tmp)
            cpu1, wall1 = cpu_seconds(proc.pid), time.monotonic()
            if proc.poll() is not None:
                raise BenchError(f"folio exited with status {proc.returncode} during the ingest runs; see {folio_log}")
            entry["folio_rss_peak_kib"] = sampler.peak_since(mark)
            if cpu0 is not None and cpu1 is not None:
                entry["folio_cpu_pct"] = 100 * (cpu1 - cpu0) / (wall1 - wall0)
            ingest.append(entry)
            r = entry["result"]
            lost = "unknown (no psql)" if entry["lost_values"] is None else str(entry["lost_values"])
            say(f"ingest c={c}: {entry['values_per_s']:,.0f} values/s, p99 {fmt_ms(r['p99_ms'])}, lost {lost}")
        report["ingest"] = ingest
        sampler.halt()
        report["load"] = load
        report["vs_nginx"] = []
        for c in conns:
            for path in ("/", "/favicon.svg"):
                f = next(x for x in load if x["server"] == "folio" and x["path"] == path and x["connections"] == c)
                n = next(x for x in load if x["server"] == "nginx" and x["path"] == path and x["connections"] == c)
                report["vs_nginx"].append({"path": path, "connections": c, "folio_rps": f["result"]["rps"],
                                           "nginx_rps": n["result"]["rps"],
                                           "fraction": f["result"]["rps"] / n["result"]["rps"] if n["result"]["rps"] else None})
        report["compressed_vs_nginx"] = [compressed]
        children.stop("nginx")

        time.sleep(2.0)
        after = rss_kib(proc.pid) or {}
        report["memory"] = {
            "idle_kib": idle.get("VmRSS"),
            "load_peak_kib": max(sampler.samples) if sampler.samples else None,
            "load_samples": len(sampler.samples),
            "after_load_kib": after.get("VmRSS"),
            "hwm_kib": after.get("VmHWM"),
        }

        say("stopping folio; measuring cold starts")
        stop_first = children.stop("folio")
        runs, stops = [], []
        for i in range(args.launches):
            t0 = time.monotonic()
            p = start_folio(children, env, folio_log, name="folio")
            t1 = wait_http_ok(port, "/", p, timeout=60, interval=0.005)
            runs.append((t1 - t0) * 1000)
            took = children.stop("folio")
            if took is not None:
                stops.append(took * 1000)
            say(f"launch {i + 1}/{args.launches}: first 200 from / after {runs[-1]:.0f} ms")
        report["cold_start"] = {
            "runs_ms": runs,
            "median_ms": statistics.median(runs) if runs else None,
            "min_ms": min(runs) if runs else None,
            "max_ms": max(runs) if runs else None,
            "stop_ms": ([stop_first * 1000] if stop_first else []) + stops,
            "stop_median_ms": statistics.median(stops) if stops else None,
        }
    except KeyboardInterrupt:
        say("interrupted; cleaning up")
        children.cleanup()
        return 130
    except BenchError:
        children.cleanup()
        raise
    except BaseException:
        children.cleanup()
        raise
    finally:
        if not args.keep_tmp:
            for name in ("nginx-error.log",):
                if (tmp / name).exists():
                    shutil.copy(tmp / name, logs_dir / name)
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            say(f"temporary files kept in {tmp}")

    say("stopping the embedded database (folio db stop)")
    children.cleanup()

    # Anything folio logged at warn or above (RUST_LOG=warn) is worth a look.
    text = folio_log.read_text(errors="replace") if folio_log.exists() else ""
    ansi = re.compile(r"\x1b\[[0-9;]*m")
    lines = [ansi.sub("", line) for line in text.splitlines()]
    interesting = [l for l in lines if re.search(r"\b(ERROR|WARN|panicked)\b", l)]
    report["server_log"] = {
        "path": str(folio_log.relative_to(ROOT)),
        "errors": sum(1 for l in interesting if re.search(r"\b(ERROR|panicked)\b", l)),
        "warnings": sum(1 for l in interesting if re.search(r"\bWARN\b", l)),
        "lines": interesting[:50],
    }
    report["machine"]["loadavg_at_end"] = loadavg()
    report["elapsed_s"] = time.monotonic() - t_start
    out_path = Path(args.out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        report["json_path"] = str(out_path.resolve().relative_to(ROOT))
    except ValueError:
        report["json_path"] = str(out_path)
    out_path.write_text(json.dumps(report, indent=2) + "\n")
    print(render(report), flush=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as error:
        print(f"bench: {error}", file=sys.stderr)
        sys.exit(1)
