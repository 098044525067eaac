/* What is known of the worker's registration of a visit: what the server already holds (from the last pull —
 * so a wiped or new phone still shows what is done), overlaid with this phone's own records (the journal).
 *
 * Exports: visitState(visitId) → {startedAt, endedAt, interventions: Map(id → record), unsynced, rejected,
 * phase: 'not_started' | 'ongoing' | 'done'}; an intervention's record carries `at` (when it was recorded) when
 * this phone recorded it. Later records (by device_seq) win, as in the server projection.
 * handoversFor(visitId) → the handover notes (Till nästa besök) for the visit not yet read ("Läst") on this phone.
 */
import { journal } from './outbox.js';
import { handovers, registration } from './shift.js';

export function visitState(visitId) {
  const id = Number(visitId);
  const state = { startedAt: null, endedAt: null, interventions: new Map(), unsynced: false, rejected: false, handedOver: false };
  const held = registration(id);
  if (held) {
    state.startedAt = held.started_at;
    state.endedAt = held.ended_at;
    for (const i of held.interventions || []) state.interventions.set(i.intervention_id, i);
  }
  for (const e of journal()) {
    if (!e.payload || Number(e.payload.visit_id) !== id) continue;
    if (e.status === 'pending') state.unsynced = true;
    if (e.status === 'rejected') { state.rejected = true; continue; }
    if (e.type === 'visit_started') state.startedAt = e.payload.at || e.occurred_at;
    else if (e.type === 'visit_ended') state.endedAt = e.payload.at || e.occurred_at;
    else if (e.type === 'intervention_recorded') state.interventions.set(e.payload.intervention_id, { ...e.payload, at: e.occurred_at });
    else if (e.type === 'gap_handed_over') state.handedOver = true;
  }
  state.phase = state.endedAt ? 'done' : state.startedAt ? 'ongoing' : 'not_started';
  return state;
}

export function handoversFor(visitId) {
  const id = Number(visitId);
  // read here, even offline: hidden at once; shown again only if the server rejected the acknowledgement
  const read = new Set(journal().filter((e) => e.type === 'handover_acknowledged' && e.status !== 'rejected')
    .map((e) => e.payload.note_id));
  return handovers().filter((n) => n.for_visits.includes(id) && !read.has(n.id));
}
