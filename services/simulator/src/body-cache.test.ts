import { describe, expect, it } from 'vitest';
import { BodyCache } from './body-cache.ts';

describe('BodyCache', () => {
  it('answers a body only for the tag it was stored with', () => {
    const c = new BodyCache(100);
    c.set('a', 'v1', Buffer.from('hello'));
    expect(c.get('a', 'v1')?.toString()).toBe('hello');
    expect(c.get('a', 'v2')).toBeUndefined();
    expect(c.get('b', 'v1')).toBeUndefined();
  });

  it('replaces an entry and keeps the byte count true', () => {
    const c = new BodyCache(100);
    c.set('a', 'v1', Buffer.alloc(60));
    c.set('a', 'v2', Buffer.alloc(70));
    expect(c.stats()).toEqual({ entries: 1, bytes: 70 });
    expect(c.get('a', 'v2')?.length).toBe(70);
  });

  it('skips what would exceed the budget and keeps the rest', () => {
    const c = new BodyCache(100);
    c.set('a', 't', Buffer.alloc(60));
    c.set('b', 't', Buffer.alloc(50));
    expect(c.get('b', 't')).toBeUndefined();
    expect(c.get('a', 't')?.length).toBe(60);
    expect(c.stats()).toEqual({ entries: 1, bytes: 60 });
  });

  it('is off at 0 bytes and refuses a negative budget', () => {
    const c = new BodyCache(0);
    expect(c.enabled).toBe(false);
    c.set('a', 't', Buffer.alloc(1));
    expect(c.get('a', 't')).toBeUndefined();
    expect(() => new BodyCache(-1)).toThrow(/cacheBytes/);
  });
});
