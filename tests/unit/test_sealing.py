"""Opening sealed events: what the server reads is what the device wrote, value for value."""
import json
import math

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from server.sealing import SessionSealer, UnsealError, seal, unseal, unseal_v2

KEY = ec.generate_private_key(ec.SECP256R1())
ID = "3f0c1a9e-2b7d-4c55-9a41-0d6e8b7f1c23"


def round_trip_v2(event):
    sealer = SessionSealer(KEY.public_key())
    return dict(unseal_v2(KEY, sealer.epk, sealer.seal(dict(event, id=ID)), ID), id=ID)  # the id: the envelope's


@pytest.mark.parametrize("payload", [
    {"visit_id": 57, "at": "2026-11-25T08:00:00.000+01:00", "note": "Åsa gav medicin kl 8 ✓"},
    {"visit_id": 2 ** 70},  # beyond 64 bits: the fast reader refuses it, the standard library does not
    {"visit_id": 57, "dose": 0.1 + 0.2, "big": 1e300, "small": 5e-324},
])
def test_a_sealed_event_opens_to_the_values_the_standard_library_reads(payload):
    event = {"id": ID, "type": "visit_started", "occurred_at": "2026-11-25T08:00:00.000+01:00", "device_seq": 3,
             "payload": payload}
    opened = round_trip_v2(event)
    assert opened == json.loads(json.dumps(event))
    assert json.dumps(opened, sort_keys=True) == json.dumps(event, sort_keys=True)  # the fingerprint's bytes


def test_nan_in_a_sealed_event_is_read_as_the_standard_library_reads_it():
    opened = round_trip_v2({"type": "visit_started", "payload": {"x": float("nan")}})
    assert math.isnan(opened["payload"]["x"])


def test_a_v1_sealed_event_opens_and_a_tampered_one_does_not():
    event = {"id": ID, "type": "visit_ended", "payload": {"visit_id": 2 ** 70}}
    sealed = seal(KEY.public_key(), event)
    assert unseal(KEY, sealed, ID) == event
    with pytest.raises(UnsealError):
        unseal(KEY, sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB"), ID)
