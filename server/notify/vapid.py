"""The server's VAPID key pair (RFC 8292): made on first run in the instance folder, never in the repository."""
import base64
import os

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid

KEY_FILE = "vapid_private.pem"


def load_or_create(instance_path):
    """Return the Vapid signer; the first process to get here writes the key (0600), later ones read it."""
    path = os.path.join(instance_path, KEY_FILE)
    if not os.path.exists(path):
        pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process (web server or push worker) won the race; use its key
        else:
            with os.fdopen(fd, "wb") as fh:
                fh.write(pem)
    with open(path, "rb") as fh:
        return Vapid.from_pem(fh.read())


def application_server_key(vapid):
    """The public key as the browser's PushManager.subscribe wants it: base64url of the uncompressed point."""
    raw = vapid.public_key.public_bytes(serialization.Encoding.X962,
                                        serialization.PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
