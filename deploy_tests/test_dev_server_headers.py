"""The dev server answers with the security headers CloudFront adds in production.

Production's headers are template.yaml's ResponseHeadersPolicy; the dev server (dev_server/)
writes its own copy, because the policy is a CloudFormation expression (a !Sub over an !If on
the AudienceMode parameter) that only CloudFormation evaluates. This test evaluates the policy
for each audience mode, starts the built dev server in that mode, and compares what it actually
answers (a page, a missing file, an API path and a /media path, both upstreams down) header by
header, the Content-Security-Policy directive by directive. Either side changed alone fails here.

Run: python3 -m pytest deploy_tests (scripts/check-deploy.sh does); builds the dev server first.
"""

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = Path(os.environ.get("ONAIR_TEMPLATE", ROOT / "template.yaml"))
MODES = ["room", "live", "ivs"]

# Every header a ResponseHeadersPolicy can set, besides its custom headers: the dev server must
# send exactly the template's value for each, or nothing where the template sets none.
POLICY_HEADERS = [
    "content-security-policy",
    "strict-transport-security",
    "x-content-type-options",
    "x-frame-options",
    "referrer-policy",
    "x-xss-protection",
]


# --- the template's side -------------------------------------------------------------------------


def evaluate(value, template, parameters):
    """The few intrinsic functions the headers policy uses; anything else fails the test loudly."""
    if isinstance(value, (str, int, bool)):
        return value
    (function, args), *rest = value.items()
    assert not rest, value
    if function == "Ref":
        return parameters[args]
    if function == "Fn::If":
        condition, when_true, when_false = args
        chosen = when_true if evaluate(template["Conditions"][condition], template, parameters) else when_false
        return evaluate(chosen, template, parameters)
    if function == "Fn::Equals":
        left, right = (evaluate(a, template, parameters) for a in args)
        return left == right
    if function == "Fn::Sub" and isinstance(args, list):
        text, variables = args
        for name, variable in variables.items():
            text = text.replace("${" + name + "}", evaluate(variable, template, parameters))
        assert "${" not in text, f"a !Sub variable this test does not resolve: {text}"
        return text
    raise AssertionError(f"{function} in the headers policy: teach this test to evaluate it")


def template_headers(mode):
    """The headers the policy adds in this audience mode: lower-case name -> value."""
    template, errors = decode(str(TEMPLATE))
    assert not errors, errors
    template = json.loads(json.dumps(template))
    (policy,) = (r for r in template["Resources"].values() if r["Type"] == "AWS::CloudFront::ResponseHeadersPolicy")
    config = policy["Properties"]["ResponseHeadersPolicyConfig"]
    parameters = {"AudienceMode": mode}
    headers = {}
    for kind, setting in config.get("SecurityHeadersConfig", {}).items():
        if kind == "ContentSecurityPolicy":
            headers["content-security-policy"] = evaluate(setting["ContentSecurityPolicy"], template, parameters)
        elif kind == "StrictTransportSecurity":
            value = f"max-age={setting['AccessControlMaxAgeSec']}"
            if setting.get("IncludeSubdomains"):
                value += "; includeSubDomains"
            if setting.get("Preload"):
                value += "; preload"
            headers["strict-transport-security"] = value
        elif kind == "ContentTypeOptions":
            headers["x-content-type-options"] = "nosniff"
        elif kind == "FrameOptions":
            headers["x-frame-options"] = setting["FrameOption"]
        elif kind == "ReferrerPolicy":
            headers["referrer-policy"] = setting["ReferrerPolicy"]
        else:
            raise AssertionError(f"SecurityHeadersConfig.{kind}: teach this test how CloudFront writes it")
    for item in config.get("CustomHeadersConfig", {}).get("Items", []):
        headers[item["Header"].lower()] = evaluate(item["Value"], template, parameters)
    return headers


def csp_directives(text):
    """directive -> set of sources: the order of either does not change what a policy allows."""
    directives = {}
    for part in text.split(";"):
        words = part.split()
        if words:
            assert words[0] not in directives, f"{words[0]} twice"
            directives[words[0]] = set(words[1:])
    return directives


# --- the dev server's side -----------------------------------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def dev_server_binary():
    """The dev server built as scripts/dev.sh builds it: with the workspace's binaries, so the
    features of its dependencies are the same and the build is a no-op after scripts/test.sh's."""
    cargo = ["cargo", "build", "--locked", "--quiet", "--workspace", "--bins"]
    subprocess.run(cargo, cwd=ROOT, check=True, timeout=3600)
    metadata = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps", "--locked"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    )
    return Path(json.loads(metadata.stdout)["target_directory"]) / "debug" / "onair-dev-server"


@pytest.fixture(scope="module", params=MODES)
def dev_server(request, dev_server_binary, tmp_path_factory):
    """A running dev server in one audience mode; its API and media upstreams listen nowhere."""
    mode = request.param
    tmp_path = tmp_path_factory.mktemp(f"dev-server-{mode}")
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "index.html").write_text("<!doctype html><title>t</title>")
    port, nowhere = free_port(), free_port()
    log = open(tmp_path / "dev-server.log", "w")
    process = subprocess.Popen(
        [
            dev_server_binary, "--bind", "127.0.0.1", "--port", str(port),
            "--static", tmp_path / "static",
            "--api", f"http://127.0.0.1:{nowhere}", "--media", f"http://127.0.0.1:{nowhere}",
            "--audience-mode", mode,
        ],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, (tmp_path / "dev-server.log").read_text()
            try:
                urllib.request.urlopen(f"{base}/index.html", timeout=2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the dev server did not answer within 30 s"
                time.sleep(0.1)
        yield mode, base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def answer(base, method, path):
    """(status, lower-case header name -> value) of one request, error statuses included."""
    request = urllib.request.Request(f"{base}{path}", method=method, data=b"" if method == "POST" else None)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}


# The dev server answers each itself: a file, its 404, and its 503 for an upstream that is down.
REQUESTS = [("GET", "/index.html", 200), ("GET", "/missing.js", 404), ("POST", "/audience_token", 503),
            ("POST", "/media/whep/some-room", 503)]


@pytest.mark.parametrize("method,path,status", REQUESTS)
def test_the_dev_server_sends_the_templates_security_headers(dev_server, method, path, status):
    mode, base = dev_server
    want = template_headers(mode)
    got_status, got = answer(base, method, path)
    assert got_status == status
    for name in sorted(set(POLICY_HEADERS) | set(want)):
        if name == "content-security-policy":
            assert name in got, f"{mode} {path}: no Content-Security-Policy"
            assert csp_directives(got[name]) == csp_directives(want[name]), f"{mode} {path}"
        else:
            assert got.get(name) == want.get(name), f"{mode} {path}: {name}"


def test_the_modes_differ_in_the_amazon_ivs_hosts_only():
    """Guards the comparison above: the template's !If really changes the policy between modes.
    live (the Live Player streams from IVS) and ivs (the stage's WHIP endpoint, the Web Broadcast
    SDK's signalling and stats) add the same *.live-video.net hosts to connect-src."""
    room, live, ivs = (csp_directives(template_headers(m)["content-security-policy"]) for m in MODES)
    for other in (live, ivs):
        assert other["connect-src"] - room["connect-src"] == {"https://*.live-video.net", "wss://*.live-video.net"}
        assert room["connect-src"] <= other["connect-src"]
        assert {k: v for k, v in other.items() if k != "connect-src"} == {k: v for k, v in room.items() if k != "connect-src"}
