/** Backup artifacts are filed under the day of the schedule's time zone, not UTC's. */
import { describe, expect, it } from 'vitest';
import { artifactKey } from '../../backups/storage.js';

describe('backup artifact keys', () => {
  it('file the 03:00 KST daily under its Seoul day (UTC is still on the day before)', () => {
    const threeAmSeoul = new Date('2026-11-27T18:00:00Z');
    expect(artifactKey('daily', 'abc', threeAmSeoul, 'dump', 'Asia/Seoul')).toBe('daily/2026-11-28/uvis-daily-abc.dump');
    expect(artifactKey('daily', 'abc', threeAmSeoul, 'dump', 'UTC')).toBe('daily/2026-11-27/uvis-daily-abc.dump');
  });

  it('file the Sunday 04:00 KST weekly under Sunday', () => {
    const sundayFourAm = new Date('2026-11-28T19:00:00Z'); // Sunday 29 November, 04:00 in Seoul
    expect(artifactKey('weekly', 'w1', sundayFourAm, 'tar.gz', 'Asia/Seoul')).toBe('weekly/2026-11-29/uvis-weekly-w1.tar.gz');
  });
});
