"""The outbox under a bad network and a reluctant server: nothing lost, nothing counted twice, and a
rejected record stays on the phone with its reason."""
import json

import pytest

PIN = "2580"


@pytest.fixture
def carries_events(push_body):
    return lambda request: request.method == "POST" and push_body(request).get("events")


def count_events(server, event_id):
    return server.query("SELECT count(*) AS n FROM events WHERE id = :id", id=event_id)[0]["n"]


def test_a_response_lost_after_the_server_committed_is_retried_without_a_duplicate(pwa, live_server, context,
                                                                                    carries_events, push_body):
    pwa.enrol("worker2", PIN)
    seen = []

    def drop_first_answer(route):
        if not carries_events(route.request):
            return route.continue_()
        seen.append(push_body(route.request))
        if len(seen) == 1:
            route.fetch()  # the server receives and commits the batch …
            return route.abort("connectionreset")  # … and the phone never hears the answer
        response = route.fetch()
        seen.append(response.json())
        route.fulfill(response=response)

    context.route("**/api/sync/push", drop_first_answer)
    visit = pwa.visit_ids()[0]
    pwa.go(f"#/visit/{visit}")
    pwa.page.click("#start-visit")
    pwa.page.wait_for_selector("#end-visit:not([disabled])")  # recorded
    pwa.wait_pending(0)

    (event_id,) = [e["id"] for e in seen[0]["events"]]
    assert seen[1]["events"][0]["id"] == event_id  # the same event was sent again
    assert seen[2]["results"] == [{"id": event_id, "status": "duplicate", "code": "already_applied",
                                   "message": seen[2]["results"][0]["message"]}]
    assert count_events(live_server, event_id) == 1
    assert pwa.pending() == []


def test_server_errors_make_the_phone_back_off_and_lose_nothing(pwa, live_server, context, carries_events, push_body):
    pwa.enrol("worker3", PIN)
    failures = []

    def fail_three_times(route):
        if carries_events(route.request) and len(failures) < 3:
            failures.append(push_body(route.request))
            return route.fulfill(status=500, content_type="application/json",
                                 body=json.dumps({"code": "internal", "status": 500, "message": "Boom", "errors": {}}))
        route.continue_()

    context.route("**/api/sync/push", fail_three_times)
    visit = pwa.visit_ids()[0]
    pwa.go(f"#/visit/{visit}")
    pwa.page.click("#start-visit")
    pwa.page.wait_for_selector("text=osynkad")
    pwa.page.wait_for_selector("#end-visit:not([disabled])")  # recorded, in the outbox
    for _ in range(600):  # the first try fails at once; wait for it before waiting for the outbox to drain
        if failures:
            break
        pwa.page.wait_for_timeout(100)
    pwa.wait_pending(0, timeout=60)

    assert len(failures) == 3
    ids = {e["id"] for body in failures for e in body["events"]}
    assert len(ids) == 1
    assert count_events(live_server, ids.pop()) == 1
    for _ in range(100):  # the sender clears its failure count just after the outbox drains
        sync = pwa.page.evaluate("""() => new Promise((res) => { const r = indexedDB.open('hemvard');
          r.onsuccess = () => { const q = r.result.transaction('meta').objectStore('meta').get('sync');
            q.onsuccess = () => { r.result.close(); res(q.result); }; }; })""")
        if sync["failures"] == 0:
            break
        pwa.page.wait_for_timeout(100)
    delays = sync["recent_delays_ms"][-3:]
    assert delays == sorted(delays) and len(delays) == 3  # exponential: each wait at least as long as the last
    assert sync["failures"] == 0 and sync["next_retry_at"] is None


def test_a_rejected_record_stays_visible_with_its_reason_and_the_others_sync(pwa, live_server, context, shots):
    pwa.enrol("worker4", PIN)
    page = pwa.page
    mine, reassigned = pwa.visit_ids()[:2]
    context.set_offline(True)
    pwa.go(f"#/visit/{mine}")
    page.click("#start-visit")
    page.wait_for_selector("#end-visit:not([disabled])")
    pwa.go(f"#/visit/{reassigned}")
    page.click("#start-visit")
    page.wait_for_selector("#end-visit:not([disabled])")
    pwa.wait_pending(2)

    # While the phone was offline the planner gave the second visit to a colleague.
    me = live_server.query("SELECT id FROM users WHERE username = 'worker4'")[0]["id"]
    colleague = live_server.query("SELECT id FROM users WHERE username = 'worker5'")[0]["id"]
    live_server.query("DELETE FROM visit_workers WHERE visit_id = :v AND worker_id = :me", v=reassigned, me=me)
    live_server.query("INSERT INTO visit_workers (visit_id, worker_id) SELECT :v, :c WHERE NOT EXISTS "
                      "(SELECT 1 FROM visit_workers WHERE visit_id = :v AND worker_id = :c)", v=reassigned, c=colleague)

    context.set_offline(False)  # the `online` event triggers a sync
    pwa.wait_pending(0)
    entries = pwa.pending()
    assert [e["code"] for e in entries] == ["not_your_visit"] and entries[0]["state"] == "rejected"
    started = live_server.query("SELECT visit_id FROM events WHERE type = 'visit_started' AND device_id IS NOT NULL "
                                "AND user_id = :me", me=me)
    assert [r["visit_id"] for r in started] == [mine]
    assert live_server.query("SELECT count(*) AS n FROM quarantined_events WHERE code = 'not_your_visit'")[0]["n"] == 1

    pwa.go("#/sync")
    rejected = page.locator("#sync-records li[data-state=rejected]")
    assert rejected.count() == 1
    assert "Besöket är inte (längre) schemalagt för dig." in rejected.inner_text()
    assert "1 avvisad" in pwa.status_text()
    shots(page, "sync-rejected", full_page=False)
    # Syncing again keeps it: rejected is not a state that a retry or a new sync silently clears.
    page.click("#sync-now")
    page.wait_for_selector("#sync-now:not([disabled])")
    assert [e["code"] for e in pwa.pending()] == ["not_your_visit"]


def test_too_large_batches_are_halved_and_a_malformed_record_is_isolated(pwa, live_server, context, push_body):
    pwa.enrol("worker5", PIN)
    page = pwa.page
    visit = pwa.visit_ids()[0]
    context.set_offline(True)
    recorded = pwa.record_visit(visit)
    pwa.add_note(visit, "Kort anteckning.")
    entries = pwa.wait_pending(recorded + 1)
    culprit = entries[1]["id"]
    sizes = []

    def picky_server(route):
        events = push_body(route.request).get("events") or []
        sizes.append(len(events))
        if len(events) > 2:
            return route.fulfill(status=413, content_type="application/json", body=json.dumps(
                {"code": "batch_too_large", "status": 413, "message": "För många poster", "errors": {}}))
        if culprit in [e["id"] for e in events]:
            return route.fulfill(status=422, content_type="application/json", body=json.dumps(
                {"code": "validation_error", "status": 422, "message": "Ogiltig begäran",
                 "errors": {"events.0.sealed": ["Fel format."]}}))
        route.continue_()

    context.route("**/api/sync/push", picky_server)
    context.set_offline(False)
    pwa.wait_pending(0)

    left = pwa.pending()
    assert [(e["id"], e["state"], e["code"]) for e in left] == [(culprit, "rejected", "validation_error")]
    stored = {r["id"] for r in live_server.query("SELECT id FROM events")}
    assert {e["id"] for e in entries} - stored == {culprit}
    assert max(sizes) == len(entries) and 1 in sizes  # whole batch first, halved down to the single culprit
    pwa.go("#/sync")
    assert "Servern godtog inte postens format." in page.inner_text("#sync-records li[data-state=rejected]")
