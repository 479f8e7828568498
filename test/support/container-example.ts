/**
 * The container example (examples/container) as the tests read it: the
 * command its Dockerfile runs (ENTRYPOINT and CMD in exec form), what it
 * exposes, and the parts of its Kubernetes manifest the drain depends on
 * (the container's args, the termination grace period, the probes and the
 * container port).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The example as its files say it. */
export interface ContainerExample {
  /** ENTRYPOINT then CMD: the program and its arguments. */
  readonly command: readonly string[];
  readonly exposed: number;
  readonly manifest: {
    readonly args: readonly string[];
    readonly terminationGraceSeconds: number;
    readonly readiness: { readonly path: string; readonly port: number };
    readonly liveness: { readonly path: string; readonly port: number };
    readonly containerPort: number;
  };
}

const match = (text: string, re: RegExp, what: string): RegExpExecArray => {
  const m = re.exec(text);
  if (m === null) throw new Error(`examples/container: no ${what}`);
  return m;
};

/** An exec-form instruction's JSON array. */
const execForm = (dockerfile: string, instruction: string): string[] =>
  JSON.parse(match(dockerfile, new RegExp(`^${instruction} (\\[.*\\])$`, 'm'), `${instruction} in exec form`)[1]!) as string[];

const probe = (manifest: string, name: string): { path: string; port: number } => {
  const m = match(manifest, new RegExp(`${name}:\\s*\\n\\s*httpGet: \\{ path: (\\S+), port: (\\d+) \\}`), name);
  return { path: m[1]!, port: Number(m[2]) };
};

/** Read examples/container under `root`. */
export const readContainerExample = (root: string): ContainerExample => {
  const dockerfile = readFileSync(join(root, 'examples/container/Dockerfile'), 'utf8');
  const manifest = readFileSync(join(root, 'examples/container/deployment.yaml'), 'utf8');
  return {
    command: [...execForm(dockerfile, 'ENTRYPOINT'), ...execForm(dockerfile, 'CMD')],
    exposed: Number(match(dockerfile, /^EXPOSE (\d+)$/m, 'EXPOSE')[1]),
    manifest: {
      // The args are a YAML flow sequence of double-quoted strings: JSON.
      args: JSON.parse(match(manifest, /args: (\[[^\]]*\])/, 'container args')[1]!) as string[],
      terminationGraceSeconds: Number(match(manifest, /terminationGracePeriodSeconds: (\d+)/, 'terminationGracePeriodSeconds')[1]),
      readiness: probe(manifest, 'readinessProbe'),
      liveness: probe(manifest, 'livenessProbe'),
      containerPort: Number(match(manifest, /containerPort: (\d+)/, 'containerPort')[1]),
    },
  };
};

/** The value following `flag` in `argv`, or undefined. */
export const flagValue = (argv: readonly string[], flag: string): string | undefined => {
  const i = argv.indexOf(flag);
  return i < 0 ? undefined : argv[i + 1];
};

/** `argv` with the value after `flag` replaced by `value`. */
export const withFlag = (argv: readonly string[], flag: string, value: string): string[] =>
  argv.map((a, i) => (i > 0 && argv[i - 1] === flag ? value : a));
