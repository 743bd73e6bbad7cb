import { describe, expect, it } from 'vitest';
import { HybridLogicalClock, compareStamps, parseStamp } from '../src/index.js';

describe('hybrid logical clock', () => {
  it('issues strictly increasing stamps even when the wall clock stands still or goes back', () => {
    let now = 1000;
    const clock = new HybridLogicalClock({ deviceId: 'dev', now: () => now });
    const a = clock.tick();
    const b = clock.tick();
    now = 500;
    const c = clock.tick();
    expect(compareStamps(a, b)).toBeLessThan(0);
    expect(compareStamps(b, c)).toBeLessThan(0);
  });

  it('stamps after a received stamp from a device whose clock is ahead', () => {
    const behind = new HybridLogicalClock({ deviceId: 'slow', now: () => 1000 });
    const ahead = new HybridLogicalClock({ deviceId: 'fast', now: () => 1000 + 86_400_000 });
    const remote = ahead.tick();
    behind.receive(remote);
    expect(compareStamps(behind.tick(), remote)).toBeGreaterThan(0);
  });

  it('breaks a tie of time and counter by device id', () => {
    const a = new HybridLogicalClock({ deviceId: 'a', now: () => 7 }).tick();
    const b = new HybridLogicalClock({ deviceId: 'b', now: () => 7 }).tick();
    expect(compareStamps(a, b)).toBeLessThan(0);
    expect(parseStamp(b)).toEqual({ wallMs: 7, counter: 0, deviceId: 'b' });
  });

  it('refuses a device id that would break the stamp format', () => {
    expect(() => new HybridLogicalClock({ deviceId: 'has|bar' })).toThrow(TypeError);
  });
});
