/**
 * The HLC node id of one tab (docs/ARCHITECTURE.md "Tabs"): every tab of a browser profile shares
 * the device id, so two tabs stamping in the same millisecond would otherwise produce equal stamps
 * for different edits, and the tie-break by node id could not order them. The node id is the
 * device id plus a random tab id, within the protocol's 64-character id rule.
 */
import { isDeviceId } from '@convsync/protocol';

const TAB_ID_LENGTH = 8;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** A random tab id (8 characters of [a-z0-9]: 2.8e12 values, so two live tabs never share one). */
export function newTabId(random: () => number = Math.random): string {
  let id = '';
  for (let i = 0; i < TAB_ID_LENGTH; i++) id += ALPHABET[Math.floor(random() * ALPHABET.length)] ?? 'a';
  return id;
}

/**
 * `<deviceId>.<tabId>`; a device id too long to fit keeps its first characters (the tab id alone
 * already separates the tabs of one device).
 */
export function tabNodeId(deviceId: string, tabId: string): string {
  const room = 64 - 1 - tabId.length;
  const nodeId = `${deviceId.slice(0, room)}.${tabId}`;
  if (!isDeviceId(nodeId)) throw new TypeError(`not a valid node id: ${nodeId}`);
  return nodeId;
}
