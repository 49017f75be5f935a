import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, scrubSecrets } from './logger.ts';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n').filter(Boolean))
        lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { lines, log: createLogger({ destination, pretty: false, level: 'debug' }) };
}

describe('logger', () => {
  it('redacts tokens and authorization headers by path', () => {
    const { lines, log } = capture();
    log.info({ token: 'sim_abc', source: { id: 's', token: 't2' }, headers: { authorization: 'Bearer x' } }, 'fetch');
    expect(lines[0]).toMatchObject({ token: '[redacted]', source: { id: 's', token: '[redacted]' } });
    expect(JSON.stringify(lines[0])).not.toMatch(/sim_abc|t2"|Bearer x/);
  });

  it('scrubs URL credentials and bearer tokens from messages, fields and errors', () => {
    const { lines, log } = capture();
    const err = Object.assign(new Error('connect to postgres://admin:hunter2@db/pksync failed'), {
      code: 'ECONNREFUSED',
    });
    log
      .child({ runId: 'r1', sourceId: 's1', jobId: 'j1' })
      .error({ err, url: 'https://u:p@agency/x' }, 'sent Bearer abc.def');
    const line = lines[0]!;
    expect(JSON.stringify(line)).not.toMatch(/hunter2|u:p@|abc\.def/);
    expect(line).toMatchObject({
      runId: 'r1',
      sourceId: 's1',
      jobId: 'j1',
      url: 'https://***@agency/x',
      msg: 'sent Bearer ***',
    });
    expect(line.err).toMatchObject({
      type: 'Error',
      code: 'ECONNREFUSED',
      message: 'connect to postgres://***@db/pksync failed',
    });
  });

  it('scrubSecrets leaves ordinary text alone', () => {
    expect(scrubSecrets('GET https://agency.go.id/v1/officers?limit=500')).toBe(
      'GET https://agency.go.id/v1/officers?limit=500',
    );
  });
});
