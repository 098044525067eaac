"""Responses travel compressed over 4G: the app shell's files (sent as streams) and the JSON API alike."""
import gzip
from pathlib import Path

import pytest

PWA = Path(__file__).resolve().parents[2] / "pwa"


@pytest.mark.parametrize("path", ["/js/app.js", "/css/app.css", "/i18n/sv.json", "/"])
def test_app_shell_files_are_served_gzip_compressed(client, path):
    response = client.get(path, headers={"Accept-Encoding": "gzip, deflate, br, zstd"})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    body = gzip.decompress(response.get_data())
    assert body == (PWA / ("index.html" if path == "/" else path.lstrip("/"))).read_bytes()
    assert len(response.get_data()) < len(body)


def test_the_shift_package_is_gzip_compressed(auth):
    s = auth.login("worker1")
    response = s.client.get("/api/sync/pull", headers={**s.headers, "Accept-Encoding": "gzip"})
    assert response.status_code == 200 and response.headers["Content-Encoding"] == "gzip"
    assert b'"visits"' in gzip.decompress(response.get_data())


def test_without_accept_encoding_nothing_is_compressed(client):
    response = client.get("/js/app.js")
    assert "Content-Encoding" not in response.headers
    assert response.get_data() == (PWA / "js" / "app.js").read_bytes()
