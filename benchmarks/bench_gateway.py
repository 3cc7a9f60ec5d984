"""The gateway's throughput and added latency, side by side with a bare pass-through proxy and
LiteLLM proxy, all against one fast local fake upstream (issue 15, "Performance").

Rows (each a separate server process on 127.0.0.1, started and stopped by this script):

* ``direct``: the load generator straight at the fake upstream (the baseline).
* ``floor aiohttp``: a bare pass-through proxy (Starlette + one ``aiohttp.ClientSession``):
  reads the body, POSTs it upstream, returns the body / relays the stream. No auth, no
  accounting: the least any Python proxy on this stack can cost.
* ``tokman 1w``: ``tokman.gateway`` through ``_serve.serve(config, workers=1)``, embedded
  default (in-process ``memory://`` limiter with a TPM/RPM quota, SQLite ledger, one USD budget
  every call counts against), a virtual key made with `tokman.gateway.KeyStore`. Every call is
  authenticated, counted, reserved (TPM/RPM and budget), settled and has its ledger row
  committed before the last bytes of its response go out. The ledger's default
  ``synchronous=FULL`` fsyncs that commit (survives power loss; about 6 ms per fsync on this
  machine's disk, shared by every call in one group commit).
* ``tokman 1w (... normal)``: the same with the ledger URL's ``?synchronous=normal`` (commits
  survive ``kill -9`` -- what issue 15 asks -- but not a power cut): the gateway's CPU cost
  without the disk.
* ``tokman 2w``: the same with ``workers=2`` on one socket; the limiter on Redis
  (``--redis``, default ``redis://127.0.0.1:6379/15``) so the two workers share one exact quota,
  the ledger and budget in the same SQLite file. ``--postgres URL`` adds a row with the ledger
  and budget in PostgreSQL instead.
* ``litellm 1w`` (and ``--litellm-workers 2``): LiteLLM proxy from a *separate* venv given by
  ``--litellm /path/to/venv`` (``python -m venv /work/litellm-venv && /work/litellm-venv/bin/pip
  install "litellm[proxy]"``); never a tokman dependency. Without the flag the row is skipped
  with the reason printed. Started offline as in integration-facts §E.1b
  (``LITELLM_LOCAL_MODEL_COST_MAP=True``, a master key, telemetry off, no database).

The fake upstream is a bare ASGI app on uvicorn (httptools + uvloop), one process: a fixed
``chat.completion`` with usage, or (``"stream": true``) a 7-event SSE stream (role, 5 content
pieces, finish) plus the usage chunk when ``stream_options.include_usage`` is set, then
``[DONE]`` -- the bodies of `tokman.testing`'s ``FakeOpenAI``, with a fresh response id each
time (the ledger keys records by response id). ``FakeOpenAI``'s own stdlib server is too slow to
be the upstream of a throughput run.

Load: ``wrk`` (Debian package ``wrk``: ``apt-get install -y wrk``), one thread, ``-c`` open
connections (1, 50, 200), a Lua script that POSTs a fixed chat body with the
``Authorization: Bearer`` header, for ``--seconds`` per cell after a ``--warmup`` pass. wrk's
own latency is from request written to response fully read (the whole stream for SSE).

Columns: ``rps`` requests completed per second; ``p50`` / ``p99`` latency in ms; ``err``
non-2xx responses plus socket errors and timeouts (a cell with errors is not "held"). Then:
``added p50/p99`` = the row's latency minus ``direct``'s in the same cell (at c=1 this is the
per-request overhead; at c>=50 every system is saturated and latency is queueing, roughly
c / rps, so compare rps there); ``max held`` = the highest rps of a cell with no errors; and
ratios of each row's rps to the floor's and to LiteLLM's.

Caveat: everything (upstream, proxy, wrk) shares this machine's cores (2 here), so absolute
numbers are machine-bound; the ratios within one run are what to compare.

Run: ``python benchmarks/bench_gateway.py [--seconds 5] [--warmup 1] [--conc 1,50,200]
[--litellm /work/litellm-venv] [--postgres postgresql://...] [--rows direct,floor,tokman1,...]``
(a default run, without LiteLLM, takes about 3 minutes).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

MODEL = "gpt-4o"
UPSTREAM_KEY = "sk-bench-upstream-0000"
CHAT_BODY = {
    "model": MODEL,
    "messages": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "What is the capital of France? Answer in one sentence."},
    ],
    "max_tokens": 64,
}
_LUA = """
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = {auth}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT {{\\"requests\\": %d, \\"duration_us\\": %d, \\"p50\\": %d, \\"p99\\": %d, " ..
    "\\"errors\\": %d}}\\n", summary.requests, summary.duration, latency:percentile(50),
    latency:percentile(99), e.connect + e.read + e.write + e.status + e.timeout))
end
"""


# -- the servers (run as subprocesses of this script) ---------------------------------------


def _upstream_app() -> Any:
    """The fake upstream: a bare ASGI app (fixed bodies, fresh ids)."""
    import itertools

    from tokman.testing._fake_bodies import Completion, chat_body, chat_events

    usage = {
        "prompt_tokens": 27,
        "completion_tokens": 7,
        "total_tokens": 34,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                      "accepted_prediction_tokens": 0,
                                      "rejected_prediction_tokens": 0},
    }  # fmt: skip
    done = Completion(MODEL + "-2024-08-06", "The capital of France is Paris.", False, usage, False)
    body = chat_body(done)
    rid = json.loads(body)["id"].encode()
    events = chat_events(done, include_usage=True)
    sid = json.loads(events[0][6:])["id"].encode()
    plain_events = events[:-2] + events[-1:]  # without the usage chunk
    counter = itertools.count()
    run = os.urandom(6).hex().encode()  # ids unique across runs too (a reused PG ledger)
    json_headers = [(b"content-type", b"application/json")]
    sse_headers = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                if msg["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        raw = b""
        more = True
        while more:
            msg = await receive()
            raw += msg.get("body", b"")
            more = msg.get("more_body", False)
        if scope["method"] == "GET":
            await send({"type": "http.response.start", "status": 200, "headers": json_headers})
            await send({"type": "http.response.body", "body": b"{}"})
            return
        request = json.loads(raw) if raw else {}
        new = b"chatcmpl-%s%012d" % (run, next(counter))
        if not request.get("stream"):
            out = body.replace(rid, new)
            await send({"type": "http.response.start", "status": 200, "headers": json_headers})
            await send({"type": "http.response.body", "body": out})
            return
        with_usage = (request.get("stream_options") or {}).get("include_usage")
        chunks = events if with_usage else plain_events
        await send({"type": "http.response.start", "status": 200, "headers": sse_headers})
        for event in chunks:
            await send({"type": "http.response.body", "body": event.replace(sid, new),
                        "more_body": True})  # fmt: skip
        await send({"type": "http.response.body", "body": b""})

    return app


def _floor_app(upstream: str) -> Any:
    """The pass-through floor: Starlette + aiohttp, nothing else."""
    import aiohttp
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, Response, StreamingResponse
    from starlette.routing import Route

    state: dict[str, Any] = {}
    headers = {"authorization": f"Bearer {UPSTREAM_KEY}", "content-type": "application/json"}

    async def chat(request: Request) -> Any:
        body = await request.body()
        resp = await state["s"].post(f"{upstream}/chat/completions", data=body, headers=headers)
        ctype = resp.headers.get("content-type", "")
        if ctype.startswith("text/event-stream"):

            async def relay() -> Any:
                try:
                    async for chunk in resp.content.iter_any():
                        yield chunk
                finally:
                    resp.release()

            return StreamingResponse(relay(), status_code=resp.status, media_type=ctype)
        data = await resp.read()
        resp.release()
        return Response(data, status_code=resp.status, media_type=ctype)

    async def health(request: Request) -> Any:
        return PlainTextResponse("ok")

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> Any:
        state["s"] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        yield
        await state["s"].close()

    return Starlette(
        routes=[Route("/v1/chat/completions", chat, methods=["POST"]),
                Route("/healthz", health)],
        lifespan=lifespan,
    )  # fmt: skip


def _run_asgi(app: Any, port: int) -> None:
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False,
                loop="uvloop", http="httptools", backlog=4096)  # fmt: skip


def _serve_main(argv: list[str]) -> None:
    kind = argv[0]
    if kind == "upstream":
        _run_asgi(_upstream_app(), int(argv[1]))
    elif kind == "floor":
        _run_asgi(_floor_app(argv[2]), int(argv[1]))
    elif kind == "gateway":
        from tokman.gateway._serve import serve

        os.environ["BENCH_UPSTREAM_KEY"] = UPSTREAM_KEY
        serve(argv[1], workers=int(argv[2]), log_level="warning")
    else:
        raise SystemExit(f"unknown server {kind!r}")


# -- orchestration ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited ({proc.returncode}) before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                r.read()
            return time.monotonic() - start
        except Exception:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


@contextlib.contextmanager
def _process(cmd: list[str], health: str, env: dict[str, str] | None = None,
             log: str | None = None) -> Iterator[float]:  # fmt: skip
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT,
                            start_new_session=True)  # fmt: skip
    try:
        try:
            took = _wait_http(health, proc)
        except RuntimeError:
            if log:
                out.flush() if not isinstance(out, int) else None
                with open(log) as f:
                    print(f.read()[-3000:], file=sys.stderr)
            raise
        yield took
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, 15)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()
        if log and not isinstance(out, int):
            out.close()


def _self(*args: str) -> list[str]:
    return [sys.executable, os.path.abspath(__file__), "--serve", *args]


@dataclass
class Cell:
    rps: float
    p50: float  # ms
    p99: float  # ms
    errors: int


@dataclass
class Row:
    name: str
    cells: dict[tuple[bool, int], Cell] = field(default_factory=dict)
    note: str = ""


def _wrk(url: str, body: dict[str, Any], auth: str, conc: int, seconds: float,
         workdir: str) -> Cell:  # fmt: skip
    script = os.path.join(workdir, "post.lua")
    with open(script, "w") as f:
        f.write(_LUA.format(body=json.dumps(json.dumps(body)), auth=json.dumps(auth)))
    cmd = ["wrk", "-t1", f"-c{conc}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
           "-s", script, url]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    r = json.loads(line[7:])
    rps = r["requests"] / (r["duration_us"] / 1e6)
    return Cell(rps, r["p50"] / 1000, r["p99"] / 1000, r["errors"])


def _measure(row: Row, url: str, auth: str, args: argparse.Namespace, workdir: str) -> None:
    for stream in (False, True):
        body = dict(CHAT_BODY, stream=True) if stream else CHAT_BODY
        for conc in args.conc:
            if args.warmup > 0:
                _wrk(url, body, auth, conc, args.warmup, workdir)
            cell = _wrk(url, body, auth, conc, args.seconds, workdir)
            row.cells[(stream, conc)] = cell
            print(f"  {row.name:<26} {'stream' if stream else 'json':<6} c={conc:<4} "
                  f"{cell.rps:8.0f} rps  p50 {cell.p50:7.2f} ms  p99 {cell.p99:7.2f} ms  "
                  f"err {cell.errors}", flush=True)  # fmt: skip


def _gateway_config(workdir: str, name: str, upstream: str, ledger: str, limiter: str) -> str:
    path = os.path.join(workdir, f"{name}.toml")
    with open(path, "w") as f:
        f.write(f"""
[gateway]
ledger = "{ledger}"
limiter = "{limiter}"
max_wait = 10

[[upstreams]]
name = "{name}"
kind = "openai"
base_url = "{upstream}"
api_key_env = "BENCH_UPSTREAM_KEY"

[[upstreams.deployments]]
model = "{MODEL}"
tpm = 1000000000
rpm = 100000000

[[budgets]]
id = "bench"
limit = "1000000"
period = "day"
""")
    return path


def _make_key(ledger: str) -> str:
    from tokman.gateway import KeyStore
    from tokman.ledger import open_ledger

    led = open_ledger(ledger)
    secret, _ = KeyStore.for_ledger(led).create("bench", models=[MODEL])
    with contextlib.suppress(Exception):
        led.close()
    return secret


def _litellm_row(args: argparse.Namespace, workers: int, upstream: str, workdir: str) -> Row:
    row = Row(f"litellm {workers}w")
    venv = args.litellm
    exe = os.path.join(venv, "bin", "litellm") if venv else ""
    if not venv:
        row.note = "skipped: pass --litellm /path/to/venv (a venv with litellm[proxy])"
        return row
    if not os.path.exists(exe):
        row.note = f"skipped: {exe} not found"
        return row
    cfg = os.path.join(workdir, "litellm.yaml")
    with open(cfg, "w") as f:
        f.write(f"model_list:\n  - model_name: {MODEL}\n    litellm_params:\n"
                f"      model: openai/{MODEL}\n      api_base: {upstream}\n"
                f"      api_key: {UPSTREAM_KEY}\n")  # fmt: skip
    port = _free_port()
    env = dict(os.environ, LITELLM_LOCAL_MODEL_COST_MAP="True", LITELLM_MASTER_KEY="sk-litellm",
               LITELLM_TELEMETRY_DISABLED="true", LITELLM_LOG="ERROR")  # fmt: skip
    env.pop("PYTHONPATH", None)
    cmd = [exe, "--config", cfg, "--host", "127.0.0.1", "--port", str(port),
           "--num_workers", str(workers)]  # fmt: skip
    if workers > 1:
        cmd += ["--timeout_worker_healthcheck", "30"]
    try:
        with _process(cmd, f"http://127.0.0.1:{port}/health/liveliness", env,
                      os.path.join(workdir, f"litellm{workers}.log")) as took:  # fmt: skip
            print(f"  litellm {workers}w started in {took:.1f} s", flush=True)
            _measure(row, f"http://127.0.0.1:{port}/v1/chat/completions", "Bearer sk-litellm",
                     args, workdir)  # fmt: skip
    except RuntimeError as exc:
        row.note = f"skipped: {exc}"
    return row


def _ms(x: float) -> str:
    return f"{x:.2f}" if x < 10 else f"{x:.0f}"


def _print(rows: list[Row], conc: list[int]) -> None:
    keys = [(s, c) for s in (False, True) for c in conc]
    heads = [f"{'stream' if s else 'json'} c={c}" for s, c in keys]
    print("\n## rps / p50 ms / p99 ms (err: errors, when any)\n")
    print("| system | " + " | ".join(heads) + " | max held rps |")
    print("|---|" + "---|" * (len(keys) + 1))
    for row in rows:
        if not row.cells:
            print(f"| {row.name} | " + " | ".join("—" for _ in keys) + f" | {row.note} |")
            continue
        cells = []
        for k in keys:
            c = row.cells.get(k)
            cells.append("—" if c is None else f"{c.rps:.0f} / {_ms(c.p50)} / {_ms(c.p99)}"
                         + (f" err {c.errors}" if c.errors else ""))  # fmt: skip
        held = max((c.rps for c in row.cells.values() if c.errors == 0), default=0.0)
        print(f"| {row.name} | " + " | ".join(cells) + f" | {held:.0f} |")
    direct = next((r for r in rows if r.name == "direct" and r.cells), None)
    if direct is not None:
        print("\n## latency added over direct: p50 / p99 ms (c>=50: queueing, compare rps)\n")
        print("| system | " + " | ".join(heads) + " |")
        print("|---|" + "---|" * len(keys))
        for row in rows:
            if row is direct or not row.cells:
                continue
            cells = []
            for k in keys:
                c, d = row.cells.get(k), direct.cells.get(k)
                cells.append("—" if c is None or d is None
                             else f"{c.p50 - d.p50:+.2f} / {c.p99 - d.p99:+.2f}")  # fmt: skip
            print(f"| {row.name} | " + " | ".join(cells) + " |")
    for ref in ("floor aiohttp", "litellm 1w"):
        base = next((r for r in rows if r.name == ref and r.cells), None)
        if base is None:
            continue
        print(f"\n## rps ratio to {ref}\n")
        print("| system | " + " | ".join(heads) + " |")
        print("|---|" + "---|" * len(keys))
        for row in rows:
            if not row.cells or not row.name.startswith("tokman"):
                continue
            cells = []
            for k in keys:
                c, b = row.cells.get(k), base.cells.get(k)
                cells.append("—" if c is None or b is None or b.rps == 0
                             else f"{c.rps / b.rps:.2f}×")  # fmt: skip
            print(f"| {row.name} | " + " | ".join(cells) + " |")
    for row in rows:
        if row.note and row.cells:
            print(f"- {row.name}: {row.note}")
    skipped = [r for r in rows if not r.cells]
    for row in skipped:
        print(f"- {row.name}: {row.note}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        _serve_main(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="measured window per cell")
    parser.add_argument("--warmup", type=float, default=1.0, help="warm-up window per cell")
    parser.add_argument("--conc", default="1,50,200", help="comma-separated connection counts")
    parser.add_argument("--rows", default="direct,floor,tokman1,tokman1n,tokman2,postgres,litellm",
                        help="which rows to run")  # fmt: skip
    parser.add_argument("--litellm", default=None, help="a venv with litellm[proxy] installed")
    parser.add_argument("--litellm-workers", default="1", help="e.g. 1,2")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--postgres", default=None, help="postgresql:// URL for a PG row")
    args = parser.parse_args()
    args.conc = [int(c) for c in args.conc.split(",")]
    wanted = set(args.rows.split(","))
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    env = dict(os.environ)
    src = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    env["BENCH_UPSTREAM_KEY"] = UPSTREAM_KEY
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-gw-") as workdir:
        up_port = _free_port()
        upstream = f"http://127.0.0.1:{up_port}/v1"
        with _process(_self("upstream", str(up_port)), f"{upstream}/models", env):
            chat = "/v1/chat/completions"
            if "direct" in wanted:
                row = Row("direct")
                _measure(row, f"http://127.0.0.1:{up_port}{chat}", "Bearer x", args, workdir)
                rows.append(row)
            if "floor" in wanted:
                row, port = Row("floor aiohttp"), _free_port()
                with _process(_self("floor", str(port), upstream),
                              f"http://127.0.0.1:{port}/healthz", env):  # fmt: skip
                    _measure(row, f"http://127.0.0.1:{port}{chat}", "Bearer x", args, workdir)
                rows.append(row)
            setups = [
                ("tokman1", "tokman 1w (mem, SQLite)", 1,
                 f"sqlite:///{workdir}/t1.db", "memory://"),
                ("tokman1n", "tokman 1w (mem, SQLite normal)", 1,
                 f"sqlite:///{workdir}/t1n.db?synchronous=normal", "memory://"),
                ("tokman2", "tokman 2w (Redis, SQLite)", 2,
                 f"sqlite:///{workdir}/t2.db", args.redis),
            ]  # fmt: skip
            if args.postgres:
                setups.append(("postgres", "tokman 2w (Redis, PG)", 2, args.postgres, args.redis))
            for tag, name, workers, ledger, limiter in setups:
                if tag not in wanted:
                    continue
                row, port = Row(name), _free_port()
                cfg = _gateway_config(workdir, f"bench{tag}{port}", upstream, ledger, limiter)
                auth = "Bearer " + _make_key(ledger)
                with open(cfg) as f:
                    text = f.read().replace("[gateway]", f"[gateway]\nport = {port}", 1)
                with open(cfg, "w") as f:
                    f.write(text)
                with _process(_self("gateway", cfg, str(workers)),
                              f"http://127.0.0.1:{port}/healthz", env,
                              os.path.join(workdir, f"{tag}.log")) as took:  # fmt: skip
                    print(f"  {name} started in {took:.1f} s", flush=True)
                    _measure(row, f"http://127.0.0.1:{port}{chat}", auth, args, workdir)
                    time.sleep(0.5)
                rows.append(row)
                with contextlib.suppress(Exception):
                    log = open(os.path.join(workdir, f"{tag}.log")).read()  # noqa: SIM115
                    if log.strip():
                        print(f"  {name} log (tail):\n" + log[-2000:])
            if "litellm" in wanted:
                for w in [int(x) for x in args.litellm_workers.split(",")]:
                    rows.append(_litellm_row(args, w, upstream, workdir))
    _print(rows, args.conc)


if __name__ == "__main__":
    main()
