/**
 * infra/k8s (kustomize base + example overlay) holds what issue 17 asks, and every resource is
 * valid against the Kubernetes API schemas: those of kubernetes-models (generated from the
 * Kubernetes 1.27 OpenAPI document) and @kubernetes-models/keda (KEDA's CRDs), validated with ajv
 * by their `validate()`. The overlay is built by test/infra/support/kustomize.ts.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Job } from 'kubernetes-models/batch/v1';
import { ConfigMap, Namespace, Secret, Service } from 'kubernetes-models/v1';
import { envSchema } from '../../packages/config/src/index.ts';
import { QUEUE_NAMES } from '../../packages/queue/src/catalog.ts';
import { kustomizeBuild, type Resource } from './support/kustomize.ts';
import { parseDockerfile } from './support/dockerfile.ts';

const K8S = fileURLToPath(new URL('../../infra/k8s/', import.meta.url));
const base = kustomizeBuild(`${K8S}base`);
const overlay = kustomizeBuild(`${K8S}overlays/example`);

interface Model {
  validate(): void;
}
/** The schema of every apiVersion/kind the manifests use. */
const MODELS: Record<string, new (data: never) => Model> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/Namespace': Namespace,
  'apps/v1/Deployment': Deployment,
  'batch/v1/Job': Job,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
};

async function validate(r: Resource): Promise<void> {
  const Model = MODELS[`${r.apiVersion}/${r.kind}`];
  if (!Model) throw new Error(`no schema for ${r.apiVersion} ${r.kind}`);
  new Model(r as never).validate();
}

interface Container {
  name: string;
  args?: string[];
  ports?: { name: string; containerPort: number }[];
  readinessProbe?: { httpGet: { path: string; port: string } };
  livenessProbe?: { httpGet: { path: string; port: string } };
  resources?: { requests?: { cpu?: string; memory?: string }; limits?: { memory?: string } };
  securityContext?: Record<string, unknown>;
  envFrom?: ({ configMapRef: { name: string } } | { secretRef: { name: string } })[];
}
interface PodSpec {
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  containers: Container[];
}

const find = (rs: Resource[], kind: string, name: string): Resource => {
  const r = rs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!r) throw new Error(`no ${kind} ${name}`);
  return r;
};
const pod = (r: Resource) => (r.spec as { template: { spec: PodSpec } }).template.spec;
const data = (rs: Resource[], kind: string, name: string, field: 'data' | 'stringData') =>
  find(rs, kind, name)[field] as Record<string, string>;

/** Bytes of a Kubernetes memory quantity (Mi, Gi, M, G). */
function bytes(q: string): number {
  const m = /^(\d+)(Mi|Gi|M|G)$/.exec(q);
  if (!m) throw new Error(`quantity ${q}`);
  return Number(m[1]) * { Mi: 2 ** 20, Gi: 2 ** 30, M: 1e6, G: 1e9 }[m[2] as 'Mi']!;
}

describe('infra/k8s', () => {
  it.each([
    ['base', base],
    ['overlays/example', overlay],
  ])('%s: every resource is valid against its Kubernetes API schema', async (_, rs) => {
    expect(rs.length).toBeGreaterThanOrEqual(9);
    for (const r of rs) await expect(validate(r), `${r.kind} ${r.metadata.name}`).resolves.toBeUndefined();
  });

  it('the schemas reject what the API server would (a check that can fail)', async () => {
    const api = structuredClone(find(base, 'Deployment', 'pksync-api'));
    pod(api).containers[0]!.resources!.requests!.memory = 'lots';
    await expect(validate(api)).rejects.toThrow(/quantity/);
    const scaled = structuredClone(find(base, 'ScaledObject', 'pksync-worker'));
    delete (scaled.spec as Record<string, unknown>).scaleTargetRef;
    await expect(validate(scaled)).rejects.toThrow(/scaleTargetRef/);
  });

  it('has the api Deployment, Service and HPA; the worker Deployment and its ScaledObject; the scheduler; the migrate Job', () => {
    const kinds = base.map((r) => `${r.kind}/${r.metadata.name}`).sort();
    expect(kinds).toEqual(
      [
        'ConfigMap/pksync-config',
        'Deployment/pksync-api',
        'Deployment/pksync-scheduler',
        'Deployment/pksync-worker',
        'HorizontalPodAutoscaler/pksync-api',
        'Job/pksync-migrate',
        'ScaledObject/pksync-worker',
        'Secret/pksync-secrets',
        'Service/pksync-api',
      ].sort(),
    );
    const hpa = find(base, 'HorizontalPodAutoscaler', 'pksync-api').spec as {
      scaleTargetRef: { kind: string; name: string };
    };
    expect(hpa.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: 'pksync-api' });
    expect((find(base, 'Deployment', 'pksync-scheduler').spec as { replicas: number }).replicas).toBe(2);
    const roles = Object.fromEntries(
      ['api', 'worker', 'scheduler'].map((r) => [r, pod(find(base, 'Deployment', `pksync-${r}`)).containers[0]!.args]),
    );
    expect(roles).toEqual({ api: ['serve', 'api'], worker: ['serve', 'worker'], scheduler: ['serve', 'scheduler'] });
    expect(pod(find(base, 'Job', 'pksync-migrate')).containers[0]!.args).toEqual(['migrate']);
  });

  it('scales the workers on the BullMQ wait list of every queue they consume', () => {
    const cm = data(base, 'ConfigMap', 'pksync-config', 'data');
    const prefix = cm.QUEUE_PREFIX ?? envSchema.shape.QUEUE_PREFIX.parse(undefined);
    const so = find(base, 'ScaledObject', 'pksync-worker').spec as {
      scaleTargetRef: { name: string };
      triggers: { type: string; metadata: Record<string, string> }[];
    };
    expect(so.scaleTargetRef.name).toBe('pksync-worker');
    expect(so.triggers.map((t) => t.type)).toEqual(QUEUE_NAMES.map(() => 'redis'));
    expect(so.triggers.map((t) => t.metadata.listName)).toEqual(QUEUE_NAMES.map((q) => `${prefix}:${q}:wait`));
    for (const t of so.triggers) expect(cm[t.metadata.addressFromEnv!]).toMatch(/^[\w.-]+:\d+$/);
  });

  it('configures pksync with variables it reads, from a ConfigMap and a Secret', () => {
    const known = new Set(Object.keys(envSchema.shape));
    const cm = data(base, 'ConfigMap', 'pksync-config', 'data');
    const secret = data(base, 'Secret', 'pksync-secrets', 'stringData');
    for (const k of Object.keys(cm).filter((k) => !k.startsWith('KEDA_'))) expect(known, k).toContain(k);
    for (const k of Object.keys(secret)) expect(known, k).toContain(k);
    // The values pass pksync's own validation (overlay: real-looking ones).
    const env = { ...cm, ...data(overlay, 'Secret', 'pksync-secrets', 'stringData') };
    expect(() => envSchema.parse(env)).not.toThrow();
    expect(env.HOST).toBe('0.0.0.0');
    expect(env.METRICS_HOST).toBe('0.0.0.0');
  });

  it('probes readiness and liveness on the endpoints each role serves', () => {
    const cm = data(base, 'ConfigMap', 'pksync-config', 'data');
    const expected = {
      api: { port: Number(cm.PORT), ready: '/api/v1/readyz', live: '/api/v1/healthz' },
      worker: { port: Number(cm.METRICS_PORT), ready: '/readyz', live: '/healthz' },
      scheduler: { port: Number(cm.METRICS_PORT), ready: '/readyz', live: '/healthz' },
    };
    for (const [role, e] of Object.entries(expected)) {
      const c = pod(find(base, 'Deployment', `pksync-${role}`)).containers[0]!;
      const port = (name: string) => c.ports!.find((p) => p.name === name)!.containerPort;
      expect(c.readinessProbe!.httpGet.path, role).toBe(e.ready);
      expect(c.livenessProbe!.httpGet.path, role).toBe(e.live);
      expect(port(c.readinessProbe!.httpGet.port), role).toBe(e.port);
      expect(port(c.livenessProbe!.httpGet.port), role).toBe(e.port);
    }
  });

  it('runs every pod non-root (the image user), read-only, without privileges, with sized requests', () => {
    const dockerfile = parseDockerfile(readFileSync(new URL('../../infra/Dockerfile', import.meta.url), 'utf8'));
    const imageUser = Number(
      dockerfile.stages
        .at(-1)!
        .instructions.filter((i) => i.name === 'USER')
        .at(-1)!
        .args.split(':')[0],
    );
    const workloads = base.filter((r) => r.kind === 'Deployment' || r.kind === 'Job');
    expect(workloads).toHaveLength(4);
    for (const w of workloads) {
      const p = pod(w);
      expect(p.securityContext, w.metadata.name).toMatchObject({ runAsNonRoot: true, runAsUser: imageUser });
      for (const c of p.containers) {
        expect(c.securityContext, w.metadata.name).toMatchObject({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
        });
        expect(c.resources?.requests?.cpu, w.metadata.name).toBeDefined();
        expect(bytes(c.resources!.requests!.memory!)).toBeLessThanOrEqual(bytes(c.resources!.limits!.memory!));
        expect(c.envFrom).toEqual([
          { configMapRef: { name: 'pksync-config' } },
          { secretRef: { name: 'pksync-secrets' } },
        ]);
      }
    }
    // docs/benchmarks.md: worker peak RSS up to 475 MB at 1M officers; API peak 256 MiB (export).
    const mem = (name: string) =>
      bytes(pod(find(base, 'Deployment', name)).containers[0]!.resources!.requests!.memory!);
    expect(mem('pksync-worker')).toBeGreaterThanOrEqual(475e6);
    expect(mem('pksync-api')).toBeGreaterThanOrEqual(256 * 2 ** 20);
  });

  it('the example overlay puts everything in its namespace and uses its registry image', () => {
    for (const r of overlay.filter((x) => x.kind !== 'Namespace')) expect(r.metadata.namespace, r.kind).toBe('pksync');
    const images = overlay
      .filter((r) => r.kind === 'Deployment' || r.kind === 'Job')
      .flatMap((r) => pod(r).containers.map((c) => (c as { image?: string }).image));
    expect(new Set(images)).toEqual(new Set(['registry.example.go.id/pksync:2026.12.0']));
    expect((find(overlay, 'ScaledObject', 'pksync-worker').spec as { minReplicaCount: number }).minReplicaCount).toBe(
      3,
    );
  });
});
