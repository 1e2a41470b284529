/**
 * A hand-written subset of the Kubernetes `generated.proto` schemas (k8s.io/api and
 * k8s.io/apimachinery): only the messages the kubectl typed generators (`kubectl create deployment|
 * namespace|configmap|secret|service|serviceaccount|job|cronjob|quota|role|rolebinding|token`) send.
 * Also `kubectl autoscale`, `create poddisruptionbudget|priorityclass|ingress`.
 * Field numbers and names are the upstream ones; upstream never renumbers fields, so a newer or
 * older kubectl sends the same numbers.
 *
 * Two field options carry what the .proto files cannot say but the JSON form depends on:
 * - `(kemu.presence) = true`: the Go field is a pointer (`*int32`, `*bool`, …). Such a field is kept
 *   when it is zero (`replicas: 0` differs from "unset"); every other zero scalar is dropped, as Go's
 *   `omitempty` would drop it (gogo encodes every non-pointer scalar, even empty ones).
 * - `(kemu.inline) = true`: the Go field is embedded with `json:",inline"`; its fields are merged into
 *   the parent object (Volume.volumeSource, *KeySelector.localObjectReference, Probe.handler).
 * `json_name` renames a field whose proto name differs from its JSON name (BoundObjectReference.uID).
 *
 * Messages that upstream has but the generators only send empty (statuses) are declared empty: an
 * unknown field with a zero value is ignored, any other unknown field is an error, so nothing is
 * dropped silently.
 */

const META_V1 = `
syntax = "proto2";
package k8s.io.apimachinery.pkg.apis.meta.v1;
message TypeMeta { optional string kind = 1; optional string apiVersion = 2; }
message Time { optional int64 seconds = 1; optional int32 nanos = 2; }
message MicroTime { optional int64 seconds = 1; optional int32 nanos = 2; }
message Duration { optional int64 duration = 1; }
message ObjectMeta {
  optional string name = 1;
  optional string generateName = 2;
  optional string namespace = 3;
  optional string selfLink = 4;
  optional string uid = 5;
  optional string resourceVersion = 6;
  optional int64 generation = 7;
  optional Time creationTimestamp = 8;
  optional Time deletionTimestamp = 9;
  optional int64 deletionGracePeriodSeconds = 10 [(kemu.presence) = true];
  map<string, string> labels = 11;
  map<string, string> annotations = 12;
  repeated OwnerReference ownerReferences = 13;
  repeated string finalizers = 14;
}
message OwnerReference {
  optional string kind = 1;
  optional string name = 3;
  optional string uid = 4;
  optional string apiVersion = 5;
  optional bool controller = 6 [(kemu.presence) = true];
  optional bool blockOwnerDeletion = 7 [(kemu.presence) = true];
}
message LabelSelector {
  map<string, string> matchLabels = 1;
  repeated LabelSelectorRequirement matchExpressions = 2;
}
message LabelSelectorRequirement {
  optional string key = 1;
  optional string operator = 2;
  repeated string values = 3;
}
`;

const RUNTIME = `
syntax = "proto2";
package k8s.io.apimachinery.pkg.runtime;
message TypeMeta { optional string apiVersion = 1; optional string kind = 2; }
message Unknown {
  optional TypeMeta typeMeta = 1;
  optional bytes raw = 2;
  optional string contentEncoding = 3;
  optional string contentType = 4;
}
message RawExtension { optional bytes raw = 1; }
`;

const INTSTR = `
syntax = "proto2";
package k8s.io.apimachinery.pkg.util.intstr;
message IntOrString { optional int64 type = 1; optional int32 intVal = 2; optional string strVal = 3; }
`;

const RESOURCE = `
syntax = "proto2";
package k8s.io.apimachinery.pkg.api.resource;
message Quantity { optional string string = 1; }
`;

const CORE_V1 = `
syntax = "proto2";
package k8s.io.api.core.v1;
message Namespace {
  optional k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta metadata = 1;
  optional NamespaceSpec spec = 2;
  optional NamespaceStatus status = 3;
}
message NamespaceSpec { repeated string finalizers = 1; }
message NamespaceStatus { optional string phase = 1; }
message ConfigMap {
  optional k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta metadata = 1;
  map<string, string> data = 2;
  map<string, bytes> binaryData = 3;
  optional bool immutable = 4 [(kemu.presence) = true];
}
message Secret {
  optional k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta metadata = 1;
  map<string, bytes> data = 2;
  optional string type = 3;
  map<string, string> stringData = 4;
  optional bool immutable = 5 [(kemu.presence) = true];
}
message ServiceAccount {
  optional k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta metadata = 1;
  repeated ObjectReference secrets = 2;
  repeated LocalObjectReference imagePullSecrets = 3;
  optional bool automountServiceAccountToken = 4 [(kemu.presence) = true];
}
message ObjectReference {
  optional string kind = 1;
  optional string namespace = 2;
  optional string name = 3;
  optional string uid = 4;
  optional string apiVersion = 5;
  optional string resourceVersion = 6;
  optional string fieldPath = 7;
}
message LocalObjectReference { optional string name = 1; }
message TypedLocalObjectReference {
  optional string apiGroup = 1 [(kemu.presence) = true];
  optional string kind = 2;
  optional string name = 3;
}
message Service {
  optional k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta metadata = 1;
  optional ServiceSpec spec = 2;
  optional ServiceStatus status = 3;
}
message ServiceStatus {}
message ServiceSpec {
  repeated ServicePort ports = 1;
  map<string, string> selector = 2;
  optional string clusterIP = 3;
  optional string type = 4;
  repeated string externalIPs = 5;
  optional string sessionAffinity = 7;
  optional string loadBalancerIP = 8;
  repeated string loadBalancerSourceRanges = 9;
  optional string externalName = 10;
  optional string externalTrafficPolicy = 11;
  optional int32 healthCheckNodePort = 12;
  optional bool publishNotReadyAddresses = 13;
  optional string ipFamilyPolicy = 17 [(kemu.presence) = true];
  repeated string clusterIPs = 18;
  repeated string ipFamilies = 19;
  optional bool allocateLoadBalancerNodePorts = 20 [(kemu.presence) = true];
  optional string loadBalancerClass = 21 [(kemu.presence) = true];
  optional string internalTrafficPolicy = 22 [(kemu.presence) = true];
  optional string trafficDistribution = 23 [(kemu.presence) = true];
}
message ServicePort {
  optional string name = 1;
  optional string protocol = 2;
  optional int32 port = 3;
  optional k8s.io.apimachinery.pkg.util.intstr.IntOrString targetPort = 4;
  optional int32 nodePort = 5;
  optional string appProtocol = 6 [(kemu.presence) = true];
}
message ResourceQuota {
  optional k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta metadata = 1;
  optional ResourceQuotaSpec spec = 2;
  optional ResourceQuotaStatus status = 3;
}
message ResourceQuotaStatus {}
message ResourceQuotaSpec {
  map<string, k8s.io.apimachinery.pkg.api.resource.Quantity> hard = 1;
  repeated string scopes = 2;
  optional ScopeSelector scopeSelector = 3;
}
message ScopeSelector { repeated ScopedResourceSelectorRequirement matchExpressions = 1; }
message ScopedResourceSelectorRequirement {
  optional string scopeName = 1;
  optional string operator = 2;
  repeated string values = 3;
}
message PodTemplateSpec {
  optional k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta metadata = 1;
  optional PodSpec spec = 2;
}
message PodSpec {
  repeated Volume volumes = 1;
  repeated Container containers = 2;
  optional string restartPolicy = 3;
  optional int64 terminationGracePeriodSeconds = 4 [(kemu.presence) = true];
  optional int64 activeDeadlineSeconds = 5 [(kemu.presence) = true];
  optional string dnsPolicy = 6;
  map<string, string> nodeSelector = 7;
  optional string serviceAccountName = 8;
  optional string serviceAccount = 9;
  optional string nodeName = 10;
  optional bool hostNetwork = 11;
  optional bool hostPID = 12;
  optional bool hostIPC = 13;
  optional PodSecurityContext securityContext = 14;
  repeated LocalObjectReference imagePullSecrets = 15;
  optional string hostname = 16;
  optional string subdomain = 17;
  optional string schedulerName = 19;
  repeated Container initContainers = 20;
  optional bool automountServiceAccountToken = 21 [(kemu.presence) = true];
  repeated Toleration tolerations = 22;
  optional string priorityClassName = 24;
  optional int32 priority = 25 [(kemu.presence) = true];
  optional bool shareProcessNamespace = 27 [(kemu.presence) = true];
  optional string runtimeClassName = 29 [(kemu.presence) = true];
  optional bool enableServiceLinks = 30 [(kemu.presence) = true];
  optional string preemptionPolicy = 31 [(kemu.presence) = true];
  optional bool setHostnameAsFQDN = 35 [(kemu.presence) = true];
  optional bool hostUsers = 37 [(kemu.presence) = true];
}
message PodSecurityContext {
  optional int64 runAsUser = 1 [(kemu.presence) = true];
  optional bool runAsNonRoot = 3 [(kemu.presence) = true];
  repeated int64 supplementalGroups = 4;
  optional int64 fsGroup = 5 [(kemu.presence) = true];
  optional int64 runAsGroup = 6 [(kemu.presence) = true];
}
message Toleration {
  optional string key = 1;
  optional string operator = 2;
  optional string value = 3;
  optional string effect = 4;
  optional int64 tolerationSeconds = 5 [(kemu.presence) = true];
}
message Container {
  optional string name = 1;
  optional string image = 2;
  repeated string command = 3;
  repeated string args = 4;
  optional string workingDir = 5;
  repeated ContainerPort ports = 6;
  repeated EnvVar env = 7;
  optional ResourceRequirements resources = 8;
  repeated VolumeMount volumeMounts = 9;
  optional Probe livenessProbe = 10;
  optional Probe readinessProbe = 11;
  optional string terminationMessagePath = 13;
  optional string imagePullPolicy = 14;
  optional SecurityContext securityContext = 15;
  optional bool stdin = 16;
  optional bool stdinOnce = 17;
  optional bool tty = 18;
  repeated EnvFromSource envFrom = 19;
  optional string terminationMessagePolicy = 20;
  optional Probe startupProbe = 22;
  optional string restartPolicy = 24 [(kemu.presence) = true];
}
message SecurityContext {
  optional bool privileged = 2 [(kemu.presence) = true];
  optional int64 runAsUser = 4 [(kemu.presence) = true];
  optional bool runAsNonRoot = 5 [(kemu.presence) = true];
  optional bool readOnlyRootFilesystem = 6 [(kemu.presence) = true];
  optional bool allowPrivilegeEscalation = 7 [(kemu.presence) = true];
  optional int64 runAsGroup = 8 [(kemu.presence) = true];
}
message ContainerPort {
  optional string name = 1;
  optional int32 hostPort = 2;
  optional int32 containerPort = 3;
  optional string protocol = 4;
  optional string hostIP = 5;
}
message EnvVar {
  optional string name = 1;
  optional string value = 2;
  optional EnvVarSource valueFrom = 3;
}
message EnvVarSource {
  optional ObjectFieldSelector fieldRef = 1;
  optional ResourceFieldSelector resourceFieldRef = 2;
  optional ConfigMapKeySelector configMapKeyRef = 3;
  optional SecretKeySelector secretKeyRef = 4;
}
message ObjectFieldSelector { optional string apiVersion = 1; optional string fieldPath = 2; }
message ResourceFieldSelector {
  optional string containerName = 1;
  optional string resource = 2;
  optional k8s.io.apimachinery.pkg.api.resource.Quantity divisor = 3;
}
message ConfigMapKeySelector {
  optional LocalObjectReference localObjectReference = 1 [(kemu.inline) = true];
  optional string key = 2;
  optional bool optional = 3 [(kemu.presence) = true];
}
message SecretKeySelector {
  optional LocalObjectReference localObjectReference = 1 [(kemu.inline) = true];
  optional string key = 2;
  optional bool optional = 3 [(kemu.presence) = true];
}
message EnvFromSource {
  optional string prefix = 1;
  optional ConfigMapEnvSource configMapRef = 2;
  optional SecretEnvSource secretRef = 3;
}
message ConfigMapEnvSource {
  optional LocalObjectReference localObjectReference = 1 [(kemu.inline) = true];
  optional bool optional = 2 [(kemu.presence) = true];
}
message SecretEnvSource {
  optional LocalObjectReference localObjectReference = 1 [(kemu.inline) = true];
  optional bool optional = 2 [(kemu.presence) = true];
}
message ResourceRequirements {
  map<string, k8s.io.apimachinery.pkg.api.resource.Quantity> limits = 1;
  map<string, k8s.io.apimachinery.pkg.api.resource.Quantity> requests = 2;
}
message Probe {
  optional ProbeHandler handler = 1 [(kemu.inline) = true];
  optional int32 initialDelaySeconds = 2;
  optional int32 timeoutSeconds = 3;
  optional int32 periodSeconds = 4;
  optional int32 successThreshold = 5;
  optional int32 failureThreshold = 6;
  optional int64 terminationGracePeriodSeconds = 7 [(kemu.presence) = true];
}
message ProbeHandler {
  optional ExecAction exec = 1;
  optional HTTPGetAction httpGet = 2;
  optional TCPSocketAction tcpSocket = 3;
}
message ExecAction { repeated string command = 1; }
message HTTPGetAction {
  optional string path = 1;
  optional k8s.io.apimachinery.pkg.util.intstr.IntOrString port = 2;
  optional string host = 3;
  optional string scheme = 4;
  repeated HTTPHeader httpHeaders = 5;
}
message HTTPHeader { optional string name = 1; optional string value = 2; }
message TCPSocketAction {
  optional k8s.io.apimachinery.pkg.util.intstr.IntOrString port = 1;
  optional string host = 2;
}
message Volume {
  optional string name = 1;
  optional VolumeSource volumeSource = 2 [(kemu.inline) = true];
}
message VolumeSource {
  optional HostPathVolumeSource hostPath = 1;
  optional EmptyDirVolumeSource emptyDir = 2;
  optional SecretVolumeSource secret = 6;
  optional PersistentVolumeClaimVolumeSource persistentVolumeClaim = 10;
  optional ConfigMapVolumeSource configMap = 19;
}
message HostPathVolumeSource {
  optional string path = 1;
  optional string type = 2 [(kemu.presence) = true];
}
message EmptyDirVolumeSource {
  optional string medium = 1;
  optional k8s.io.apimachinery.pkg.api.resource.Quantity sizeLimit = 2;
}
message SecretVolumeSource {
  optional string secretName = 1;
  repeated KeyToPath items = 2;
  optional int32 defaultMode = 3 [(kemu.presence) = true];
  optional bool optional = 4 [(kemu.presence) = true];
}
message ConfigMapVolumeSource {
  optional LocalObjectReference localObjectReference = 1 [(kemu.inline) = true];
  repeated KeyToPath items = 2;
  optional int32 defaultMode = 3 [(kemu.presence) = true];
  optional bool optional = 4 [(kemu.presence) = true];
}
message KeyToPath {
  optional string key = 1;
  optional string path = 2;
  optional int32 mode = 3 [(kemu.presence) = true];
}
message PersistentVolumeClaimVolumeSource { optional string claimName = 1; optional bool readOnly = 2; }
message VolumeMount {
  optional string name = 1;
  optional bool readOnly = 2;
  optional string mountPath = 3;
  optional string subPath = 4;
  optional string mountPropagation = 5 [(kemu.presence) = true];
  optional string subPathExpr = 6;
}
`;

const APPS_V1 = `
syntax = "proto2";
package k8s.io.api.apps.v1;
message Deployment {
  optional k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta metadata = 1;
  optional DeploymentSpec spec = 2;
  optional DeploymentStatus status = 3;
}
message DeploymentStatus {}
message DeploymentSpec {
  optional int32 replicas = 1 [(kemu.presence) = true];
  optional k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelector selector = 2;
  optional k8s.io.api.core.v1.PodTemplateSpec template = 3;
  optional DeploymentStrategy strategy = 4;
  optional int32 minReadySeconds = 5;
  optional int32 revisionHistoryLimit = 6 [(kemu.presence) = true];
  optional bool paused = 7;
  optional int32 progressDeadlineSeconds = 9 [(kemu.presence) = true];
}
message DeploymentStrategy {
  optional string type = 1;
  optional RollingUpdateDeployment rollingUpdate = 2;
}
message RollingUpdateDeployment {
  optional k8s.io.apimachinery.pkg.util.intstr.IntOrString maxUnavailable = 1;
  optional k8s.io.apimachinery.pkg.util.intstr.IntOrString maxSurge = 2;
}
`;

const BATCH_V1 = `
syntax = "proto2";
package k8s.io.api.batch.v1;
message Job {
  optional k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta metadata = 1;
  optional JobSpec spec = 2;
  optional JobStatus status = 3;
}
message JobStatus {}
message JobSpec {
  optional int32 parallelism = 1 [(kemu.presence) = true];
  optional int32 completions = 2 [(kemu.presence) = true];
  optional int64 activeDeadlineSeconds = 3 [(kemu.presence) = true];
  optional k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelector selector = 4;
  optional bool manualSelector = 5 [(kemu.presence) = true];
  optional k8s.io.api.core.v1.PodTemplateSpec template = 6;
  optional int32 backoffLimit = 7 [(kemu.presence) = true];
  optional int32 ttlSecondsAfterFinished = 8 [(kemu.presence) = true];
  optional string completionMode = 9 [(kemu.presence) = true];
  optional bool suspend = 10 [(kemu.presence) = true];
  optional int32 backoffLimitPerIndex = 12 [(kemu.presence) = true];
  optional int32 maxFailedIndexes = 13 [(kemu.presence) = true];
  optional string podReplacementPolicy = 14 [(kemu.presence) = true];
  optional string managedBy = 15 [(kemu.presence) = true];
}
message CronJob {
  optional k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta metadata = 1;
  optional CronJobSpec spec = 2;
  optional CronJobStatus status = 3;
}
message CronJobStatus {}
message CronJobSpec {
  optional string schedule = 1;
  optional int64 startingDeadlineSeconds = 2 [(kemu.presence) = true];
  optional string concurrencyPolicy = 3;
  optional bool suspend = 4 [(kemu.presence) = true];
  optional JobTemplateSpec jobTemplate = 5;
  optional int32 successfulJobsHistoryLimit = 6 [(kemu.presence) = true];
  optional int32 failedJobsHistoryLimit = 7 [(kemu.presence) = true];
  optional string timeZone = 8 [(kemu.presence) = true];
}
message JobTemplateSpec {
  optional k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta metadata = 1;
  optional JobSpec spec = 2;
}
`;

const AUTHENTICATION_V1 = `
syntax = "proto2";
package k8s.io.api.authentication.v1;
message TokenRequest {
  optional k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta metadata = 1;
  optional TokenRequestSpec spec = 2;
  optional TokenRequestStatus status = 3;
}
message TokenRequestStatus {
  optional string token = 1;
  optional k8s.io.apimachinery.pkg.apis.meta.v1.Time expirationTimestamp = 2;
}
message TokenRequestSpec {
  repeated string audiences = 1;
  optional BoundObjectReference boundObjectRef = 3;
  optional int64 expirationSeconds = 4 [(kemu.presence) = true];
}
message BoundObjectReference {
  optional string kind = 1;
  optional string apiVersion = 2;
  optional string name = 3;
  optional string uID = 4 [json_name = "uid"];
}
`;

const RBAC_V1 = `
syntax = "proto2";
package k8s.io.api.rbac.v1;
message Role {
  optional k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta metadata = 1;
  repeated PolicyRule rules = 2;
}
message ClusterRole {
  optional k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta metadata = 1;
  repeated PolicyRule rules = 2;
  optional AggregationRule aggregationRule = 3;
}
message AggregationRule { repeated k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelector clusterRoleSelectors = 1; }
message PolicyRule {
  repeated string verbs = 1;
  repeated string apiGroups = 2;
  repeated string resources = 3;
  repeated string resourceNames = 4;
  repeated string nonResourceURLs = 5;
}
message RoleBinding {
  optional k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta metadata = 1;
  repeated Subject subjects = 2;
  optional RoleRef roleRef = 3;
}
message ClusterRoleBinding {
  optional k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta metadata = 1;
  repeated Subject subjects = 2;
  optional RoleRef roleRef = 3;
}
message RoleRef { optional string apiGroup = 1; optional string kind = 2; optional string name = 3; }
message Subject {
  optional string kind = 1;
  optional string apiGroup = 2;
  optional string name = 3;
  optional string namespace = 4;
}
`;

const AUTOSCALING_V1 = `
syntax = "proto2";
package k8s.io.api.autoscaling.v1;
message HorizontalPodAutoscaler {
  optional k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta metadata = 1;
  optional HorizontalPodAutoscalerSpec spec = 2;
  optional HorizontalPodAutoscalerStatus status = 3;
}
message HorizontalPodAutoscalerStatus {}
message HorizontalPodAutoscalerSpec {
  optional CrossVersionObjectReference scaleTargetRef = 1;
  optional int32 minReplicas = 2 [(kemu.presence) = true];
  optional int32 maxReplicas = 3;
  optional int32 targetCPUUtilizationPercentage = 4 [(kemu.presence) = true];
}
message CrossVersionObjectReference { optional string kind = 1; optional string name = 2; optional string apiVersion = 3; }
`;

const POLICY_V1 = `
syntax = "proto2";
package k8s.io.api.policy.v1;
message PodDisruptionBudget {
  optional k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta metadata = 1;
  optional PodDisruptionBudgetSpec spec = 2;
  optional PodDisruptionBudgetStatus status = 3;
}
message PodDisruptionBudgetStatus {}
message PodDisruptionBudgetSpec {
  optional k8s.io.apimachinery.pkg.util.intstr.IntOrString minAvailable = 1;
  optional k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelector selector = 2;
  optional k8s.io.apimachinery.pkg.util.intstr.IntOrString maxUnavailable = 3;
  optional string unhealthyPodEvictionPolicy = 4 [(kemu.presence) = true];
}
`;

const SCHEDULING_V1 = `
syntax = "proto2";
package k8s.io.api.scheduling.v1;
message PriorityClass {
  optional k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta metadata = 1;
  optional int32 value = 2;
  optional bool globalDefault = 3;
  optional string description = 4;
  optional string preemptionPolicy = 5 [(kemu.presence) = true];
}
`;

const NETWORKING_V1 = `
syntax = "proto2";
package k8s.io.api.networking.v1;
message Ingress {
  optional k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta metadata = 1;
  optional IngressSpec spec = 2;
  optional IngressStatus status = 3;
}
message IngressStatus {}
message IngressSpec {
  optional IngressBackend defaultBackend = 1;
  repeated IngressTLS tls = 2;
  repeated IngressRule rules = 3;
  optional string ingressClassName = 4 [(kemu.presence) = true];
}
message IngressBackend {
  optional k8s.io.api.core.v1.TypedLocalObjectReference resource = 3;
  optional IngressServiceBackend service = 4;
}
message IngressServiceBackend { optional string name = 1; optional ServiceBackendPort port = 2; }
message ServiceBackendPort { optional string name = 1; optional int32 number = 2; }
message IngressTLS { repeated string hosts = 1; optional string secretName = 2; }
message IngressRule {
  optional string host = 1;
  optional IngressRuleValue ingressRuleValue = 2 [(kemu.inline) = true];
}
message IngressRuleValue { optional HTTPIngressRuleValue http = 1; }
message HTTPIngressRuleValue { repeated HTTPIngressPath paths = 1; }
message HTTPIngressPath {
  optional string path = 1;
  optional IngressBackend backend = 2;
  optional string pathType = 3 [(kemu.presence) = true];
}
`;

/** The .proto sources, one per upstream package, parsed into one protobufjs Root. */
export const PROTO_SOURCES: readonly string[] = [
  META_V1,
  RUNTIME,
  INTSTR,
  RESOURCE,
  CORE_V1,
  APPS_V1,
  BATCH_V1,
  AUTHENTICATION_V1,
  RBAC_V1,
  AUTOSCALING_V1,
  POLICY_V1,
  SCHEDULING_V1,
  NETWORKING_V1,
];

/** `apiVersion` → Kubernetes kind → fully qualified message name of the top-level objects we decode. */
export const TOP_LEVEL_KINDS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  v1: {
    Namespace: 'k8s.io.api.core.v1.Namespace',
    ConfigMap: 'k8s.io.api.core.v1.ConfigMap',
    Secret: 'k8s.io.api.core.v1.Secret',
    Service: 'k8s.io.api.core.v1.Service',
    ServiceAccount: 'k8s.io.api.core.v1.ServiceAccount',
    ResourceQuota: 'k8s.io.api.core.v1.ResourceQuota',
  },
  'apps/v1': { Deployment: 'k8s.io.api.apps.v1.Deployment' },
  'batch/v1': { Job: 'k8s.io.api.batch.v1.Job', CronJob: 'k8s.io.api.batch.v1.CronJob' },
  'authentication.k8s.io/v1': { TokenRequest: 'k8s.io.api.authentication.v1.TokenRequest' },
  'rbac.authorization.k8s.io/v1': {
    Role: 'k8s.io.api.rbac.v1.Role',
    ClusterRole: 'k8s.io.api.rbac.v1.ClusterRole',
    RoleBinding: 'k8s.io.api.rbac.v1.RoleBinding',
    ClusterRoleBinding: 'k8s.io.api.rbac.v1.ClusterRoleBinding',
  },
  'autoscaling/v1': { HorizontalPodAutoscaler: 'k8s.io.api.autoscaling.v1.HorizontalPodAutoscaler' },
  'policy/v1': { PodDisruptionBudget: 'k8s.io.api.policy.v1.PodDisruptionBudget' },
  'scheduling.k8s.io/v1': { PriorityClass: 'k8s.io.api.scheduling.v1.PriorityClass' },
  'networking.k8s.io/v1': { Ingress: 'k8s.io.api.networking.v1.Ingress' },
};
