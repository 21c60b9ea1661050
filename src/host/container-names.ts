/**
 * A container's readable name, where the host tells it cheaply: Docker keeps each container's
 * config in `/var/lib/docker/containers/<id>/config.v2.json` (`"Name":"/redis-cache"`), read once
 * when the container is first seen. Podman and Kubernetes keep theirs in databases or behind an
 * API (the kubelet's): those get the id only. LXC and nspawn names are in the cgroup path.
 */
import type { HostFs } from './read.ts';
import type { ContainerIdentity } from './container.ts';

/** Names already looked up, by container id; owned by whoever scans (a scanner keeps one). */
export class ContainerNames {
  private readonly byId = new Map<string, string | undefined>();
  constructor(private readonly fs: HostFs) {}

  nameOf(container: ContainerIdentity): string | undefined {
    if (container.name !== undefined || container.id === undefined || container.runtime !== 'docker') return container.name;
    if (this.byId.has(container.id)) return this.byId.get(container.id);
    const text = this.fs.read(`/var/lib/docker/containers/${container.id}/config.v2.json`);
    const name = text === undefined ? undefined : parseDockerName(text);
    if (this.byId.size > 1000) this.byId.clear();
    this.byId.set(container.id, name);
    return name;
  }
}

export function parseDockerName(configJson: string): string | undefined {
  try {
    const name = (JSON.parse(configJson) as { Name?: unknown }).Name;
    return typeof name === 'string' && name.length > 1 ? name.replace(/^\//, '') : undefined;
  } catch {
    return undefined;
  }
}
