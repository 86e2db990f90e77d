/**
 * The one normalisation of a sign-in identifier (an email address), shared by the
 * account lookup, every brute-force counter key and the stored emails themselves.
 *
 * Why: lowercasing in two places (JavaScript for the lockout key, PostgreSQL's lower()
 * for the lookup) lets one account answer to many spellings. 'İ' (U+0130) lowercases
 * to 'i' + U+0307 in JavaScript but may match 'i' in the database, so each 'i' in an
 * address doubled the guesses allowed before the lockout.
 *
 * The rule:
 * 1. The identifier is NFKC-normalised, trimmed and lowercased once (then NFKC again:
 *    lowercasing can leave a string that is no longer normalised). Fullwidth letters
 *    and compatibility forms such as the KELVIN SIGN (U+212A) become their ASCII
 *    letters here, so they name the same account as the plain address.
 * 2. It is acceptable only when what remains is printable ASCII without spaces, at most
 *    254 characters: every stored email is (the API's email schema accepts ASCII only,
 *    and migration 20261129_0006 enforces it with a check constraint), so anything else
 *    cannot name an account. A refused identifier is never looked up; the sign-in
 *    answers the same 401 as a wrong password, and the attempt counts.
 * 3. The counter key is the identifier with every combining mark removed after
 *    canonical decomposition (NFKD), so an unacceptable look-alike ('İ' is 'I' plus a
 *    dot above) counts against the account it imitates, not against a fresh budget.
 *    For an acceptable identifier the key is the identifier itself.
 */

/** Printable ASCII, no space: the alphabet of every stored email. */
const STORABLE = /^[\x21-\x7e]{1,254}$/;

export interface SignInIdentifier {
  /** The normalised form: what the account lookup compares with the stored email, exactly. */
  email: string;
  /** Whether the normalised form could be a stored email; when false, no account is looked up. */
  acceptable: boolean;
  /** The brute-force counter key (equal to email when acceptable). */
  counterKey: string;
}

export function normalizeSignInIdentifier(raw: string): SignInIdentifier {
  const email = raw.normalize('NFKC').trim().toLowerCase().normalize('NFKC');
  const acceptable = STORABLE.test(email);
  const counterKey = acceptable ? email : email.normalize('NFKD').replace(/\p{M}/gu, '').normalize('NFKC');
  return { email, acceptable, counterKey };
}

/** The form an email is stored in (user creation and change), so sign-in can match it exactly. */
export function normalizeStoredEmail(raw: string): string {
  return normalizeSignInIdentifier(raw).email;
}
