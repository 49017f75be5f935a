import http from 'node:http';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertSource, useTestDatabase, useTestRedis } from '@pksync/testing';
import { createKeys, seedRegister, startTestApi, type Keys, type TestApi } from './helpers.ts';

// receiveFile spools to os.tmpdir(): this file's own (each test file is a process of its own), so
// "no temporary directory left behind" is checked without other test files' uploads in the way.
const TMP = mkdtempSync(path.join(tmpdir(), 'pksync-hostile-'));
process.env.TMPDIR = TMP;
const uploadDirs = () => readdirSync(TMP).filter((d) => d.startsWith('pksync-upload-'));

/** An answer read from a raw socket: status, and the JSON body when there is one. */
interface RawAnswer {
  status: number;
  body: { error?: { code: string; message: string } } | null;
}

/**
 * Writes `request` on a raw socket (then half-closes it when `end`), and reads the answer; fails
 * after `timeoutMs` with what arrived, so a hang is a failure, not a stuck test.
 */
function rawRequest(url: string, request: string, { end = true, timeoutMs = 3000 } = {}): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms; got ${JSON.stringify(text.slice(0, 200))}`));
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      const json = text.slice(text.indexOf('\r\n\r\n') + 4);
      let body = null;
      try {
        body = JSON.parse(json) as RawAnswer['body'];
      } catch {
        // not JSON: the assertion on the envelope says so
      }
      resolve({ status, body });
    };
    socket.on('data', (d) => {
      text += d.toString('latin1');
      const head = text.indexOf('\r\n\r\n');
      const length = /content-length: (\d+)/i.exec(text)?.[1];
      if (head >= 0 && length !== undefined && text.length >= head + 4 + Number(length)) done();
    });
    socket.on('close', done);
    socket.on('error', () => {});
    socket.write(request);
    if (end) socket.end();
  });
}

const expectEnvelope = (body: unknown, code: string, message?: RegExp) => {
  expect(body).toEqual({ error: { code, message: expect.any(String) } });
  if (message) expect((body as { error: { message: string } }).error.message).toMatch(message);
};

describe('hostile requests get 400/404/413/415/431/503 with the error envelope, never a 500', () => {
  const t = useTestDatabase();
  const r = useTestRedis();
  let api: TestApi;
  let keys: Keys;
  const IDLE_MS = 400;

  beforeAll(async () => {
    await seedRegister(t.db);
    keys = await createKeys(t.db);
    await insertSource(t.db, { id: '16.71-unggah', regionCode: '16.71', agency: 'Disnaker Palembang (unggah)' });
    api = await startTestApi(t.db, r.url, r.prefix, {
      limits: { maxUploadBytes: 64 * 1024, maxSnapshotRows: 1000, maxSnapshotBytes: 64 * 1024, uploadIdleMs: IDLE_MS },
    });
  });
  afterAll(async () => {
    await api?.close();
    rmSync(TMP, { recursive: true, force: true });
  });

  const call = async (method: string, p: string, body?: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${api.url}${p}`, {
      method,
      headers: {
        authorization: `Bearer ${keys.admin}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body,
    });
    const text = await res.text();
    return { status: res.status, body: JSON.parse(text) as unknown, text };
  };

  describe('as_of that looks like YYYY-MM-DD but is no calendar date (1900–9999)', () => {
    for (const date of ['2026-02-30', '0000-01-01', '2026-13-01', '1899-12-31', '2023-02-29']) {
      it(`POST /sync with as_of ${date}: 400 naming body.as_of, and no run is made`, async () => {
        const runsBefore = await t.db.selectFrom('runs').select('id').execute();
        const res = await call('POST', '/api/v1/sync', JSON.stringify({ scope: 'national', reason: 'x', as_of: date }));
        expect(res.status, res.text).toBe(400);
        expectEnvelope(res.body, 'invalid_request', /^body\.as_of: /);
        expect(await t.db.selectFrom('runs').select('id').execute()).toHaveLength(runsBefore.length);
      });

      it(`POST /check?as_of=${date}: 400 naming querystring.as_of`, async () => {
        const res = await call('POST', `/api/v1/check?region=16.71&as_of=${date}`, 'nip,nama\n1,a\n', {
          'content-type': 'text/csv',
        });
        expect(res.status, res.text).toBe(400);
        expectEnvelope(res.body, 'invalid_request', /^querystring\.as_of: /);
      });
    }

    it('still takes a real date, a leap day included', async () => {
      const res = await call('POST', '/api/v1/check?region=16.71&as_of=2024-02-29', 'nip,nama\n1,a\n', {
        'content-type': 'text/csv',
      });
      expect(res.status, res.text).toBe(200);
      expect(res.body).toMatchObject({ as_of: '2024-02-29' });
    });
  });

  describe('numbers beyond PostgreSQL integer', () => {
    // Cursors are sealed: a forged one never opens. These are sealed by the API's own codec, as if
    // the API had made them, to check the keyset values are checked all the same.
    const sealed = (list: string, key: unknown, filters: Record<string, string> = {}) =>
      api.app.cursors.seal({ list, filters }, key);
    const officers = (key: unknown) => sealed('officers', key);
    const cases: [string, string | (() => Promise<string>), number, string, RegExp][] = [
      ['a version in the path', '/api/v1/publications/2147483648', 404, 'not_found', /Versi 2147483648/],
      ['the diff of such a version', '/api/v1/publications/2147483648/diff', 404, 'not_found', /Versi 2147483648/],
      ['a version as large as JavaScript can hold', '/api/v1/publications/9007199254740991', 404, 'not_found', /Versi/],
      [
        'a version beyond it',
        '/api/v1/publications/99999999999999999999',
        400,
        'invalid_request',
        /^params\.version: /,
      ],
      ['an export version', '/api/v1/export?version=2147483648', 400, 'invalid_request', /^querystring\.version: /],
      [
        'a publications cursor carrying such a version',
        async () => `/api/v1/publications?cursor=${await sealed('publications', { version: 2147483648 })}`,
        400,
        'invalid_request',
        /^querystring\.cursor: /,
      ],
      [
        'a register cursor carrying such a version',
        async () => `/api/v1/officers?cursor=${await officers({ v: 2147483648, id: 1 })}`,
        400,
        'invalid_request',
        /^querystring\.cursor: /,
      ],
      [
        'a register cursor carrying an unsafe record id',
        async () => `/api/v1/officers?cursor=${await officers({ v: 1, id: 2 ** 63 })}`,
        400,
        'invalid_request',
        /^querystring\.cursor: /,
      ],
      [
        'a findings cursor carrying an unsafe id',
        async () => `/api/v1/findings?cursor=${await sealed('findings', { id: 2 ** 63 })}`,
        400,
        'invalid_request',
        /^querystring\.cursor: /,
      ],
    ];
    for (const [what, p, status, code, message] of cases) {
      it(`${what}: ${status} ${code}`, async () => {
        const res = await call('GET', typeof p === 'string' ? p : await p());
        expect(res.status, res.text).toBe(status);
        expectEnvelope(res.body, code, message);
      });
    }

    it('a forged cursor, plain base64url of the keyset values, is a 400', async () => {
      const forged = Buffer.from(JSON.stringify({ v: 2, id: 1 }), 'utf8').toString('base64url');
      const res = await call('GET', `/api/v1/officers?cursor=${forged}`);
      expect(res.status, res.text).toBe(400);
      expectEnvelope(res.body, 'invalid_request', /^querystring\.cursor: /);
    });

    it('a cursor with a large record id within bigint is just past the end: an empty page', async () => {
      const res = await call('GET', `/api/v1/officers?cursor=${await officers({ v: 2, id: 2147483648 })}`);
      expect(res.status, res.text).toBe(200);
      expect(res.body).toMatchObject({ version: 2, data: [], next_cursor: null });
    });
  });

  describe('a truncated multipart body is a prompt 400 and leaves no temporary directory', () => {
    const boundary = 'pksync-hostile-boundary';
    const part = [
      `--${boundary}`,
      'Content-Disposition: form-data; name="file"; filename="pejabat.csv"',
      'Content-Type: text/csv',
      '',
      'NIP,Nama,Jenjang,Golongan,Unit Kerja,TMT Jabatan,Status',
      '198503122010011003,Budi Santoso,Ahli Muda,III/c,Disnaker,2020-01-01,aktif',
    ].join('\r\n');
    const complete = `${part}\r\n--${boundary}--\r\n`;
    const head = (p: string, framing: string) =>
      `POST ${p} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${keys.admin}\r\n` +
      `Content-Type: multipart/form-data; boundary=${boundary}\r\n${framing}\r\n`;

    for (const [route, p] of [
      ['POST /check', '/api/v1/check?region=16.71'],
      ['POST /sources/{id}/uploads', '/api/v1/sources/16.71-unggah/uploads'],
    ] as const) {
      const cases: [string, () => string, { end: boolean }][] = [
        [
          'half the declared Content-Length, then the request ends',
          () => head(p, `Content-Length: ${complete.length}\r\n`) + complete.slice(0, complete.length >> 1),
          { end: true },
        ],
        [
          'the whole Content-Length but no closing boundary, then the request ends',
          () => head(p, `Content-Length: ${part.length}\r\n`) + part,
          { end: true },
        ],
        [
          'no closing boundary, the connection kept open',
          () => head(p, `Content-Length: ${part.length}\r\n`) + part,
          { end: false },
        ],
        [
          'chunked, the last chunk sent but no closing boundary',
          () => head(p, 'Transfer-Encoding: chunked\r\n') + `${part.length.toString(16)}\r\n${part}\r\n0\r\n\r\n`,
          { end: true },
        ],
        [
          'half the declared Content-Length, then nothing more (the connection kept open)',
          () => head(p, `Content-Length: ${complete.length}\r\n`) + complete.slice(0, complete.length >> 1),
          { end: false },
        ],
      ];
      for (const [what, request, opts] of cases) {
        it(`${route}: ${what}`, async () => {
          const answer = await rawRequest(api.url, request(), { ...opts, timeoutMs: 3000 });
          expect(answer.status).toBe(400);
          expectEnvelope(answer.body, 'invalid_request', /^(body|request): /);
          // Answered (within rawRequest's deadline): at once when the body is over, after the idle
          // limit when it merely stops.
          await expect.poll(uploadDirs, { timeout: 2000 }).toEqual([]);
        });
      }

      it(`${route}: http.request declaring more than it writes, then end(): 400 once the body stops`, async () => {
        const answer = await new Promise<{ status: number; body: unknown }>((resolve, reject) => {
          const req = http.request(
            `${api.url}${p}`,
            {
              method: 'POST',
              headers: {
                authorization: `Bearer ${keys.admin}`,
                'content-type': `multipart/form-data; boundary=${boundary}`,
                'content-length': String(complete.length),
              },
            },
            (res) => {
              let text = '';
              res.on('data', (d: Buffer) => (text += d.toString()));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
            },
          );
          req.on('error', reject);
          req.setTimeout(3000, () => req.destroy(new Error('no answer within 3 s')));
          req.write(complete.slice(0, 80));
          req.end();
        });
        expect(answer.status).toBe(400);
        expectEnvelope(answer.body, 'invalid_request', /^body: /);
        await expect.poll(uploadDirs, { timeout: 2000 }).toEqual([]);
      });
    }

    it('the same body complete is still accepted (the checks above are about truncation)', async () => {
      const answer = await rawRequest(
        api.url,
        head('/api/v1/check?region=16.71', `Content-Length: ${complete.length}\r\nConnection: close\r\n`) + complete,
      );
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ accepted: 1, region: '16.71' });
      await expect.poll(uploadDirs, { timeout: 2000 }).toEqual([]);
    });

    it('a multipart body without a boundary parameter is a 400, not a 500', async () => {
      const res = await call('POST', '/api/v1/check?region=16.71', part, { 'content-type': 'multipart/form-data' });
      expect(res.status, res.text).toBe(400);
      expectEnvelope(res.body, 'invalid_request', /^body: /);
    });
  });

  describe('framework errors use the envelope', () => {
    it('431: request header fields too large', async () => {
      const answer = await rawRequest(
        api.url,
        `GET /api/v1/healthz HTTP/1.1\r\nHost: localhost\r\nX-Padding: ${'a'.repeat(64 * 1024)}\r\n\r\n`,
      );
      expect(answer.status).toBe(431);
      expectEnvelope(answer.body, 'headers_too_large');
    });

    it('400: a request Node cannot parse', async () => {
      const answer = await rawRequest(api.url, 'GET /api/v1/healthz HTTP/1.1\r\nHost: localhost\r\nBad Header\r\n\r\n');
      expect(answer.status).toBe(400);
      expectEnvelope(answer.body, 'invalid_request');
    });

    const cases: [string, () => ReturnType<typeof call>, number, string, RegExp?][] = [
      [
        'a body that is not JSON',
        () => call('POST', '/api/v1/sync', '{"scope": nat'),
        400,
        'invalid_request',
        /^body: /,
      ],
      [
        'an unsupported media type',
        () => call('POST', '/api/v1/sync', 'scope=national', { 'content-type': 'application/x-www-form-urlencoded' }),
        415,
        'unsupported_media_type',
      ],
      [
        'a JSON body over the limit',
        () => call('POST', '/api/v1/sync', JSON.stringify({ scope: 'national', reason: 'x'.repeat(1_100_000) })),
        413,
        'payload_too_large',
      ],
      [
        'a file over the upload limit',
        () => call('POST', '/api/v1/check?region=16.71', 'a'.repeat(70 * 1024), { 'content-type': 'text/csv' }),
        413,
        'payload_too_large',
      ],
      ['an unknown route', () => call('GET', '/api/v1/no/such/route'), 404, 'not_found', /\/api\/v1\/no\/such\/route/],
      ['an unknown method on a route', () => call('DELETE', '/api/v1/regions'), 404, 'not_found'],
      ['a malformed percent-encoding', () => call('GET', '/api/v1/regions/%zz'), 400, 'invalid_request', /^request: /],
      [
        'a path parameter over the router limit',
        () => call('GET', `/api/v1/runs/${'a'.repeat(150)}`),
        414,
        'invalid_request',
      ],
      ['an id that is no run', () => call('GET', '/api/v1/runs/not-a-uuid'), 404, 'not_found'],
      [
        'a finding id beyond bigint',
        () => call('POST', '/api/v1/findings/99999999999999999999/ack', '{}'),
        400,
        'invalid_request',
      ],
    ];
    for (const [what, send, status, code, message] of cases) {
      it(`${status}: ${what}`, async () => {
        const res = await send();
        expect(res.status, res.text).toBe(status);
        expectEnvelope(res.body, code, message);
        expect(res.text).not.toMatch(/node_modules|\.ts:\d+|\bat \w+ \(/);
      });
    }

    it('503 for a request arriving on an open connection while the server closes', async () => {
      const closing = await startTestApi(t.db, r.url, `${r.prefix}c`);
      const { port } = new URL(closing.url);
      const socket = net.connect(Number(port), '127.0.0.1');
      let text = '';
      socket.on('data', (d) => (text += d.toString()));
      socket.on('error', () => {});
      await new Promise((resolve) => socket.once('connect', resolve));
      // A first request keeps the connection busy (its body is still to come) while close() starts.
      const body = 'NIP,Nama\n198503122010011003,Budi\n';
      socket.write(
        `POST /api/v1/check?region=16.71 HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${keys.admin}\r\n` +
          `Content-Type: text/csv\r\nContent-Length: ${body.length}\r\n\r\n`,
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
      const closed = closing.close();
      await new Promise((resolve) => setTimeout(resolve, 100));
      socket.write(body);
      socket.write('GET /api/v1/healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
      await closed;
      await expect.poll(() => text, { timeout: 3000 }).toMatch(/HTTP\/1\.1 503[\s\S]*\r\n\r\n\{.*\}$/);
      const second = text.slice(text.lastIndexOf('HTTP/1.1 '));
      expect(second).toMatch(/^HTTP\/1\.1 503/);
      expectEnvelope(JSON.parse(second.slice(second.indexOf('\r\n\r\n') + 4)), 'unavailable');
      socket.destroy();
    });
  });
});
