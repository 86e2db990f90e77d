/**
 * Where backups live. Every target offers the same small interface; a write either
 * completes (the object appears under its final key) or leaves nothing that looks
 * like a good backup. Only the interface and what every target shares live here: the
 * targets import it, and storage-targets.ts picks them (so nothing imports in a circle).
 */
import type { Readable } from 'node:stream';
import type { BackupTarget } from '../lib/config.js';

export interface BackupStorage {
  readonly name: BackupTarget;
  /** Streams `body` to `key`; resolves with the bytes written once the object is complete. */
  put(key: string, body: Readable): Promise<number>;
  get(key: string): Promise<Readable>;
  /** Removes the object; an absent object is not an error. */
  delete(key: string): Promise<void>;
  exists(key: string): Promise<boolean>;
}

export class BackupNotFoundError extends Error {}

/**
 * A key for a new artifact: by kind and day, so listings and lifecycle rules stay simple.
 * The day is the schedule's (BACKUP_TIMEZONE): the 03:00 KST daily of the 28th is under 2026-11-28.
 */
export function artifactKey(kind: string, id: string, startedAt: Date, extension: 'dump' | 'tar.gz', timeZone: string): string {
  // en-CA formats a date as YYYY-MM-DD.
  const day = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(startedAt);
  return `${kind}/${day}/uvis-${kind}-${id}.${extension}`;
}
