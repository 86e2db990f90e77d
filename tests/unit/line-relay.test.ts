/** relayLines passes on whole lines only, so processes sharing one stdout never mix inside a line. */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { relayLines } from '../../lib/line-relay.js';

describe('relayLines', () => {
  it('holds a line split across chunks until its end arrives, and ends a last line without a newline', async () => {
    const source = new PassThrough();
    const writes: string[] = [];
    const done = relayLines(source, (text) => writes.push(text));
    source.write('{"a":1}\n{"b":');
    source.write('2}\n{"c":3}\n{"d"');
    source.end(':4}');
    await done;
    expect(writes).toEqual(['{"a":1}\n', '{"b":2}\n{"c":3}\n', '{"d":4}\n']);
  });

  it('keeps a multi-byte character split between chunks whole', async () => {
    const source = new PassThrough();
    const writes: string[] = [];
    const done = relayLines(source, (text) => writes.push(text));
    const line = Buffer.from('{"msg":"냉장"}\n');
    source.write(line.subarray(0, 10));
    source.end(line.subarray(10));
    await done;
    expect(writes).toEqual(['{"msg":"냉장"}\n']);
  });
});
