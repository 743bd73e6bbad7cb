/** Display helpers: times as a chat list shows them, initials, and a stable colour per name. */

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const weekdayFormat = new Intl.DateTimeFormat(undefined, { weekday: 'short' });
const dateFormat = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short' });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** 14:05 today, "Mon" this week, "3 Nov" before. */
export function listTime(time: number, now = Date.now()): string {
  if (time <= 0) return '';
  const date = new Date(time);
  const today = new Date(now);
  if (date.toDateString() === today.toDateString()) return timeFormat.format(date);
  if (now - time < 6 * 24 * 3600 * 1000) return weekdayFormat.format(date);
  return dateFormat.format(date);
}

export function messageTime(time: number): string {
  return timeFormat.format(new Date(time));
}

export function fullTime(time: number): string {
  return fullFormat.format(new Date(time));
}

export function initials(name: string): string {
  const words = name.trim().split(/[\s_.@-]+/).filter((word) => word !== '');
  const letters = words.length >= 2 ? `${words[0]?.[0] ?? ''}${words[1]?.[0] ?? ''}` : (words[0] ?? '?').slice(0, 2);
  return letters.toUpperCase();
}

/** Avatar backgrounds: all dark enough for white initials (contrast ≥ 4.5:1). */
const PALETTE = ['#1f6feb', '#8250df', '#bf3989', '#cf222e', '#9a6700', '#1a7f37', '#0b7285', '#6e7781'];

export function colourFor(key: string): string {
  let hash = 0;
  for (const char of key) hash = (hash * 31 + char.charCodeAt(0)) | 0;
  return PALETTE[Math.abs(hash) % PALETTE.length] ?? '#1f6feb';
}
