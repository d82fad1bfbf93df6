/**
 * Celery's date_done is a naive UTC timestamp; both dialects hold it as text of the form
 * 'YYYY-MM-DD HH:MM:SS.ffffff' on the wire (SQLite stores exactly that, as SQLAlchemy does).
 * Converting here, not in the drivers' type parsers, keeps reads independent of the process TZ.
 */

export function toNaiveUtc(date: Date): string {
  const iso = date.toISOString(); // 2026-11-21T20:59:22.451Z
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}000`;
}

export function fromNaiveUtc(text: string | null): Date | null {
  if (text === null) return null;
  // Accept 'YYYY-MM-DD HH:MM:SS[.f…]' and ISO 'T' forms; more than 3 fraction digits are truncated.
  const match = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.(\d+))?/.exec(text);
  if (!match) {
    const fallback = new Date(text);
    return Number.isNaN(fallback.getTime()) ? null : fallback;
  }
  const fraction = (match[3] ?? "").slice(0, 3).padEnd(3, "0");
  return new Date(`${match[1]}T${match[2]}.${fraction}Z`);
}
