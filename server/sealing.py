"""The server's outbox key: devices seal each recorded event to it so a wiped phone can send but not read.

Format (docs/protocol.md): base64url(ephemeral P-256 public key, 65 bytes ‖ iv, 12 bytes ‖ AES-256-GCM
ciphertext+tag); key = HKDF-SHA256(ECDH shared secret, salt "", info "hemvard-outbox-v1"); AAD = event id.
"""
import base64
import hashlib
import json
import os

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

INFO = b"hemvard-outbox-v1"
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


def _derive(shared: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"", info=INFO).derive(shared)


def seal(public_key, event: dict) -> str:
    """What the PWA does in WebCrypto; used by tests and simulated devices."""
    ephemeral = ec.generate_private_key(ec.SECP256R1())
    epk = ephemeral.public_key().public_bytes(serialization.Encoding.X962,
                                              serialization.PublicFormat.UncompressedPoint)
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
