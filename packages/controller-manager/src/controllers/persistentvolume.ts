// persistentvolume-binder (upstream pkg/controller/volume/persistentvolume) with a built-in hostPath
// provisioner (`kemu.dev/hostpath`, in the role of kind's local-path provisioner):
// - StorageClass: at start the binder makes sure a StorageClass `standard` exists (provisioner
//   kemu.dev/hostpath, reclaimPolicy Delete, annotated `storageclass.kubernetes.io/is-default-class`),
//   once, like an addon manager's EnsureExists; deleting it later is respected;
// - claims without storageClassName get the default class written in (upstream's retroactive default
//   StorageClass assignment), then bind to the smallest matching Available volume (class, access modes,
//   capacity, volumeMode, selector; volumes pre-bound through claimRef first), else, when their class's
//   provisioner is ours, a `pvc-<claim uid>` hostPath volume is provisioned under the provisioner's root
//   (`/tmp/kemu-pv` unless the process passes another) with the class's reclaimPolicy and claimRef
//   set; binding writes PV claimRef + phase Bound, claim volumeName + annotations + phase Bound with
//   capacity and access modes. A claim nothing can satisfy stays Pending (event FailedBinding /
//   ProvisioningFailed-free: no other provisioners exist);
// - volumes: no claimRef → Available; claim gone (confirmed live) → Released, and with
//   reclaimPolicy Delete the volume is deleted (and a provisioned directory removed).
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import {
  compareQuantities,
  type KubeObject,
  labelSelectorAsSelector,
  type ObjectReference,
  type PersistentVolume,
  type PersistentVolumeClaim,
} from '@kemu/api';
import { isAlreadyExists, isNotFound, objectKey, runController, splitKey } from '@kemu/client';
import type { ControllerContext, ControllerDescriptor } from '../context.js';
import { eachObject, newQueue } from './util.js';

export const DEFAULT_STORAGE_CLASS = 'standard';
export const DEFAULT_HOST_PATH_ROOT = '/tmp/kemu-pv';
export const PROVISIONER_NAME = 'kemu.dev/hostpath';
export const ANN_BIND_COMPLETED = 'pv.kubernetes.io/bind-completed';
export const ANN_BOUND_BY_CONTROLLER = 'pv.kubernetes.io/bound-by-controller';
export const ANN_PROVISIONED_BY = 'pv.kubernetes.io/provisioned-by';
export const ANN_STORAGE_PROVISIONER = 'volume.kubernetes.io/storage-provisioner';
export const ANN_BETA_STORAGE_PROVISIONER = 'volume.beta.kubernetes.io/storage-provisioner';
export const ANN_DEFAULT_CLASS = 'storageclass.kubernetes.io/is-default-class';

/** storage.k8s.io/v1 StorageClass (the fields the binder reads). */
export interface StorageClass extends KubeObject {
  provisioner: string;
  reclaimPolicy?: 'Delete' | 'Retain';
  volumeBindingMode?: 'Immediate' | 'WaitForFirstConsumer';
  parameters?: Record<string, string>;
}

/** The class the binder creates at start when it is missing. */
export function standardStorageClass(): StorageClass {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: DEFAULT_STORAGE_CLASS, annotations: { [ANN_DEFAULT_CLASS]: 'true' } },
    provisioner: PROVISIONER_NAME,
    reclaimPolicy: 'Delete',
    volumeBindingMode: 'Immediate',
  };
}

/** upstream GetDefaultClass: of the classes annotated default, the newest (name breaks ties). */
export function defaultClass(classes: readonly StorageClass[]): StorageClass | undefined {
  return classes
    .filter((c) => c.metadata.annotations?.[ANN_DEFAULT_CLASS] === 'true')
    .sort(
      (a, b) =>
        (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? '') ||
        (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''),
    )[0];
}

/** Where provisioned volumes live; injected so unit tests use a temporary directory. */
export interface VolumeDirectories {
  root: string;
  create(path: string): Promise<void>;
  remove(path: string): Promise<void>;
}

export function hostPathDirectories(root: string): VolumeDirectories {
  const abs = resolve(root);
  return {
    root: abs,
    create: async (path) => {
      await mkdir(path, { recursive: true, mode: 0o777 });
    },
    remove: async (path) => {
      // Never remove anything outside the provisioner's root, whatever a PV object says.
      if (!resolve(path).startsWith(abs + sep)) return;
      await rm(path, { recursive: true, force: true });
    },
  };
}

const claimClass = (c: PersistentVolumeClaim) => c.spec?.storageClassName ?? '';
const volumeClass = (v: PersistentVolume) => v.spec?.storageClassName ?? '';

/** upstream findMatchingVolume (simplified): the smallest Available volume satisfying the claim. */
export function findMatchingVolume(
  claim: PersistentVolumeClaim,
  volumes: readonly PersistentVolume[],
): PersistentVolume | undefined {
  const uid = claim.metadata.uid;
  const prebound = volumes.find(
    (v) =>
      v.spec?.claimRef?.name === claim.metadata.name &&
      v.spec?.claimRef?.namespace === claim.metadata.namespace &&
      (v.spec?.claimRef?.uid === undefined || v.spec.claimRef.uid === uid),
  );
  if (prebound !== undefined) return prebound;
  const request = claim.spec?.resources?.requests?.storage ?? '0';
  const modes = claim.spec?.accessModes ?? [];
  // A claim without a selector takes any volume (LabelSelectorAsSelector(nil) would match nothing).
  const selector = claim.spec?.selector === undefined ? undefined : labelSelectorAsSelector(claim.spec.selector);
  const candidates = volumes.filter((v) => {
    if (v.spec?.claimRef !== undefined || v.metadata.deletionTimestamp !== undefined) return false;
    if (v.status?.phase !== undefined && v.status.phase !== 'Available' && v.status.phase !== 'Pending') return false;
    if (volumeClass(v) !== claimClass(claim)) return false;
    if ((v.spec?.volumeMode ?? 'Filesystem') !== (claim.spec?.volumeMode ?? 'Filesystem')) return false;
    if (!modes.every((m) => (v.spec?.accessModes ?? []).includes(m))) return false;
    if (compareQuantities(v.spec?.capacity?.storage ?? '0', request) < 0) return false;
    return selector === undefined || selector.matches(v.metadata.labels);
  });
  candidates.sort((a, b) => compareQuantities(a.spec?.capacity?.storage ?? '0', b.spec?.capacity?.storage ?? '0'));
  return candidates[0];
}

export function claimReference(claim: PersistentVolumeClaim): ObjectReference {
  return {
    kind: 'PersistentVolumeClaim',
    namespace: claim.metadata.namespace ?? 'default',
    name: claim.metadata.name ?? '',
    uid: claim.metadata.uid ?? '',
    apiVersion: 'v1',
  };
}

export function persistentVolumeBinder(opts: { dirs?: VolumeDirectories } = {}): ControllerDescriptor {
  const dirs = opts.dirs ?? hostPathDirectories(DEFAULT_HOST_PATH_ROOT);
  return {
    name: 'persistentvolume-binder',
    start(ctx: ControllerContext) {
      const claims = ctx.informers.forResource<PersistentVolumeClaim>('persistentvolumeclaims');
      const volumes = ctx.informers.forResource<PersistentVolume>('persistentvolumes');
      const classes = ctx.informers.forResource<StorageClass>('storageclasses.storage.k8s.io');
      const scClient = ctx.api.resource<StorageClass>('storageclasses.storage.k8s.io');
      const recorder = ctx.recorder('persistentvolume-controller');
      const queue = newQueue(ctx, 'persistentvolume');
      const pvClient = ctx.api.resource<PersistentVolume>('persistentvolumes');
      const pvcClient = (ns: string) =>
        ctx.api.resource<PersistentVolumeClaim>('persistentvolumeclaims', { namespace: ns });
      /** Claims we already told why they wait (one event per reason, not one per pass). */
      const reported = new Map<string, string>();
      const report = (claim: PersistentVolumeClaim, type: 'Normal' | 'Warning', reason: string, message: string) => {
        const key = objectKey(claim);
        if (reported.get(key) === `${reason}/${message}`) return;
        reported.set(key, `${reason}/${message}`);
        void recorder.event(claim, type, reason, message);
      };
      // Once per start: the default class exists (EnsureExists), unless someone has one already.
      queue.add('class|');
      classes.addEventHandler(
        eachObject(() => {
          for (const c of claims.list()) if ((c.spec?.volumeName ?? '') === '') queue.add(`claim|${objectKey(c)}`);
        }),
      );

      claims.addEventHandler(
        eachObject((c) => {
          queue.add(`claim|${objectKey(c)}`);
          // A claim going away releases its volume.
          if ((c.spec?.volumeName ?? '') !== '') queue.add(`volume|${c.spec?.volumeName}`);
        }),
      );
      volumes.addEventHandler(
        eachObject((v) => {
          queue.add(`volume|${v.metadata.name ?? ''}`);
          const ref = v.spec?.claimRef;
          if (ref?.name !== undefined) queue.add(`claim|${ref.namespace ?? 'default'}/${ref.name}`);
        }),
      );

      const bind = async (pv: PersistentVolume, claim: PersistentVolumeClaim) => {
        const ns = claim.metadata.namespace ?? 'default';
        let volume = pv;
        const ref = volume.spec?.claimRef;
        if (ref?.uid !== claim.metadata.uid || ref?.name !== claim.metadata.name) {
          volume = await pvClient.update({
            ...volume,
            metadata: {
              ...volume.metadata,
              annotations: { ...(volume.metadata.annotations ?? {}), [ANN_BOUND_BY_CONTROLLER]: 'yes' },
            },
            spec: { ...volume.spec, claimRef: claimReference(claim) },
          });
        }
        if (volume.status?.phase !== 'Bound') {
          volume = await pvClient.updateStatus({ ...volume, status: { phase: 'Bound' } });
        }
        let c = claim;
        const ann = c.metadata.annotations ?? {};
        if (c.spec?.volumeName !== volume.metadata.name || ann[ANN_BIND_COMPLETED] !== 'yes') {
          const annotations: Record<string, string> = { ...ann, [ANN_BIND_COMPLETED]: 'yes' };
          if (c.spec?.volumeName !== volume.metadata.name) annotations[ANN_BOUND_BY_CONTROLLER] = 'yes';
          c = await pvcClient(ns).update({
            ...c,
            metadata: { ...c.metadata, annotations },
            spec: { ...c.spec, volumeName: volume.metadata.name ?? '' },
          });
        }
        const status: PersistentVolumeClaim['status'] = {
          ...c.status,
          phase: 'Bound',
          accessModes: volume.spec?.accessModes ?? [],
          capacity: volume.spec?.capacity ?? {},
        };
        if (JSON.stringify(status) !== JSON.stringify(c.status)) await pvcClient(ns).updateStatus({ ...c, status });
      };

      const ensureDefaultClass = async () => {
        if (classes.list().length > 0) return;
        try {
          await scClient.create(standardStorageClass());
        } catch (err) {
          if (!isAlreadyExists(err)) throw err;
        }
      };

      const provision = async (claim: PersistentVolumeClaim, sc: StorageClass) => {
        const ns = claim.metadata.namespace ?? 'default';
        const name = `pvc-${claim.metadata.uid ?? ''}`;
        const path = join(dirs.root, name);
        await dirs.create(path);
        if (claim.metadata.annotations?.[ANN_STORAGE_PROVISIONER] !== PROVISIONER_NAME) {
          await pvcClient(ns).update({
            ...claim,
            metadata: {
              ...claim.metadata,
              annotations: {
                ...(claim.metadata.annotations ?? {}),
                [ANN_STORAGE_PROVISIONER]: PROVISIONER_NAME,
                [ANN_BETA_STORAGE_PROVISIONER]: PROVISIONER_NAME,
              },
            },
          });
        }
        try {
          await pvClient.create({
            apiVersion: 'v1',
            kind: 'PersistentVolume',
            metadata: { name, annotations: { [ANN_PROVISIONED_BY]: PROVISIONER_NAME } },
            spec: {
              capacity: { storage: claim.spec?.resources?.requests?.storage ?? '0' },
              accessModes: claim.spec?.accessModes ?? ['ReadWriteOnce'],
              persistentVolumeReclaimPolicy: sc.reclaimPolicy ?? 'Delete',
              storageClassName: claimClass(claim),
              volumeMode: claim.spec?.volumeMode ?? 'Filesystem',
              hostPath: { path, type: 'DirectoryOrCreate' },
              claimRef: claimReference(claim),
            },
          });
        } catch (err) {
          if (!isAlreadyExists(err)) throw err;
          return;
        }
        void recorder.event(
          claim,
          'Normal',
          'ProvisioningSucceeded',
          `Successfully provisioned volume ${name} using ${PROVISIONER_NAME}`,
        );
      };

      const syncClaim = async (key: string) => {
        const claim = claims.store.getByKey(key);
        if (claim === undefined || claim.metadata.deletionTimestamp !== undefined) {
          reported.delete(key);
          return;
        }
        const volumeName = claim.spec?.volumeName ?? '';
        if (volumeName !== '') {
          const pv = volumes.get(undefined, volumeName);
          if (pv === undefined) return; // pre-bound to a volume that does not exist (yet)
          const ref = pv.spec?.claimRef;
          if (
            ref === undefined ||
            ref.uid === claim.metadata.uid ||
            (ref.uid === undefined && ref.name === claim.metadata.name)
          ) {
            await bind(pv, claim);
          }
          return;
        }
        if (claim.spec?.storageClassName === undefined) {
          // Retroactive default StorageClass assignment (upstream since 1.28): the claim gets the
          // default class written in; its update event brings it back here.
          const def = defaultClass(classes.list());
          if (def !== undefined) {
            await pvcClient(claim.metadata.namespace ?? 'default').update({
              ...claim,
              spec: { ...claim.spec, storageClassName: def.metadata.name ?? '' },
            });
            return;
          }
        }
        const pv = findMatchingVolume(claim, volumes.list());
        if (pv !== undefined) {
          reported.delete(key);
          await bind(pv, claim);
          return;
        }
        const className = claimClass(claim);
        if (className === '') {
          report(
            claim,
            'Normal',
            'FailedBinding',
            'no persistent volumes available for this claim and no storage class is set',
          );
          return;
        }
        const sc = classes.get(undefined, className);
        if (sc === undefined) {
          report(claim, 'Warning', 'ProvisioningFailed', `storageclass.storage.k8s.io "${className}" not found`);
          return;
        }
        if (sc.provisioner !== PROVISIONER_NAME) {
          report(
            claim,
            'Normal',
            'ExternalProvisioning',
            `Waiting for a volume to be created either by the external provisioner '${sc.provisioner}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.`,
          );
          return;
        }
        // A provisioned volume shows up in the cache in a moment; bind then (its event enqueues us).
        if (volumes.get(undefined, `pvc-${claim.metadata.uid ?? ''}`) === undefined) await provision(claim, sc);
      };

      const syncVolume = async (name: string) => {
        const pv = volumes.get(undefined, name);
        if (pv === undefined || pv.metadata.deletionTimestamp !== undefined) return;
        const ref = pv.spec?.claimRef;
        if (ref === undefined) {
          if (pv.status?.phase !== 'Available') await pvClient.updateStatus({ ...pv, status: { phase: 'Available' } });
          return;
        }
        const ns = ref.namespace ?? 'default';
        let claim = claims.get(ns, ref.name ?? '');
        if (claim === undefined || (ref.uid !== undefined && claim.metadata.uid !== ref.uid)) {
          // The cache may lag a new claim: ask the apiserver before releasing anything.
          try {
            claim = await pvcClient(ns).get(ref.name ?? '');
          } catch (err) {
            if (!isNotFound(err)) throw err;
            claim = undefined;
          }
        }
        const claimGone = claim === undefined || (ref.uid !== undefined && claim.metadata.uid !== ref.uid);
        if (!claimGone) return; // binding is driven from the claim's side
        if (ref.uid === undefined) {
          // Pre-bound by a user to a claim that does not exist yet: it stays reserved for it.
          if (pv.status?.phase !== 'Available') await pvClient.updateStatus({ ...pv, status: { phase: 'Available' } });
          return;
        }
        if (pv.status?.phase !== 'Released') {
          await pvClient.updateStatus({ ...pv, status: { phase: 'Released' } });
        }
        if (pv.spec?.persistentVolumeReclaimPolicy === 'Delete') {
          if (pv.metadata.annotations?.[ANN_PROVISIONED_BY] === PROVISIONER_NAME && pv.spec.hostPath !== undefined) {
            await dirs.remove(pv.spec.hostPath.path);
          }
          try {
            await pvClient.delete(name, { preconditions: { uid: pv.metadata.uid ?? '' } });
          } catch (err) {
            if (!isNotFound(err)) throw err;
          }
        }
      };

      const reconcile = async (item: string) => {
        const bar = item.indexOf('|');
        const kind = item.slice(0, bar);
        const key = item.slice(bar + 1);
        if (kind === 'claim') await syncClaim(key);
        else if (kind === 'volume') await syncVolume(splitKey(key).name);
        else await ensureDefaultClass();
      };

      return runController({
        name: 'persistentvolume-binder',
        runtime: ctx.runtime,
        informers: [claims, volumes, classes],
        queue,
        reconcile,
        workers: 2,
        log: ctx.log,
      });
    },
  };
}

/** The binder with the default provisioner root (the process may build its own with another root). */
export const persistentVolumeBinderController: ControllerDescriptor = persistentVolumeBinder();
