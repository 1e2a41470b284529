// coordination.k8s.io/v1, discovery.k8s.io/v1 and autoscaling/v1 kinds.
import type { ObjectReference, Protocol } from './core.js';
import type { MicroTime, ObjectMeta } from './meta.js';

export interface Lease {
  apiVersion?: 'coordination.k8s.io/v1';
  kind?: 'Lease';
  metadata: ObjectMeta;
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    /** MicroTime: exactly 6 fractional digits, or `kubectl describe node` fails to parse it. */
    acquireTime?: MicroTime;
    renewTime?: MicroTime;
    leaseTransitions?: number;
    strategy?: string;
    preferredHolder?: string;
  };
}

export interface EndpointSliceEndpoint {
  addresses: string[];
  conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
  hostname?: string;
  targetRef?: ObjectReference;
  nodeName?: string;
  zone?: string;
}

export interface EndpointSlicePort {
  name?: string;
  protocol?: Protocol;
  port?: number;
  appProtocol?: string;
}

export interface EndpointSlice {
  apiVersion?: 'discovery.k8s.io/v1';
  kind?: 'EndpointSlice';
  metadata: ObjectMeta;
  addressType: 'IPv4' | 'IPv6' | 'FQDN';
  endpoints: EndpointSliceEndpoint[];
  ports?: EndpointSlicePort[];
}

export interface Scale {
  apiVersion?: 'autoscaling/v1';
  kind?: 'Scale';
  metadata: ObjectMeta;
  spec?: { replicas?: number };
  status?: { replicas: number; selector?: string };
}
