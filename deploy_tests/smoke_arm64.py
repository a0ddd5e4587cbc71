#!/usr/bin/env python3
"""Runs the exact deployable arm64 `bootstrap` of host_token and makes it answer requests.

    python3 deploy_tests/smoke_arm64.py --bootstrap .aws-sam/build/HostTokenFunction/bootstrap \
        --standin target/debug/twilio-standin

Everything on 127.0.0.1, nothing from outside:
  * the project's Twilio stand-in (rooms, access to the Video REST API),
  * moto's Secrets Manager holding the secret, so the binary takes the production path
    (SECRET_ID -> GetSecretValue at cold start, through the AWS SDK and its TLS-free local endpoint),
  * `cargo lambda watch --only-lambda-apis`: the Lambda Runtime API,
  * the bootstrap under `qemu-aarch64 -L /usr/aarch64-linux-gnu` (Debian: qemu-user libc6-arm64-cross).
Then two API Gateway (HTTP API, payload 2.0) events through `cargo lambda invoke`: the right host
password must give 200 with a host token for a new `livestream-*` room that the stand-in knows, a
wrong one 401. Prints how long each step took. Exit status 0 only if all of that held.
"""

import argparse
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The stand-in's account (the values scripts/dev.sh uses); the secret gets the same ones.
ACCOUNT = {
    "STANDIN_ACCOUNT_SID": "AC00000000000000000000000000000000",
    "STANDIN_AUTH_TOKEN": "standin-auth-token-0000000000000",
    "STANDIN_API_KEY_SID": "SK00000000000000000000000000000000",
    "STANDIN_API_KEY_SECRET": "standin-api-key-secret-000000000",
}
PASSWORD = "smoke-test-host-password"
SECRET_NAME = "onair-smoke"

started = []


def log(msg):
    print(f"smoke: {msg}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, what, timeout=60, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"smoke: {what} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"smoke: {what} did not listen on {port} within {timeout} s")


def start(cmd, logfile, env=None):
    out = open(logfile, "w")
    proc = subprocess.Popen(
        cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT, start_new_session=True
    )
    started.append(proc)
    return proc


def stop_all():
    for proc in reversed(started):
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    for proc in started:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def http_event(path, body):
    return {
        "version": "2.0",
        "routeKey": f"POST {path}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"content-type": "application/json", "host": "smoke.example"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "smoke",
            "domainName": "smoke.example",
            "domainPrefix": "smoke",
            "http": {
                "method": "POST",
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "onair-smoke",
            },
            "requestId": f"smoke-{time.time_ns()}",
            "routeKey": f"POST {path}",
            "stage": "$default",
            "time": "01/Jan/2026:00:00:00 +0000",
            "timeEpoch": int(time.time() * 1000),
        },
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


def invoke(port, event, workdir):
    event_file = Path(workdir) / "event.json"
    event_file.write_text(json.dumps(event))
    t0 = time.monotonic()
    out = subprocess.run(
        ["cargo", "lambda", "invoke", "--invoke-address", "127.0.0.1", "--invoke-port", str(port),
         "--data-file", str(event_file), "--output-format", "json"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    elapsed = time.monotonic() - t0
    if out.returncode != 0:
        raise SystemExit(f"smoke: cargo lambda invoke failed:\n{out.stdout}\n{out.stderr}")
    response = json.loads(out.stdout)
    body = response.get("body") or ""
    if response.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    return response["statusCode"], json.loads(body) if body else None, elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", required=True, help="the arm64 host_token bootstrap")
    parser.add_argument("--standin", required=True, help="target/debug/twilio-standin")
    parser.add_argument("--qemu-sysroot", default="/usr/aarch64-linux-gnu")
    args = parser.parse_args()

    for tool in ("qemu-aarch64", "moto_server", "cargo-lambda"):
        if not shutil.which(tool):
            raise SystemExit(f"smoke: {tool} is missing")
    for path in (args.bootstrap, args.standin, args.qemu_sysroot):
        if not Path(path).exists():
            raise SystemExit(f"smoke: {path} is missing")

    import boto3  # moto brings it; imported late so --help works without it

    timings = {}
    workdir = tempfile.mkdtemp(prefix="onair-smoke-")
    try:
        t = time.monotonic()
        standin_port, moto_port, runtime_port = free_port(), free_port(), free_port()
        standin = start(
            [args.standin, "--bind", "127.0.0.1", "--port", str(standin_port)],
            f"{workdir}/standin.log", env={**os.environ, **ACCOUNT},
        )
        moto = start(["moto_server", "-H", "127.0.0.1", "-p", str(moto_port)], f"{workdir}/moto.log")
        runtime = start(
            ["cargo", "lambda", "watch", "--only-lambda-apis", "-A", "127.0.0.1", "-P", str(runtime_port)],
            f"{workdir}/runtime.log",
        )
        wait_for_port(standin_port, "twilio-standin", proc=standin)
        wait_for_port(moto_port, "moto_server", proc=moto)
        wait_for_port(runtime_port, "cargo lambda watch", proc=runtime)
        timings["start stand-in, moto, runtime API"] = time.monotonic() - t

        aws = {
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "smoke",
            "AWS_SECRET_ACCESS_KEY": "smoke",
            "AWS_ENDPOINT_URL_SECRETS_MANAGER": f"http://127.0.0.1:{moto_port}",
        }
        secrets = boto3.client(
            "secretsmanager", endpoint_url=aws["AWS_ENDPOINT_URL_SECRETS_MANAGER"],
            region_name="us-east-1", aws_access_key_id="smoke", aws_secret_access_key="smoke",
        )
        secret_arn = secrets.create_secret(
            Name=SECRET_NAME,
            SecretString=json.dumps({
                "TWILIO_ACCOUNT_SID": ACCOUNT["STANDIN_ACCOUNT_SID"],
                "TWILIO_API_KEY_SID": ACCOUNT["STANDIN_API_KEY_SID"],
                "TWILIO_API_KEY_SECRET": ACCOUNT["STANDIN_API_KEY_SECRET"],
                "TWILIO_AUTH_TOKEN": ACCOUNT["STANDIN_AUTH_TOKEN"],
                "HOST_PASSWORD": PASSWORD,
            }),
        )["ARN"]

        # The environment Lambda gives the function, plus what template.yaml sets.
        function_env = {
            "PATH": "/usr/bin:/bin",
            "AWS_LAMBDA_RUNTIME_API": f"http://127.0.0.1:{runtime_port}/.rt",
            "AWS_LAMBDA_FUNCTION_NAME": "_",
            "AWS_LAMBDA_FUNCTION_VERSION": "1",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
            **aws,
            "SECRET_ID": secret_arn,
            "AUDIENCE_MODE": "room",
            "STREAM_MAX_MINUTES": "120",
            "HOST_IDENTITY": "host",
            "RUST_LOG": "info",
            "TWILIO_VIDEO_BASE_URL": f"http://127.0.0.1:{standin_port}",
            "TWILIO_MEDIA_BASE_URL": f"http://127.0.0.1:{standin_port}",
        }
        t = time.monotonic()
        function = start(
            ["qemu-aarch64", "-L", args.qemu_sysroot, str(Path(args.bootstrap).resolve())],
            f"{workdir}/function.log", env=function_env,
        )

        status, body, elapsed = invoke(runtime_port, http_event("/host_token", {"password": PASSWORD}), workdir)
        timings["first request (cold start under qemu + secret + Twilio room)"] = time.monotonic() - t
        if function.poll() is not None:
            raise SystemExit(f"smoke: the function exited with {function.returncode}")
        assert status == 200, (status, body)
        assert body["room"].startswith("livestream-"), body
        assert body["identity"] == "host" and body["mode"] == "room", body
        assert body["token"].count(".") == 2, "a JWT"
        log(f"host_token answered 200: room {body['room']}, token of {len(body['token'])} chars")

        # The room is real on the stand-in.
        request = urllib.request.Request(
            f"http://127.0.0.1:{standin_port}/v1/Rooms/{body['room']}",
            headers={"Authorization": "Basic " + base64.b64encode(
                f"{ACCOUNT['STANDIN_API_KEY_SID']}:{ACCOUNT['STANDIN_API_KEY_SECRET']}".encode()
            ).decode()},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            room = json.load(response)
        assert room["status"] == "in-progress" and room["type"] == "group", room
        log(f"the stand-in has room {room['unique_name']} ({room['status']}, {room['type']})")

        status, body, elapsed = invoke(runtime_port, http_event("/host_token", {"password": "wrong"}), workdir)
        timings["warm request (wrong password)"] = elapsed
        assert status == 401 and body["error"]["code"] == "unauthorized", (status, body)
        log("a wrong password gets 401 unauthorized")
    except BaseException:
        for name in ("function", "runtime", "standin", "moto"):
            path = Path(workdir) / f"{name}.log"
            if path.exists():
                print(f"--- {name}.log (last lines)", file=sys.stderr)
                print("\n".join(path.read_text(errors="replace").splitlines()[-25:]), file=sys.stderr)
        raise
    finally:
        stop_all()
        shutil.rmtree(workdir, ignore_errors=True)

    for what, seconds in timings.items():
        log(f"{seconds * 1000:7.0f} ms  {what}")
    log("passed")


if __name__ == "__main__":
    main()
