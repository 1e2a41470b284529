// Mirror pods: the API's view of this node's static pods (upstream pkg/kubelet/pod/mirror_client.go
// and the kubelet's syncPod/deleteOrphanedMirrorPods). A mirror pod carries the static pod's
// annotations plus `kubernetes.io/config.mirror: <hash>` and is owned by the Node. One reconcile pass:
// missing → create; being deleted (deletionTimestamp) or for another version → delete now (grace 0,
// uid precondition) and create again; a mirror pod with no static pod any more → delete.
import type { Node, Pod, PodStatus } from '@kemu/api';
import { isAlreadyExists, isConflict, isNotFound, type ResourceClient } from '@kemu/client';
import type { Logger } from '@kemu/runtime';
import { CONFIG_HASH_ANNOTATION, CONFIG_MIRROR_ANNOTATION } from './manifest.js';

export interface MirrorPodManagerOptions {
  nodeName: string;
  /** A cluster-wide pods client. */
  pods: ResourceClient<Pod>;
  nodes: ResourceClient<Node>;
  log: Logger;
}

/** What one pass did (for logs and tests). */
export interface MirrorSyncResult {
  created: string[];
  deleted: string[];
  statusUpdated: string[];
}

function key(pod: Pod): string {
  return `${pod.metadata.namespace ?? 'default'}/${pod.metadata.name ?? ''}`;
}

/** The static pod's hash (its UID unless the manifest set one). */
export function staticPodHashOf(pod: Pod): string {
  return pod.metadata.annotations?.[CONFIG_HASH_ANNOTATION] ?? pod.metadata.uid ?? '';
}

export class MirrorPodManager {
  private nodeUid: string | undefined;
  /** The mirror pods as last listed, by `ns/name` (for status updates between passes). */
  private mirrors = new Map<string, Pod>();
  /** mirror uid → the status JSON last written, so an unchanged status is not written again. */
  private lastStatus = new Map<string, string>();

  constructor(private readonly opts: MirrorPodManagerOptions) {}

  /** The mirror pod in the API for a static pod, as last seen. */
  mirrorOf(staticPod: Pod): Pod | undefined {
    return this.mirrors.get(key(staticPod));
  }

  /**
   * Converges the API's mirror pods to `desired` (every static pod of this node). `statusOf` gives the
   * status to report for pods whose status this kubelet computes itself (external pods); undefined
   * leaves the status to the sync loop.
   */
  async sync(
    desired: Pod[],
    statusOf: (pod: Pod, mirror: Pod | undefined) => PodStatus | undefined = () => undefined,
  ): Promise<MirrorSyncResult> {
    const { pods, nodeName, log } = this.opts;
    const result: MirrorSyncResult = { created: [], deleted: [], statusUpdated: [] };
    const listed = await pods.list({ fieldSelector: `spec.nodeName=${nodeName}` });
    const existing = new Map(listed.items.map((p) => [key(p), p]));
    const next = new Map<string, Pod>();
    const wanted = new Set(desired.map(key));

    for (const staticPod of desired) {
      const k = key(staticPod);
      const hash = staticPodHashOf(staticPod);
      let mirror = existing.get(k);
      if (mirror !== undefined) {
        const current = mirror.metadata.annotations?.[CONFIG_MIRROR_ANNOTATION] === hash;
        if (mirror.metadata.deletionTimestamp !== undefined || !current) {
          // Semantically different from the static pod (or being deleted): remove it now; it is
          // created again below, like upstream's syncPod.
          if (await this.remove(mirror)) result.deleted.push(k);
          mirror = undefined;
        }
      }
      if (mirror === undefined) {
        const created = await this.create(staticPod, hash);
        if (created === undefined) continue;
        mirror = created;
        result.created.push(k);
      }
      const status = statusOf(staticPod, mirror);
      const uid = mirror.metadata.uid ?? '';
      const text = status === undefined ? undefined : JSON.stringify(status);
      if (text !== undefined && this.lastStatus.get(uid) !== text) {
        try {
          mirror = await pods.patch(
            mirror.metadata.name ?? '',
            'merge',
            { status },
            { namespace: mirror.metadata.namespace ?? 'default', subresource: 'status' },
          );
          this.lastStatus.set(uid, text);
          result.statusUpdated.push(k);
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      }
      next.set(k, mirror);
    }

    // Orphans: mirror pods of this node whose static pod is gone.
    for (const [k, p] of existing) {
      if (wanted.has(k) || p.metadata.annotations?.[CONFIG_MIRROR_ANNOTATION] === undefined) continue;
      if (await this.remove(p)) result.deleted.push(k);
    }
    this.mirrors = next;
    const live = new Set([...next.values()].map((p) => p.metadata.uid ?? ''));
    for (const uid of [...this.lastStatus.keys()]) if (!live.has(uid)) this.lastStatus.delete(uid);
    if (result.created.length + result.deleted.length > 0) log.info(result, 'mirror pods synced');
    return result;
  }

  private async create(staticPod: Pod, hash: string): Promise<Pod | undefined> {
    const { pods, nodes, nodeName, log } = this.opts;
    if (this.nodeUid === undefined) {
      try {
        this.nodeUid = (await nodes.get(nodeName)).metadata.uid;
      } catch (err) {
        if (isNotFound(err)) {
          log.debug({ node: nodeName }, 'node not registered yet; mirror pods wait for it');
          return undefined;
        }
        throw err;
      }
    }
    const mirror: Pod = structuredClone(staticPod);
    delete mirror.status;
    delete mirror.metadata.uid;
    delete mirror.metadata.resourceVersion;
    mirror.metadata.annotations = { ...(mirror.metadata.annotations ?? {}), [CONFIG_MIRROR_ANNOTATION]: hash };
    mirror.metadata.ownerReferences = [
      { apiVersion: 'v1', kind: 'Node', name: nodeName, uid: this.nodeUid ?? '', controller: true },
    ];
    try {
      return await pods.create(mirror);
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      // Someone (a previous pass) created it meanwhile: fine if it is this version.
      const found = await pods.get(mirror.metadata.name ?? '', { namespace: mirror.metadata.namespace ?? 'default' });
      return found.metadata.annotations?.[CONFIG_MIRROR_ANNOTATION] === hash ? found : undefined;
    }
  }

  /** Deletes exactly this pod (uid precondition) at once; false if it was already gone or replaced. */
  private async remove(pod: Pod): Promise<boolean> {
    try {
      await this.opts.pods.delete(pod.metadata.name ?? '', {
        namespace: pod.metadata.namespace ?? 'default',
        gracePeriodSeconds: 0,
        ...(pod.metadata.uid !== undefined ? { preconditions: { uid: pod.metadata.uid } } : {}),
      });
      return true;
    } catch (err) {
      if (isNotFound(err) || isConflict(err)) return false;
      throw err;
    }
  }

  /** The node was re-registered (new UID): mirror pods get the new owner on their next creation. */
  forgetNode(): void {
    this.nodeUid = undefined;
  }
}
