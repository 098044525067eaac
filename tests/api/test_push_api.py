"""Push API: the VAPID public key, subscribe and unsubscribe per device, and what the server refuses."""
import pytest
from sqlalchemy import select

from server.extensions import db
from server.notify.models import PushSubscription
from server.notify.vapid import application_server_key
from support.push_fixtures import push_app, push_service  # noqa: F401


def subscriptions(app):
    with app.app_context():
        return [(s.endpoint, s.device_id, s.user_id) for s in
                db.session.scalars(select(PushSubscription).order_by(PushSubscription.id))]


def test_the_public_key_is_the_instance_key_and_needs_no_login(app, client):
    response = client.get("/api/push/public-key")
    assert response.status_code == 200
    assert response.json == {"public_key": application_server_key(app.extensions["vapid"])}


def test_subscribing_ties_the_subscription_to_this_device_and_resubscribing_refreshes_it(push_app, auth,
                                                                                        push_service):
    worker = auth.login("worker1")
    phone = push_service.subscribe()
    created = worker.post("/api/push/subscriptions", json=phone.info)
    assert created.status_code == 201
    assert created.json == {"subscribed": True, "endpoints": [phone.endpoint]}
    again = worker.post("/api/push/subscriptions", json={**phone.info, "expirationTime": None})
    assert again.status_code == 200
    assert subscriptions(push_app) == [(phone.endpoint, worker.device_id, worker.user["id"])]
    assert worker.get("/api/push/subscriptions").json["subscribed"] is True


def test_a_browser_logged_in_anew_moves_its_subscription_to_the_new_login(push_app, auth, push_service):
    phone = push_service.subscribe()
    first, second = auth.login("worker1"), auth.login("worker2")
    assert first.post("/api/push/subscriptions", json=phone.info).status_code == 201
    assert second.post("/api/push/subscriptions", json=phone.info).status_code == 200
    assert subscriptions(push_app) == [(phone.endpoint, second.device_id, second.user["id"])]
    assert first.get("/api/push/subscriptions").json == {"subscribed": False, "endpoints": []}


def test_unsubscribing_removes_only_this_devices_subscriptions(push_app, auth, push_service):
    worker, other = auth.login("worker1"), auth.login("worker2")
    mine, theirs = push_service.subscribe(), push_service.subscribe()
    worker.post("/api/push/subscriptions", json=mine.info)
    other.post("/api/push/subscriptions", json=theirs.info)
    response = worker.client.delete("/api/push/subscriptions", json={"endpoint": theirs.endpoint},
                                    headers=worker.headers)
    assert response.status_code == 200 and response.json["subscribed"] is True  # not mine to remove
    response = worker.client.delete("/api/push/subscriptions", headers=worker.headers)
    assert response.json == {"subscribed": False, "endpoints": []}
    assert [s[0] for s in subscriptions(push_app)] == [theirs.endpoint]


def test_subscribing_needs_a_login(push_app, client, push_service):
    assert client.post("/api/push/subscriptions", json=push_service.subscribe().info).status_code == 401
    assert client.delete("/api/push/subscriptions").status_code == 401


GOOD_KEYS = {"p256dh": "BEl62iUYgUivxIkv69yViEuiBIa-Ib9-SkvMeAtA3LFgDzkrxZJjSgSnfckjBJuBkr3qBUYIHBQFLXYp5Nksh8U",
             "auth": "tBHItJI5svbpez7KI4CCXg"}


@pytest.mark.parametrize("endpoint, message", [
    ("http://fcm.googleapis.com/fcm/send/x", "https"),
    ("https://evil.example/collect", "Okänd push-tjänst"),
    ("https://fcm.googleapis.com.evil.example/x", "Okänd push-tjänst"),
    ("https://169.254.169.254/latest/meta-data", "Okänd push-tjänst"),
    ("not a url", "Ogiltig"),
])
def test_only_https_endpoints_of_known_push_services_are_accepted(app, auth, endpoint, message):
    response = auth.login("worker1").post("/api/push/subscriptions", json={"endpoint": endpoint, "keys": GOOD_KEYS})
    assert response.status_code == 422
    assert message in " ".join(response.json["errors"]["endpoint"])


@pytest.mark.parametrize("endpoint", ["https://fcm.googleapis.com/fcm/send/abc",
                                      "https://web.push.apple.com/QGx", "https://updates.push.services.mozilla.com/wpush/v2/x"])
def test_the_big_push_services_are_accepted(app, auth, endpoint):
    response = auth.login("worker1").post("/api/push/subscriptions", json={"endpoint": endpoint, "keys": GOOD_KEYS})
    assert response.status_code == 201, response.json


@pytest.mark.parametrize("keys, field", [
    ({"p256dh": "AAAA", "auth": GOOD_KEYS["auth"]}, "keys.p256dh"),
    ({"p256dh": GOOD_KEYS["p256dh"], "auth": "short"}, "keys.auth"),
    ({"auth": GOOD_KEYS["auth"]}, "keys.p256dh"),
    (None, "keys"),
])
def test_malformed_keys_are_422_with_the_field_named(app, auth, keys, field):
    body = {"endpoint": "https://fcm.googleapis.com/fcm/send/abc"}
    if keys is not None:
        body["keys"] = keys
    response = auth.login("worker1").post("/api/push/subscriptions", json=body)
    assert response.status_code == 422 and field in response.json["errors"]


def test_the_openapi_document_describes_the_push_endpoints(client):
    paths = client.get("/api/openapi.json").json["paths"]
    assert set(paths["/api/push/subscriptions"]) == {"get", "post", "delete"}
    assert "/api/push/public-key" in paths
