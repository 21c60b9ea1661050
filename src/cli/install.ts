/**
 * `install [--dry-run] [--root DIR]`: puts the plugin, the alert file and a commented example
 * config where this host's Netdata looks for them, the way Netdata's own packages lay them out:
 *   Debian/Ubuntu packages:  /usr/lib/netdata/plugins.d        /usr/lib/netdata/conf.d   /etc/netdata
 *   upstream native packages: /usr/libexec/netdata/plugins.d   /usr/lib/netdata/conf.d   /etc/netdata
 *   upstream static (/opt):   /opt/netdata/usr/libexec/netdata/plugins.d  /opt/netdata/usr/lib/netdata/conf.d  /opt/netdata/etc/netdata
 * The alert file goes to the stock health dir (a user's own health.d/redisfork.conf overrides it,
 * as with any stock alert); the example config is written only where no redisfork.conf exists.
 * Safe to run twice: it says what it changed and what was already in place.
 */
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { chooseRuntime, pinInterpreter, runtimeFix, type Runtime } from './install-runtime.ts';

declare const __REDISFORK_HEALTH__: string | undefined;
declare const __REDISFORK_EXAMPLE_CONFIG__: string | undefined;

interface Layout {
  name: string;
  plugins: string;
  stockConfig: string;
  userConfig: string;
}

const LAYOUTS: Layout[] = [
  { name: 'Netdata static install in /opt/netdata', plugins: '/opt/netdata/usr/libexec/netdata/plugins.d', stockConfig: '/opt/netdata/usr/lib/netdata/conf.d', userConfig: '/opt/netdata/etc/netdata' },
  { name: 'upstream Netdata package', plugins: '/usr/libexec/netdata/plugins.d', stockConfig: '/usr/lib/netdata/conf.d', userConfig: '/etc/netdata' },
  { name: 'Debian/Ubuntu netdata package', plugins: '/usr/lib/netdata/plugins.d', stockConfig: '/usr/lib/netdata/conf.d', userConfig: '/etc/netdata' },
  { name: 'Netdata built into /usr/local', plugins: '/usr/local/libexec/netdata/plugins.d', stockConfig: '/usr/local/lib/netdata/conf.d', userConfig: '/usr/local/etc/netdata' },
];

/** Netdata's plugins dir is the one that holds its own plugins (apps.plugin, charts.d.plugin, ...). */
export function findLayout(root: string): Layout | undefined {
  return LAYOUTS.find((l) => ['apps.plugin', 'charts.d.plugin', 'go.d.plugin', 'python.d.plugin'].some((p) => existsSync(join(root, l.plugins, p))));
}

function bundled(kind: 'health' | 'config', selfPath: string): string {
  if (kind === 'health' && typeof __REDISFORK_HEALTH__ === 'string') return __REDISFORK_HEALTH__;
  if (kind === 'config' && typeof __REDISFORK_EXAMPLE_CONFIG__ === 'string') return __REDISFORK_EXAMPLE_CONFIG__;
  // Run from source (src/bin.ts): the files sit in the repository.
  const repo = join(dirname(selfPath), '..');
  return readFileSync(join(repo, kind === 'health' ? 'health.d/redisfork.conf' : 'config/redisfork.conf'), 'utf8');
}

export interface InstallOptions {
  dryRun: boolean;
  root: string;
  /** The plugin file to install: the running bundle, or the standalone executable. */
  selfPath: string;
  /** Running as the standalone build (Node's single executable application). */
  standalone: boolean;
  /** The node running this command (process.execPath). */
  runningNode: string;
}

export function install(options: InstallOptions, say: (line: string) => void): number {
  const { root, dryRun } = options;
  const layout = findLayout(root);
  if (!layout) {
    say(`No Netdata found${root ? ` under ${root}` : ''}: looked for its plugins in ${LAYOUTS.map((l) => l.plugins).join(', ')}.`);
    say('Install Netdata first, or copy dist/redisfork.plugin into its plugins.d by hand (see README).');
    return 1;
  }
  if (!options.standalone && !options.selfPath.endsWith('.plugin')) {
    say(`install copies the built plugin; run it as dist/redisfork.plugin install (not from ${options.selfPath}).`);
    return 1;
  }
  const at = (path: string) => join(root, path);
  const verb = dryRun ? 'would ' : '';
  say(`${dryRun ? 'Dry run: ' : ''}found the ${layout.name}.`);
  const runtime = chooseRuntime({ root, standalone: options.standalone, runningNode: options.runningNode });
  if (runtime.kind === 'none') {
    say(`Not installed: ${runtime.problem}.`);
    for (const line of runtimeFix()) say(line);
    return 1;
  }
  say(`  ${describeRuntime(runtime)}`);

  // Netdata runs its plugins as the netdata user: its group must be able to read the config.
  const netdataGid = groupId(at('/etc/group'), 'netdata');
  const put = (target: string, content: Buffer, mode: number, label: string, keepExisting: boolean) => {
    const path = at(target);
    if (existsSync(path)) {
      if (keepExisting) return say(`  kept ${target}: ${label} exists already and is yours`);
      if (readFileSync(path).equals(content)) return say(`  unchanged ${target}`);
    }
    say(`  ${verb}${existsSync(path) ? 'update' : 'write'} ${target} (${label})`);
    if (dryRun) return;
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content, { mode });
    const groupReadable = mode === 0o640 && netdataGid !== undefined;
    chmodSync(path, mode === 0o640 && netdataGid === undefined ? 0o644 : mode);
    if (groupReadable) chownSync(path, 0, netdataGid);
  };

  const pluginTarget = join(layout.plugins, 'redisfork.plugin');
  const self = runtime.kind === 'absolute' ? pinInterpreter(readFileSync(options.selfPath), runtime.node) : readFileSync(options.selfPath);
  if (existsSync(at(pluginTarget)) && readFileSync(at(pluginTarget)).equals(self)) {
    say(`  unchanged ${pluginTarget}`);
  } else {
    say(`  ${verb}${existsSync(at(pluginTarget)) ? 'update' : 'write'} ${pluginTarget} (the plugin)`);
    if (!dryRun) {
      // Written next to the target, then renamed: a running plugin keeps its old file.
      writeFileSync(`${at(pluginTarget)}.new`, self, { mode: 0o755 });
      chmodSync(`${at(pluginTarget)}.new`, 0o755);
      renameSync(`${at(pluginTarget)}.new`, at(pluginTarget));
    }
  }
  put(join(layout.stockConfig, 'health.d', 'redisfork.conf'), Buffer.from(bundled('health', options.selfPath)), 0o644, 'the alert pack', false);
  put(join(layout.userConfig, 'redisfork.conf'), Buffer.from(bundled('config', options.selfPath)), 0o640, 'your redisfork.conf', true);
  if (existsSync(at(join(layout.userConfig, 'health.d', 'redisfork.conf')))) {
    say(`  note: ${join(layout.userConfig, 'health.d', 'redisfork.conf')} overrides the stock alert pack; compare it with the new one`);
  }
  say(dryRun ? 'Nothing was written.' : 'Done. Check the config, then restart Netdata: systemctl restart netdata');
  say(`  ${join(layout.plugins, 'redisfork.plugin')} check-config ${join(layout.userConfig, 'redisfork.conf')}`);
  return 0;
}

function describeRuntime(runtime: Exclude<Runtime, { kind: 'none' }>): string {
  switch (runtime.kind) {
    case 'standalone':
      return 'the standalone build: Netdata runs it with no Node installed';
    case 'path':
      return `Netdata will run it with ${runtime.node} (Node ${runtime.version}, checked as the netdata user where there is one)`;
    case 'absolute':
      return `${runtime.why}: the installed plugin runs ${runtime.node} (Node ${runtime.version}), written into its first line`;
  }
}

function groupId(groupFile: string, name: string): number | undefined {
  try {
    const line = readFileSync(groupFile, 'utf8').split('\n').find((l) => l.startsWith(`${name}:`));
    const gid = Number(line?.split(':')[2]);
    return Number.isInteger(gid) ? gid : undefined;
  } catch {
    return undefined;
  }
}
