"""Reading an IndexedDB dump (tests/e2e/conftest.py PwaDriver.dump_indexeddb) the way an intruder would."""
import base64
import binascii
import json
import re

_BASE64 = re.compile(r"[A-Za-z0-9+/_-]{24,}={0,2}")


def readable_text(dump):
    """Everything an IndexedDB dump (PwaDriver.dump_indexeddb) holds, as text to search for plaintext leaks.
    Binary values ({bytes: base64}) and base64 strings (ciphertexts, sealed records, keys) are decoded and
    read as UTF-8: a leaked name inside them would show as itself, while the base64 of random bytes would
    now and then spell a short name by chance (it did: "Nils" inside a ciphertext)."""
    out = []

    def decoded(text):
        padded = text.replace("+", "-").replace("/", "_") + "=" * (-len(text) % 4)
        try:
            return base64.urlsafe_b64decode(padded).decode("utf-8", "ignore")
        except (binascii.Error, ValueError):
            return text

    def walk(value):
        if isinstance(value, dict):
            for key, item in value.items():
                out.append(str(key))
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str):
            out.append(decoded(value) if _BASE64.fullmatch(value) else value)
        else:
            out.append(json.dumps(value))
    walk(dump)
    return "\n".join(out)
