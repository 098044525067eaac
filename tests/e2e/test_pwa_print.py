"""The paper fallback as it comes out of the printer (issue 31, items 11–14): the print view rendered to an A4 PDF
by Chromium and read back as text, page by page."""
import io
import re
from datetime import datetime, time as dtime
from zoneinfo import ZoneInfo

import pytest

PIN = "2580"
STOCKHOLM = ZoneInfo("Europe/Stockholm")
FORM = "Registrering av besök (reservrutin)"


def pdf_pages(page):
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LTTextContainer
    data = page.pdf(format="A4")
    return ["".join(el.get_text() for el in layout if isinstance(el, LTTextContainer))
            for layout in extract_pages(io.BytesIO(data))]


def local(iso):
    return datetime.fromisoformat(iso).astimezone(STOCKHOLM).strftime("%H:%M")


def flat(text):
    return re.sub(r"\s+", " ", text)


@pytest.fixture
def shift_at_0950(pwa, live_server):
    """worker1's phone at 09:50 today (the demo shift runs 07:30–15:30): 07:30 and 08:30 are past, 09:30 is on."""
    page = pwa.page
    day = datetime.now(STOCKHOLM).date()
    page.clock.install(time=datetime.combine(day, dtime(9, 50), STOCKHOLM))
    pwa.enrol("worker1", PIN)
    token = live_server.login("worker1", "print-test-reader")["token"]
    shift = live_server.request("/api/sync/pull", token=token)[1]
    today = [v for v in shift["visits"]
             if datetime.fromisoformat(v["planned_start"]).astimezone(STOCKHOLM).date() == day]
    clients = {c["id"]: c for c in shift["clients"]}
    return day, sorted(today, key=lambda v: v["planned_start"]), clients


def test_the_printout_holds_what_is_left_to_do_with_phone_numbers_structured_forms_and_says_what_it_is(
        pwa, live_server, context, shift_at_0950):
    page = pwa.page
    day, today, clients = shift_at_0950
    done = today[1]  # 08:30: registered in the app, so no blank form invites registering it twice
    context.set_offline(True)  # the records stay on the phone: what the paper shows comes from the phone
    pwa.record_visit(done["id"])
    pwa.go("#/print")
    page.wait_for_selector("#print-now")
    assert page.get_by_label("Period").input_value() == "12"  # the next 12 hours unless the worker chooses

    pages = pdf_pages(page)
    text = flat("\n".join(pages))
    (worker,) = live_server.query("SELECT display_name FROM users WHERE username = 'worker1'")
    date = f"{['måndag', 'tisdag', 'onsdag', 'torsdag', 'fredag', 'lördag', 'söndag'][day.weekday()]} {day.day} " \
           f"{['januari', 'februari', 'mars', 'april', 'maj', 'juni', 'juli', 'augusti', 'september', 'oktober', 'november', 'december'][day.month - 1]} {day.year}"
    for n, sheet in enumerate(pages, start=1):  # every page says what it is (item 14)
        sheet = flat(sheet)
        assert f"Sida {n} av {len(pages)}" in sheet
        assert f"Utskrift – reservrutin · {worker['display_name']}" in sheet
        assert f"Utskrivet {date} 09:50" in sheet and re.search(r"data från \d\d:\d\d \(", sheet)

    # Item 12: what is still to do — every visit of today's 12 hours, the registered one marked, not given a form.
    assert text.count(FORM) == len(today) - 1
    assert "Klart i appen" in text
    forms = [flat(p) for p in pages if FORM in p]
    assert local(done["planned_start"]) == "08:30"
    assert not any("Planerat 08:30–" in f for f in forms) and any("Planerat 09:30–" in f for f in forms)
    assert text.count("Oplanerat besök (reservrutin)") == 1

    # Item 11: person cards with the relatives', the nurse's and the client's numbers, and the warnings.
    for v in today:
        c = clients[v["client_id"]]
        card = c["person_card"]
        assert f"{c['name']} ({c['personal_number']})" in text  # item 14: two of a name told apart
        assert c["phone"] in text and card["responsible_nurse"]["phone"] in text
        assert card["notes"] in text
        for relative in card["relatives"]:
            assert f"{relative['name']} ({relative['relation']}) {relative['phone']}" in text

    # Item 13: the forms are as structured as the app.
    form = forms[0]
    for words in ("Besöket blev inte av", "Brukaren avböjde", "Brukaren var inte hemma", "Start kl.", "Slut kl.",
                  "Dubbelbemanning med", "Fall", "Läkemedel", "Missat besök", "Signatur", date):
        assert words in form, words
    doses = sum(len(m["times"]) for c in {clients[v["client_id"]]["id"]: clients[v["client_id"]] for v in today}.values()
                for m in (c["medication_list"] or []))
    assert doses and text.count("Givet – signatur") >= 1
    assert "Måndag" not in text and "December" not in text  # Swedish dates are lowercase

    # A shorter period prints less.
    page.get_by_label("Period").select_option(label="De närmaste 4 timmarna")
    shorter = flat("\n".join(pdf_pages(page)))
    ahead = [v for v in today if local(v["planned_start"]) < "13:50" and v is not done]
    assert shorter.count(FORM) == len(ahead)
