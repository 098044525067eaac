"""Fixtures for Web Push tests: a local push service the app may send to, and phones that subscribe to it."""
import pytest

from support.push_service import PushService


@pytest.fixture
def push_service():
    with PushService() as service:
        yield service


@pytest.fixture
def push_app(app, push_service):
    """The app, allowed to send to the local push service (plain http on 127.0.0.1)."""
    app.config.update(PUSH_ALLOW_HTTP=True, PUSH_ENDPOINT_HOSTS="127.0.0.1")
    return app


class Phone:
    """A logged-in device with a push subscription at the local push service."""

    def __init__(self, session, subscriber):
        self.session, self.subscriber = session, subscriber
        self.device_id, self.user = session.device_id, session.user


@pytest.fixture
def subscribe(push_app, auth, push_service):
    def subscribe(username):
        session = auth.login(username)
        subscriber = push_service.subscribe()
        response = session.client.post("/api/push/subscriptions", json=subscriber.info, headers=session.headers)
        assert response.status_code == 201, response.json
        return Phone(session, subscriber)
    return subscribe
