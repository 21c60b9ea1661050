// The stock copy of the example config (/usr/lib/netdata/conf.d/redisfork.conf in the Debian
// package): every line commented, so that it lists no jobs and the plugin finds the Redis servers
// on its host by itself; a user's /etc/netdata/redisfork.conf replaces it, as for any collector.
export function stockConfig(example) {
  const header = [
    '# Stock example: this file is read only when /etc/netdata/redisfork.conf does not exist, and as',
    '# long as everything below is commented, the plugin finds the Redis servers on this host itself.',
    '# To configure jobs: cd /etc/netdata && ./edit-config redisfork.conf  (then uncomment and edit)',
    '',
  ];
  const body = example.split('\n').map((line) => (line.trim() === '' || line.trimStart().startsWith('#') ? line : `# ${line}`));
  return [...header, ...body].join('\n');
}
