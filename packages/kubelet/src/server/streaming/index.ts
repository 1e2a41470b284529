export {
  CHANNEL_CLOSE,
  CHANNEL_ERROR,
  CHANNEL_PROTOCOL_V4,
  CHANNEL_PROTOCOL_V5,
  CHANNEL_RESIZE,
  CHANNEL_STDERR,
  CHANNEL_STDIN,
  CHANNEL_STDOUT,
  type ExecStatus,
  encodeChannelFrame,
  failureStatus,
  nonZeroExitStatus,
  parseResize,
  SUPPORTED_CHANNEL_PROTOCOLS,
  successStatus,
  type TerminalSize,
} from './channel.js';
export { acceptPodStreamUpgrade, type PodStreamBackends } from './dispatch.js';
export { ExecStartError, PortForwardError, SpdyProtocolError, StreamRequestError } from './errors.js';
export type { ExecBackend, ExecExit, ExecSession, ExecStartOptions } from './exec-backend.js';
export { parseExecRequest, parsePodSubresourcePath } from './exec-options.js';
export {
  acceptAttachWebSocket,
  acceptExecWebSocket,
  type ExecOutcome,
  type StreamUpgradeOptions,
} from './exec-websocket.js';
export {
  acceptPortForwardWebSocket,
  PORTFORWARD_SPDY_WEBSOCKET_PROTOCOL,
  type PortForwardBackend,
  type PortForwardOptions,
  type PortForwardOutcome,
  type PortForwardTarget,
} from './portforward-websocket.js';
export { SPDY3_DICTIONARY } from './spdy/dictionary.js';
export * as spdyFrames from './spdy/frames.js';
export { HeaderCodec } from './spdy/header-compression.js';
export { DEFAULT_WINDOW, SpdySession, type SpdySessionOptions, SpdyStream } from './spdy/session.js';
export { offeredProtocols, rejectUpgrade } from './upgrade.js';
