/**
 * Celery's date_done is a naive UTC timestamp; every dialect holds it as text of the form
 * 'YYYY-MM-DD HH:MM:SS.ffffff' on the wire (SQLite stores exactly that, as SQLAlchemy does).
 * Converting here, not in the drivers' type parsers, keeps reads independent of the process TZ.
 */

// A batch writes the same instant twice per row (date_done, date_updated) for thousands of rows:
// remembering the last conversion saves most toISOString calls (8% of a 10k-row SQLite batch).
let lastTime = Number.NaN;
let lastText = "";

export function toNaiveUtc(date: Date): string {
  const time = date.getTime();
  if (time !== lastTime) {
    const iso = date.toISOString(); // 2026-11-21T20:59:22.451Z
    lastText = `${iso.slice(0, 10)} ${iso.slice(11, 23)}000`;
    lastTime = time;
  }
  return lastText;
}

export function fromNaiveUtc(text: string | null): Date | null {
  if (text === null) return null;
  // The common shape 'YYYY-MM-DD HH:MM:SS[.f…]' is read by position (a hot path: every row read);
  // anything else goes through the Date parser.
  if (
    text.length >= 19 &&
    text[4] === "-" &&
    text[7] === "-" &&
    (text[10] === " " || text[10] === "T") &&
    text[13] === ":" &&
    text[16] === ":"
  ) {
    const fraction = text[19] === "." ? Number(text.slice(20, 23).padEnd(3, "0")) : 0;
    const ms = Date.UTC(
      +text.slice(0, 4),
      +text.slice(5, 7) - 1,
      +text.slice(8, 10),
      +text.slice(11, 13),
      +text.slice(14, 16),
      +text.slice(17, 19),
      fraction,
    );
    if (!Number.isNaN(ms)) return new Date(ms);
  }
  const fallback = new Date(text);
  return Number.isNaN(fallback.getTime()) ? null : fallback;
}
