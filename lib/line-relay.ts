/**
 * Copies a child process's output to a writer in whole lines. Several children share
 * one stdout in `all` mode; each writes its log in chunks that can end mid-line (a
 * pipe takes what fits), so copying chunks as they come could splice one process's
 * line into another's. Only complete lines are passed on, each chunk of them in one call.
 */
import type { Readable } from 'node:stream';

/** A line longer than this is passed on in pieces rather than held without bound. */
const MAX_HELD_CHARS = 1 << 20;

/** Resolves when the source ends; a last line without a newline gets one. */
export function relayLines(source: Readable, write: (text: string) => void): Promise<void> {
  let held = '';
  source.setEncoding('utf8');
  source.on('data', (chunk: string) => {
    const text = held + chunk;
    const end = text.lastIndexOf('\n') + 1;
    if (end > 0) {
      write(text.slice(0, end));
      held = text.slice(end);
    } else held = text;
    if (held.length > MAX_HELD_CHARS) {
      write(held);
      held = '';
    }
  });
  return new Promise((resolve) => {
    source.once('close', () => {
      if (held) write(`${held}\n`);
      held = '';
      resolve();
    });
  });
}
