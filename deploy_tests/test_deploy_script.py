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
    "vendor/amazon-ivs-web-broadcast.js": "text/javascript; charset=utf-8",
    "vendor/live-player/twilio-live-player-wasmworker-1-7-0.min.wasm": "application/wasm",
    "vendor/live-player/twilio-live-player-wasmworker-1-7-0.min.js": "text/javascript; charset=utf-8",
}
CACHE = {
    "index.html": "no-cache",
    "host.html": "no-cache",
    "js/host.js": "no-cache",
    "css/onair.css": "no-cache",
    "vendor/twilio-video.min.js": "public, max-age=86400",
    "vendor/amazon-ivs-web-broadcast.js": "public, max-age=86400",
    "vendor/live-player/twilio-live-player-wasmworker-1-7-0.min.wasm": "public, max-age=31536000, immutable",
    "vendor/live-player/twilio-live-player-wasmworker-1-7-0.min.js": "public, max-age=31536000, immutable",
}
FUNCTION_IDS = [
    "HostTokenFunction", "StreamStartFunction", "StreamStopFunction",
    "AudienceTokenFunction", "SubscribeFunction", "ReaperFunction", "RoomEventsFunction",
    "HostSessionFunction", "StreamStatusFunction",
    "MeetingCreateFunction", "MeetingTokenFunction",
]

SECRET_FILLED = {"TWILIO_ACCOUNT_SID": "AC123", "TWILIO_API_KEY_SID": "SK123", "TWILIO_API_KEY_SECRET": "s", "HOST_PASSWORD": "p"}

FAKE = r'''#!/usr/bin/env python3
import json, os, re, sys
from pathlib import Path
name = Path(sys.argv[0]).name
args = sys.argv[1:]
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps([name, *args]) + "\n")
outputs = json.loads(os.environ["FAKE_OUTPUTS"])
if name == "aws":
    if "describe-stacks" in args and "ParameterKey=='AudienceMode'" in " ".join(args):
        print(os.environ.get("FAKE_MODE", "room"))
    elif "describe-stacks" in args:
        key = re.search(r"OutputKey=='(\w+)'", " ".join(args))[1]
        print(outputs[key])
    elif "get-secret-value" in args:
        print(os.environ["FAKE_SECRET"])
    elif "put-secret-value" in args:
        source = args[args.index("--secret-string") + 1]
        assert source.startswith("file://"), "the secret's value never on the command line"
        with open(os.environ["FAKE_PUT_LOG"], "a") as put:
            put.write(Path(source.removeprefix("file://")).read_text() + "\n")
        print("v2")
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
            "FAKE_PUT_LOG": str(project / "puts.jsonl"),
            "FAKE_SECRET": json.dumps(SECRET_FILLED),
            # Beside the made-up project, never in it (the script refuses a key directory inside).
            "ONAIR_STATE_DIR": str(project.parent / f"{project.name}-state"),
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


# --- ivs mode: the participant tokens' key pair --------------------------------------------------


def ivs_key_path(project, region="eu-west-1"):
    return project.parent / f"{project.name}-state" / f"onair-{region}" / "ivs-participant-key.pem"


def public_pem_of(key):
    return subprocess.run(["openssl", "pkey", "-in", str(key), "-pubout"], capture_output=True, text=True, check=True).stdout.strip()


def overrides_of(deploy):
    i = deploy.index("--parameter-overrides")
    values = []
    for value in deploy[i + 1:]:
        if value.startswith("--"):
            break
        values.append(value)
    return values


def puts(project):
    path = project / "puts.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line] if path.exists() else []


def test_an_ivs_deploy_makes_a_p384_key_pair_outside_the_repo_passes_the_public_key_and_puts_the_private_one_in_the_secret(project):
    result, calls = run(project, "--region", "eu-west-1", "--parameter-overrides", "AudienceMode=ivs StreamMaxMinutes=60")
    assert result.returncode == 0, result.stderr
    key = ivs_key_path(project)
    assert key.is_file() and not key.is_relative_to(project), "kept outside the repository"
    assert oct(key.stat().st_mode & 0o777) == "0o600" and oct(key.parent.stat().st_mode & 0o777) == "0o700"
    text = subprocess.run(["openssl", "pkey", "-in", str(key), "-text", "-noout"], capture_output=True, text=True, check=True).stdout
    assert "P-384" in text or "secp384r1" in text, "a P-384 key"
    assert key.read_text().startswith("-----BEGIN PRIVATE KEY-----"), "PKCS#8"

    (deploy,) = [c for c in calls if c[:2] == ["sam", "deploy"]]
    assert overrides_of(deploy) == ["AudienceMode=ivs StreamMaxMinutes=60", f'IvsPublicKeyPem="{public_pem_of(key)}"']
    (put,) = puts(project)
    assert put == {**SECRET_FILLED, "IVS_PRIVATE_KEY": key.read_text()}, "the other keys kept"
    everything = json.dumps(calls)
    assert "PRIVATE KEY" not in everything, "the private key never on a command line"
    assert not list(key.parent.glob("secret*")), "the staged secret is removed"
    assert "placeholders" not in result.stderr

    # The next deploy reuses the key pair and leaves the secret alone when it holds the key.
    again, calls = run(project, "--region", "eu-west-1", "--parameter-overrides", "AudienceMode=ivs",
                       FAKE_SECRET=json.dumps(put))
    assert again.returncode == 0, again.stderr
    (deploy,) = [c for c in calls if c[:2] == ["sam", "deploy"]]
    assert overrides_of(deploy)[-1] == f'IvsPublicKeyPem="{public_pem_of(key)}"'
    assert len(puts(project)) == 1, "no new secret version"


def test_ivs_mode_from_samconfig_keeps_its_settings_and_an_unfilled_secret_is_pointed_out(project):
    (project / "samconfig.toml").write_text(
        '[default.deploy.parameters]\nparameter_overrides = "AudienceMode=\\"ivs\\" StreamMaxMinutes=\\"120\\""\n'
    )
    result, calls = run(project, "--region", "eu-west-1", FAKE_SECRET=json.dumps({"TWILIO_ACCOUNT_SID": "", "HOST_PASSWORD": "x"}))
    assert result.returncode == 0, result.stderr
    (deploy,) = [c for c in calls if c[:2] == ["sam", "deploy"]]
    key = ivs_key_path(project)
    assert overrides_of(deploy) == ['AudienceMode="ivs" StreamMaxMinutes="120"', f'IvsPublicKeyPem="{public_pem_of(key)}"']
    assert puts(project)[0]["IVS_PRIVATE_KEY"] == key.read_text()
    assert "placeholders" in result.stderr


def test_other_modes_make_no_key_and_never_read_the_secret(project):
    result, calls = run(project, "--region", "eu-west-1", "--parameter-overrides", "AudienceMode=room")
    assert result.returncode == 0, result.stderr
    assert not (project.parent / f"{project.name}-state").exists()
    (deploy,) = [c for c in calls if c[:2] == ["sam", "deploy"]]
    assert overrides_of(deploy) == ["AudienceMode=room"]
    assert not [c for c in calls if "get-secret-value" in c or "put-secret-value" in c]


def test_pages_only_on_an_ivs_stack_puts_the_key_back_and_needs_the_key_pair(project):
    missing, _ = run(project, "--pages-only", "--region", "eu-west-1", FAKE_MODE="ivs")
    assert missing.returncode != 0 and "run a full deploy" in missing.stderr
    made, _ = run(project, "--region", "eu-west-1", "--parameter-overrides", "AudienceMode=ivs")
    assert made.returncode == 0, made.stderr
    # The secret was filled by hand since (the whole JSON replaced): the key goes back in.
    result, calls = run(project, "--pages-only", "--region", "eu-west-1", FAKE_MODE="ivs")
    assert result.returncode == 0, result.stderr
    assert not [c for c in calls if c[0] == "sam"]
    assert puts(project)[-1]["IVS_PRIVATE_KEY"] == ivs_key_path(project).read_text()


def test_a_key_directory_inside_the_repository_is_refused(project):
    result, calls = run(project, "--region", "eu-west-1", "--parameter-overrides", "AudienceMode=ivs",
                        ONAIR_STATE_DIR=str(project / "keys"))
    assert result.returncode != 0 and "inside the repository" in result.stderr
    assert not (project / "keys").exists()
    assert not [c for c in calls if c[:2] == ["sam", "deploy"]]
