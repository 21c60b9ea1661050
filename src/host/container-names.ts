/**
 * A container's readable name, where the host tells it cheaply: Docker keeps each container's
 * config in `/var/lib/docker/containers/<id>/config.v2.json` (`"Name":"/redis-cache"`), read once
 * when the container is first seen. Podman and Kubernetes keep theirs in databases or behind an
 * API (the kubelet's): those get the id only. LXC and nspawn names are in the cgroup path.
 */
import type { HostFs } from './read.ts';
import type { ContainerIdentity } from './container.ts';

const cache = new Map<string, string | undefined>();

export function containerName(fs: HostFs, container: ContainerIdentity): string | undefined {
  if (container.name !== undefined || container.id === undefined || container.runtime !== 'docker') return container.name;
  const key = `${fs.root}\0${container.id}`;
  if (cache.has(key)) return cache.get(key);
  const text = fs.read(`/var/lib/docker/containers/${container.id}/config.v2.json`);
  const name = text === undefined ? undefined : parseDockerName(text);
  cache.set(key, name);
  return name;
}

export function parseDockerName(configJson: string): string | undefined {
  try {
    const name = (JSON.parse(configJson) as { Name?: unknown }).Name;
    return typeof name === 'string' && name.length > 1 ? name.replace(/^\//, '') : undefined;
  } catch {
    return undefined;
  }
}
