import YAML from 'yaml';

/**
 * A kubeconfig for the emulated cluster: plain HTTP, cluster `kemu`, user `kemu-admin` without
 * credentials (the apiserver has no authn yet). `insecure-skip-tls-verify` is meaningless over http
 * but @kubernetes/client-node refuses a cluster entry without either it or a CA.
 */
export function kubeconfigYaml(serverUrl: string): string {
  return YAML.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'kemu', cluster: { server: serverUrl, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'kemu-admin', user: {} }],
    contexts: [{ name: 'kemu', context: { cluster: 'kemu', user: 'kemu-admin', namespace: 'default' } }],
    'current-context': 'kemu',
    preferences: {},
  });
}
