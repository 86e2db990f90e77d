/** The calendar day in Korea (Asia/Seoul, UTC+9, no daylight saving) that contains an instant. */
const FORMAT = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Seoul', year: 'numeric', month: '2-digit', day: '2-digit' });

export function seoulDay(at: Date = new Date()): { date: string; start: Date; end: Date } {
  const date = FORMAT.format(at);
  const start = new Date(`${date}T00:00:00+09:00`);
  return { date, start, end: new Date(start.getTime() + 86_400_000) };
}
