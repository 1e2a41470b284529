// serviceaccount-controller (upstream pkg/controller/serviceaccount): every active namespace has a
// `default` ServiceAccount; deleting it brings it back. Tokens are not minted (kemu has no
// authentication), so this is the whole controller.
import type { Namespace, ServiceAccount } from '@kemu/api';
import { isAlreadyExists, runController } from '@kemu/client';
import type { ControllerContext, ControllerDescriptor } from '../context.js';
import { eachObject, newQueue } from './util.js';

export const DEFAULT_SERVICE_ACCOUNT = 'default';

export const serviceAccountController: ControllerDescriptor = {
  name: 'serviceaccount',
  start(ctx: ControllerContext) {
    const namespaces = ctx.informers.forResource<Namespace>('namespaces');
    const accounts = ctx.informers.forResource<ServiceAccount>('serviceaccounts');
    const queue = newQueue(ctx, 'serviceaccount');
    namespaces.addEventHandler(eachObject((ns) => queue.add(ns.metadata.name ?? '')));
    // Only a deleted `default` matters (upstream's serviceAccountDeleted handler).
    accounts.addEventHandler({
      onDelete: (obj) => {
        const sa = 'obj' in obj ? (obj.obj as ServiceAccount) : obj;
        if (sa.metadata.name === DEFAULT_SERVICE_ACCOUNT) queue.add(sa.metadata.namespace ?? '');
      },
    });
    const reconcile = async (name: string) => {
      const ns = namespaces.get(undefined, name);
      if (ns === undefined || ns.metadata.deletionTimestamp !== undefined || ns.status?.phase === 'Terminating') return;
      if (accounts.get(name, DEFAULT_SERVICE_ACCOUNT) !== undefined) return;
      try {
        await ctx.api.resource<ServiceAccount>('serviceaccounts', { namespace: name }).create({
          apiVersion: 'v1',
          kind: 'ServiceAccount',
          metadata: { name: DEFAULT_SERVICE_ACCOUNT, namespace: name },
        });
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
      }
    };
    return runController({
      name: 'serviceaccount',
      runtime: ctx.runtime,
      informers: [namespaces, accounts],
      queue,
      reconcile,
      workers: 1,
      log: ctx.log,
    });
  },
};
