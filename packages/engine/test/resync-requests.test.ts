import { describe, expect, it } from 'vitest';
import { ResyncRequests } from '../src/replication/resync-requests.js';

describe('resync requests', () => {
  it('a resync is unanswered until a pull starts after it', () => {
    const resyncs = new ResyncRequests();
    expect(resyncs.unanswered).toBe(false);
    resyncs.ask();
    expect(resyncs.unanswered).toBe(true);
    resyncs.pullStarted();
    expect(resyncs.unanswered).toBe(false);
  });

  it('a pull answers every resync asked before it, not one asked while it runs', () => {
    const resyncs = new ResyncRequests();
    resyncs.ask();
    resyncs.ask();
    resyncs.pullStarted();
    resyncs.ask();
    expect(resyncs.unanswered).toBe(true);
    resyncs.pullStarted();
    expect(resyncs.unanswered).toBe(false);
  });
});
