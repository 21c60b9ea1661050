/**
 * Which container a process runs in, told from its cgroup path alone (SPEC §11). Pure.
 *
 * Layouts recognised (cgroup v1 and v2, cgroupfs and systemd drivers):
 *   Docker      /docker/<id>                         …/docker-<id>.scope
 *   Podman      /libpod_parent/libpod-<id>           …/libpod-<id>.scope
 *   Kubernetes  /kubepods[/qos]/pod<uid>/<id>        kubepods-<qos>-pod<uid>.slice/cri-containerd-<id>.scope | crio-<id>.scope | docker-<id>.scope
 *   LXC         /lxc/<name>                          /lxc.payload.<name>
 *   nspawn      /machine.slice/machine-<name>.scope
 */

export type ContainerRuntime = 'docker' | 'podman' | 'containerd' | 'cri-o' | 'kubernetes' | 'lxc' | 'systemd-nspawn';

export interface ContainerIdentity {
  runtime: ContainerRuntime;
  /** The runtime's full id (64 hex digits) where the path holds one. */
  id: string | undefined;
  /** A readable name where the path itself tells it (LXC, nspawn); see `container-names.ts` for Docker. */
  name: string | undefined;
  /** Kubernetes pod UID, with dashes. */
  podUid: string | undefined;
}

const HEX_ID = '([0-9a-f]{64})';

const RULES: readonly { pattern: RegExp; runtime: ContainerRuntime }[] = [
  { pattern: new RegExp(`(?:^|/)cri-containerd-${HEX_ID}\\.scope(?:/|$)`), runtime: 'containerd' },
  { pattern: new RegExp(`(?:^|/)crio-${HEX_ID}(?:\\.scope)?(?:/|$)`), runtime: 'cri-o' },
  { pattern: new RegExp(`(?:^|/)libpod-${HEX_ID}(?:\\.scope)?(?:/|$)`), runtime: 'podman' },
  { pattern: new RegExp(`(?:^|/)docker-${HEX_ID}\\.scope(?:/|$)`), runtime: 'docker' },
  { pattern: new RegExp(`(?:^|/)docker/${HEX_ID}(?:/|$)`), runtime: 'docker' },
];

const POD_UID = /(?:^|\/|-)pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})(?:\.slice)?(?:\/|$)/;
const KUBEPODS_BARE_ID = new RegExp(`(?:^|/)kubepods[^/]*(?:/[^/]+)*?/pod[^/]+/${HEX_ID}(?:/|$)`);

export function containerFromCgroupPath(path: string | undefined): ContainerIdentity | undefined {
  if (path === undefined || path === '/' || path === '') return undefined;
  const podUid = path.includes('kubepods') ? POD_UID.exec(path)?.[1]?.replace(/_/g, '-') : undefined;
  for (const rule of RULES) {
    const match = rule.pattern.exec(path);
    if (match) return { runtime: rule.runtime, id: match[1], name: undefined, podUid };
  }
  if (podUid !== undefined) {
    // cgroupfs driver: the container's cgroup is its bare id; the runtime is not in the path.
    const bare = KUBEPODS_BARE_ID.exec(path);
    return { runtime: 'kubernetes', id: bare?.[1], name: undefined, podUid };
  }
  const lxc = /(?:^|\/)lxc(?:\.payload\.|\/)([^/]+)/.exec(path);
  if (lxc?.[1] && lxc[1] !== 'lxc.monitor') return { runtime: 'lxc', id: undefined, name: lxc[1], podUid: undefined };
  const nspawn = /(?:^|\/)machine-([^/]+)\.scope(?:\/|$)/.exec(path);
  if (nspawn?.[1]) return { runtime: 'systemd-nspawn', id: undefined, name: unescapeSystemdUnit(nspawn[1]), podUid: undefined };
  return undefined;
}

/** systemd escapes `-` and other bytes in unit names as `\xNN`. */
export function unescapeSystemdUnit(name: string): string {
  return name.replace(/\\x([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}

/** The short id people see in `docker ps` (12 hex digits). */
export function shortContainerId(id: string | undefined): string | undefined {
  return id?.slice(0, 12);
}

/** What a job's `container:` matches: an id prefix (at least 4 hex digits) or the name. */
export function containerMatches(wanted: string, container: ContainerIdentity | undefined): boolean {
  if (container === undefined) return false;
  if (container.name !== undefined && container.name === wanted) return true;
  return container.id !== undefined && /^[0-9a-f]{4,64}$/.test(wanted) && container.id.startsWith(wanted);
}

/** How a person names it: `docker redis-cache (3f2a…)`. */
/** The runtimes whose CLI changes a running container's limits: `docker update --memory …`, `--pids-limit …`. */
export const RUNTIME_UPDATE: Partial<Record<ContainerRuntime, string>> = {
  docker: 'docker update',
  podman: 'podman update',
};

export function describeContainer(container: ContainerIdentity | undefined): string {
  if (container === undefined) return 'the host';
  const id = shortContainerId(container.id);
  const who = container.name ?? id ?? '?';
  return `${container.runtime} container ${who}${container.name && id ? ` (${id})` : ''}${container.podUid ? ` in pod ${container.podUid}` : ''}`;
}
