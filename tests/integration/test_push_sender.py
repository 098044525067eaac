"""The sender against a local push service that really verifies VAPID and really decrypts."""
import json
import os
import stat

import pytest

from server.notify import sender, vapid
from support.push_service import PushService, VapidError, verify_vapid


@pytest.fixture
def push_service():
    with PushService() as service:
        yield service


@pytest.fixture
def signer(tmp_path):
    return vapid.load_or_create(str(tmp_path))


def send(signer, subscriber, payload, **kw):
    options = {"subject": "mailto:drift@example.org", "ttl": 3600, "urgency": "normal"} | kw
    return sender.send(subscriber.info, json.dumps(payload).encode(), vapid=signer, **options)


def test_vapid_key_is_made_once_and_kept_private(tmp_path):
    first = vapid.load_or_create(str(tmp_path))
    second = vapid.load_or_create(str(tmp_path))
    assert vapid.application_server_key(first) == vapid.application_server_key(second)
    mode = stat.S_IMODE(os.stat(tmp_path / vapid.KEY_FILE).st_mode)
    assert mode == 0o600
    assert len(vapid.application_server_key(first)) == 87  # 65 bytes, base64url without padding


def test_a_message_arrives_decrypted_with_ttl_urgency_topic_and_a_valid_vapid_header(push_service, signer):
    phone = push_service.subscribe()
    outcome = send(signer, phone, {"title": "Systemet är tillbaka"}, ttl=600, urgency="high", topic="abc123")
    assert outcome.result == "delivered" and outcome.status == 201
    [message] = push_service.messages_for(phone)
    assert message["payload"] == {"title": "Systemet är tillbaka"}
    assert (message["ttl"], message["urgency"], message["topic"]) == (600, "high", "abc123")
    assert message["vapid"]["key"] == vapid.application_server_key(signer)
    assert message["vapid"]["claims"]["aud"] == push_service.origin
    assert message["vapid"]["claims"]["sub"] == "mailto:drift@example.org"


def test_each_send_signs_fresh_claims(push_service, signer):
    phone = push_service.subscribe()
    for n in range(2):
        assert send(signer, phone, {"n": n}).result == "delivered"
    assert [m["payload"]["n"] for m in push_service.messages_for(phone)] == [0, 1]


@pytest.mark.parametrize("status", [404, 410])
def test_a_subscription_the_push_service_no_longer_knows_is_gone(push_service, signer, status):
    phone = push_service.subscribe()
    push_service.script(phone, status)
    assert send(signer, phone, {}).result == "gone"


def test_busy_push_service_means_retry_and_its_retry_after_is_kept(push_service, signer):
    phone = push_service.subscribe()
    push_service.script(phone, 503, 429)
    assert send(signer, phone, {}).result == "retry"
    assert send(signer, phone, {}).result == "retry"
    assert send(signer, phone, {}).result == "delivered"


def test_unreachable_push_service_means_retry(push_service, signer):
    keys = push_service.subscribe().info["keys"]
    outcome = sender.send({"endpoint": "http://127.0.0.1:9/push/x", "keys": keys}, b"{}", vapid=signer,
                          subject="mailto:drift@example.org", ttl=60, urgency="normal", timeout=2)
    assert outcome.result == "retry" and outcome.status is None


def test_the_harness_refuses_a_token_not_signed_by_the_key_it_names(push_service, signer, tmp_path):
    os.makedirs(tmp_path / "other")
    other = vapid.load_or_create(str(tmp_path / "other"))
    claims = {"sub": "mailto:x@example.org", "aud": push_service.origin, "exp": 2_000_000_000}
    token = other.sign(dict(claims))["Authorization"].split("t=")[1].split(",")[0]
    genuine = f"vapid t={token},k={vapid.application_server_key(other)}"
    assert verify_vapid(genuine, push_service.origin, now=1_999_990_000)["claims"]["aud"] == push_service.origin
    with pytest.raises(VapidError, match="signature"):
        verify_vapid(f"vapid t={token},k={vapid.application_server_key(signer)}", push_service.origin,
                     now=1_999_990_000)
    with pytest.raises(VapidError, match="aud"):
        verify_vapid(genuine, "http://127.0.0.1:1", now=1_999_990_000)
