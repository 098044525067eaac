"""The texts live in pwa/i18n/ for the worker app and the admin pages alike (issue 28): Swedish and English name
the same keys, and no admin page carries its own dictionary."""
import json
import re
from pathlib import Path

import pytest

PWA = Path(__file__).resolve().parents[2] / "pwa"


@pytest.mark.parametrize("name", ["", "admin."])
def test_swedish_and_english_have_the_same_keys(name):
    sv = json.loads((PWA / "i18n" / f"{name}sv.json").read_text())
    en = json.loads((PWA / "i18n" / f"{name}en.json").read_text())
    assert sorted(set(sv) ^ set(en)) == []
    assert all(v.strip() for v in [*sv.values(), *en.values()])


def test_admin_pages_carry_no_inline_dictionaries():
    carrying = [p.name for p in sorted((PWA / "admin").glob("*.js"))
                if p.name != "i18n.js" and re.search(r"\baddMessages\(|\bsv:\s*\{", p.read_text())]
    assert carrying == []


def test_every_text_an_admin_page_asks_for_exists():
    sv = json.loads((PWA / "i18n" / "admin.sv.json").read_text())
    asked = set()
    for page in (PWA / "admin").glob("*.js"):
        if page.name != "i18n.js":  # its example in a comment
            asked |= set(re.findall(r"\bt\('([a-zA-Z0-9_.]+)'", page.read_text()))
    for html in (PWA / "admin").glob("*.html"):
        asked |= set(re.findall(r'data-i18n(?:-label)?="([^"]+)"', html.read_text()))
    assert sorted(asked - set(sv)) == []
