import { alreadyExistsStatus, conflictStatus, type GroupResource, type KubeObject, notFoundStatus } from '@kemu/api';
import { ApiStatusError } from '../errors.js';
import { ObjectStore } from './store.js';

/**
 * `dryRun=All`: every check a real write makes (existence, resourceVersion), then no write. The
 * REST handlers run unchanged on top, so defaulting, admission and validation are the real ones.
 */
export class DryRunStore extends ObjectStore {
  override async create(key: string, obj: KubeObject, gr: GroupResource): Promise<KubeObject> {
    if (await this.get(key)) throw new ApiStatusError(alreadyExistsStatus(gr, obj.metadata.name ?? ''));
    return obj;
  }

  override async update(key: string, obj: KubeObject, expectedRv: number, gr: GroupResource): Promise<KubeObject> {
    const name = obj.metadata.name ?? '';
    const current = await this.mustGet(key, gr, name);
    if (Number(current.metadata.resourceVersion) !== expectedRv) throw new ApiStatusError(conflictStatus(gr, name));
    return { ...obj, metadata: { ...obj.metadata, resourceVersion: current.metadata.resourceVersion ?? '' } };
  }

  override async delete(key: string, expectedRv: number, gr: GroupResource, name: string): Promise<number> {
    const current = await this.get(key);
    if (!current) throw new ApiStatusError(notFoundStatus(gr, name));
    if (Number(current.metadata.resourceVersion) !== expectedRv) throw new ApiStatusError(conflictStatus(gr, name));
    return expectedRv;
  }
}
