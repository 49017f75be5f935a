import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ApiError } from './errors.ts';
import { CursorCodec, IdKey, readPage, sharePagingParameters } from './paging.ts';

const key = randomBytes(32);
const codec = new CursorCodec(() => Promise.resolve(key));
const scope = { list: 'findings', filters: { provinceCode: '16', status: undefined } };

async function refusal(p: Promise<unknown>): Promise<string> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ApiError);
  expect((e as ApiError).status).toBe(400);
  return (e as ApiError).message;
}

describe('cursor codec', () => {
  it('opens what it sealed, for the same list and filters (absent filters and their order aside)', async () => {
    const c = await codec.seal(scope, { id: 41 });
    expect(c).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(await codec.open(c, { list: 'findings', filters: { status: null, provinceCode: '16' } }, IdKey)).toEqual({
      id: 41,
    });
    expect(await codec.open(undefined, scope, IdKey)).toBeUndefined();
  });

  it('seals: the keyset values cannot be read from the cursor, and two seals differ', async () => {
    const nip = '198503122010011003';
    const a = await codec.seal({ list: 'diff', filters: {} }, { nip });
    const b = await codec.seal({ list: 'diff', filters: {} }, { nip });
    expect(a).not.toBe(b);
    expect(Buffer.from(a, 'base64url').toString('latin1')).not.toContain(nip);
  });

  it('refuses another list, other filters, another key, a forged or truncated cursor: 400 querystring.cursor', async () => {
    const c = await codec.seal(scope, { id: 41 });
    expect(await refusal(codec.open(c, { ...scope, list: 'audit' }, IdKey))).toMatch(
      /^querystring\.cursor: .*daftar lain/,
    );
    expect(await refusal(codec.open(c, { list: 'findings', filters: { provinceCode: '31' } }, IdKey))).toMatch(
      /^querystring\.cursor: .*filter lain/,
    );
    const other = new CursorCodec(() => Promise.resolve(randomBytes(32)));
    expect(await refusal(other.open(c, scope, IdKey))).toMatch(/^querystring\.cursor: kursor tidak sah/);
    const forged = Buffer.from(JSON.stringify({ l: 'findings', f: '', k: { id: 1 } })).toString('base64url');
    expect(await refusal(codec.open(forged, scope, IdKey))).toMatch(/^querystring\.cursor: /);
    expect(await refusal(codec.open(c.slice(0, -3), scope, IdKey))).toMatch(/^querystring\.cursor: /);
  });

  it('refuses a cursor sealed with the right key but a short (4-byte) GCM tag', async () => {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: 4 });
    cipher.setAAD(Buffer.from('pksync cursor'));
    const body = Buffer.concat([cipher.update(JSON.stringify({ l: 'findings', f: '', k: { id: 1 } })), cipher.final()]);
    const short = Buffer.concat([Buffer.from([1]), iv, body, cipher.getAuthTag()]);
    expect(cipher.getAuthTag()).toHaveLength(4);
    expect(await refusal(codec.open(short.toString('base64url'), scope, IdKey))).toMatch(
      /^querystring\.cursor: kursor tidak sah/,
    );
  });

  it('refuses keyset values its schema does not take, though sealed by the API', async () => {
    const c = await codec.seal(scope, { id: 2 ** 63 });
    expect(await refusal(codec.open(c, scope, IdKey))).toMatch(/^querystring\.cursor: /);
  });

  it('loads the key once, and again after a failed load', async () => {
    let loads = 0;
    const flaky = new CursorCodec(() => (++loads === 1 ? Promise.reject(new Error('down')) : Promise.resolve(key)));
    await expect(flaky.seal(scope, { id: 1 })).rejects.toThrow('down');
    const c = await flaky.seal(scope, { id: 1 });
    await flaky.open(c, scope, IdKey);
    expect(loads).toBe(2);
  });
});

describe('readPage', () => {
  const items = Array.from({ length: 7 }, (_, i) => ({ id: 100 - i }));
  const fetch = (after: { id: number } | undefined, take: number) =>
    Promise.resolve(items.filter((x) => after === undefined || x.id < after.id).slice(0, take));

  it('asks for one more than a page: next_cursor is null exactly on the last page, a full one included', async () => {
    const ids: number[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await readPage(codec, { limit: 3, cursor }, scope, IdKey, fetch, (x) => ({ id: x.id }));
      ids.push(...page.rows.map((x) => x.id));
      cursor = page.next_cursor ?? undefined;
      pages++;
    } while (cursor);
    expect(ids).toEqual(items.map((x) => x.id));
    expect(pages).toBe(3);
    const whole = await readPage(codec, { limit: 7 }, scope, IdKey, fetch, (x) => ({ id: x.id }));
    expect(whole.next_cursor).toBeNull();
  });
});

describe('sharePagingParameters', () => {
  const limit = { in: 'query', name: 'limit', required: false, schema: { type: 'integer', maximum: 1000 } };
  const doc = (otherLimit: object) => ({
    paths: {
      '/a': { get: { parameters: [limit, { in: 'query', name: 'q' }] } },
      '/b': { get: { parameters: [otherLimit] } },
    },
    components: { schemas: {} },
  });

  it('documents limit once, as a component every route refers to', () => {
    const out = sharePagingParameters(doc(limit));
    expect(out.components).toMatchObject({ parameters: { PageLimit: limit } });
    expect(out.paths['/a'].get.parameters).toEqual([
      { $ref: '#/components/parameters/PageLimit' },
      { in: 'query', name: 'q' },
    ]);
    expect(out.paths['/b'].get.parameters).toEqual([{ $ref: '#/components/parameters/PageLimit' }]);
  });

  it('refuses a route whose limit is not the shared one', () => {
    expect(() => sharePagingParameters(doc({ ...limit, schema: { type: 'integer', maximum: 5000 } }))).toThrow(
      /GET \/b: query parameter limit/,
    );
  });

  it('leaves a path parameter of the same name alone', () => {
    const out = sharePagingParameters({
      paths: { '/c/{limit}': { get: { parameters: [{ in: 'path', name: 'limit' }] } } },
    });
    expect(out.paths['/c/{limit}'].get.parameters).toEqual([{ in: 'path', name: 'limit' }]);
  });
});
