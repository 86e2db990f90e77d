/**
 * Rules for free text a person types (names, addresses, notes), in one place.
 *
 * - Bidirectional controls are refused: a right-to-left override makes `구남강` display
 *   as `강남구` on a dispatcher's screen while search (and the driver's app) see the
 *   stored order. Nothing in Korean or English logistics text needs them.
 * - Text must show something: a value made only of spaces, zero-width characters,
 *   other format or control characters, Hangul fillers or lone combining marks looks
 *   empty on every screen yet is stored as if it were an address.
 * - Text is stored in Unicode NFC, so Hangul typed as decomposed jamo (NFD, as macOS
 *   and some keyboards send it) and precomposed syllables are the same text to search.
 */

/** U+202A–U+202E (embeddings, overrides), U+2066–U+2069 (isolates), U+200E/U+200F (marks), U+061C (Arabic letter mark). */
export const BIDI_CONTROLS = /[\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C]/u;

/**
 * A character nobody sees on its own: white space and separators (Z), controls (Cc),
 * format characters (Cf: zero-width space, joiners, BOM...), default-ignorable code
 * points (Hangul fillers U+115F, U+1160, U+3164, U+FFA0, variation selectors...) and
 * combining marks (M) with nothing to combine with.
 */
const INVISIBLE = /^[\p{White_Space}\p{Z}\p{Cc}\p{Cf}\p{Default_Ignorable_Code_Point}\p{M}]*$/u;

export const BIDI_MESSAGE = 'must not contain bidirectional control characters (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C)';
export const INVISIBLE_MESSAGE = 'must contain a visible character (not only spaces, zero-width or control characters)';

export function hasBidiControl(text: string): boolean {
  return BIDI_CONTROLS.test(text);
}

/** True when no character of the text would show on a screen (the empty string included). */
export function isInvisible(text: string): boolean {
  return INVISIBLE.test(text);
}

/** The form free text is stored and searched in. */
export function normalizeText(text: string): string {
  return text.normalize('NFC');
}

/** What is wrong with a piece of free text, or null when it may be stored. */
export function textProblem(text: string): string | null {
  if (hasBidiControl(text)) return BIDI_MESSAGE;
  if (isInvisible(text)) return INVISIBLE_MESSAGE;
  return null;
}
