/**
 * A folder on the worker's disk. Writes go to `<key>.partial` and are renamed into
 * place only after an fsync, so a crash or a failed dump never leaves a file under
 * a backup's name. Keys are confined to the folder: nothing outside it is reachable.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BackupNotFoundError, type BackupStorage } from './storage.js';

export class LocalStorage implements BackupStorage {
  readonly name = 'local' as const;
  private readonly root: string;

  constructor(dir: string) {
    this.root = resolve(dir);
  }

  /** The absolute path of a key, refusing anything that would escape the backup folder. */
  pathOf(key: string): string {
    const path = resolve(this.root, key);
    if (!path.startsWith(this.root + sep) || key.includes('\0')) throw new BackupNotFoundError(`refusing a key outside the backup folder: ${key}`);
    return path;
  }

  async put(key: string, body: Readable): Promise<number> {
    const path = this.pathOf(key);
    const partial = `${path}.partial`;
    await mkdir(dirname(path), { recursive: true });
    try {
      await pipeline(body, createWriteStream(partial, { flags: 'w', mode: 0o600 }));
      const handle = await open(partial, 'r');
      await handle.sync();
      await handle.close();
      await rename(partial, path);
      return (await stat(path)).size;
    } catch (err) {
      await rm(partial, { force: true });
      throw err;
    }
  }

  async get(key: string): Promise<Readable> {
    const path = this.pathOf(key);
    if (!(await this.exists(key))) throw new BackupNotFoundError(`no backup file ${key}`);
    return createReadStream(path);
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  async exists(key: string): Promise<boolean> {
    try {
      return (await stat(this.pathOf(key))).isFile();
    } catch {
      return false;
    }
  }
}
