// Notifications for administrators and managers (issue 6): subscribe this browser to Web Push, after reading
// what is sent. Uses the worker app's service worker (/sw.js) and push module, with this page's login.
import * as push from '../js/push.js';
import { el, session, startPage } from './shell.js';
import { addMessages, lang, t } from './i18n.js';

addMessages({
  sv: {
    'nav.push': 'Notiser', 'push.title': 'Notiser',
    'push.lead': 'Få veta direkt när något behöver göras – även när den här sidan är stängd.',
    'push.whatTitle': 'Det här skickas',
    'push.what.admin': 'Administratörer: när besök lämnas över till er för efterregistrering (en medarbetare hann inte, eller sista dagen passerade).',
    'push.what.manager': 'Enhetschefer: när ett pågående driftstopp passerar gränsen och ni behöver besluta hur efterregistreringen görs.',
    'push.what.outage': 'Alla: planerade driftstopp för er enhet och dagen före, när ett driftstopp börjar och när systemet är tillbaka.',
    'push.privacy': 'Notiserna innehåller aldrig namn, personnummer eller anteckningar – bara en kort text och vilken sida som ska öppnas. De skickas via webbläsarens push-tjänst (Google, Apple, Microsoft eller Mozilla).',
    'push.state.on': 'Notiser är på i den här webbläsaren.', 'push.state.off': 'Notiser är av i den här webbläsaren.',
    'push.on': 'Slå på notiser', 'push.off': 'Stäng av notiser',
    'push.done.on': 'Klart – notiser är på.', 'push.done.off': 'Notiser är avstängda.',
    'push.support.ios-home-screen': 'På iPhone och iPad fungerar notiser bara för en app som är tillagd på hemskärmen (iOS 16.4 eller senare). Använd en dator, eller lägg till sidan på hemskärmen och öppna den därifrån.',
    'push.support.ios-too-old': 'Den här enheten har för gammal iOS för notiser (16.4 eller senare krävs).',
    'push.support.insecure': 'Notiser kräver en säker anslutning (https). Kontakta den som driver systemet.',
    'push.support.unsupported': 'Den här webbläsaren kan inte ta emot notiser. Använd Chrome, Edge, Firefox eller Safari.',
    'push.support.denied': 'Notiser är blockerade för den här sidan i webbläsarens inställningar. Tillåt notiser där och ladda om sidan.',
    'push.error.denied': 'Webbläsaren tillät inte notiser. Du kan ändra det i webbläsarens inställningar.',
    'push.error.unsupported': 'Den här webbläsaren kan inte ta emot notiser.',
    'push.error.offline': 'Servern nås inte just nu. Försök igen om en stund.',
    'push.error.server': 'Det gick inte att slå på notiser. Försök igen om en stund.',
  },
  en: {
    'nav.push': 'Notifications', 'push.title': 'Notifications',
    'push.lead': 'Know at once when something needs doing – even when this page is closed.',
    'push.whatTitle': 'What is sent',
    'push.what.admin': 'Administrators: when visits are handed to you for backfilling (a worker could not, or the last day passed).',
    'push.what.manager': 'Managers: when an ongoing outage crosses the threshold and you need to decide how post-registration is done.',
    'push.what.outage': 'Everyone: planned outages of your unit and the day before, when an outage starts and when the system is back.',
    'push.privacy': 'Notifications never contain names, personal identity numbers or notes – only a short text and which page to open. They travel through the browser\'s push service (Google, Apple, Microsoft or Mozilla).',
    'push.state.on': 'Notifications are on in this browser.', 'push.state.off': 'Notifications are off in this browser.',
    'push.on': 'Turn notifications on', 'push.off': 'Turn notifications off',
    'push.done.on': 'Done – notifications are on.', 'push.done.off': 'Notifications are off.',
    'push.support.ios-home-screen': 'On iPhone and iPad, notifications only work for an app added to the home screen (iOS 16.4 or later). Use a computer, or add the page to the home screen and open it from there.',
    'push.support.ios-too-old': 'This device\'s iOS is too old for notifications (16.4 or later is needed).',
    'push.support.insecure': 'Notifications need a secure connection (https). Contact whoever runs the system.',
    'push.support.unsupported': 'This browser cannot receive notifications. Use Chrome, Edge, Firefox or Safari.',
    'push.support.denied': 'Notifications are blocked for this site in the browser settings. Allow them there and reload the page.',
    'push.error.denied': 'The browser did not allow notifications. You can change that in the browser settings.',
    'push.error.unsupported': 'This browser cannot receive notifications.',
    'push.error.offline': 'The server cannot be reached right now. Try again in a while.',
    'push.error.server': 'Notifications could not be turned on. Try again in a while.',
  },
});

const user = await startPage({ page: 'notifications.html' });
const byId = (id) => document.getElementById(id);
const button = byId('push-toggle');
button.textContent = t('push.on'); // named at once: the state below takes a moment, and a button is never empty
const message = byId('push-message');

byId('push-what').replaceChildren(...[user.role === 'admin' ? 'push.what.admin' : 'push.what.manager',
  'push.what.outage'].map((key) => el('li', {}, t(key))));

async function draw() {
  const state = await push.status();
  byId('push-state').textContent = t(state.subscribed ? 'push.state.on' : 'push.state.off');
  byId('push-unsupported').replaceChildren(state.support === 'ok' ? ''
    : el('p', { class: 'message error', role: 'note' }, t(`push.support.${state.support}`)));
  button.textContent = t(state.subscribed ? 'push.off' : 'push.on');
  button.className = state.subscribed ? 'secondary' : '';
  button.disabled = !state.subscribed && state.support !== 'ok';
  return state;
}

button.addEventListener('click', async () => {
  button.disabled = true;
  message.textContent = '';
  try {
    const { subscribed } = await push.status();
    if (subscribed) await push.unsubscribe(session().token);
    else await push.subscribe(session().token, lang());
    message.textContent = t(subscribed ? 'push.done.off' : 'push.done.on');
  } catch (err) {
    message.textContent = t(`push.error.${err.code || 'server'}`);
  }
  await draw();
});

if ('serviceWorker' in navigator) {
  // The same service worker as the worker app: it shows the notifications and opens the page a click asks for.
  navigator.serviceWorker.register('/sw.js').catch(() => null);
}
draw();
