import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { useLocalServers } from './support/local-server.ts';
import { httpGet } from '../src/http/http-get.ts';

const serve = useLocalServers();

const never = () => new AbortController().signal;
async function text(body: AsyncIterable<Buffer>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

const CSV = 'NIP;Nama\r\n198503122010011003;Budi Santoso\r\n'.repeat(200);

describe('httpGet (node:http, keep-alive)', () => {
  it.each([
    ['gzip', gzipSync],
    ['deflate', deflateSync],
    ['br', brotliCompressSync],
  ] as const)('decodes a %s body, as fetch did', async (encoding, compress) => {
    const s = await serve((req, res) => {
      expect(req.headers['accept-encoding']).toContain(encoding);
      res.writeHead(200, { 'content-encoding': encoding, 'content-type': 'text/csv' });
      res.end(compress(Buffer.from(CSV)));
    });
    const res = await httpGet(`${s.url}/a.csv`, {}, never());
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toBe('text/csv');
    expect(res.headers.get('x-missing')).toBeNull();
    expect(await text(res.body)).toBe(CSV);
  });

  it('fails the body of a compressed answer cut off mid-way', async () => {
    const s = await serve((_req, res) => {
      const z = gzipSync(Buffer.from(CSV));
      res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': z.length });
      res.write(z.subarray(0, z.length >> 1));
      setImmediate(() => res.destroy());
    });
    const res = await httpGet(`${s.url}/a.csv`, {}, never());
    await expect(text(res.body)).rejects.toThrow();
  });

  it('sends the headers given; a discarded small answer leaves its socket for the next request', async () => {
    const sockets = new Set<unknown>();
    const s = await serve((req, res) => {
      sockets.add(req.socket);
      res.writeHead(req.url === '/err' ? 500 : 200, { 'content-type': 'text/plain' });
      res.end(`auth=${req.headers.authorization ?? '-'}`);
    });
    const first = await httpGet(`${s.url}/err`, { authorization: 'Bearer t' }, never());
    expect(first.status).toBe(500);
    first.discard();
    await new Promise((r) => first.body.once('end', r));
    await new Promise((r) => setImmediate(r));
    const second = await httpGet(`${s.url}/ok`, {}, never());
    expect(await text(second.body)).toBe('auth=-');
    expect(sockets.size).toBe(1);
    expect(s.requests.map((r) => r.auth)).toEqual(['Bearer t', undefined]);
  });

  it('aborts a body being read with the signal’s reason', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/csv' });
      res.write('NIP;Nama\r\n');
      // … and never ends.
    });
    const ac = new AbortController();
    const res = await httpGet(`${s.url}/slow.csv`, {}, ac.signal);
    const reading = text(res.body);
    ac.abort(new Error('shutting down'));
    await expect(reading).rejects.toThrow('shutting down');
  });

  it('rejects with the reason of a signal already aborted, and on a refused connection', async () => {
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    await expect(httpGet('http://127.0.0.1:9/x', {}, ac.signal)).rejects.toThrow('stop');
    await expect(httpGet('http://127.0.0.1:9/x', {}, never())).rejects.toThrow(/ECONNREFUSED/);
    await expect(httpGet('ftp://example.org/x', {}, never())).rejects.toThrow(/unsupported protocol ftp:/);
    await expect(httpGet('not a url', {}, never())).rejects.toThrow(/invalid url/);
  });
});
