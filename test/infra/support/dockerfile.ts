/**
 * A small Dockerfile reader for the infra checks (no Docker engine runs in CI): instructions with
 * their arguments, line continuations joined and comments dropped as BuildKit does, grouped into
 * stages by `FROM … AS name`. Enough to assert what the image must be; not a full parser (no
 * heredocs, no parser directives other than the default escape character).
 */

export interface Instruction {
  /** Upper-case: FROM, RUN, COPY, USER, … */
  name: string;
  /** The raw argument text, continuations joined with a space. */
  args: string;
  /** The JSON (exec) form's array, when the arguments are one. */
  exec?: string[];
  /** `--from=build`-style flags (COPY, ADD, RUN --mount…), by name. */
  flags: Record<string, string>;
  line: number;
}

export interface Stage {
  name: string | null;
  base: string;
  instructions: Instruction[];
}

export interface Dockerfile {
  /** ARGs before the first FROM, with their defaults. */
  globalArgs: Record<string, string>;
  stages: Stage[];
}

function parseExec(args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  try {
    const v: unknown = JSON.parse(args);
    return Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Leading `--name=value` flags and the rest. */
function splitFlags(args: string): { flags: Record<string, string>; rest: string } {
  const flags: Record<string, string> = {};
  let rest = args;
  for (let m = /^--([\w-]+)(?:=(\S*))?\s+/.exec(rest); m; m = /^--([\w-]+)(?:=(\S*))?\s+/.exec(rest)) {
    flags[m[1]!] = m[2] ?? '';
    rest = rest.slice(m[0].length);
  }
  return { flags, rest };
}

export function parseDockerfile(text: string): Dockerfile {
  const lines = text.split(/\r?\n/);
  const instructions: Instruction[] = [];
  let buf = '';
  let start = 0;
  lines.forEach((raw, i) => {
    const line = raw.trim();
    // A comment line, also inside a continued instruction, is dropped whole.
    if (line.startsWith('#')) return;
    if (buf === '' && line === '') return;
    if (buf === '') start = i + 1;
    if (line.endsWith('\\')) {
      buf += line.slice(0, -1).trim() + ' ';
      return;
    }
    buf += line;
    const m = /^(\w+)\s+([\s\S]*)$/.exec(buf.trim());
    if (!m) throw new Error(`line ${start}: not an instruction: ${buf}`);
    const { flags, rest } = splitFlags(m[2]!.trim());
    const exec = parseExec(rest);
    instructions.push({ name: m[1]!.toUpperCase(), args: rest, flags, line: start, ...(exec ? { exec } : {}) });
    buf = '';
  });
  if (buf !== '') throw new Error('the last instruction ends with a line continuation');

  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.name === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (!m) throw new Error(`line ${ins.line}: FROM ${ins.args}`);
      const base = m[1]!.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a?: string, b?: string) => globalArgs[(a ?? b)!] ?? '');
      stages.push({ name: m[2] ?? null, base, instructions: [] });
    } else if (stages.length === 0) {
      if (ins.name !== 'ARG') throw new Error(`line ${ins.line}: ${ins.name} before the first FROM`);
      const [k, v = ''] = ins.args.split('=');
      globalArgs[k!.trim()] = v.trim();
    } else {
      stages.at(-1)!.instructions.push(ins);
    }
  }
  return { globalArgs, stages };
}
