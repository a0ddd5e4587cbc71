#!/usr/bin/env python3
"""The measuring half of bench/run.sh (which builds everything first and runs criterion).

It serves a minimal AWS Lambda Runtime API on loopback (`GET /2018-06-01/runtime/invocation/next`
hands out API Gateway HTTP API v2 events, `POST .../invocation/{id}/response` takes the answers),
starts the Twilio stand-in, and then:

1. cold start: starts a fresh function process per run (the Rust release binary, or Node with the
   original Twilio Function under bench/node/runtime.js) and times process start -> first answer
   received, for host_token and audience_token (live mode), interleaved, and audience_token in
   ivs mode (the stand-in's IVS API, a stage opened by host_token with its host publishing);
2. burst: one process answers 1,000 requests back to back; peak RSS (VmHWM) and the Twilio calls
   the stand-in received;
3. reads criterion's and the crowds' results (`--results`, `--criterion-home`), zips the arm64
   `bootstrap` of each function named by `--functions` (under `--lambda-dir`) as Lambda gets it,

and prints one table, which it also writes with the date and the machine to docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import io
import json
import math
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The stand-in's account for this run (valid-looking: AC/SK + 32 hex digits).
ACCOUNT_SID = "AC" + "be" * 16
AUTH_TOKEN = "be" * 16
API_KEY_SID = "SK" + "be" * 16
API_KEY_SECRET = "benchApiKeySecret0123456789abcde"
HOST_PASSWORD = "bench-host-password"
HOST_IDENTITY = "host"
# The stream `main`'s room, named as `RoomName::for_stream` names it (a 10-character suffix).
LIVE_ROOM = "livestream-main-benchlive0"

# The stand-in's IVS API: its key ARN for a key imported at start, its default AWS key pair.
IVS_KEY_ARN = "arn:aws:ivs:us-east-1:123456789012:public-key/standin0000"
IVS_ACCESS_KEY_ID = "AKIDSTANDIN0000000000"
IVS_SECRET_ACCESS_KEY = "standin-aws-secret-key"

# Targets of issue 6.
COLD_START_RATIO = 30
WARM_AUDIENCE_NS = 50_000
MAX_ZIP_BYTES = 3_000_000
MAX_RSS_BYTES = 20 * 1_000_000


# --- the Lambda Runtime API --------------------------------------------------------------------


@dataclass
class Session:
    """One function process's invocations: events to hand out, answers received."""

    events: collections.deque
    expected: int
    answers: list = field(default_factory=list)  # (perf_counter_ns, request id, body bytes)
    errors: list = field(default_factory=list)
    first_next_ns: int = 0  # when the runtime first asked for an invocation: its init is over
    done: threading.Event = field(default_factory=threading.Event)

    def answer(self, request_id: str, body: bytes) -> None:
        self.answers.append((time.perf_counter_ns(), request_id, body))
        if len(self.answers) >= self.expected:
            self.done.set()

    def fail(self, what: str) -> None:
        self.errors.append(what)
        self.done.set()


NEXT = "/2018-06-01/runtime/invocation/next"
ANSWER = re.compile(r"/2018-06-01/runtime/invocation/([^/]+)/(response|error)")


class RuntimeApi:
    """`AWS_LAMBDA_RUNTIME_API` for one function process: a minimal HTTP/1.1 server (keep-alive,
    Content-Length bodies, two routes) on an event loop of its own, so that it answers in tens of
    microseconds; a listener per process, so that a killed process's last `next` can never take
    an event meant for the next one."""

    def __init__(self, function: str, session: Session) -> None:
        self.function, self.session = function, session
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()

        def serve() -> None:
            asyncio.set_event_loop(self.loop)
            self.server = self.loop.run_until_complete(
                asyncio.start_server(self.connection, "127.0.0.1", 0))
            ready.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=serve, daemon=True)
        self.thread.start()
        ready.wait()
        self.address = f"127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        session = self.session
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
                method, path, _ = head[0].split(" ", 2)
                headers = dict((k.strip().lower(), v.strip()) for k, _, v in
                               (line.partition(":") for line in head[1:] if line))
                length = int(headers.get("content-length") or 0)
                body = await reader.readexactly(length) if length else b""
                if method == "GET" and path == NEXT:
                    if not session.first_next_ns:
                        session.first_next_ns = time.perf_counter_ns()
                    if not session.events:  # the run is over: leave this runtime waiting
                        await asyncio.Event().wait()
                    now = time.time()
                    self.respond(writer, 200, json.dumps(session.events.popleft()).encode(), {
                        "Lambda-Runtime-Aws-Request-Id": str(uuid.uuid4()),
                        "Lambda-Runtime-Deadline-Ms": str(int(now * 1000) + 30_000),
                        "Lambda-Runtime-Invoked-Function-Arn":
                            f"arn:aws:lambda:us-east-1:123456789012:function:{self.function}",
                        "Lambda-Runtime-Trace-Id":
                            f"Root=1-{int(now):08x}-{uuid.uuid4().hex[:24]};Sampled=0",
                    })
                elif method == "POST" and (match := ANSWER.fullmatch(path)):
                    if match[2] == "response":
                        session.answer(match[1], body)
                    else:
                        session.fail(f"{path}: {body[:500].decode(errors='replace')}")
                    self.respond(writer, 202, b'{"status":"OK"}')
                else:
                    if path.endswith("/init/error"):
                        session.fail(f"{path}: {body[:500].decode(errors='replace')}")
                    self.respond(writer, 404, b'{"errorMessage":"not found"}')
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.CancelledError,
                ConnectionError, ValueError):
            pass
        finally:
            writer.close()

    @staticmethod
    def respond(writer: asyncio.StreamWriter, status: int, body: bytes, headers: dict | None = None) -> None:
        reason = {200: "OK", 202: "Accepted", 404: "Not Found"}[status]
        lines = [f"HTTP/1.1 {status} {reason}", "Content-Type: application/json",
                 f"Content-Length: {len(body)}"] + [f"{k}: {v}" for k, v in (headers or {}).items()]
        # One write: headers and body in one segment.
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)

    def close(self) -> None:
        async def stop() -> None:
            self.server.close()
            # A connection accepted just before the close may start its task a moment later.
            for _ in range(3):
                tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                await asyncio.sleep(0)

        # A connection the killed process opened at the last moment may still be half set up;
        # nothing it could report matters any more.
        self.loop.set_exception_handler(lambda loop, context: None)
        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


def run_function(function: str, argv: list[str], env: dict, events: list[dict], cwd: str) -> dict:
    """Starts `argv` under a fresh Runtime API, hands it `events` and waits for every answer;
    returns the time from process start to the first and to the last answer, and its VmHWM."""
    session = Session(events=collections.deque(events), expected=len(events))
    api = RuntimeApi(function, session)
    env = {**env, "AWS_LAMBDA_RUNTIME_API": api.address, "AWS_LAMBDA_FUNCTION_NAME": function,
           "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function}"}
    with tempfile.TemporaryFile() as stderr:
        started = time.perf_counter_ns()
        proc = subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            deadline = time.monotonic() + 120
            while not session.done.wait(0.02):
                if proc.poll() is not None or time.monotonic() > deadline:
                    session.fail(f"exited with {proc.returncode}" if proc.returncode is not None else "timed out")
            peak_kb = vm_hwm_kb(proc.pid) if not session.errors else 0
            cpu_ns = cpu_time_ns(proc.pid) if not session.errors else 0
        finally:
            proc.kill()
            proc.wait()
            api.close()
        if session.errors:
            stderr.seek(0)
            raise SystemExit(f"bench: {' '.join(argv)}: {session.errors[0]}\n"
                             f"{stderr.read()[-2000:].decode(errors='replace')}")
    first, last = session.answers[0][0], session.answers[-1][0]
    return {
        "init_ns": session.first_next_ns - started,
        "first_answer_ns": first - started,
        "all_answers_ns": last - started,
        "peak_rss_bytes": peak_kb * 1024,
        "cpu_ns": cpu_ns,
        "answers": [json.loads(body) for _, _, body in session.answers],
    }


def cpu_time_ns(pid: int) -> int:
    """CPU time the process's threads have run so far (`/proc/<pid>/task/*/schedstat`, in ns)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


def vm_hwm_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise SystemExit("bench: no VmHWM in /proc: peak RSS cannot be read here")


def apigw_event(path: str, body: str | None) -> dict:
    """An API Gateway HTTP API (payload 2.0) `POST path` event."""
    now = datetime.now(timezone.utc)
    headers = {"host": "onair.bench", "user-agent": "onair-bench", "accept": "application/json"}
    if body is not None:
        headers["content-type"] = "application/json"
    event = {
        "version": "2.0",
        "routeKey": f"POST {path}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "onairbench",
            "domainName": "onair.bench",
            "domainPrefix": "onair",
            "http": {"method": "POST", "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "onair-bench"},
            "requestId": str(uuid.uuid4()),
            "routeKey": f"POST {path}",
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": False,
    }
    if body is not None:
        event["body"] = body
    return event


# --- the stand-in ------------------------------------------------------------------------------


class StandIn:
    def __init__(self, binary: Path, ivs_public_key: Path) -> None:
        env = {"PATH": os.environ.get("PATH", ""), "STANDIN_ACCOUNT_SID": ACCOUNT_SID,
               "STANDIN_AUTH_TOKEN": AUTH_TOKEN, "STANDIN_API_KEY_SID": API_KEY_SID,
               "STANDIN_API_KEY_SECRET": API_KEY_SECRET, "RUST_LOG": "warn",
               # Its IVS API too (ivs mode), the key imported at start as the stack imports it.
               "STANDIN_IVS_PUBLIC_KEY_FILE": str(ivs_public_key)}
        self.proc = subprocess.Popen([str(binary), "--bind", "127.0.0.1", "--port", "0"], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        found = re.search(r"(http://127\.0\.0\.1:\d+)", line)
        if not found:
            self.proc.kill()
            raise SystemExit(f"bench: the stand-in did not start: {line!r}")
        self.base_url = found[1]
        auth = base64.b64encode(f"{API_KEY_SID}:{API_KEY_SECRET}".encode()).decode()
        self.auth = f"Basic {auth}"

    def request(self, method: str, path: str, form: dict | None = None, json_body=None, auth=True):
        data, headers = None, {}
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif json_body is not None:
            data = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        if auth:
            headers["Authorization"] = self.auth
        req = urllib.request.Request(self.base_url + path, data=data, headers=headers, method=method)
        with urllib.request.urlopen(req, timeout=10) as res:
            text = res.read()
            return json.loads(text) if text else None

    def start_live_stream(self) -> None:
        """What host_token, the host joining and stream_start leave behind in `live` mode."""
        self.request("POST", "/v1/Rooms", {"UniqueName": LIVE_ROOM, "Type": "group"})
        self.request("POST", f"/__standin/rooms/{LIVE_ROOM}/participants", json_body={"identity": HOST_IDENTITY}, auth=False)
        streamer = self.request("POST", "/v1/PlayerStreamers", {"Video": "true", "MaxDuration": "7200"})
        context = json.dumps({"room": {"name": LIVE_ROOM}, "outputs": [streamer["sid"]]})
        self.request("POST", "/v1/MediaProcessors", {"Extension": "video-composer-v2",
                                                     "ExtensionContext": context, "MaxDuration": "7200"})

    def publish_on_stage(self, identity: str) -> None:
        """A publisher on the (one) stage, as the host's WHIP publish leaves it: IVS lists the
        stage's session as active."""
        stages = self.request("GET", "/__standin/ivs/state", auth=False)["stages"]
        if len(stages) != 1:
            raise SystemExit(f"bench: expected the one stage host_token opened, found {stages}")
        self.request("POST", "/__standin/ivs/participants",
                     json_body={"stage_arn": stages[0]["arn"], "user_id": identity}, auth=False)

    def ivs_calls(self) -> list:
        return self.request("GET", "/__standin/ivs/calls", auth=False)

    def calls(self) -> list:
        return self.request("GET", "/__standin/calls", auth=False)

    def clear_calls(self) -> None:
        self.request("DELETE", "/__standin/calls", auth=False)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# --- the two implementations -------------------------------------------------------------------


def function_env(standin: StandIn) -> dict:
    """The environment both implementations get: Lambda's variables and the configuration."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/01/[$LATEST]bench",
        "TWILIO_VIDEO_BASE_URL": standin.base_url,
        "TWILIO_MEDIA_BASE_URL": standin.base_url,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_API_KEY_SID": API_KEY_SID,
        "TWILIO_API_KEY_SECRET": API_KEY_SECRET,
        "HOST_PASSWORD": HOST_PASSWORD,
        "HOST_IDENTITY": HOST_IDENTITY,
        "AUDIENCE_MODE": "live",
        "RUST_LOG": "info",
        # What the Twilio Functions runtime puts into `context` for the Node original.
        "ACCOUNT_SID": ACCOUNT_SID,
        "AUTH_TOKEN": AUTH_TOKEN,
    }


def ivs_key_pair(folder: Path) -> tuple[str, Path]:
    """A P-384 key pair for this run (openssl; deleted with `folder`): the private key's PEM, as
    IVS_PRIVATE_KEY holds it, and the public key's file, for the stand-in to import."""
    private, public = folder / "ivs-private.pem", folder / "ivs-public.pem"
    sec1 = subprocess.run(["openssl", "ecparam", "-name", "secp384r1", "-genkey", "-noout"],
                          check=True, capture_output=True).stdout
    subprocess.run(["openssl", "pkcs8", "-topk8", "-nocrypt", "-out", str(private)], input=sec1, check=True)
    subprocess.run(["openssl", "pkey", "-in", str(private), "-pubout", "-out", str(public)], check=True)
    return private.read_text(), public


def ivs_env(standin: StandIn, private_pem: str) -> dict:
    """`function_env` in ivs mode: the stand-in's IVS API, its key ARN and AWS key pair."""
    return {**function_env(standin), "AUDIENCE_MODE": "ivs",
            "IVS_ENDPOINT_URL": f"{standin.base_url}/ivs",
            "IVS_PUBLIC_KEY_ARN": IVS_KEY_ARN, "IVS_PRIVATE_KEY": private_pem,
            "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": IVS_ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": IVS_SECRET_ACCESS_KEY}


def start_ivs_stream(args, standin: StandIn, env: dict, cwd: str) -> None:
    """What host_token (the release binary, once) and the host's publish leave behind in ivs
    mode: the stream `main`'s stage with its host publishing."""
    body = json.dumps({"password": HOST_PASSWORD, "stream": "main"})
    event = apigw_event("/host_token", body)
    answer = run_function("host_token", [str(args.release_dir / "host_token")], env, [event], cwd)["answers"][0]
    if answer.get("statusCode") != 200:
        raise SystemExit(f"bench: host_token in ivs mode answered {answer}")
    standin.publish_on_stage(HOST_IDENTITY)


@dataclass
class Variant:
    key: str
    function: str
    argv: list
    env: dict
    body: str | None

    def events(self, n: int) -> list:
        return [apigw_event(f"/{self.function}", self.body) for _ in range(n)]


def variants(args, standin: StandIn, ivs: dict) -> list[Variant]:
    """host_token and audience_token (live mode) in Rust and in the Node original, and
    audience_token in ivs mode (Rust only: the original had no such mode) with `ivs`'s env."""
    env = function_env(standin)
    node = shutil.which("node") or "node"
    runtime = str(ROOT / "bench" / "node" / "runtime.js")
    # Another stream than the live one (`main`), whose name a second studio could not take.
    password = json.dumps({"password": HOST_PASSWORD, "stream": "bench"})
    out = []
    for function, body in (("host_token", password), ("audience_token", None)):
        out.append(Variant(f"rust:{function}", function, [str(args.release_dir / function)], env, body))
        out.append(Variant(f"node:{function}", function, [node, runtime], {**env, "ONAIR_FUNCTION": function}, body))
    out.append(Variant("rust:audience_token:ivs", "audience_token", [str(args.release_dir / "audience_token")], ivs, None))
    return out


def check_answer(variant: Variant, answer: dict) -> None:
    body = json.loads(answer.get("body") or "null")
    ok = answer.get("statusCode") == 200 and isinstance(body, dict) and isinstance(body.get("token"), str)
    if variant.function == "audience_token":
        ok = ok and body.get("live") is True
    if not ok:
        raise SystemExit(f"bench: {variant.key} answered {answer}")


# --- measurements ------------------------------------------------------------------------------


def percentile(values: list, p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p
    lo, hi = math.floor(k), math.ceil(k)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def busy_fraction(seconds: float = 1.0) -> float:
    """How busy all CPUs were over the next `seconds` (from /proc/stat)."""
    def sample():
        fields = [int(x) for x in open("/proc/stat").readline().split()[1:]]
        return fields[3] + fields[4], sum(fields)  # idle + iowait, total

    idle0, total0 = sample()
    time.sleep(seconds)
    idle1, total1 = sample()
    return 1 - (idle1 - idle0) / max(1, total1 - total0)


def wait_for_quiet(max_wait: float, threshold: float = 0.25) -> float:
    """Waits (at most `max_wait` s) until other work leaves the CPUs mostly idle; cold starts
    are wall-clock times. Returns how busy the machine was when measuring began."""
    waited = 0.0
    busy = busy_fraction()
    while busy > threshold and waited < max_wait:
        print(f"\rbench: waiting for a quiet machine: CPUs {busy:.0%} busy ({waited:.0f} s)",
              end="", file=sys.stderr, flush=True)
        time.sleep(4)
        waited += 5
        busy = busy_fraction()
    if waited:
        print(file=sys.stderr)
    return busy


def cold_starts(vs: list[Variant], runs: int, cwd: str) -> dict:
    times = {v.key: [] for v in vs}
    inits = {v.key: [] for v in vs}
    cpus = {v.key: [] for v in vs}
    for v in vs:  # one unmeasured start each: binaries and node_modules in the page cache
        check_answer(v, run_function(v.function, v.argv, v.env, v.events(1), cwd)["answers"][0])
    for i in range(runs):
        for v in vs:
            result = run_function(v.function, v.argv, v.env, v.events(1), cwd)
            check_answer(v, result["answers"][0])
            times[v.key].append(result["first_answer_ns"] / 1e6)
            inits[v.key].append(result["init_ns"] / 1e6)
            cpus[v.key].append(result["cpu_ns"] / 1e6)
        print(f"\rbench: cold starts {i + 1}/{runs}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return {key: {"runs": len(ms), "median_ms": statistics.median(ms), "p10_ms": percentile(ms, 0.1),
                  "p90_ms": percentile(ms, 0.9), "min_ms": min(ms), "max_ms": max(ms),
                  "init_median_ms": statistics.median(inits[key]),
                  "cpu_median_ms": statistics.median(cpus[key]), "all_ms": ms}
            for key, ms in times.items()}


def bursts(standin: StandIn, vs: list[Variant], n: int, cwd: str) -> dict:
    out = {}
    for v in vs:
        standin.clear_calls()
        result = run_function(v.function, v.argv, v.env, v.events(n), cwd)
        for answer in result["answers"]:
            check_answer(v, answer)
        out[v.key] = {"requests": n, "peak_rss_bytes": result["peak_rss_bytes"],
                      "twilio_calls": len(standin.calls()),
                      # After the first (cold) answer.
                      "wall_ms_per_request": (result["all_answers_ns"] - result["first_answer_ns"])
                      / 1e6 / max(1, n - 1)}
        print(f"bench: burst {v.key}: {out[v.key]['peak_rss_bytes'] / 1e6:.1f} MB peak RSS, "
              f"{out[v.key]['twilio_calls']} Twilio calls", file=sys.stderr)
    return out


def zip_sizes(lambda_dir: Path, functions: list[str]) -> dict:
    sizes = {}
    for function in functions:
        path = lambda_dir / function / "bootstrap"
        if not path.exists():
            raise SystemExit(f"bench: {path} is missing (build_lambdas in scripts/lambdas.sh)")
        buf = io.BytesIO()
        # As sam deploy packages it: a deflated zip holding one executable `bootstrap`.
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            info = zipfile.ZipInfo("bootstrap")
            info.external_attr = 0o100755 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, path.read_bytes())
        sizes[function] = {"bootstrap_bytes": path.stat().st_size, "zip_bytes": len(buf.getvalue())}
    return sizes


def criterion_estimate(home: Path, group: str, name: str) -> dict:
    path = home / group / name / "new" / "estimates.json"
    if not path.exists():
        raise SystemExit(f"bench: {path} is missing (did onair-bench --bench run?)")
    est = json.loads(path.read_text())
    median = est["median"]
    return {"median_ns": median["point_estimate"], "ci_low_ns": median["confidence_interval"]["lower_bound"],
            "ci_high_ns": median["confidence_interval"]["upper_bound"], "mean_ns": est["mean"]["point_estimate"]}


# --- the report --------------------------------------------------------------------------------


def machine() -> dict:
    def first(path: str, key: str) -> str:
        try:
            for line in open(path):
                if line.startswith(key):
                    return line.split(":", 1)[1].strip() if ":" in line else line.split("=", 1)[1].strip().strip('"')
        except OSError:
            pass
        return "?"

    def version(argv: list) -> str:
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout.strip()
        except OSError:
            return "?"

    mem_kb = first("/proc/meminfo", "MemTotal").split()[0]
    return {
        "cpu": first("/proc/cpuinfo", "model name"),
        "cores": os.cpu_count(),
        "memory_gb": round(int(mem_kb) / 1024 / 1024, 1) if mem_kb.isdigit() else "?",
        "os": first("/etc/os-release", "PRETTY_NAME="),
        "kernel": platform.release(),
        "arch": platform.machine(),
        "rustc": version(["rustc", "--version"]),
        "node": version(["node", "--version"]),
        "twilio_npm": json.loads((ROOT / "bench" / "node_modules" / "twilio" / "package.json").read_text())["version"],
        "load_average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def duration(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 60} min {seconds % 60} s" if seconds >= 60 else f"{seconds} s"


def steps_arg(text: str) -> list[tuple[str, float]]:
    """`--steps`, a `name=seconds` line per step, as (name, seconds) pairs."""
    steps = []
    for part in filter(None, text.splitlines()):
        name, _, seconds = part.rpartition("=")
        try:
            steps.append((name.strip(), float(seconds)))
        except ValueError:
            raise argparse.ArgumentTypeError(f"not name=seconds: {part!r}") from None
    return steps


def ms(x: float) -> str:
    return f"{x:.1f} ms" if x >= 10 else f"{x:.2f} ms"


def us(ns: float) -> str:
    return f"{ns / 1000:.1f} µs"


def mb(b: float) -> str:
    return f"{b / 1e6:.2f} MB"


def yes(ok: bool) -> str:
    return "yes" if ok else "**NO**"


def table(r: dict) -> tuple[list[str], list[str]]:
    """The rows of the one table, and the targets missed."""
    rows, missed = [], []
    cold, burst, crowd, warm = r["cold"], r["burst"], r["crowd"], r["criterion"]

    def row(what, rust, original, target, ok=None):
        rows.append(f"| {what} | {rust} | {original} | {target} | {'' if ok is None else yes(ok)} |")
        if ok is False:
            missed.append(what)

    for function in ("host_token", "audience_token"):
        rc, nc = cold[f"rust:{function}"], cold[f"node:{function}"]
        ratio = nc["median_ms"] / rc["median_ms"]
        label = f"cold start `{function}`" + (" (live mode)" if function == "audience_token" else "")
        row(f"1. {label}: process start → answer, median (p10–p90; init), {rc['runs']} runs",
            f"{ms(rc['median_ms'])} ({ms(rc['p10_ms'])}–{ms(rc['p90_ms'])}; init {ms(rc['init_median_ms'])})",
            f"{ms(nc['median_ms'])} ({ms(nc['p10_ms'])}–{ms(nc['p90_ms'])}; init {ms(nc['init_median_ms'])})",
            f"≥ {COLD_START_RATIO}× faster: **{ratio:.0f}×**", ratio >= COLD_START_RATIO)

    ic = cold["rust:audience_token:ivs"]
    row(f"1. cold start `audience_token` (ivs mode: one ListStages and one GetStage, then an ES384 "
        f"participant token): process start → answer, median (p10–p90; init), {ic['runs']} runs",
        f"{ms(ic['median_ms'])} ({ms(ic['p10_ms'])}–{ms(ic['p90_ms'])}; init {ms(ic['init_median_ms'])}; "
        f"CPU {ms(ic['cpu_median_ms'])})", "— (no such mode)", "")

    for function in ("host_token", "audience_token"):
        rc, nc = cold[f"rust:{function}"], cold[f"node:{function}"]
        row(f"1. CPU time of that cold start `{function}` (all threads, until the answer), median",
            ms(rc["cpu_median_ms"]), ms(nc["cpu_median_ms"]),
            f"(not a target; little affected by other load): {nc['cpu_median_ms'] / rc['cpu_median_ms']:.0f}×")

    live, room, host, mint = warm["audience_live"], warm["audience_room"], warm["host"], warm["mint"]
    row("2. warm `audience_token`, live mode, lookup and grant cached (no Twilio call): CPU per request, median (95% CI)",
        f"{us(live['median_ns'])} ({us(live['ci_low_ns'])}–{us(live['ci_high_ns'])})", "—",
        f"≤ {WARM_AUDIENCE_NS // 1000} µs", live["median_ns"] <= WARM_AUDIENCE_NS)
    row("2. warm `audience_token`, room mode, live room cached (no Twilio call): CPU per request",
        f"{us(room['median_ns'])} ({us(room['ci_low_ns'])}–{us(room['ci_high_ns'])})", "—",
        f"≤ {WARM_AUDIENCE_NS // 1000} µs", room["median_ns"] <= WARM_AUDIENCE_NS)
    row("2. warm `host_token`, one room created on the in-process stand-in over loopback: CPU per request of the handler's thread",
        f"{us(host['median_ns'])} ({us(host['ci_low_ns'])}–{us(host['ci_high_ns'])})", "—", "")
    row("2. access tokens minted per second on one core (`token::mint`)",
        f"{1e9 / mint['median_ns']:,.0f} /s ({us(mint['median_ns'])} each)", "—", "")
    aivs, ivs_mint = warm["audience_ivs"], warm["ivs_mint"]
    row("2. warm `audience_token`, ivs mode, stage lookup cached (no IVS call): CPU per request",
        f"{us(aivs['median_ns'])} ({us(aivs['ci_low_ns'])}–{us(aivs['ci_high_ns'])})", "—", "")
    row("2. ES384 IVS participant tokens minted per second on one core (`ivs_token::mint`)",
        f"{1e9 / ivs_mint['median_ns']:,.0f} /s ({us(ivs_mint['median_ns'])} each)", "—", "")

    node_calls = burst["node:audience_token"]["twilio_calls"] / burst["node:audience_token"]["requests"]
    for mode in ("live", "room"):
        c = crowd[mode]
        kinds = ", ".join(f"{n} × `{k}`" for k, n in c["by_kind"].items())
        original = f"{2 * c['viewers']:,} (2 per viewer; measured {node_calls:.2f} per request in the burst below)"
        if mode == "live":
            # The lookup (MediaProcessors) once per AUDIENCE_CACHE_SECONDS, and a PlaybackGrant
            # once per grant lifetime: none per viewer.
            lifetimes = math.ceil(c["span_secs"] / c["grant_usable_secs"])
            windows = math.ceil(c["span_secs"] / c["audience_cache_secs"])
            bound = windows + lifetimes
            target = (f"one lookup per {c['audience_cache_secs']} s and one grant per grant lifetime "
                      f"({c['grant_usable_secs']} s usable): ≤ {bound}")
            ok = c["twilio_calls"] <= bound
        else:
            windows = math.ceil(c["span_secs"] / c["audience_cache_secs"])
            lookups = c["by_kind"].get("GET /v1/Rooms", 0)
            target = f"one lookup per {c['audience_cache_secs']} s: ≤ {windows} lookups"
            ok = lookups <= windows
        row(f"3. crowd, {mode} mode: Twilio calls for {c['viewers']:,} viewers in {c['span_secs']} s",
            f"**{c['twilio_calls']}** ({kinds})", original, target, ok)

    c = r["ivs_crowd"]
    ops = ", ".join(f"{n} × `{op}`" for op, n in c["by_operation"].items())
    windows = math.ceil(c["span_secs"] / c["lookup_secs"])
    lookups = c["by_operation"].get("ListStages", 0)
    per_viewer = c["ivs_calls"] - lookups - c["by_operation"].get("GetStage", 0)
    row(f"3. crowd, ivs mode: IVS calls for {c['viewers']:,} viewers in {c['span_secs']} s",
        f"**{c['ivs_calls']}** ({ops})", "— (no such mode)",
        f"none per viewer; one lookup per {c['lookup_secs']} s: ≤ {windows} lookups",
        lookups <= windows and per_viewer == 0 and c["ivs_calls"] < c["viewers"])

    failing = {"status_500": "every call answers 500", "timeout": "every call times out"}
    for mode in ("live", "room"):
        for failure, words in failing.items():
            c = r["outage_crowd"][mode][failure]
            kinds = ", ".join(f"{n} × `{k}`" for k, n in c["by_kind"].items())
            answers = ", ".join(f"{n:,} × {status}" for status, n in c["answers"].items())
            bound = math.ceil(c["span_secs"] / c["failure_memory_secs"])
            row(f"3. crowd against a failing Twilio ({words}), {mode} mode: Twilio calls received "
                f"for {c['viewers']:,} viewers in {c['span_secs']} s, and the answers",
                f"**{c['twilio_calls']}** ({kinds}); answers {answers}", "—",
                f"one call per {c['failure_memory_secs']} s: ≤ {bound}", c["twilio_calls"] <= bound)

    status = r["status_crowd"]
    for stream, c in status["streams"].items():
        row(f"3. status crowd: {c['viewers']:,} viewers of `{stream}` polling `/status/{stream}` once a "
            f"second for {status['span_secs']:.0f} s through the dev server's edge cache: "
            "function invocations per second (most in any one second; viewer requests per second)",
            f"**{c['invocations_per_sec']:.2f}/s** (most {c['most_invocations_in_one_sec']}; "
            f"{c['requests_per_sec']:,.0f} requests/s, {c['hits'] / max(c['requests'], 1):.1%} from the cache, "
            f"{c['failed']} failed; answer p50 {c['latency_ms']['p50']:.1f} ms, p90 {c['latency_ms']['p90']:.1f} ms)",
            f"(no status resource: the page polled `audience_token`, one invocation per viewer request)",
            "≤ 1 invocation/s per stream", c["most_invocations_in_one_sec"] <= 1 and c["failed"] == 0)

    for function, size in r["zips"].items():
        row(f"4. arm64 release zip `{function}`", f"{mb(size['zip_bytes'])} ({mb(size['bootstrap_bytes'])} unzipped)",
            "—", f"≤ {MAX_ZIP_BYTES / 1e6:.0f} MB", size["zip_bytes"] <= MAX_ZIP_BYTES)
    for function in ("host_token", "audience_token"):
        rb, nb = burst[f"rust:{function}"], burst[f"node:{function}"]
        row(f"4. peak RSS (VmHWM) of `{function}` answering {rb['requests']:,} requests in a row (x86_64)",
            f"{mb(rb['peak_rss_bytes'])} ({rb['wall_ms_per_request']:.2f} ms/request, {rb['twilio_calls']:,} Twilio calls)",
            f"{mb(nb['peak_rss_bytes'])} ({nb['wall_ms_per_request']:.2f} ms/request, {nb['twilio_calls']:,} Twilio calls)",
            f"≤ {MAX_RSS_BYTES / 1e6:.0f} MB", rb["peak_rss_bytes"] <= MAX_RSS_BYTES)
    return rows, missed


HEADER = "| measure | OnAir (Rust) | original (Node.js, twilio {twilio}) | target | met |\n|---|---|---|---|---|"


def render(r: dict, rows: list[str], missed: list[str]) -> str:
    m = r["machine"]
    missed_text = ("Every target is met." if not missed
                   else "Missed: " + "; ".join(missed) + ". See *Where a target is missed*.")
    doc = (ROOT / "bench" / "PERFORMANCE.template.md").read_text()
    return doc.format(
        date=r["date"], wall=r["wall"], steps=r["steps"], runs=r["runs"], burst=r["burst_n"],
        cpu=m["cpu"], cores=m["cores"], memory=m["memory_gb"], os=m["os"], kernel=m["kernel"],
        arch=m["arch"], rustc=m["rustc"], node=m["node"], twilio=m["twilio_npm"], load=m["load_average"],
        busy_before=f"{r['busy_before_cold']:.0%}", busy_after=f"{r['busy_after_cold']:.0%}",
        table=HEADER.format(twilio=m["twilio_npm"]) + "\n" + "\n".join(rows),
        missed=missed_text,
        missed_detail=missed_detail(missed, r),
    )


def missed_detail(missed: list[str], r: dict) -> str:
    """What a reader should know about each missed target."""
    if not missed:
        return "Nothing: every target held in this run."
    notes = []
    for what in missed:
        if what.startswith("1."):
            notes.append(f"- {what}: cold starts are wall-clock times, and other work kept the "
                         f"{r['machine']['cores']} CPUs {r['busy_before_cold']:.0%} busy before "
                         f"and {r['busy_after_cold']:.0%} after them; compare the CPU time row, "
                         "and run the command again on a quiet machine.")
        elif what.startswith("2."):
            notes.append(f"- {what}: CPU time is little affected by other load, so this is the code.")
        else:
            notes.append(f"- {what}: see the figures above.")
    return "\n".join(notes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--release-dir", type=Path, default=ROOT / "target" / "release")
    parser.add_argument("--standin", type=Path, default=ROOT / "target" / "release" / "twilio-standin")
    parser.add_argument("--lambda-dir", type=Path, default=ROOT / "target" / "lambda")
    parser.add_argument("--functions", nargs="+", required=True, metavar="CRATE",
                        help="the deployed functions whose arm64 zips are measured (bench/run.sh "
                             "passes CRATES of scripts/lambdas.sh)")
    parser.add_argument("--results", type=Path, default=ROOT / "target" / "bench" / "results")
    parser.add_argument("--criterion-home", type=Path, default=ROOT / "target" / "bench" / "criterion")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--quiet-wait", type=float, default=300,
                        help="seconds to wait at most for other work to stop before the cold starts")
    parser.add_argument("--started-at", type=float, default=time.time(), help="epoch seconds the command started")
    parser.add_argument("--steps", type=steps_arg, default=[],
                        help="how long bench/run.sh's steps took: a line 'name=seconds' each")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "PERFORMANCE.md")
    args = parser.parse_args()
    for name in ("release_dir", "standin", "lambda_dir", "results", "criterion_home", "out"):
        setattr(args, name, getattr(args, name).resolve())
    if args.runs < 20:
        raise SystemExit("bench: at least 20 runs")

    harness_started = time.time()
    r = {"machine": machine(), "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
         "runs": args.runs, "burst_n": args.burst}
    r["zips"] = zip_sizes(args.lambda_dir, args.functions)
    r["crowd"] = json.loads((args.results / "crowd.json").read_text())
    r["outage_crowd"] = json.loads((args.results / "outage_crowd.json").read_text())
    r["status_crowd"] = json.loads((args.results / "status_crowd.json").read_text())
    r["ivs_crowd"] = json.loads((args.results / "ivs_crowd.json").read_text())
    r["warm_upstream_calls"] = json.loads((args.results / "warm_upstream_calls.json").read_text())
    warm_ivs = json.loads((args.results / "warm_ivs_calls.json").read_text())
    if any(warm_ivs.values()):
        raise SystemExit(f"bench: the warm path called IVS: {warm_ivs}")
    if any(r["warm_upstream_calls"].values()):
        raise SystemExit(f"bench: the warm path called Twilio: {r['warm_upstream_calls']}")
    home = args.criterion_home
    r["criterion"] = {
        "audience_live": criterion_estimate(home, "audience_token", "live_cached"),
        "audience_room": criterion_estimate(home, "audience_token", "room_cached"),
        "host": criterion_estimate(home, "host_token", "standin_loopback"),
        "mint": criterion_estimate(home, "token", "mint"),
        "audience_ivs": criterion_estimate(home, "audience_token", "ivs_cached"),
        "ivs_mint": criterion_estimate(home, "token", "ivs_mint"),
    }

    cwd = tempfile.TemporaryDirectory(prefix="onair-bench-")  # the functions' cwd: no .env there
    private_pem, public_key = ivs_key_pair(Path(cwd.name))
    standin = StandIn(args.standin, public_key)
    try:
        standin.start_live_stream()
        ivs = ivs_env(standin, private_pem)
        start_ivs_stream(args, standin, ivs, cwd.name)
        vs = variants(args, standin, ivs)
        os.sync()  # the builds' dirty pages: their writeback would share the disk and the CPUs
        r["busy_before_cold"] = wait_for_quiet(args.quiet_wait)
        r["machine"]["load_average"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
        r["cold"] = cold_starts(vs, args.runs, cwd.name)
        r["busy_after_cold"] = busy_fraction()
        r["burst"] = bursts(standin, [v for v in vs if v.key != "rust:audience_token:ivs"], args.burst, cwd.name)
    finally:
        standin.stop()
        cwd.cleanup()

    r["wall"] = duration(time.time() - args.started_at)
    steps = args.steps + [("measurements (cold starts, bursts, zips)", time.time() - harness_started)]
    r["steps"] = ", ".join(f"{name} {duration(seconds)}" for name, seconds in steps)
    rows, missed = table(r)
    print()
    print(HEADER.format(twilio=r["machine"]["twilio_npm"]))
    print("\n".join(rows))
    print()
    print("Missed: " + "; ".join(missed) if missed else "Every target is met.")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(r, rows, missed))
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "all.json").write_text(json.dumps(r, indent=2))
    print(f"\nbench: wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out} "
          f"({r['wall']} since the command started)")


if __name__ == "__main__":
    main()
