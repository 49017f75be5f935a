/**
 * infra/compose.yaml runs the whole system (issue 17), checked without a Docker engine: every role
 * from the one image, health checks, and a health-gated start order.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  profiles?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  deploy?: { replicas?: number };
  read_only?: boolean;
  volumes?: string[];
}

const INFRA = fileURLToPath(new URL('../../infra/', import.meta.url));
// `merge: true`: the services share their settings through a YAML anchor and `<<` merge keys.
const compose = parse(readFileSync(`${INFRA}compose.yaml`, 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
};
const services = compose.services;
const ROLES = {
  migrate: ['migrate'],
  api: ['serve', 'api'],
  worker: ['serve', 'worker'],
  scheduler: ['serve', 'scheduler'],
};

describe('infra/compose.yaml', () => {
  it('runs PostgreSQL, Redis, a one-shot migrate, the api, two workers and the scheduler', () => {
    expect(Object.keys(services)).toEqual(expect.arrayContaining(['postgres', 'redis', ...Object.keys(ROLES)]));
    for (const [name, command] of Object.entries(ROLES)) {
      const s = services[name]!;
      expect(s.command, name).toEqual(command);
      // One image for every role, built from infra/Dockerfile.
      expect(s.image, name).toBe('pksync:local');
      expect(s.build, name).toEqual({ context: '..', dockerfile: 'infra/Dockerfile' });
      expect(s.read_only, name).toBe(true);
      expect(s.environment?.DATABASE_URL, name).toMatch(/@postgres:5432\//);
      expect(s.environment?.REDIS_URL, name).toBe('redis://redis:6379');
    }
    expect(existsSync(`${INFRA}Dockerfile`)).toBe(true);
    expect(services.worker!.deploy?.replicas).toBe(2);
    expect(services.migrate!.healthcheck).toBeUndefined(); // one-shot: its exit code tells
  });

  it('serves on every interface inside the containers, on the ports the health checks probe', () => {
    const env = services.api!.environment!;
    expect(env).toMatchObject({ HOST: '0.0.0.0', PORT: '8080', METRICS_HOST: '0.0.0.0', METRICS_PORT: '9464' });
  });

  it('has a health check on every long-running service, each pksync one through its role', () => {
    expect(services.postgres!.healthcheck?.test.join(' ')).toMatch(/pg_isready/);
    expect(services.redis!.healthcheck?.test.join(' ')).toMatch(/redis-cli.*ping/);
    for (const role of ['api', 'worker', 'scheduler'])
      expect(services[role]!.healthcheck?.test, role).toEqual([
        'CMD',
        'node',
        '/app/dist/pksync.mjs',
        'healthcheck',
        role,
      ]);
  });

  it('starts in a health-gated order: databases healthy → migrate done → services', () => {
    expect(services.migrate!.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
    for (const role of ['api', 'worker', 'scheduler'])
      expect(services[role]!.depends_on, role).toEqual({
        migrate: { condition: 'service_completed_successfully' },
        postgres: { condition: 'service_healthy' },
        redis: { condition: 'service_healthy' },
      });
    // Every depends_on names a service with a health check, or the one-shot migrate.
    for (const [name, s] of Object.entries(services))
      for (const [dep, { condition }] of Object.entries(s.depends_on ?? {})) {
        expect(services[dep], `${name} → ${dep}`).toBeDefined();
        if (condition === 'service_healthy') expect(services[dep]!.healthcheck, `${name} → ${dep}`).toBeDefined();
        else expect(condition, `${name} → ${dep}`).toBe('service_completed_successfully');
      }
  });

  it('runs Prometheus in the monitoring profile, with the shipped configuration and rules', () => {
    const p = services.prometheus!;
    expect(p.profiles).toEqual(['monitoring']);
    expect(p.volumes).toContain('./prometheus:/etc/prometheus:ro');
    expect(existsSync(`${INFRA}prometheus/prometheus.yml`)).toBe(true);
    expect(existsSync(`${INFRA}prometheus/alerts.yml`)).toBe(true);
    // Its scrape targets are these compose services.
    const prom = parse(readFileSync(`${INFRA}prometheus/prometheus.yml`, 'utf8')) as {
      scrape_configs: { job_name: string }[];
    };
    for (const job of prom.scrape_configs.map((j) => j.job_name)) expect(Object.keys(services)).toContain(job);
    for (const role of ['api', 'worker', 'scheduler'])
      expect(p.depends_on?.[role]).toEqual({ condition: 'service_healthy' });
  });
});
