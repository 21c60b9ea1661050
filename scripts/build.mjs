// Bundles the plugin into one self-contained file: dist/redisfork.plugin (shebang, mode 755).
import { build } from 'esbuild';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { GENERATED, generateValidators } from './gen-validators.mjs';
import { NODE_FLAGS } from './node-flags.mjs';
import { createRequire } from 'node:module';

/**
 * Node built-ins that Netdata mode never calls but that dependencies require at load time:
 * commander (child_process, which pulls in dgram and more), sonic-boom and redis-errors (assert).
 * In the bundle each becomes a stand-in with the module's own export names as getters, loading the
 * real module on first use: loading them at start cost ~0.7 MiB of RSS for as long as the plugin
 * runs (bench/RESULTS.md). Getters, not a Proxy: esbuild's ESM interop copies the export names of
 * a CommonJS module, and a stand-in must answer that without loading anything. The export names
 * are those of the Node that builds; dependencies use only long-standing ones.
 */
const LAZY_BUILTINS = ['child_process', 'assert'];
const nodeRequire = createRequire(import.meta.url);
const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(bundler) {
    const filter = new RegExp(`^(node:)?(${LAZY_BUILTINS.join('|')})$`);
    bundler.onResolve({ filter }, (args) =>
      // The stand-in's own require of the real module stays a require.
      args.namespace === 'lazy-builtin' ? { path: args.path, external: true } : { path: args.path.replace(/^node:/, ''), namespace: 'lazy-builtin' },
    );
    bundler.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => {
      const real = nodeRequire(`node:${args.path}`);
      const callable = typeof real === 'function';
      return {
        loader: 'js',
        contents: [
          'let real;',
          `const load = () => (real ??= require(${JSON.stringify(`node:${args.path}`)}));`,
          `const standIn = ${callable ? 'function (...args) { return load().apply(this, args); }' : '{}'};`,
          `for (const key of ${JSON.stringify(Object.keys(real))}) Object.defineProperty(standIn, key, { get: () => load()[key], enumerable: true });`,
          'module.exports = standIn;',
        ].join('\n'),
      };
    });
  },
};

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const outfile = 'dist/redisfork.plugin';
// The config validators, compiled from schema.json (the committed file is checked by a unit test).
writeFileSync(GENERATED, generateValidators());
await build({
  entryPoints: ['src/bin.ts'],
  outfile,
  bundle: true,
  platform: 'node',
  // Debian 12 and Ubuntu 24.04 ship Node 18: the bundle runs there (test/integration/node18.test.ts).
  target: 'node18',
  // CommonJS: Node decides the module type of an extension-less-looking `.plugin` file by the nearest
  // package.json; in Netdata's plugins.d there is none, which means CommonJS.
  format: 'cjs',
  // Whitespace only: V8 keeps the bundle's source for as long as the plugin runs (it compiles
  // functions lazily from it), and 0.78 -> 0.51 MB of source is 0.7 MiB less RSS at one job,
  // measured side by side. Names stay, so stack traces still name the functions.
  minifyWhitespace: true,
  legalComments: 'none',
  // `install` writes these; the bundle carries them so that it stays one self-contained file.
  define: {
    __REDISFORK_VERSION__: JSON.stringify(pkg.version),
    __REDISFORK_HEALTH__: JSON.stringify(readFileSync('health.d/redisfork.conf', 'utf8')),
    __REDISFORK_EXAMPLE_CONFIG__: JSON.stringify(readFileSync('config/redisfork.conf', 'utf8')),
  },
  logLevel: 'warning',
  plugins: [lazyBuiltins],
});
// The file runs itself: a line that sh reads as `exec node FLAGS "$0"` and JavaScript as a string
// and a comment, so that Netdata (which execs the file) starts Node with the flags below, and
// `node dist/redisfork.plugin` still works. The body sits in a function so that its "use strict"
// stays a directive. Flags measured by `npm run bench` (bench/RESULTS.md).
// ASCII only: one character beyond Latin-1 (esbuild escapes them in strings, not in the comments it
// keeps) makes V8 hold the whole source as UTF-16, twice its size, for as long as the plugin runs.
const bundled = readFileSync(outfile, 'utf8')
  .replace(/^#!.*\n/, '')
  .replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
// REDISFORK_NODE_FLAGS in the plugin's environment replaces them (e.g. "" for V8's JIT with 1000 jobs).
writeFileSync(outfile, `#!/bin/sh\n':' //; exec node \${REDISFORK_NODE_FLAGS-${NODE_FLAGS}} "$0" "$@"\n;(function () {\n${bundled}\n})();\n`);
chmodSync(outfile, 0o755);
// Inside this repo the root package.json says "type": "module"; dist/ is CommonJS.
writeFileSync('dist/package.json', '{ "type": "commonjs" }\n');
console.error(`built ${outfile}`);
