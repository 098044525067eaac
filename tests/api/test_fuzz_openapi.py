"""Schemathesis fuzzes every operation of `/api/openapi.json` with a valid token: no 5xx, answers as documented.

Each operation is called with the token of a role that may use it (from the view's `require_auth`), so the
fuzzing gets past the door and into the validation and the domain. Checks: no server error, status code
documented, content type documented, body and headers conform to the document's schemas. Not checked:
"schema-valid data is accepted" — the document cannot express every rule (a P-256 key, a visit that must
exist), so a valid-looking request may rightly be refused with a 4xx.
"""
import json
import os
import re
from urllib.parse import quote

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import checks

ROLE_USERS = {"worker": "worker1", "admin": "admin1", "manager": "manager1"}
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))
CHECKS = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
          checks.response_schema_conformance, checks.response_headers_conformance]


def _roles_of(app, method, path):
    adapter = app.url_map.bind("localhost")
    concrete = path
    while "{" in concrete:  # any value: only the endpoint behind the template matters here
        start = concrete.index("{")
        concrete = concrete[:start] + "1" + concrete[concrete.index("}", start) + 1:]
    endpoint, _ = adapter.match(concrete, method=method.upper())
    return getattr(app.view_functions[endpoint], "required_roles", None)


def test_fuzzing_every_documented_operation_finds_no_server_error_and_no_undocumented_answer(app, auth):
    tokens = {role: auth.login(name).login["token"] for role, name in ROLE_USERS.items()}
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    failures, operations = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        roles = _roles_of(app, operation.method, operation.path) or ("worker",)
        headers = {"Authorization": f"Bearer {tokens[roles[0]]}", "Accept-Encoding": "identity"}

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
        def fuzz(case):
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            fuzz()
        except Exception as exc:  # collect every operation's failure, then report them all at once
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:1500]}")
    assert operations >= 5
    assert failures == [], "\n\n".join(failures)


def test_every_api_endpoint_is_in_the_document_so_it_is_fuzzed(app, client):
    doc = client.get("/api/openapi.json").json
    documented = {(re.sub(r"\{[^}]+\}", "{}", path), method.upper())
                  for path, operations in doc["paths"].items() for method in operations}
    missing = sorted(f"{method} {rule.rule}" for rule in app.url_map.iter_rules()
                     if rule.rule.startswith("/api/") and rule.endpoint != "openapi.openapi_json"
                     for method in rule.methods - {"HEAD", "OPTIONS"}
                     if (re.sub(r"<[^>]+>", "{}", rule.rule), method) not in documented)
    assert missing == [], "describe these in the OpenAPI document (server/openapi.py EXTRA_PATHS)"


def test_the_document_is_valid_openapi_and_describes_the_error_shape(client):
    doc = client.get("/api/openapi.json").json
    assert doc["openapi"].startswith("3.")
    error = doc["components"]["schemas"]["Error"]["properties"]
    assert set(error) == {"code", "status", "message", "errors"}
    schemathesis.openapi.from_dict(doc)  # raises on a document it cannot use


# -- what random generation from the document does not try: the edges that once gave 500s (issue 27.6) ---------
# Driven by the same document, so a new parameter or body field is tried the moment it is described.

HOSTILE_QUERY = {
    "integer": ["²", "٣", "2147483648", "9223372036854775808", "18446744073709551616", "-1", "1.0", "\x00",
                "%ED%A0%80"],  # the last: a lone surrogate's UTF-8 bytes (werkzeug decodes them to U+FFFD)
    "boolean": ["²", "\x00", "%ED%A0%80"],
    "string": ["\x00", "a\x00b"],
    "date": ["0001-01-01", "9999-12-31", "2026-02-30", "²", "\x00"],
    "date-time": ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "2026-12-01T10:00", "²", "\x00"],
}
HOSTILE_BODY = {
    "string": ["\x00", "a\x00b", "\ud800", "x\udfff"],
    "integer": [2**31, 2**63, 2**64, -(2**63) - 1],
    "date": ["0001-01-01", "9999-12-31"],
    "date-time": ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00-14:00",
                  "9999-12-31T23:59:59+14:00"],
}
DEEP = b"[" * 100_000 + b"]" * 100_000


def _kind(schema):
    return schema.get("format") if schema.get("format") in ("date", "date-time") else schema.get("type")


@pytest.fixture
def documented(app, auth):
    """The document, sessions per role, and real ids of Norr for the path parameters (so that an answer is
    about the parameter or body tried, not a missing outage)."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo
    sessions = {role: auth.login(name) for role, name in ROLE_USERS.items()}
    yesterday = datetime.now(ZoneInfo(app.config["TIMEZONE"])).date() - timedelta(days=1)  # the demo's days
    outage = sessions["admin"].post("/api/outages", json={
        "kind": "unplanned", "title": "Nere", "reporter_name": "Testare", "unit_ids": [sessions["admin"].user["unit"]["id"]],
        "started_at": f"{yesterday}T05:00:00+00:00"})
    assert outage.status_code == 201, outage.json
    ids = {"outage_id": outage.json["id"], "unit_id": sessions["admin"].user["unit"]["id"],
           "qid": "00000000-0000-0000-0000-000000000000", "gap_id": 1, "client_id": 1, "absence_id": 1,
           "device_id": "dev-00000000", "token_id": 1, "approval_id": 1, "deviation_id": 1,
           "visit_id": 1, "user_id": sessions["admin"].user["id"]}
    doc = sessions["admin"].get("/api/openapi.json").json
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a server error is an answer to count, as a real server gives it
    return doc, sessions, ids


def _operations(app, doc, ids):
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            roles = _roles_of(app, method, path)
            if not roles:  # not a person's route (the integration door takes its own token: test_import_api)
                continue
            concrete = re.sub(r"\{([^}]+)\}", lambda m: str(ids[m.group(1)]), path)
            yield method.upper(), concrete, op, roles[0]


def _named(r, field):
    return r.status_code in (400, 422) and any(k == field or k.startswith(field + ".") for k in r.json["errors"])


def test_hostile_query_values_are_4xx_naming_the_parameter(app, documented):
    doc, sessions, ids = documented
    tried, wrong = 0, []
    for method, path, op, role in _operations(app, doc, ids):
        for param in op.get("parameters", []):
            if param["in"] != "query":
                continue
            for value in HOSTILE_QUERY[_kind(param["schema"])]:
                raw = value if value.startswith("%") else quote(value, safe="")
                r = sessions[role].client.open(f"{path}?{param['name']}={raw}", method=method,
                                               headers=sessions[role].headers, json={} if method != "GET" else None)
                tried += 1
                if not _named(r, param["name"]):
                    wrong.append(f"{method} {path}?{param['name']}={raw}: {r.status_code} {r.get_data(as_text=True)[:200]}")
    assert tried > 100
    assert wrong == [], "\n".join(wrong)


def test_json_nested_100000_deep_is_400_naming_the_body_on_every_json_endpoint(app, documented):
    doc, sessions, ids = documented
    wrong = []
    for method, path, op, role in _operations(app, doc, ids):
        if "application/json" not in op.get("requestBody", {}).get("content", {}):
            continue  # (a multipart upload, the Import page's, is not JSON)
        for body in (DEEP, b'{"a":' + b"[" * 40 + b"]" * 40 + b"}"):  # past the parser's reach; past JSON_MAX_DEPTH
            r = sessions[role].client.open(path, method=method, data=body, headers={
                **sessions[role].headers, "Content-Type": "application/json"})
            if not (r.status_code == 400 and "_body" in r.json["errors"]):
                wrong.append(f"{method} {path} ({len(body)} bytes): {r.status_code}")
    assert wrong == [], "\n".join(wrong)


# The outages area's bodies (server/outages: outages, absences, backfills, policy deadlines, quarantine, unit
# settings) take their dates from another branch of issue 27 (items 4 and 6); until it is merged they are tried in
# a test of their own that is expected to fail — strictly, so the merge that fixes them turns this list red.
OUTAGES_AREA = ("/api/outages", "/api/absences", "/api/backfills", "/api/quarantine", "/api/units/", "/api/conflicts")


def _hostile_body_answers(app, documented, area):
    """Each top-level field of each documented body, alone in an object, with NUL, lone surrogates, integers
    past 32 and 64 bits, and years 1 and 9999 with ±14:00 offsets: what was not a 4xx naming the field."""
    doc, sessions, ids = documented
    schemas = doc["components"]["schemas"]
    tried, wrong = 0, []
    for method, path, op, role in _operations(app, doc, ids):
        ref = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {}).get("$ref")
        if not ref or path.startswith(OUTAGES_AREA) != area:
            continue
        for name, prop in schemas[ref.rsplit("/", 1)[1]].get("properties", {}).items():
            if prop.get("readOnly"):
                continue
            for value in HOSTILE_BODY.get(_kind(prop), []):
                body = json.dumps({name: value}).encode()  # \ud800 travels as JSON allows: an escape
                r = sessions[role].client.open(path, method=method, data=body, headers={
                    **sessions[role].headers, "Content-Type": "application/json"})
                tried += 1
                if not _named(r, name):
                    wrong.append(f"{method} {path} {name}={value!r}: {r.status_code} {r.get_data(as_text=True)[:200]}")
    return tried, wrong


def test_hostile_body_fields_are_4xx_naming_the_field(app, documented):
    tried, wrong = _hostile_body_answers(app, documented, area=False)
    assert tried > 30
    assert wrong == [], "\n".join(wrong)


def test_hostile_body_fields_of_the_outages_area_are_4xx_naming_the_field(app, documented):
    tried, wrong = _hostile_body_answers(app, documented, area=True)
    assert tried > 30
    assert wrong == [], "\n".join(wrong)
