/**
 * The README's bundling command ("Fast start-up: bundle the server"), read from README.md so the
 * start-up bench and the packed-install test build their bundles exactly as users are told to.
 */
import { readFileSync } from 'node:fs';

/** The command split into its entry files (in order) and its flags (`--outdir=...` included). */
export interface BundleCommand {
  readonly entries: readonly string[];
  readonly flags: readonly string[];
}

/** The one `npx esbuild ... --bundle ...` line of the README's ```sh blocks; throws when there is not exactly one. */
export const readmeBundleCommand = (readmePath: string | URL): BundleCommand => {
  const readme = readFileSync(readmePath, 'utf8');
  const lines = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)]
    .flatMap((m) => m[1]!.split('\n'))
    .map((l) => l.replace(/#.*$/, '').trim())
    .filter((l) => /^npx esbuild .*--bundle/.test(l));
  if (lines.length !== 1) throw new Error(`README.md should hold one \`npx esbuild ... --bundle\` line in a sh block, found ${lines.length}`);
  const words = lines[0]!.split(/\s+/).slice(2);
  return { entries: words.filter((w) => !w.startsWith('-')), flags: words.filter((w) => w.startsWith('-')) };
};

/** The command's flags with `--outdir` pointed at `outdir`. */
export const withOutdir = (command: BundleCommand, outdir: string): string[] => [
  ...command.flags.filter((f) => !f.startsWith('--outdir')),
  `--outdir=${outdir}`,
];
