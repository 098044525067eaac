/* "Att efterregistrera" (post-registration, issue 4): the visits this worker must register after an outage.
 *
 * The content belongs to issue 4. Contract with the app shell: export `render(ctx)` returning a Node
 * (or a Promise of one); ctx = {params, navigate, rerender}. Use outbox.enqueue({type, payload}) to record,
 * shift.visits()/shift.client(id) for the offline copy, records.visitState(id), and t() for texts.
 */
import { h } from '../dom.js';
import { t } from '../i18n.js';

export function render() {
  return h('section', { class: 'card' },
    h('h1', {}, t('postreg.title')),
    h('p', {}, t('postreg.empty')));
}
