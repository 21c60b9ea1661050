import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

export function fixture(relative: string): string {
  return readFileSync(FIXTURES + relative, 'utf8');
}

/**
 * A host's files in a temp dir, laid out as under / (for a HostFs rooted there): `put` writes one,
 * making its directories; `remove` deletes the tree.
 */
export function hostTree(name: string): { root: string; put(path: string, text: string): void; remove(): void } {
  const root = mkdtempSync(join(tmpdir(), `redisfork-${name}-`));
  return {
    root,
    put(path, text) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    },
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}
