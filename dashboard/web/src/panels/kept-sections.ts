/**
 * Per-dispatch <details> sections kept across the dispatch list's re-renders (so an open one stays
 * open with what it loaded), refreshed when `topic` brings their data, and dropped with their
 * dispatch. The temperature and proof sections of a dispatch card are each one of these.
 */
import { on, state, type Topic } from '../store.js';
import type { ActiveDispatch } from '../types.js';

export interface KeptSection {
  element: HTMLDetailsElement;
  update: (d: ActiveDispatch) => void;
}

export function keptSections(make: (dispatchId: number) => KeptSection, topic: Topic) {
  const sections = new Map<number, KeptSection>();
  return {
    /** The dispatch's (kept) section, brought up to date. */
    section(d: ActiveDispatch): HTMLDetailsElement {
      let section = sections.get(d.id);
      if (!section) {
        section = make(d.id);
        sections.set(d.id, section);
      }
      section.update(d);
      return section.element;
    },
    /** Open sections re-render when their data arrives; sections of dispatches no longer listed are dropped. */
    watch(): void {
      on([topic], () => {
        for (const d of state.dispatches) sections.get(d.id)?.update(d);
      });
      on(['dispatches'], () => {
        const active = new Set(state.dispatches.map((d) => d.id));
        for (const id of sections.keys()) if (!active.has(id)) sections.delete(id);
      });
    },
  };
}
