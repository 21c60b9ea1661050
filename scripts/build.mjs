// Bundles the plugin into one self-contained file: dist/redisfork.plugin (shebang, mode 755).
import { build } from 'esbuild';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const outfile = 'dist/redisfork.plugin';
await build({
  entryPoints: ['src/bin.ts'],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  // CommonJS: Node decides the module type of an extension-less-looking `.plugin` file by the nearest
  // package.json; in Netdata's plugins.d there is none, which means CommonJS.
  format: 'cjs',
  minify: false,
  legalComments: 'none',
  // `install` writes these; the bundle carries them so that it stays one self-contained file.
  define: {
    __REDISFORK_VERSION__: JSON.stringify(pkg.version),
    __REDISFORK_HEALTH__: JSON.stringify(readFileSync('health.d/redisfork.conf', 'utf8')),
    __REDISFORK_EXAMPLE_CONFIG__: JSON.stringify(readFileSync('config/redisfork.conf', 'utf8')),
  },
  logLevel: 'warning',
});
chmodSync(outfile, 0o755);
// Inside this repo the root package.json says "type": "module"; dist/ is CommonJS.
writeFileSync('dist/package.json', '{ "type": "commonjs" }\n');
console.error(`built ${outfile}`);
