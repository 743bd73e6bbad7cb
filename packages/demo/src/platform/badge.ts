/**
 * The total unread outside the page: in the document title, as a chat app shows it, and on the
 * installed app's icon through the Badging API where the browser has it.
 */

interface BadgingNavigator {
  setAppBadge?: (count?: number) => Promise<void>;
  clearAppBadge?: () => Promise<void>;
}

export function showUnreadCount(count: number, base = 'ConvSync'): void {
  document.title = count > 0 ? `(${count > 99 ? '99+' : count}) ${base}` : base;
  const badging = navigator as Navigator & BadgingNavigator;
  // Browsers without the Badging API (or not installed) reject; the title still carries the count.
  const done = count > 0 ? badging.setAppBadge?.(count) : badging.clearAppBadge?.();
  done?.catch(() => undefined);
}
