/**
 * The dispatcher dashboard: sign in (dispatcher or admin), then one screen with
 * orders, the order and assignment forms, active dispatches, vehicle positions and
 * queue health, kept current by the live event stream (live.ts); admins also get the
 * webhook endpoints and their deliveries.
 */
import './styles.css';
import { ApiError, api, hasTokens, onSignedOut, signOut } from './api.js';
import { loadLive, loadReference } from './data.js';
import { h, replaceChildren } from './dom.js';
import { applyLiveEvent } from './events.js';
import { applyLabels, onLangChange, type LabelKey } from './i18n.js';
import { LiveConnection } from './live.js';
import { dispatchesPanel } from './panels/dispatches.js';
import { formsPanel } from './panels/forms.js';
import { mapPanel } from './panels/map.js';
import { ordersPanel } from './panels/orders.js';
import { plansPanel } from './panels/plans.js';
import { queuesPanel } from './panels/queues.js';
import { webhooksPanel } from './panels/webhooks.js';
import { signInScreen, skipLink, topBar } from './shell.js';
import { changed, state, type Topic } from './store.js';
import type { Session } from './types.js';

const ALL_TOPICS: Topic[] = ['reference', 'orders', 'counts', 'pending', 'dispatches', 'positions', 'queues', 'clock', 'telemetry'];
const root = document.getElementById('app')!;
let live: LiveConnection | undefined;
let clock: ReturnType<typeof setInterval> | undefined;
let hiddenTimer: ReturnType<typeof setTimeout> | undefined;

/**
 * A tab left in the background gives its stream back after a minute: browsers allow
 * six HTTP/1.1 connections per host, and every open dashboard tab holds one. Back in
 * view, it reconnects and reloads (the 'hello' handler does).
 */
const HIDDEN_RELEASE_MS = 60_000;
document.addEventListener('visibilitychange', () => {
  clearTimeout(hiddenTimer);
  if (!live) return;
  if (document.hidden) hiddenTimer = setTimeout(() => live?.stop(), HIDDEN_RELEASE_MS);
  else if (!live.running) live.start();
});

function stopLive(): void {
  live?.stop();
  live = undefined;
  clearInterval(clock);
}

function showSignIn(notice?: LabelKey): void {
  stopLive();
  state.session = undefined;
  replaceChildren(root, skipLink(), signInScreen(start, notice));
  applyLabels(document);
}

function showDashboard(session: Session): void {
  const forms = formsPanel();
  const bar = topBar(session, () => void signOut());
  replaceChildren(
    root,
    skipLink(),
    bar.element,
    h(
      'main',
      { class: 'layout', attrs: { id: 'main', tabindex: -1 } },
      ordersPanel({ pickOrder: forms.pickOrder }),
      forms.element,
      plansPanel(),
      dispatchesPanel(),
      mapPanel(),
      queuesPanel(session.role === 'admin'),
      // Webhook endpoints are the admins' (the API answers 403 to dispatchers): not even offered to others.
      session.role === 'admin' ? webhooksPanel() : null,
    ),
  );
  applyLabels(document);
  live = new LiveConnection({
    onEvent: applyLiveEvent,
    onState: bar.setLive,
    // Reference data too: vehicles, drivers and clients added or deactivated while away.
    onConnected: () => void Promise.allSettled([loadReference(), loadLive()]),
    onForbidden: () => void notStaff(),
  });
  live.start();
  // Ages ("3분 전") and staleness move with time even when nothing is reported.
  clock = setInterval(() => changed('clock'), 15_000);
}

/** The account is not (or no longer) an admin or dispatcher: end its session and say why. */
async function notStaff(): Promise<void> {
  await signOut();
  showSignIn('auth.notStaff');
}

/** After sign-in, and on load with a stored sign-in: check the role, then open the dashboard. */
async function start(): Promise<void> {
  let session: Session;
  try {
    session = await api<Session>('GET', '/dashboard/session');
  } catch (err) {
    if (err instanceof ApiError && err.status === 403) return notStaff();
    throw err;
  }
  state.session = session;
  showDashboard(session);
  await Promise.allSettled([loadReference(), loadLive()]);
}

onSignedOut((reason) => showSignIn(reason === 'expired' ? 'auth.expired' : undefined));
// A new language re-renders what carries formatted values (dates, numbers); labels relabel themselves.
onLangChange(() => changed(...ALL_TOPICS));

if (hasTokens()) {
  start().catch(() => showSignIn());
} else {
  showSignIn();
}
