"""What template.yaml must guarantee, checked without AWS.

Reads the template twice: as written (cfn-lint's YAML decoder, which understands !Ref, !GetAtt,
!Sub, ...) and as CloudFormation receives it (the SAM translator, offline), so the checks cover
what SAM generates too: the API's routes and stage throttles, the schedule rule, and that no
role or policy appears that the template did not write.

Run: python3 -m pytest deploy_tests (scripts/check-deploy.sh does).
"""

import copy
import json
import os
import re
import tomllib
from pathlib import Path

import pytest
from cfnlint.decode import decode
from samtranslator.translator.transform import transform

ROOT = Path(__file__).resolve().parent.parent
# ONAIR_TEMPLATE: check another copy (e.g. a deliberately broken one, to see these tests fail).
TEMPLATE = Path(os.environ.get("ONAIR_TEMPLATE", ROOT / "template.yaml"))

# Logical id -> (binary / crate directory under functions/, its HTTP route "METHOD /path" or None).
FUNCTIONS = {
    "HostTokenFunction": ("host_token", "POST /host_token"),
    "StreamStartFunction": ("stream_start", "POST /stream_start"),
    "StreamStopFunction": ("stream_stop", "POST /stream_stop"),
    "AudienceTokenFunction": ("audience_token", "POST /audience_token"),
    "SubscribeFunction": ("subscribe", "POST /subscribe"),
    "ReaperFunction": ("reaper", None),
    "RoomEventsFunction": ("room_events", "POST /room_events"),
    "HostSessionFunction": ("host_session", "POST /host_session"),
    "StreamStatusFunction": ("stream_status", "GET /status/{stream}"),
    "MeetingCreateFunction": ("meeting_create", "POST /meeting_create"),
    "MeetingTokenFunction": ("meeting_token", "POST /meeting_token"),
}
ROUTES = sorted(route for _, route in FUNCTIONS.values() if route)
API_PATHS = sorted(route.split(" ", 1)[1] for route in ROUTES)
# Twilio calls /room_events on the API directly; browsers reach the other paths via CloudFront.
TWILIO_PATHS = ["/room_events"]
# The cached GET resource: its route, and the CloudFront path pattern that reaches it.
STATUS_ROUTE = "GET /status/{stream}"
STATUS_PATTERN = "/status/*"
POST_BROWSER_PATHS = sorted(
    route.split(" ", 1)[1]
    for route in ROUTES
    if route.startswith("POST ") and route.split(" ", 1)[1] not in TWILIO_PATHS
)
HOST_PATHS = ["/host_session", "/host_token", "/stream_start", "/stream_stop", "/meeting_create"]
# Meeting settings (functions/common/src/config.rs, MeetingSettings) -> their template parameter.
MEETING_SETTINGS = {
    "MEETING_MAX_MINUTES": "MeetingMaxMinutes",
    "MEETING_MAX_PARTICIPANTS": "MeetingMaxParticipants",
    "MEETING_INVITE_HOURS": "MeetingInviteHours",
}
SECRET = "TwilioSecret"
SECRET_KEYS = {
    "TWILIO_ACCOUNT_SID",
    "TWILIO_API_KEY_SID",
    "TWILIO_API_KEY_SECRET",
    "HOST_PASSWORD",
    "TWILIO_AUTH_TOKEN",
}

# ivs mode: exactly the ivs:* actions each function calls (functions/*, the back end's IVS calls),
# ListStages on "*" (it takes no resource), everything else on this account's and region's stages.
IVS_ACTIONS = {
    "HostTokenFunction": {"ivs:ListStages", "ivs:CreateStage", "ivs:TagResource", "ivs:GetStage", "ivs:ListParticipants",
                          "ivs:DisconnectParticipant", "ivs:DeleteStage"},
    "StreamStartFunction": {"ivs:ListStages", "ivs:GetStage", "ivs:ListParticipants"},
    "StreamStopFunction": {"ivs:ListStages", "ivs:GetStage", "ivs:ListParticipants", "ivs:DisconnectParticipant", "ivs:DeleteStage"},
    "AudienceTokenFunction": {"ivs:ListStages", "ivs:GetStage"},
    "StreamStatusFunction": {"ivs:ListStages"},
    "ReaperFunction": {"ivs:ListStages", "ivs:GetStage", "ivs:ListParticipants", "ivs:DisconnectParticipant", "ivs:DeleteStage"},
}
IVS_UNSCOPED = {"ivs:ListStages"}
STAGE_ARNS = {"Fn::Sub": "arn:${AWS::Partition}:ivs:${AWS::Region}:${AWS::AccountId}:stage/*"}

CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST = "b689b0a8-53d0-40ab-baf2-68738e2966ac"


def plain(value):
    """cfn-lint's node classes -> plain dicts, lists and strings."""
    return json.loads(json.dumps(value))


@pytest.fixture(scope="module")
def raw():
    template, errors = decode(str(TEMPLATE))
    assert not errors, errors
    return plain(template)


@pytest.fixture(scope="module")
def cfn(raw):
    """The template after the SAM transform, as CloudFormation would get it."""

    class NoManagedPolicies:
        def load(self):
            return {}

    template = copy.deepcopy(raw)
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            # The translator wants an S3 location; `sam build`/`sam deploy` put one there.
            resource["Properties"]["CodeUri"] = "s3://bucket/key"
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    return transform(template, {}, NoManagedPolicies())


def of_type(template, kind):
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def as_list(value):
    return value if isinstance(value, list) else [value]


def sub_text(value):
    """The text of a string or !Sub (either form)."""
    if isinstance(value, str):
        return value
    sub = value["Fn::Sub"]
    return sub if isinstance(sub, str) else sub[0]


# --- functions -----------------------------------------------------------------------------------


def test_every_function_crate_is_deployed_and_nothing_else(raw):
    crates = {
        p.parent.name
        for p in (ROOT / "functions").glob("*/Cargo.toml")
        if p.parent.name != "common"
    }
    deployed = {binary for binary, _ in FUNCTIONS.values()}
    missing = crates - deployed
    assert not missing, (
        f"functions/{sorted(missing)} exist but template.yaml does not deploy them: "
        "see the room_events block in template.yaml and FUNCTIONS in this file"
    )
    assert set(of_type(raw, "AWS::Serverless::Function")) == set(FUNCTIONS)


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_function_is_arm64_cargo_lambda_small_and_bounded(raw, cfn, logical_id):
    binary, route = FUNCTIONS[logical_id]
    fn = raw["Resources"][logical_id]
    assert fn["Metadata"]["BuildMethod"] == "rust-cargolambda"
    assert fn["Metadata"]["BuildProperties"]["Binary"] == binary
    assert fn["Properties"]["CodeUri"] == f"functions/{binary}"
    cargo = tomllib.loads((ROOT / "functions" / binary / "Cargo.toml").read_text())
    assert binary in [b["name"] for b in cargo.get("bin", [])], f"no [[bin]] {binary}"

    props = cfn["Resources"][logical_id]["Properties"]  # Globals applied
    assert props["Runtime"] == "provided.al2023"
    assert props["Architectures"] == ["arm64"]
    assert props["MemorySize"] == 128
    if route:
        assert props["Timeout"] == 15, "HTTP functions: 15 s (Twilio requests are 4 s each)"
    else:
        assert props["Timeout"] <= 60
    env = props["Environment"]["Variables"]
    assert env["SECRET_ID"] == {"Ref": SECRET}
    assert env["AUDIENCE_MODE"] == {"Ref": "AudienceMode"}
    assert env["STREAM_MAX_MINUTES"] == {"Ref": "StreamMaxMinutes"}
    assert env["HOST_IDENTITY"] == {"Ref": "HostIdentity"}
    for key, parameter in MEETING_SETTINGS.items():
        assert env[key] == {"Ref": parameter}, key
    # The imported public key's ARN in ivs mode, no variable at all in the others.
    assert env["IVS_PUBLIC_KEY_ARN"] == {"Fn::If": ["IsIvs", {"Fn::GetAtt": ["IvsPublicKey", "Arn"]}, {"Ref": "AWS::NoValue"}]}
    assert not [k for k in env if k.startswith("TWILIO_") or k in ("HOST_PASSWORD", "IVS_PRIVATE_KEY")], (
        "secrets belong in the secret, never in the environment"
    )


def test_parameters_match_the_settings_the_code_accepts(raw):
    params = raw["Parameters"]
    assert params["AudienceMode"]["AllowedValues"] == ["room", "live", "ivs"]
    assert params["AudienceMode"]["Default"] == "room"
    assert (params["StreamMaxMinutes"]["MinValue"], params["StreamMaxMinutes"]["MaxValue"]) == (10, 1440)
    assert params["HostIdentity"]["Default"] == "host"
    # (default, min, max) as MeetingSettings parses them; MaxParticipants is at most 50 at Twilio.
    bounds = {"MeetingMaxMinutes": (240, 10, 1440), "MeetingMaxParticipants": (50, 2, 50), "MeetingInviteHours": (24, 1, 168)}
    for name, (default, low, high) in bounds.items():
        p = params[name]
        assert (p["Default"], p["MinValue"], p["MaxValue"]) == (default, low, high), name


# --- IAM -----------------------------------------------------------------------------------------


def function_role(cfn, logical_id):
    role = cfn["Resources"][logical_id]["Properties"]["Role"]
    assert isinstance(role, dict) and "Fn::GetAtt" in role, f"{logical_id}: role must be its own"
    return role["Fn::GetAtt"][0]


def function_log_group(cfn, logical_id):
    return cfn["Resources"][logical_id]["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]


def test_each_function_has_its_own_role_and_no_other_roles_exist(cfn):
    roles = [function_role(cfn, fn) for fn in FUNCTIONS]
    assert len(set(roles)) == len(roles), "roles are not shared"
    assert set(of_type(cfn, "AWS::IAM::Role")) == set(roles), "no other roles (SAM made none)"
    for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::User", "AWS::IAM::Group"):
        assert not of_type(cfn, kind), kind


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_role_reads_only_the_secret_and_writes_only_its_own_logs(cfn, logical_id):
    role = cfn["Resources"][function_role(cfn, logical_id)]["Properties"]
    log_group = function_log_group(cfn, logical_id)
    assert "ManagedPolicyArns" not in role, "no managed policies (they grant logs:* on *)"
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
    reads_secret = False
    ivs_policies = [p["Fn::If"] for p in role["Policies"] if "Fn::If" in p]
    for condition, ivs_policy, otherwise in ivs_policies:
        # Only in ivs mode, only ivs:* actions, exactly the function's.
        assert condition == "IsIvs" and otherwise == {"Ref": "AWS::NoValue"}
        granted = set()
        for st in as_list(ivs_policy["PolicyDocument"]["Statement"]):
            assert st["Effect"] == "Allow" and "NotAction" not in st and "NotResource" not in st
            actions = set(as_list(st["Action"]))
            assert all(re.fullmatch(r"ivs:[A-Za-z]+", a) for a in actions), actions
            if actions & IVS_UNSCOPED:
                assert actions <= IVS_UNSCOPED and as_list(st["Resource"]) == ["*"], st
            else:
                assert as_list(st["Resource"]) == [STAGE_ARNS], "stage ARNs of this account and region"
            granted |= actions
        assert granted == IVS_ACTIONS[logical_id], logical_id
    assert len(ivs_policies) == (1 if logical_id in IVS_ACTIONS else 0), "ivs:* only for the functions that call IVS"
    for policy in (p for p in role["Policies"] if "Fn::If" not in p):
        for st in as_list(policy["PolicyDocument"]["Statement"]):
            assert st["Effect"] == "Allow"
            assert "NotAction" not in st and "NotResource" not in st
            actions = as_list(st["Action"])
            resources = as_list(st["Resource"])
            assert not [a for a in actions if "*" in a], actions
            if any(a.startswith("secretsmanager:") for a in actions):
                assert actions == ["secretsmanager:GetSecretValue"], actions
                assert resources == [{"Ref": SECRET}], "only the one secret's ARN"
                reads_secret = True
            else:
                assert set(actions) <= {"logs:CreateLogStream", "logs:PutLogEvents"}, actions
                assert resources == [{"Fn::GetAtt": [log_group, "Arn"]}], "only its own log group"
    # Every function loads the secret at cold start (App::from_env), so every one needs it.
    assert reads_secret


def test_ivs_mode_imports_the_public_key_from_its_parameter(raw):
    """The key IVS verifies the participant tokens with: only in ivs mode, from the parameter the
    deploy script fills (the private key never passes through CloudFormation), required there."""
    keys = of_type(raw, "AWS::IVS::PublicKey")
    assert list(keys) == ["IvsPublicKey"]
    key = keys["IvsPublicKey"]
    assert key["Condition"] == "IsIvs"
    assert raw["Conditions"]["IsIvs"] == {"Fn::Equals": [{"Ref": "AudienceMode"}, "ivs"]}
    assert key["Properties"]["PublicKeyMaterial"] == {"Fn::Sub": "${IvsPublicKeyPem}"}
    assert raw["Parameters"]["IvsPublicKeyPem"]["Default"] == ""
    rule = raw["Rules"]["IvsNeedsItsPublicKey"]
    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "AudienceMode"}, "ivs"]}
    assert rule["Assertions"][0]["Assert"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "IvsPublicKeyPem"}, ""]}]}
    # No stage is a resource of the stack (the functions make and delete them), no other IVS type.
    assert not [r for r in raw["Resources"].values() if r["Type"].startswith("AWS::IVS::") and r["Type"] != "AWS::IVS::PublicKey"]
    assert not [k for k in raw["Parameters"] if "PRIVATE" in k.upper()], "no private key parameter"


def test_the_secret_is_created_without_real_values(raw):
    secrets = of_type(raw, "AWS::SecretsManager::Secret")
    assert list(secrets) == [SECRET]
    props = secrets[SECRET]["Properties"]
    assert "SecretString" not in props, "never put values in the template"
    generated = props["GenerateSecretString"]
    template = json.loads(generated["SecretStringTemplate"])
    assert set(template) | {generated["GenerateStringKey"]} <= SECRET_KEYS
    assert all(v == "" for v in template.values()), "placeholders only"
    assert "resolve:secretsmanager" not in TEMPLATE.read_text()


# --- HTTP API ------------------------------------------------------------------------------------


def test_the_api_has_exactly_the_routes_of_the_functions(cfn):
    apis = of_type(cfn, "AWS::ApiGatewayV2::Api")
    assert list(apis) == ["HttpApi"]
    paths = apis["HttpApi"]["Properties"]["Body"]["paths"]
    assert sorted(paths) == API_PATHS
    routes = sorted(f"{method.upper()} {path}" for path, methods in paths.items() for method in methods)
    assert routes == ROUTES, "one method per path, as the functions take"
    for path, methods in paths.items():
        for method, spec in methods.items():
            uri = spec["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
            logical_id = next(fn for fn, (_, r) in FUNCTIONS.items() if r == f"{method.upper()} {path}")
            assert f"${{{logical_id}.Arn}}" in uri
    assert "CorsConfiguration" not in apis["HttpApi"]["Properties"], "same origin: no CORS"


def test_every_route_is_throttled_and_the_host_routes_tighter(cfn):
    (stage,) = of_type(cfn, "AWS::ApiGatewayV2::Stage").values()
    settings = stage["Properties"]["RouteSettings"]
    assert set(settings) == set(ROUTES)
    for key, s in settings.items():
        assert s["ThrottlingRateLimit"] > 0 and s["ThrottlingBurstLimit"] > 0, key
    default = stage["Properties"]["DefaultRouteSettings"]
    assert default["ThrottlingRateLimit"] > 0 and default["ThrottlingBurstLimit"] > 0
    audience = settings["POST /audience_token"]
    for path in HOST_PATHS:
        host = settings[f"POST {path}"]
        assert host["ThrottlingRateLimit"] < audience["ThrottlingRateLimit"], path
        assert host["ThrottlingBurstLimit"] < audience["ThrottlingBurstLimit"], path
    for path in ("/host_session", "/host_token"):
        assert settings[f"POST {path}"]["ThrottlingRateLimit"] <= 1, "password guessing"
    # Behind the edge cache a stream's status reaches the API about once a second per edge.
    assert settings[STATUS_ROUTE]["ThrottlingRateLimit"] >= 10


def test_no_route_has_an_authorizer_on_purpose(raw):
    """Deliberate (docs/DEPLOY.md, samconfig.toml): the functions authenticate themselves."""
    for logical_id in FUNCTIONS:
        events = raw["Resources"][logical_id]["Properties"].get("Events", {})
        for event in events.values():
            assert "Auth" not in event.get("Properties", {}), logical_id


# --- reaper, logs --------------------------------------------------------------------------------


def test_the_reaper_runs_every_five_minutes_and_is_not_routed(cfn):
    rules = of_type(cfn, "AWS::Events::Rule")
    assert len(rules) == 1
    (rule,) = rules.values()
    assert rule["Properties"]["ScheduleExpression"] == "rate(5 minutes)"
    assert rule["Properties"].get("State", "ENABLED") == "ENABLED"
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["ReaperFunction", "Arn"]}


def test_every_log_group_has_a_retention_and_every_function_its_group(raw, cfn):
    groups = of_type(raw, "AWS::Logs::LogGroup")
    default = raw["Parameters"]["LogRetentionDays"]["Default"]
    assert 1 <= default <= 90
    for name, group in groups.items():
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, name
    for logical_id in FUNCTIONS:
        group = function_log_group(cfn, logical_id)
        assert group in groups
        fn_name = sub_text(cfn["Resources"][logical_id]["Properties"]["FunctionName"])
        assert sub_text(groups[group]["Properties"]["LogGroupName"]) == f"/aws/lambda/{fn_name}"
    stage = next(iter(of_type(cfn, "AWS::ApiGatewayV2::Stage").values()))
    access_group = stage["Properties"]["AccessLogSettings"]["DestinationArn"]["Fn::GetAtt"][0]
    assert access_group in groups
    fmt = stage["Properties"]["AccessLogSettings"]["Format"]
    assert "header" not in fmt.lower() and "body" not in fmt.lower(), "no tokens in access logs"


# --- S3 and CloudFront ---------------------------------------------------------------------------


def test_the_pages_bucket_is_private(raw):
    (bucket_id,) = of_type(raw, "AWS::S3::Bucket")
    props = raw["Resources"][bucket_id]["Properties"]
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props.get("AccessControl", "Private") == "Private"
    assert "WebsiteConfiguration" not in props
    assert props["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]


def test_only_this_distribution_may_read_the_bucket(raw):
    (policy,) = of_type(raw, "AWS::S3::BucketPolicy").values()
    (bucket_id,) = of_type(raw, "AWS::S3::Bucket")
    assert policy["Properties"]["Bucket"] == {"Ref": bucket_id}
    allows = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert allows
    for st in allows:
        assert st["Principal"] == {"Service": "cloudfront.amazonaws.com"}
        assert as_list(st["Action"]) == ["s3:GetObject"]
        source = st["Condition"]["StringEquals"]["AWS:SourceArn"]
        assert sub_text(source).endswith(":distribution/${Distribution}")


def behaviours(raw):
    config = raw["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
    return config, config["DefaultCacheBehavior"], config.get("CacheBehaviors", [])


def test_pages_come_from_s3_through_origin_access_control(raw):
    config, default, _ = behaviours(raw)
    (oac_id,) = of_type(raw, "AWS::CloudFront::OriginAccessControl")
    oac = raw["Resources"][oac_id]["Properties"]["OriginAccessControlConfig"]
    assert (oac["OriginAccessControlOriginType"], oac["SigningBehavior"]) == ("s3", "always")
    assert config["DefaultRootObject"] == "index.html"
    origins = {o["Id"]: o for o in config["Origins"]}
    pages = origins[default["TargetOriginId"]]
    (bucket_id,) = of_type(raw, "AWS::S3::Bucket")
    assert pages["DomainName"] == {"Fn::GetAtt": [bucket_id, "RegionalDomainName"]}
    assert pages["OriginAccessControlId"] == {"Fn::GetAtt": [oac_id, "Id"]}
    assert pages["S3OriginConfig"] == {"OriginAccessIdentity": ""}, "OAC, not the legacy OAI"
    assert default["CachePolicyId"] == CACHING_OPTIMIZED
    assert default["ViewerProtocolPolicy"] in ("redirect-to-https", "https-only")


def test_the_post_paths_go_to_the_api_uncached_with_viewer_headers(raw):
    config, _, cache_behaviours = behaviours(raw)
    origins = {o["Id"]: o for o in config["Origins"]}
    api_behaviours = {b["PathPattern"]: b for b in cache_behaviours}
    assert sorted(api_behaviours) == sorted([*POST_BROWSER_PATHS, STATUS_PATTERN])
    del api_behaviours[STATUS_PATTERN]
    for path, b in api_behaviours.items():
        origin = origins[b["TargetOriginId"]]
        assert "${HttpApi}.execute-api." in sub_text(origin["DomainName"]), path
        assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
        assert b["CachePolicyId"] == CACHING_DISABLED, path
        assert b["OriginRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST, path
        assert {"POST", "OPTIONS"} <= set(b["AllowedMethods"]), path
        assert b["ViewerProtocolPolicy"] == "https-only", "a redirect would turn a POST into a GET"


def test_status_is_cached_as_its_answers_say_with_one_copy_per_stream(raw):
    """CloudFront keeps /status/<stream> for the max-age the function sends (1 s), never longer
    than it says (MinTTL 0), keyed by the path alone, and asks the API with the viewer's headers
    but Host (research: an API Gateway domain refuses a foreign Host)."""
    config, _, cache_behaviours = behaviours(raw)
    (status,) = [b for b in cache_behaviours if b["PathPattern"] == STATUS_PATTERN]
    origins = {o["Id"]: o for o in config["Origins"]}
    assert "${HttpApi}.execute-api." in sub_text(origins[status["TargetOriginId"]]["DomainName"])
    assert sorted(status["AllowedMethods"]) == ["GET", "HEAD"]
    assert sorted(status["CachedMethods"]) == ["GET", "HEAD"]
    assert status["OriginRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST
    policy_id = status["CachePolicyId"]["Ref"]
    policy = raw["Resources"][policy_id]
    assert policy["Type"] == "AWS::CloudFront::CachePolicy"
    config = policy["Properties"]["CachePolicyConfig"]
    assert config["MinTTL"] == 0, "the origin's max-age=1 is honoured, never stretched"
    assert config["DefaultTTL"] <= 1
    assert config["MaxTTL"] >= 60, "a bad name's 400 may be kept its 60 s"
    key = config["ParametersInCacheKeyAndForwardedToOrigin"]
    assert key["HeadersConfig"]["HeaderBehavior"] == "none"
    assert key["CookiesConfig"]["CookieBehavior"] == "none"
    assert key["QueryStringsConfig"]["QueryStringBehavior"] == "none"


def test_errors_are_cached_briefly(raw):
    """CloudFront keeps an error 10 s unless told: a status that failed while Twilio did (502) or
    that the API refused is asked again after 1 s."""
    config, _, _ = behaviours(raw)
    errors = {e["ErrorCode"]: e for e in config["CustomErrorResponses"]}
    # Every code CloudFront caches (but 416, which it never keeps): the dev server's copy of the
    # cache (dev_server/src/edge_cache.rs) keeps each of them at least ERROR_MIN_TTL = 1 s.
    assert sorted(errors) == [400, 403, 404, 405, 414, 500, 501, 502, 503, 504]
    for code in errors:
        assert errors[code]["ErrorCachingMinTTL"] <= 1, code
        assert "ResponsePagePath" not in errors[code], "the API's JSON error reaches the page"


def test_the_headers_policy_is_on_every_behaviour(raw):
    _, default, cache_behaviours = behaviours(raw)
    (policy_id,) = of_type(raw, "AWS::CloudFront::ResponseHeadersPolicy")
    for b in [default, *cache_behaviours]:
        assert b["ResponseHeadersPolicyId"] == {"Ref": policy_id}, b.get("PathPattern", "default")


def csp_directives(raw):
    (policy,) = of_type(raw, "AWS::CloudFront::ResponseHeadersPolicy").values()
    csp = policy["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"][
        "ContentSecurityPolicy"
    ]["ContentSecurityPolicy"]
    text = re.sub(r"\$\{LiveHosts\}", "", sub_text(csp))
    directives = {}
    for part in text.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


def test_security_headers(raw):
    (policy,) = of_type(raw, "AWS::CloudFront::ResponseHeadersPolicy").values()
    config = policy["Properties"]["ResponseHeadersPolicyConfig"]
    sec = config["SecurityHeadersConfig"]
    assert sec["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
    assert sec["ContentTypeOptions"]["Override"] is True
    assert sec["FrameOptions"]["FrameOption"] == "DENY"
    assert sec["ReferrerPolicy"]["ReferrerPolicy"] in ("no-referrer", "strict-origin-when-cross-origin")
    custom = {h["Header"]: h["Value"] for h in config["CustomHeadersConfig"]["Items"]}
    permissions = custom["Permissions-Policy"]
    for feature in ("camera", "microphone", "display-capture"):
        assert f"{feature}=(self)" in permissions

    csp = csp_directives(raw)
    assert csp["default-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    assert csp["style-src"] == ["'self'"]
    assert set(csp["script-src"]) == {"'self'", "'wasm-unsafe-eval'"}, "no inline, no eval"
    connect = csp["connect-src"]
    assert connect[0] == "'self'"
    assert "wss://global.vss.twilio.com" in connect, "Twilio Video signalling"
    for source in connect[1:]:
        assert re.fullmatch(r"(https|wss)://[a-z0-9.*-]+\.twilio\.com", source), source


# --- outputs, samconfig, deploy script -----------------------------------------------------------


def test_outputs_name_the_two_pages_and_nothing_secret(raw):
    outputs = raw["Outputs"]
    assert sub_text(outputs["RoomEventsUrl"]["Value"]) == (
        "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/room_events"
    ), "the URL host_token derives for StatusCallback"
    assert sub_text(outputs["HostPageUrl"]["Value"]) == "https://${Distribution.DomainName}/host.html"
    assert sub_text(outputs["AudiencePageUrl"]["Value"]) == "https://${Distribution.DomainName}/"
    assert sub_text(outputs["StreamStatusUrl"]["Value"]) == "https://${Distribution.DomainName}/status/main"
    assert outputs["PagesBucketName"]["Value"] == {"Ref": "PagesBucket"}
    assert outputs["DistributionId"]["Value"] == {"Ref": "Distribution"}
    for name, output in outputs.items():
        text = json.dumps(output["Value"])
        assert "resolve:" not in text and "SecretString" not in text, name
        if SECRET in text:
            assert output["Value"] == {"Ref": SECRET}, f"{name}: the secret's ARN at most"


def test_samconfig_deploys_without_questions():
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    default = config["default"]
    assert default["global"]["parameters"]["stack_name"] == "onair"
    deploy = default["deploy"]["parameters"]
    assert deploy["capabilities"] == "CAPABILITY_IAM"
    assert deploy["resolve_s3"] is True
    assert deploy["confirm_changeset"] is False
    # SAM's cache keys on CodeUri (functions/<name>) and misses changes in functions/common.
    assert default.get("build", {}).get("parameters", {}).get("cached", False) is False


def test_the_deploy_script_reads_the_outputs_the_template_has(raw):
    script = (ROOT / "scripts" / "deploy.sh").read_text()
    for name in ("PagesBucketName", "DistributionId", "HostPageUrl", "AudiencePageUrl", "TwilioSecretArn"):
        assert name in raw["Outputs"] and name in script, name


@pytest.mark.parametrize("script", ["deploy.sh", "check-deploy.sh"])
def test_the_scripts_build_and_check_every_function_of_the_template(script):
    assert "source scripts/lambdas.sh" in (ROOT / "scripts" / script).read_text()
    text = (ROOT / "scripts" / "lambdas.sh").read_text()

    def bash_array(name):
        return re.search(rf"^{name}=\(([^)]*)\)", text, re.M)[1].split()

    assert bash_array("CRATES") == [binary for binary, _ in FUNCTIONS.values()]
    assert bash_array("LOGICAL_IDS") == list(FUNCTIONS)


@pytest.mark.parametrize(
    "mode, extra",
    [("room", ""), ("live", " https://*.live-video.net wss://*.live-video.net"), ("ivs", " https://*.live-video.net wss://*.live-video.net")],
)
def test_amazon_ivs_hosts_are_allowed_only_in_the_modes_that_use_them(raw, mode, extra):
    """live (Twilio Live's player streams from IVS) and ivs (the stage's WHIP endpoint, the Web
    Broadcast SDK's signalling and stats) add *.live-video.net to connect-src; room does not."""
    (policy,) = of_type(raw, "AWS::CloudFront::ResponseHeadersPolicy").values()
    csp = policy["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]["ContentSecurityPolicy"]
    text, variables = csp["ContentSecurityPolicy"]["Fn::Sub"]
    assert "connect-src 'self' wss://global.vss.twilio.com https://*.twilio.com wss://*.twilio.com${LiveHosts};" in text

    def resolve(value):
        if isinstance(value, str):
            return value
        condition, when_true, when_false = value["Fn::If"]
        (left, right) = raw["Conditions"][condition]["Fn::Equals"]
        assert left == {"Ref": "AudienceMode"}
        return resolve(when_true if right == mode else when_false)

    assert resolve(variables["LiveHosts"]) == extra
