/** Turns a failed call into words for the person at the screen. */
import { ApiError, NetworkError } from './api.js';
import { t } from './i18n.js';

export function errorText(err: unknown): string {
  if (err instanceof NetworkError) return t('error.network');
  if (err instanceof ApiError) {
    if (err.code === 'validation_failed' && Array.isArray(err.details)) {
      const fields = (err.details as { field?: string; message?: string }[]).map((d) => `${d.field ?? ''}: ${d.message ?? ''}`);
      return `${t('error.validation')} (${fields.join('; ')})`;
    }
    return `${t('error.generic')}: ${err.message}`;
  }
  return `${t('error.generic')}: ${err instanceof Error ? err.message : String(err)}`;
}
