"""server.jsonread reads every document to exactly what the standard library's json reads (Flask reads the full
path's bodies with it, and the fingerprint of a record is taken from what was read)."""
import json

import pytest

from server import jsonread

DOCUMENTS = [
    b'{"type":"visit_started","device_seq":3,"payload":{"visit_id":57,"note":"\\u00c5sa \xc3\xa5t \xe2\x9c\x93"}}',
    b"1180591620717411303424",  # 2**70: orjson would read a float
    b"-9223372036854775809",  # one below the smallest 64-bit integer
    b"18446744073709551615",
    b'{"dose":0.30000000000000004,"big":1e300,"tiny":5e-324,"neg":-0.0,"zero":-0}',
    b"[NaN, Infinity, -Infinity, 1e400]",  # orjson refuses them; json reads them
    b"\xef\xbb\xbf{}",  # a byte order mark
    '{"a": "\u00e5"}'.encode("utf-16"),
    b'"\\ud800"',  # a lone surrogate
    b'{"a":1,"a":2}',
]


@pytest.mark.parametrize("document", DOCUMENTS)
def test_a_document_is_read_to_what_json_reads(document):
    assert repr(jsonread.loads(document)) == repr(json.loads(document))
    assert type(jsonread.loads(document)) is type(json.loads(document))


@pytest.mark.parametrize("document", [b"", b"[1,2,]", b"{'a': 1}", b'{"a":1} x', b"\xff"])
def test_what_json_refuses_is_refused_as_a_value_error(document):
    with pytest.raises(ValueError):
        jsonread.loads(document)
