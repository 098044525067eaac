"""The server's outbox key: devices seal each recorded event to it so a wiped phone can send but not read.

Two formats (docs/protocol.md, "Sealed events"); the AAD is always the event id:

* v1, one ephemeral key per event: base64url(ephemeral P-256 public key, 65 bytes ‖ iv, 12 bytes ‖
  AES-256-GCM ciphertext+tag); key = HKDF-SHA256(ECDH shared secret, salt "", info "hemvard-outbox-v1");
  the plaintext is the event's JSON.
* v2, one ephemeral key per unlocked session, named once per request in `keys`: base64url(iv ‖
  ciphertext+tag); key = HKDF(…, info "hemvard-outbox-v2"); the plaintext is deflate-raw(the event's JSON
  without its `id`, which the envelope and the AAD carry). 435 → under 200 bytes per event on the wire,
  and the server derives each session's key once instead of one ECDH per event.
"""
import base64
import hashlib
import json
import os
import zlib
from functools import lru_cache

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF



INFO = b"hemvard-outbox-v1"
INFO_V2 = b"hemvard-outbox-v2"
MAX_PLAINTEXT = 64_000  # an event is a few hundred bytes; a v2 plaintext may not inflate beyond this
KEY_FILE = "outbox_key.pem"


class UnsealError(ValueError):
    pass


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def load_or_create_key(instance_path):
    """The private key lives in the instance folder (never in the repository), made on first run."""
    path = os.path.join(instance_path, KEY_FILE)
    if not os.path.exists(path):
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
    with open(path, "rb") as fh:
        return serialization.load_pem_private_key(fh.read(), password=None)


def public_jwk(private_key):
    numbers = private_key.public_key().public_numbers()
    jwk = {"kty": "EC", "crv": "P-256", "x": b64url(numbers.x.to_bytes(32, "big")),
           "y": b64url(numbers.y.to_bytes(32, "big")), "ext": True}
    kid = hashlib.sha256((jwk["x"] + jwk["y"]).encode()).hexdigest()[:16]
    return {"kid": kid, "jwk": jwk}


def _derive(shared: bytes, info=INFO) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"", info=info).derive(shared)


def _public_bytes(key) -> bytes:
    return key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def seal(public_key, event: dict) -> str:
    """What the PWA does in WebCrypto; used by tests and simulated devices."""
    ephemeral = ec.generate_private_key(ec.SECP256R1())
    epk = _public_bytes(ephemeral.public_key())
    iv = os.urandom(12)
    key = _derive(ephemeral.exchange(ec.ECDH(), public_key))
    ct = AESGCM(key).encrypt(iv, json.dumps(event, separators=(",", ":")).encode(), event["id"].encode())
    return b64url(epk + iv + ct)


def unseal(private_key, sealed: str, event_id: str) -> dict:
    try:
        raw = b64url_decode(sealed)
        if len(raw) < 65 + 12 + 16:
            raise UnsealError("för kort")
        epk = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw[:65])
        key = _derive(private_key.exchange(ec.ECDH(), epk))
        plain = AESGCM(key).decrypt(raw[65:77], raw[77:], event_id.encode())
        event = json.loads(plain)
    except UnsealError:
        raise
    except Exception as exc:  # any decoding, curve or tag failure means the same thing to the device
        raise UnsealError("kunde inte öppnas") from exc
    if not isinstance(event, dict) or event.get("id") != event_id:
        raise UnsealError("id stämmer inte")
    return event


class SessionSealer:
    """What the PWA does per unlocked session in v2 (one ECDH, many events); for tests and simulated devices."""

    def __init__(self, public_key):
        ephemeral = ec.generate_private_key(ec.SECP256R1())
        self.epk = b64url(_public_bytes(ephemeral.public_key()))
        self._aead = AESGCM(_derive(ephemeral.exchange(ec.ECDH(), public_key), INFO_V2))

    def seal(self, event: dict) -> str:
        body = {k: v for k, v in event.items() if k != "id"}
        packer = zlib.compressobj(9, zlib.DEFLATED, -15)
        plain = packer.compress(json.dumps(body, separators=(",", ":")).encode()) + packer.flush()
        iv = os.urandom(12)
        return b64url(iv + self._aead.encrypt(iv, plain, event["id"].encode()))


@lru_cache(maxsize=4096)
def _session_aead(private_key, epk: str):
    """The AES key of one device session, derived once per process (a session seals dozens of events)."""
    point = b64url_decode(epk)
    return AESGCM(_derive(private_key.exchange(ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(
        ec.SECP256R1(), point)), INFO_V2))


def unseal_v2(private_key, epk: str, sealed: str, event_id: str) -> dict:
    try:
        raw = b64url_decode(sealed)
        if len(raw) < 12 + 16 + 1:
            raise UnsealError("för kort")
        packed = _session_aead(private_key, epk).decrypt(raw[:12], raw[12:], event_id.encode())
        inflater = zlib.decompressobj(-15)
        plain = inflater.decompress(packed, MAX_PLAINTEXT)
        if inflater.unconsumed_tail or not inflater.eof:
            raise UnsealError("för stor eller ofullständig")
        event = json.loads(plain)
    except UnsealError:
        raise
    except Exception as exc:  # any decoding, curve, tag or inflate failure means the same thing to the device
        raise UnsealError("kunde inte öppnas") from exc
    if not isinstance(event, dict) or "id" in event:
        raise UnsealError("fel innehåll")
    return {"id": event_id, **event}
