export { Bitset } from './bitset.js';
export {
  type Candidate,
  type CheckOptions,
  type CheckResult,
  check,
  failures,
  type PartitionResult,
  type StuckPoint,
  type Verdict,
} from './checker.js';
export {
  InvalidEventsError,
  InvalidHistoryError,
  InvalidOptionsError,
  LincheckError,
  UnknownOperationIdError,
} from './errors.js';
export { describeOperation, type ExplainOptions, explain, explainPartition } from './explain.js';
export {
  type ClientId,
  eventsToOperations,
  type History,
  type HistoryEvent,
  isUnknown,
  type Operation,
  operationsToEvents,
  UNKNOWN,
  type Unknown,
  validateHistory,
} from './history.js';
export { canonicalString, determinize, type Model, type NondeterministicModel, type StepResult } from './model.js';
export {
  etcdKvModel,
  type KvCompare,
  type KvInput,
  type KvKeyState,
  type KvModelOptions,
  type KvOutput,
  type KvRequest,
  type KvRevisionMode,
  type KvState,
  partitionByKey,
} from './models/kv.js';
export {
  type RegisterInput,
  type RegisterOutput,
  type RegisterState,
  registerModel,
  UnreadValue,
} from './models/register.js';
export { HistoryRecorder } from './recorder.js';
