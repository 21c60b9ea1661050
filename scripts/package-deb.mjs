// `npm run package`: dist/netdata-plugin-redisfork_<version>_all.deb, built with dpkg-deb from the
// built plugin (run `npm run build` first; the npm script does). Laid out as Debian's netdata
// package lays out its own collectors:
//   /usr/lib/netdata/plugins.d/redisfork.plugin          the plugin (its first line execs `node`)
//   /usr/lib/netdata/conf.d/health.d/redisfork.conf      the alert pack (stock: /etc/netdata/health.d/ overrides it)
//   /usr/lib/netdata/conf.d/redisfork.conf               the example config, all commented (stock)
//   /usr/share/doc/netdata-plugin-redisfork/              copyright, README
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { stockConfig } from './stock-config.mjs';

const PACKAGE = 'netdata-plugin-redisfork';
const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const plugin = 'dist/redisfork.plugin';
if (!existsSync(plugin)) {
  console.error(`${plugin} is missing: run npm run build first (npm run package does)`);
  process.exit(1);
}
const output = `dist/${PACKAGE}_${pkg.version}_all.deb`;
const staging = mkdtempSync(join(tmpdir(), 'redisfork-deb-'));
chmodSync(staging, 0o755);
try {
  const put = (path, content, mode) => {
    const target = join(staging, path);
    mkdirSync(dirname(target), { recursive: true, mode: 0o755 });
    writeFileSync(target, content);
    chmodSync(target, mode);
  };
  put('usr/lib/netdata/plugins.d/redisfork.plugin', readFileSync(plugin), 0o755);
  put('usr/lib/netdata/conf.d/health.d/redisfork.conf', readFileSync('health.d/redisfork.conf'), 0o644);
  put('usr/lib/netdata/conf.d/redisfork.conf', stockConfig(readFileSync('config/redisfork.conf', 'utf8')), 0o644);
  put(`usr/share/doc/${PACKAGE}/copyright`, readFileSync('packaging/debian/copyright'), 0o644);
  put(`usr/share/doc/${PACKAGE}/README.md`, readFileSync('README.md'), 0o644);

  const include = (text) => text.replace(/^#INCLUDE (\S+)\n/m, (_, file) => readFileSync(join('packaging/debian', file), 'utf8'));
  for (const script of ['postinst', 'postrm']) put(`DEBIAN/${script}`, include(readFileSync(join('packaging/debian', script), 'utf8')), 0o755);
  const installedKb = Math.ceil(
    ['usr/lib/netdata/plugins.d/redisfork.plugin', 'usr/lib/netdata/conf.d/health.d/redisfork.conf', 'usr/lib/netdata/conf.d/redisfork.conf', `usr/share/doc/${PACKAGE}/copyright`, `usr/share/doc/${PACKAGE}/README.md`]
      .map((f) => statSync(join(staging, f)).size)
      .reduce((a, b) => a + b, 0) / 1024,
  );
  put(
    'DEBIAN/control',
    [
      `Package: ${PACKAGE}`,
      `Version: ${pkg.version}`,
      'Architecture: all',
      'Section: net',
      'Priority: optional',
      'Maintainer: redisfork developers <maintainers@redisfork.invalid>',
      // Netdata's own packages are `netdata` (Debian, >= 1.37) or `netdata-core` (upstream's split one).
      'Depends: netdata (>= 1.37) | netdata-core, nodejs (>= 18)',
      'Suggests: redis-server | valkey-server',
      `Installed-Size: ${installedKb}`,
      `Description: ${pkg.description}`,
      ' redisfork.plugin charts what decides whether Redis can fork for BGSAVE and AOF rewrites: fork',
      ' time, copy-on-write, memory headroom, save status, and the kernel\'s overcommit, commit limit,',
      ' transparent huge pages and container limits, with an alert pack and a doctor that predicts a',
      ' refused fork. With no config it finds the Redis servers on its host, containers included.',
      '',
    ].join('\n'),
    0o644,
  );
  mkdirSync('dist', { recursive: true });
  const built = spawnSync('dpkg-deb', ['--root-owner-group', '-Zxz', '--build', staging, output], { stdio: 'inherit' });
  if (built.status !== 0) process.exit(built.status ?? 1);
  console.error(`built ${output}`);
} finally {
  rmSync(staging, { recursive: true, force: true });
}
