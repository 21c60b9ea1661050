/**
 * The I/O floor of one job: a Node program that does what the plugin does each second at one job
 * and nothing else — no parsing, no model, no chart text. `npm run bench` runs it with the plugin's
 * own V8 flags beside the plugin, so that the one-job row can be read against what Node costs for
 * the I/O alone.
 *
 * Each second, on the second (as the plugin): a positioned read from offset 0 of each file the
 * plugin reads every second for a local Redis (meminfo, vm.overcommit_memory, the two THP modes,
 * /proc/vmstat up to its oom_kill line, the Redis process's status, and its memory cgroup's limit
 * at each level up to the root, usage, swap limit and OOM counter), INFO memory persistence stats
 * sent over one socket and its whole reply taken, and one write to stdout of as many bytes as the
 * plugin's iteration text.
 *
 *   node <flags> bench/io-floor.mjs redis://HOST:PORT OUTPUT_BYTES
 *
 * Plain JavaScript run by plain node: a TypeScript loader would add its own cost to the floor.
 */
import { connect } from 'node:net';
import { closeSync, openSync, readFileSync, readSync, readvSync, writeSync } from 'node:fs';

const url = new URL(process.argv[2] ?? 'redis://127.0.0.1:6379');
const outputBytes = Number(process.argv[3] ?? 3000);
const INFO = '*4\r\n$4\r\nINFO\r\n$6\r\nmemory\r\n$11\r\npersistence\r\n$5\r\nstats\r\n';
const INFO_SERVER = '*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n';

/** The files the plugin reads each second for a local Redis with process id `pid`. */
function filesFor(pid) {
  const files = ['/proc/meminfo', '/proc/sys/vm/overcommit_memory', '/sys/kernel/mm/transparent_hugepage/enabled', '/sys/kernel/mm/transparent_hugepage/defrag', '/proc/vmstat', `/proc/${pid}/status`];
  const cgroup = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n');
  const v1 = cgroup.map((line) => line.split(':')).find((parts) => parts[1]?.split(',').includes('memory'));
  const v2 = cgroup.map((line) => line.split(':')).find((parts) => parts[0] === '0' && parts[1] === '');
  const [mount, path, names] = v1
    ? ['/sys/fs/cgroup/memory', v1[2], { limit: 'memory.limit_in_bytes', usage: 'memory.usage_in_bytes', swap: 'memory.memsw.limit_in_bytes', events: 'memory.oom_control' }]
    : ['/sys/fs/cgroup', v2?.[2] ?? '/', { limit: 'memory.max', usage: 'memory.current', swap: 'memory.swap.max', events: 'memory.events' }];
  const levels = [];
  for (let dir = path; ; dir = dir.slice(0, dir.lastIndexOf('/')) || '/') {
    levels.push(dir === '/' ? mount : mount + dir);
    if (dir === '/') break;
  }
  for (const level of levels) files.push(`${level}/${names.limit}`);
  files.push(`${levels[0]}/${names.usage}`, `${levels[0]}/${names.swap}`, `${levels[0]}/${names.events}`);
  return files;
}

const buffers = [Buffer.allocUnsafe(16 * 1024)];
let held = [];
function readAll() {
  for (const { fd, name } of held) {
    let length = readvSync(fd, buffers, 0);
    // /proc/vmstat comes a page at a time: read on until its oom_kill line, as the plugin does.
    while (name === '/proc/vmstat' && length > 0 && !buffers[0].latin1Slice(0, length).includes('\noom_kill ')) {
      const more = readSync(fd, buffers[0], length, buffers[0].length - length, length);
      if (more === 0) break;
      length += more;
    }
    buffers[0].latin1Slice(0, length);
  }
}

const reply = Buffer.allocUnsafe(64 * 1024);
let got = 0;
let onReply;
/** True when `reply` holds one whole bulk string (`$len\r\n…\r\n`). */
function whole() {
  const headerEnd = reply.indexOf('\r\n');
  if (headerEnd < 0) return false;
  return got >= headerEnd + 2 + Number(reply.latin1Slice(1, headerEnd)) + 2;
}
const socket = connect({
  host: url.hostname,
  port: Number(url.port || 6379),
  onread: {
    buffer: () => reply.subarray(got),
    callback(bytes) {
      got += bytes;
      if (whole()) {
        const text = reply.latin1Slice(0, got);
        got = 0;
        onReply(text);
      }
      return true;
    },
  },
});
socket.setNoDelay(true);
const ask = (command) =>
  new Promise((resolve) => {
    onReply = resolve;
    socket.write(command);
  });

const output = 'x'.repeat(Math.max(1, outputBytes - 1)) + '\n';
socket.once('connect', async () => {
  const pid = Number(/process_id:(\d+)/.exec(await ask(INFO_SERVER))?.[1]);
  held = filesFor(pid).map((name) => ({ name, fd: openSync(name, 'r') }));
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000)));
    readAll();
    await ask(INFO);
    writeSync(1, output);
  }
});
socket.on('error', (err) => {
  for (const { fd } of held) closeSync(fd);
  console.error(`io-floor: ${err.message}`);
  process.exit(1);
});
