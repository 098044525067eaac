"""Schemathesis fuzzes every operation of `/api/openapi.json` with a valid token: no 5xx, answers as documented.

Each operation is called with the token of a role that may use it (from the view's `require_auth`), so the
fuzzing gets past the door and into the validation and the domain. Checks: no server error, status code
documented, content type documented, body and headers conform to the document's schemas. Not checked:
"schema-valid data is accepted" — the document cannot express every rule (a P-256 key, a visit that must
exist), so a valid-looking request may rightly be refused with a 4xx.
"""
import os
import re

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
