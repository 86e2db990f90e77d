/**
 * The only way this page builds DOM. Values become text nodes or attribute values,
 * never markup: nothing here (or anywhere in the page) assigns innerHTML, so an
 * address like `<script>…</script>` is shown as those characters. Event-handler
 * attributes and inline styles are refused outright (the CSP would block them anyway).
 */
import { t, type Key } from './i18n.js';

export type Child = Node | string | number | null | undefined | false;
type AttrValue = string | number | boolean | null | undefined;

export interface Props {
  class?: string;
  /** A label key: the element's text, relabelled when the language changes. */
  i18n?: Key;
  attrs?: Record<string, AttrValue>;
  /** Label keys for attributes (placeholder, aria-label, title). */
  i18nAttrs?: Partial<Record<'placeholder' | 'aria-label' | 'title', Key>>;
  on?: { [E in keyof HTMLElementEventMap]?: (event: HTMLElementEventMap[E]) => void };
}

const FORBIDDEN_ATTR = /^(on|style$|srcdoc$|formaction$)/i;

function setAttrs(el: Element, attrs: Record<string, AttrValue> = {}): void {
  for (const [name, value] of Object.entries(attrs)) {
    if (FORBIDDEN_ATTR.test(name)) throw new Error(`refusing attribute ${name}`);
    // Same-origin paths, fragments, and object URLs the page made itself (proof images fetched with the token).
    if ((name === 'href' || name === 'src') && typeof value === 'string' && !/^([/#]|blob:)/.test(value)) throw new Error(`refusing ${name} ${value}`);
    if (value === false || value === null || value === undefined) continue;
    el.setAttribute(name, value === true ? '' : String(value));
  }
}

function append(el: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
}

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props.class) el.className = props.class;
  setAttrs(el, props.attrs);
  if (props.i18n) {
    el.dataset.i18n = props.i18n;
    el.textContent = t(props.i18n);
  }
  for (const [attr, key] of Object.entries(props.i18nAttrs ?? {})) {
    const dataKey = attr === 'aria-label' ? 'i18nAriaLabel' : attr === 'title' ? 'i18nTitle' : 'i18nPlaceholder';
    el.dataset[dataKey] = key;
    el.setAttribute(attr, t(key));
  }
  for (const [event, handler] of Object.entries(props.on ?? {})) el.addEventListener(event, handler as EventListener);
  append(el, children);
  return el;
}

/** A translated piece of text inside other content. */
export function label(key: Key): HTMLSpanElement {
  return h('span', { i18n: key });
}

const SVG_NS = 'http://www.w3.org/2000/svg';

export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, AttrValue> = {}, ...children: Child[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

/**
 * Replaces an element's children, keeping keyboard focus on the element with the same
 * data-key if it is rebuilt. If it is gone (its row was cancelled), focus stays in the
 * list itself rather than falling to the page's <body>.
 */
export function replaceChildren(parent: Element, ...children: Child[]): void {
  const active = document.activeElement;
  const key = active instanceof HTMLElement && parent.contains(active) ? active.dataset.key : undefined;
  parent.replaceChildren();
  append(parent, children);
  if (!key) return;
  const again = parent.querySelector<HTMLElement>(`[data-key="${CSS.escape(key)}"]`);
  if (again) return again.focus();
  if (parent instanceof HTMLElement) {
    if (!parent.hasAttribute('tabindex')) parent.tabIndex = -1;
    parent.focus();
  }
}

/** Fills a select, keeping the chosen value when it is still offered. */
export function setOptions(select: HTMLSelectElement, options: { value: string; text: string; i18n?: Key }[]): void {
  const chosen = select.value;
  select.replaceChildren(
    ...options.map((o) => {
      const option = h('option', { attrs: { value: o.value }, i18n: o.i18n });
      if (!o.i18n) option.textContent = o.text;
      return option;
    }),
  );
  if (options.some((o) => o.value === chosen)) select.value = chosen;
}

/** A labelled form control: <label> wrapping its text and the control. */
export function field(key: Key, control: HTMLElement, extraClass = ''): HTMLLabelElement {
  return h('label', { class: `field ${extraClass}`.trim() }, h('span', { class: 'field-label', i18n: key }), control);
}
