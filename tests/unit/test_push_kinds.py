"""What a notification says: only declared counts and times, rendered in the municipality's time zone."""
from datetime import datetime, timezone

import pytest

from server.notify.kinds import KINDS, PayloadError, clean_params, render


def utc(*args):
    return datetime(*args, tzinfo=timezone.utc)


def test_times_read_today_tomorrow_or_weekday_in_stockholm_time():
    kind = KINDS["outage_announced"]
    now = utc(2026, 3, 27, 12, 0)  # Friday; the clocks go forward on Sunday 29 March
    params = clean_params(kind, {"starts_at": utc(2026, 3, 27, 21, 0), "ends_at": utc(2026, 3, 29, 3, 0)})
    title, body, title_en, body_en = render(kind, params, "Europe/Stockholm", now)
    assert title == "Planerat driftstopp"
    assert body == "Driftstopp i dag 22:00 – sön 29/3 05:00. Uppdatera din offlinekopia innan dess."
    assert body_en == "Outage today 22:00 – Sun 29/3 05:00. Update your offline copy before then."
    reminder = render(KINDS["outage_reminder"], clean_params(KINDS["outage_reminder"],
                                                              {"starts_at": utc(2026, 3, 28, 21, 30)}),
                      "Europe/Stockholm", now)
    assert reminder[1] == "Driftstoppet börjar i morgon 22:30. Uppdatera din offlinekopia i dag."


def test_every_kind_has_swedish_and_english_texts_a_local_screen_and_a_valid_urgency():
    for kind in KINDS.values():
        assert kind.title and kind.body and kind.title_en and kind.body_en
        assert kind.url.startswith("/") and not kind.url.startswith("//")
        assert kind.urgency in ("very-low", "low", "normal", "high") and kind.ttl > 0


@pytest.mark.parametrize("kind, data, message", [
    ("gap_escalated", {"count": "3 hos Fiktiv Kvinna"}, "must be an int"),
    ("gap_escalated", {"count": True}, "must be an int"),
    ("gap_escalated", {}, "needs count"),
    ("gap_escalated", {"count": 3, "client_name": "Fiktiv Kvinna"}, "takes no"),
    ("outage_reminder", {"starts_at": "2026-03-28T21:30:00Z"}, "aware datetime"),
    ("outage_reminder", {"starts_at": datetime(2026, 3, 28, 21, 30)}, "aware datetime"),
    ("outage_ended", {"note": "x"}, "takes no"),
])
def test_anything_that_could_name_a_person_is_refused(kind, data, message):
    with pytest.raises(PayloadError, match=message):
        clean_params(KINDS[kind], data)
