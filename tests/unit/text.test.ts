/** The free-text rules (domain/text.ts) behind every name, address and note the API takes (issue 14, item 7). */
import { describe, expect, it } from 'vitest';
import { BIDI_MESSAGE, INVISIBLE_MESSAGE, hasBidiControl, isInvisible, normalizeText, textProblem } from '../../domain/text.js';
import { FreeText } from '../../api/schemas/common.js';

const BIDI = ['\u202A', '\u202B', '\u202C', '\u202D', '\u202E', '\u2066', '\u2067', '\u2068', '\u2069', '\u200E', '\u200F', '\u061C'];

describe('free text', () => {
  it.each(BIDI.map((c) => [`U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`, c]))('refuses the bidi control %s anywhere', (_name, c) => {
    expect(hasBidiControl(`서울시 ${c}구남강`)).toBe(true);
    expect(textProblem(`서울시 ${c}구남강`)).toBe(BIDI_MESSAGE);
  });

  it.each([
    ['empty', ''],
    ['spaces, tab, newline', ' \t\n'],
    ['zero-width space, joiners, word joiner', '\u200B\u200C\u200D\u2060'],
    ['BOM and no-break space', '\uFEFF\u00A0'],
    ['ideographic space', '\u3000'],
    ['Hangul fillers', '\u3164\u115F\u1160\uFFA0'],
    ['soft hyphen', '\u00AD'],
    ['a lone combining mark and grapheme joiner', '\u0301\u034F'],
    ['variation selector', '\uFE0F'],
  ])('finds nothing visible in %s', (_name, text) => {
    expect(isInvisible(text)).toBe(true);
    expect(textProblem(text)).toBe(INVISIBLE_MESSAGE);
  });

  it.each([
    ['Korean address', '서울시 강남구 테헤란로 123'],
    ['a plate', '12가3456'],
    ['decomposed Hangul', '강남구'.normalize('NFD')],
    ['a zero-width joiner inside visible text (emoji sequences)', '👩\u200D💻 배송'],
    ['one visible character among invisible ones', '\u200B가\u200B'],
  ])('accepts %s', (_name, text) => {
    expect(textProblem(text)).toBeNull();
  });

  it('normalises decomposed Hangul to precomposed syllables (NFC)', () => {
    const nfd = '강남구'.normalize('NFD');
    expect(nfd).toHaveLength(8);
    expect(normalizeText(nfd)).toBe('강남구');
  });

  it('FreeText trims, normalises to NFC before counting, and allows an empty note only when told', () => {
    const address = FreeText({ min: 2, max: 3 });
    expect(address.parse(` ${'강남구'.normalize('NFD')} `)).toBe('강남구');
    expect(address.safeParse('\u200B\u200B').success).toBe(false);
    const note = FreeText({ max: 10, trim: false, allowEmpty: true });
    expect(note.parse('')).toBe('');
    expect(note.safeParse('  ').success).toBe(false);
    expect(FreeText({ max: 10 }).safeParse('').success).toBe(false);
  });
});
