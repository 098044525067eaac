"""What a worker records at one visit, for the push tests."""


def visit_events(s, visit, note="Pigg i dag."):
    """A visit's four records as the phone makes them: start, an intervention done, a note, end."""
    start = s.event("visit_started", {"visit_id": visit["id"]})
    done = s.event("intervention_recorded", {"visit_id": visit["id"], "intervention_id": visit["interventions"][0]["id"],
                                             "status": "done"})
    text = s.event("note_added", {"client_id": visit["client_id"], "visit_id": visit["id"], "text": note})
    end = s.event("visit_ended", {"visit_id": visit["id"]})
    return [start, done, text, end]
