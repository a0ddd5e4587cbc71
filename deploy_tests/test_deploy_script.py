"""scripts/deploy.sh against fake `aws`, `sam`, `npm` and `rustup` that record their arguments:
what it builds, deploys, uploads (content types, cache headers, order), removes and invalidates,
without an AWS account. Runs on a copy of the script beside a small made-up static/ folder.
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

OUTPUTS = {
    "PagesBucketName": "onair-pagesbucket-abc",
    "DistributionId": "E2EXAMPLE",
    "HostPageUrl": "https://d111.cloudfront.net/host.html",
    "AudiencePageUrl": "https://d111.cloudfront.net/",
    "TwilioSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:TwilioSecret-x",
}
STATIC = {
    "index.html": "text/html; charset=utf-8",
    "host.html": "text/html; charset=utf-8",
    "js/host.js": "text/javascript; charset=utf-8",
    "css/onair.css": "text/css; charset=utf-8",
    "vendor/twilio-video.min.js": "text/javascript; charset=utf-8",
    "vendor/live-player/twilio-live-player-wasmworker-1-7-0.min.wasm": "application/wasm",
    "vendor/live-player/twilio-live-player-wasmworker-1-7-0.min.js": "text/javascript; charset=utf-8",
}
CACHE = {
    "index.html": "no-cache",
    "host.html": "no-cache",
    "js/host.js": "no-cache",
    "css/onair.css": "no-cache",
    "vendor/twilio-video.min.js": "public, max-age=86400",
    "vendor/live-player/twilio-live-player-wasmworker-1-7-0.min.wasm": "public, max-age=31536000, immutable",
    "vendor/live-player/twilio-live-player-wasmworker-1-7-0.min.js": "public, max-age=31536000, immutable",
}
FUNCTION_IDS = [
    "HostTokenFunction", "StreamStartFunction", "StreamStopFunction",
    "AudienceTokenFunction", "SubscribeFunction", "ReaperFunction", "RoomEventsFunction",
    "HostSessionFunction", "StreamStatusFunction",
    "MeetingCreateFunction", "MeetingTokenFunction",
]

FAKE = r'''#!/usr/bin/env python3
import json, os, re, sys
from pathlib import Path
name = Path(sys.argv[0]).name
args = sys.argv[1:]
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps([name, *args]) + "\n")
outputs = json.loads(os.environ["FAKE_OUTPUTS"])
if name == "aws":
    if "describe-stacks" in args:
        key = re.search(r"OutputKey=='(\w+)'", " ".join(args))[1]
        print(outputs[key])
    elif "list-objects-v2" in args:
        print("index.html\tstale/old.js")
    elif "list-secret-version-ids" in args:
        print(os.environ.get("FAKE_SECRET_VERSIONS", "2"))
    elif "create-invalidation" in args:
        print("I2EXAMPLE")
elif name == "sam" and args[:1] == ["build"] and os.environ.get("FAKE_BUILD") != "broken":
    build = Path(".aws-sam/build")
    build.mkdir(parents=True, exist_ok=True)
    (build / "template.yaml").write_text("{}")
    for fn in os.environ["FAKE_FUNCTIONS"].split():
        (build / fn).mkdir(exist_ok=True)
        (build / fn / "bootstrap").write_text("")
        (build / fn / "bootstrap").chmod(0o755)
elif name == "rustup":
    print("aarch64-unknown-linux-gnu")
'''


@pytest.fixture
def project(tmp_path):
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "deploy.sh", tmp_path / "scripts" / "deploy.sh")
    shutil.copy(ROOT / "scripts" / "lambdas.sh", tmp_path / "scripts" / "lambdas.sh")
    for key in STATIC:
        path = tmp_path / "static" / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"/* {key} */")
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    for tool in ("aws", "sam", "npm", "rustup", "cargo-lambda"):
        (bin_dir / tool).write_text(FAKE)
        (bin_dir / tool).chmod(0o755)
    return tmp_path


def run(project, *args, **env):
    log = project / "calls.jsonl"
    log.unlink(missing_ok=True)
    result = subprocess.run(
        ["bash", str(project / "scripts" / "deploy.sh"), *args],
        capture_output=True, text=True, timeout=120,
        env={
            **os.environ,
            "PATH": f"{project / 'fakebin'}:{os.environ['PATH']}",
            "FAKE_LOG": str(log),
            "FAKE_OUTPUTS": json.dumps(OUTPUTS),
            "FAKE_FUNCTIONS": " ".join(FUNCTION_IDS),
            **env,
        },
    )
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return result, calls


def flag(call, name):
    return call[call.index(name) + 1]


def test_a_deploy_builds_deploys_uploads_invalidates_and_prints_the_urls(project):
    result, calls = run(project, "--region", "eu-west-1")
    assert result.returncode == 0, result.stderr
    tools = [c[0] for c in calls]
    npm = [c[1:] for c in calls if c[0] == "npm"]
    assert npm[0][0] == "ci" and npm[1] == ["run", "vendor"]
    sam = [c for c in calls if c[0] == "sam"]
    assert sam[0][1] == "build" and "--use-container" not in sam[0]
    (prebuild,) = [c for c in calls if c[0] == "cargo-lambda"]
    assert prebuild[1:4] == ["lambda", "build", "--release"] and "--arm64" in prebuild
    assert [prebuild[i + 1] for i, a in enumerate(prebuild) if a == "--package"] == [
        "host_token", "stream_start", "stream_stop", "audience_token", "subscribe", "reaper",
        "room_events", "host_session", "stream_status", "meeting_create", "meeting_token",
    ]
    assert calls.index(prebuild) < calls.index(sam[0])
    deploy = sam[1]
    assert deploy[1] == "deploy"
    assert flag(deploy, "--template-file") == ".aws-sam/build/template.yaml"
    assert flag(deploy, "--region") == "eu-west-1"
    assert flag(deploy, "--stack-name") == "onair"
    assert tools.index("npm") < calls.index(sam[0]) < calls.index(deploy)
    first_upload = next(i for i, c in enumerate(calls) if c[:3] == ["aws", "--region", "eu-west-1"] and "cp" in c)
    assert calls.index(deploy) < first_upload

    for call in (c for c in calls if c[0] == "aws"):
        assert call[1:3] == ["--region", "eu-west-1"], call

    uploads = [c for c in calls if c[0] == "aws" and c[3:5] == ["s3", "cp"]]
    uploaded = {}
    for order, call in enumerate(uploads):
        src, dst = call[5], call[6]
        key = src.removeprefix("static/")
        assert dst == f"s3://{OUTPUTS['PagesBucketName']}/{key}"
        uploaded[key] = (order, flag(call, "--content-type"), flag(call, "--cache-control"))
    assert set(uploaded) == set(STATIC)
    for key, (_, content_type, cache) in uploaded.items():
        assert content_type == STATIC[key], key
        assert cache == CACHE[key], key
    last_asset = max(o for k, (o, _, _) in uploaded.items() if not k.endswith(".html"))
    first_page = min(o for k, (o, _, _) in uploaded.items() if k.endswith(".html"))
    assert last_asset < first_page, "pages go up after the assets they load"

    removed = [c[5] for c in calls if c[0] == "aws" and c[3:5] == ["s3", "rm"]]
    assert removed == [f"s3://{OUTPUTS['PagesBucketName']}/stale/old.js"]

    (invalidation,) = [c for c in calls if "create-invalidation" in c]
    assert flag(invalidation, "--distribution-id") == OUTPUTS["DistributionId"]
    assert flag(invalidation, "--paths") == "/*"
    assert calls.index(invalidation) > max(calls.index(c) for c in uploads)

    assert OUTPUTS["HostPageUrl"] in result.stdout
    assert OUTPUTS["AudiencePageUrl"] in result.stdout
    assert "placeholders" not in result.stderr


def test_a_broken_build_is_never_deployed(project):
    result, calls = run(project, FAKE_BUILD="broken")
    assert result.returncode != 0
    assert not [c for c in calls if c[:2] == ["sam", "deploy"]]
    assert not [c for c in calls if c[0] == "aws" and "cp" in c]


def test_an_unfilled_secret_is_pointed_out_without_reading_it(project):
    result, calls = run(project, "--pages-only", FAKE_SECRET_VERSIONS="1")
    assert result.returncode == 0, result.stderr
    assert not [c for c in calls if c[0] == "sam"], "--pages-only leaves the stack alone"
    assert "put-secret-value" in result.stderr
    assert not [c for c in calls if "get-secret-value" in c]


def test_teardown_empties_the_bucket_then_deletes_the_stack(project):
    result, calls = run(project, "--teardown", "--profile", "team")
    assert result.returncode == 0, result.stderr
    empty = next(i for i, c in enumerate(calls) if c[0] == "aws" and "rm" in c)
    assert calls[empty][-2:] == [f"s3://{OUTPUTS['PagesBucketName']}", "--recursive"]
    delete = next(i for i, c in enumerate(calls) if c[:2] == ["sam", "delete"])
    assert empty < delete
    assert flag(calls[delete], "--stack-name") == "onair"
    assert flag(calls[delete], "--profile") == "team"
    assert not [c for c in calls if c[0] == "npm"]
