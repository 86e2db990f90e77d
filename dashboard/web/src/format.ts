/** Dates, numbers and ages in the page's language; times in Korean time, where the fleet runs. */
import { locale, t } from './i18n.js';

const TIME_ZONE = 'Asia/Seoul';

export function dateTime(iso: string | null | undefined): string {
  if (!iso) return '–';
  return new Intl.DateTimeFormat(locale(), { timeZone: TIME_ZONE, month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false }).format(
    new Date(iso),
  );
}

export function time(iso: string | null | undefined): string {
  if (!iso) return '–';
  return new Intl.DateTimeFormat(locale(), { timeZone: TIME_ZONE, hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false }).format(new Date(iso));
}

export function kg(value: number): string {
  return `${new Intl.NumberFormat(locale(), { maximumFractionDigits: 1 }).format(value)} kg`;
}

export function count(value: number): string {
  return new Intl.NumberFormat(locale()).format(value);
}

/** "3분 전" / "3 min ago" for an age in milliseconds. */
export function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 10) return t('time.justNow');
  if (s < 60) return t('time.secondsAgo', { n: s });
  if (s < 3600) return t('time.minutesAgo', { n: Math.floor(s / 60) });
  if (s < 86_400) return t('time.hoursAgo', { n: Math.floor(s / 3600) });
  return t('time.daysAgo', { n: Math.floor(s / 86_400) });
}

/** "7.3 °C", with a real minus sign for readings below zero. */
export function celsius(value: number): string {
  return `${new Intl.NumberFormat(locale(), { maximumFractionDigits: 1 }).format(value).replace('-', '−')} °C`;
}
