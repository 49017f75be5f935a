/**
 * The part of `kustomize build` that infra/k8s uses, for the manifest checks (no kubectl in CI):
 * `resources` (files and directories with their own kustomization.yaml), `namespace`, `images`,
 * `labels` (without selectors) and `patches` by path, applied as strategic merge patches on
 * maps (a patch's lists replace the target's; these patches patch no list). Anything else in a
 * kustomization.yaml fails loudly rather than being ignored.
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

export interface Resource {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [k: string]: unknown;
}

interface Kustomization {
  apiVersion?: string;
  kind?: string;
  namespace?: string;
  resources?: string[];
  images?: { name: string; newName?: string; newTag?: string }[];
  labels?: { pairs: Record<string, string>; includeSelectors?: boolean }[];
  patches?: { path: string }[];
}

const KNOWN = new Set(['apiVersion', 'kind', 'namespace', 'resources', 'images', 'labels', 'patches']);

/** Every YAML document of a file. */
export function readDocuments(file: string): Resource[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((d) => {
    if (d.errors.length) throw new Error(`${file}: ${d.errors[0]!.message}`);
    return d.toJS() as Resource;
  });
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function merge(target: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out = { ...target };
  for (const [k, v] of Object.entries(patch))
    out[k] = isMap(v) && isMap(out[k]) ? merge(out[k] as Record<string, unknown>, v) : v;
  return out;
}

/** Containers of a workload's pod template (Deployment, Job). */
function containers(r: Resource): { image?: string }[] {
  const spec = r.spec as { template?: { spec?: { containers?: { image?: string }[] } } } | undefined;
  return spec?.template?.spec?.containers ?? [];
}

/** The resources `kustomize build dir` prints, in order. */
export function kustomizeBuild(dir: string): Resource[] {
  const k = readDocuments(path.join(dir, 'kustomization.yaml'))[0] as unknown as Kustomization;
  const unknown = Object.keys(k).filter((f) => !KNOWN.has(f));
  if (unknown.length) throw new Error(`${dir}/kustomization.yaml: unsupported fields ${unknown.join(', ')}`);
  let out: Resource[] = [];
  for (const r of k.resources ?? []) {
    const p = path.join(dir, r);
    out.push(...(statSync(p).isDirectory() ? kustomizeBuild(p) : readDocuments(p)));
  }
  for (const { path: rel } of k.patches ?? []) {
    for (const patch of readDocuments(path.join(dir, rel))) {
      const i = out.findIndex((r) => r.kind === patch.kind && r.metadata.name === patch.metadata.name);
      if (i < 0) throw new Error(`${rel}: no ${patch.kind} ${patch.metadata.name} to patch`);
      out[i] = merge(out[i]!, patch) as Resource;
    }
  }
  for (const { pairs } of k.labels ?? [])
    out = out.map((r) => ({ ...r, metadata: { ...r.metadata, labels: { ...r.metadata.labels, ...pairs } } }));
  for (const img of k.images ?? [])
    for (const r of out)
      for (const c of containers(r))
        if (c.image === img.name || c.image?.startsWith(`${img.name}:`))
          c.image = `${img.newName ?? img.name}${img.newTag ? `:${img.newTag}` : ''}`;
  if (k.namespace)
    out = out.map((r) => (r.kind === 'Namespace' ? r : { ...r, metadata: { ...r.metadata, namespace: k.namespace } }));
  return out;
}
