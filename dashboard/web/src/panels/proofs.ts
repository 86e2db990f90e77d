/**
 * Proof of delivery on a dispatch's card: a line saying what the order requires and what is still
 * missing (in words, not colour alone), and a section, opened on demand, with the photos and
 * signatures (thumbnails that open the full image, the recipient, the time, the note) and the
 * missing kinds listed. Images are fetched with the bearer token and shown from object URLs.
 *
 * Like the temperature section, one element per dispatch is kept across re-renders of the list,
 * so an open section stays open (and keeps its focus) under live updates.
 */
import { loadProofs } from '../data.js';
import { h, label, replaceChildren } from '../dom.js';
import { errorText } from '../errors.js';
import { dateTime } from '../format.js';
import { t } from '../i18n.js';
import { state } from '../store.js';
import { keptSections, type KeptSection } from './kept-sections.js';
import type { ActiveDispatch, Proof } from '../types.js';

/** The card's proof line: counts per kind, then "missing: 서명" or "complete" when the order requires any. */
export function proofSummary(d: ActiveDispatch): HTMLElement {
  const p = d.proofs;
  const level = p.missing.length ? 'missing' : p.required.length ? 'complete' : 'none';
  return h(
    'p',
    { class: `proof-summary proof-level-${level}`, attrs: { 'data-role': 'proof-summary', 'data-missing': p.missing.join(',') } },
    t('proof.counts', { photo: p.photo, signature: p.signature }),
    ' ',
    level === 'missing'
      ? h(
          'span',
          { class: 'badge proof-missing-badge', attrs: { 'data-role': 'proof-missing-badge' } },
          `⚠ ${t('proof.missing', { kinds: p.missing.map((k) => t(`proof.kind.${k}`)).join(', ') })}`,
        )
      : level === 'complete'
        ? h('span', { class: 'badge proof-complete-badge' }, `✓ ${t('proof.complete')}`)
        : h('span', { class: 'muted', i18n: 'proof.notRequired' }),
  );
}

function proofItem(proof: Proof, image: string | undefined): HTMLLIElement {
  const kind = t(`proof.kind.${proof.kind}`);
  const when = dateTime(proof.created_at);
  const alt = [t('proof.alt', { kind, id: proof.id }), proof.recipient_name ? t('proof.recipientIs', { name: proof.recipient_name }) : null, when]
    .filter(Boolean)
    .join(' · ');
  const thumbnail = image
    ? h(
        'a',
        {
          class: 'proof-thumb',
          attrs: {
            href: image,
            target: '_blank',
            rel: 'noopener',
            'data-key': `proof-open-${proof.id}`,
            'aria-label': t('proof.open', { kind, id: proof.id }),
          },
        },
        h('img', { attrs: { src: image, alt, width: proof.width, height: proof.height, 'data-role': 'proof-image' } }),
      )
    : h('span', { class: 'proof-thumb placeholder', attrs: { role: 'img', 'aria-label': alt } }, '…');
  return h(
    'li',
    { class: `proof kind-${proof.kind}`, attrs: { 'data-proof-id': proof.id, 'data-kind': proof.kind } },
    h(
      'figure',
      {},
      thumbnail,
      h(
        'figcaption',
        {},
        h('strong', {}, kind),
        ` #${proof.id}`,
        proof.recipient_name ? h('span', { attrs: { 'data-role': 'proof-recipient' } }, ` · ${t('proof.recipientIs', { name: proof.recipient_name })}`) : null,
        ' · ',
        h('time', { attrs: { datetime: proof.created_at } }, when),
        proof.note ? h('span', { class: 'note' }, ` · ${proof.note}`) : null,
      ),
    ),
  );
}

function makeSection(dispatchId: number): KeptSection {
  let current: ActiveDispatch | undefined;
  const summaryCount = h('span', { attrs: { 'data-role': 'proof-count' } });
  const status = h('p', { class: 'message', attrs: { role: 'status', 'aria-live': 'polite', 'data-role': 'proof-status' } });
  const content = h('div', { class: 'proof-content' });
  const element = h(
    'details',
    {
      class: 'proof-details',
      attrs: { 'data-role': 'proof-details' },
      on: {
        toggle: () => {
          if (element.open) {
            render();
            void loadProofs(dispatchId);
          }
        },
      },
    },
    h('summary', {}, label('proof.details'), ' ', summaryCount),
    h('div', { class: 'proof-body' }, status, content),
  );

  function render(): void {
    if (!current) return;
    const total = current.proofs.photo + current.proofs.signature;
    summaryCount.textContent = `(${total})`;
    if (!element.open) return;
    const data = state.proofs.get(dispatchId);
    if (!data || (data.loading && data.items.length === 0)) {
      status.className = 'message';
      status.textContent = t('proof.loading');
      status.hidden = false;
      replaceChildren(content);
      return;
    }
    status.className = data.error ? 'message error' : 'message';
    status.textContent = data.error ? errorText(data.error) : '';
    status.hidden = !data.error;
    const missing = data.missing;
    replaceChildren(
      content,
      missing.length
        ? h(
            'ul',
            { class: 'proof-missing', attrs: { 'data-role': 'proof-missing' } },
            ...missing.map((k) => h('li', { attrs: { 'data-kind': k } }, `⚠ ${t('proof.missingOne', { kind: t(`proof.kind.${k}`) })}`)),
          )
        : null,
      data.items.length
        ? h('ul', { class: 'proof-list', attrs: { 'data-role': 'proofs' } }, ...data.items.map((p) => proofItem(p, data.images.get(p.id))))
        : h('p', { class: 'muted', i18n: 'proof.none' }),
      data.required.length
        ? h('p', { class: 'muted small-text' }, t('proof.requires', { kinds: data.required.map((k) => t(`proof.kind.${k}`)).join(', ') }))
        : null,
    );
  }

  return {
    element,
    update: (d) => {
      current = d;
      render();
    },
  };
}

const kept = keptSections(makeSection, 'proofs');
/** The dispatch's (kept) section, brought up to date. */
export const proofSection = kept.section;
/** Open sections re-render when their data arrives; sections of dispatches no longer listed are dropped. */
export const watchProofSections = kept.watch;
