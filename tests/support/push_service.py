"""A local Web Push service: it really verifies the VAPID header and really decrypts (RFC 8291, aes128gcm).

Tests make subscriptions from fresh P-256 key pairs, let the server send, and read back what a phone
would have received. Per endpoint a test can script replies (201, 410, 500 …) or make a request hang,
which is how a push service that is slow or gone looks to the sender.
"""
import base64
import json
import secrets
import threading
import time
from collections import defaultdict, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


def b64u_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64u_encode(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class VapidError(Exception):
    """The Authorization header is not a valid VAPID (RFC 8292) one for this push service."""


def verify_vapid(header, audience, now=None):
    """Check `vapid t=<JWT>,k=<key>`: ES256 signature by k, aud = our origin, exp in the next 24 h, a sub."""
    now = now or time.time()
    if not header or not header.startswith("vapid "):
        raise VapidError("no vapid authorization")
    params = dict(part.strip().split("=", 1) for part in header[6:].split(","))
    token, key = params.get("t"), params.get("k")
    if not token or not key:
        raise VapidError("t and k are required")
    raw_key = b64u_decode(key)
    public_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw_key)
    head_b64, claims_b64, sig_b64 = token.split(".")
    head = json.loads(b64u_decode(head_b64))
    if head.get("alg") != "ES256":
        raise VapidError(f"alg {head.get('alg')!r} is not ES256")
    sig = b64u_decode(sig_b64)
    if len(sig) != 64:
        raise VapidError("ES256 signature must be 64 bytes (r||s)")
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    try:
        public_key.verify(der, f"{head_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise VapidError("bad signature") from None
    claims = json.loads(b64u_decode(claims_b64))
    if claims.get("aud") != audience:
        raise VapidError(f"aud {claims.get('aud')!r} is not {audience!r}")
    if not (now < int(claims.get("exp", 0)) <= now + 24 * 3600):
        raise VapidError("exp must be in the next 24 hours")
    if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
        raise VapidError("sub must be a mailto: or https: URL")
    return {"claims": claims, "key": key}


class Subscriber:
    """One browser's push subscription: its keys stay here, like they would stay in the phone."""

    def __init__(self, service, token):
        self.token = token
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.auth_secret = secrets.token_bytes(16)
        public = self.private_key.public_key().public_bytes(serialization.Encoding.X962,
                                                            serialization.PublicFormat.UncompressedPoint)
        self.endpoint = f"{service.origin}/push/{token}"
        self.info = {"endpoint": self.endpoint,
                     "keys": {"p256dh": b64u_encode(public), "auth": b64u_encode(self.auth_secret)}}

    def decrypt(self, body):
        return http_ece.decrypt(body, private_key=self.private_key, auth_secret=self.auth_secret,
                                version="aes128gcm")


class PushService:
    """ThreadingHTTPServer on 127.0.0.1; `accepted` lists the messages it answered 201 to, decrypted."""

    def __init__(self):
        self.accepted = []  # dicts: token, payload (parsed JSON), ttl, urgency, topic, vapid
        self.rejected = []  # dicts: token, status, reason
        self.received = 0  # every POST, answered or not
        self._subscribers = {}
        self._scripts = defaultdict(deque)  # token -> statuses (or "hang") to answer with, in order
        self._lock = threading.RLock()
        self._release = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.origin = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    def subscribe(self):
        token = secrets.token_urlsafe(12)
        subscriber = Subscriber(self, token)
        self._subscribers[token] = subscriber
        return subscriber

    def script(self, subscriber, *replies):
        """Answer the next requests to this endpoint with these: a status, (status, headers), or "hang"."""
        self._scripts[subscriber.token].extend(replies)

    def messages_for(self, subscriber):
        with self._lock:
            return [m for m in self.accepted if m["token"] == subscriber.token]

    def wait_until(self, predicate, timeout=20.0):
        """Poll (the sender runs in another thread or process) until predicate(self) holds; returns it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if predicate(self):
                    return True
            time.sleep(0.02)
        return False

    def _handle(self, request):
        token = request.path.rsplit("/", 1)[-1]
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length)
        with self._lock:
            self.received += 1
        subscriber = self._subscribers.get(token)
        if subscriber is None:
            return self._reject(token, 404, "unknown subscription")
        with self._lock:
            scripted = self._scripts[token].popleft() if self._scripts[token] else 201
        if scripted == "hang":
            self._release.wait()
            return None
        if scripted != 201:
            status, headers = scripted if isinstance(scripted, tuple) else (scripted, {})
            return self._reject(token, status, "scripted", headers)
        try:
            vapid = verify_vapid(request.headers.get("Authorization"), self.origin)
        except (VapidError, ValueError) as exc:
            return self._reject(token, 401, str(exc))
        if request.headers.get("Content-Encoding") != "aes128gcm":
            return self._reject(token, 415, "content-encoding must be aes128gcm")
        if request.headers.get("TTL") is None:
            return self._reject(token, 400, "TTL header is required")
        plaintext = subscriber.decrypt(body)
        message = {"token": token, "payload": json.loads(plaintext), "size": len(body),
                   "ttl": int(request.headers["TTL"]), "urgency": request.headers.get("Urgency"),
                   "topic": request.headers.get("Topic"), "vapid": vapid}
        with self._lock:
            self.accepted.append(message)
        return 201, "", {}

    def _reject(self, token, status, reason, headers=None):
        with self._lock:
            self.rejected.append({"token": token, "status": status, "reason": reason})
        return status, reason, headers or {}

    def _handler(self):
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                result = service._handle(self)
                if result is None:
                    return
                status, text, headers = result
                data = text.encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Location", f"{service.origin}/message/{secrets.token_hex(4)}")
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        return Handler
