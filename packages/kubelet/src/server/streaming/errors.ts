import { KemuError } from '@kemu/runtime';

/** A streaming upgrade request (exec/attach/portforward) that cannot be served; answered before 101. */
export class StreamRequestError extends KemuError {
  readonly httpStatus: number;
  declare readonly code: 'STREAM_BAD_REQUEST' | 'STREAM_PROTOCOL_UNSUPPORTED' | 'STREAM_NOT_UPGRADE';

  constructor(
    code: 'STREAM_BAD_REQUEST' | 'STREAM_PROTOCOL_UNSUPPORTED' | 'STREAM_NOT_UPGRADE',
    message: string,
    httpStatus = 400,
  ) {
    super(code, message);
    this.httpStatus = httpStatus;
  }
}

/** A peer broke the SPDY/3.1 framing rules; the session answers with GOAWAY/RST_STREAM. */
export class SpdyProtocolError extends KemuError {
  declare readonly code:
    | 'SPDY_PROTOCOL_ERROR'
    | 'SPDY_FRAME_TOO_LARGE'
    | 'SPDY_UNSUPPORTED_VERSION'
    | 'SPDY_HEADER_BLOCK';

  constructor(
    code: 'SPDY_PROTOCOL_ERROR' | 'SPDY_FRAME_TOO_LARGE' | 'SPDY_UNSUPPORTED_VERSION' | 'SPDY_HEADER_BLOCK',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/** A port-forward stream pair that cannot be served (bad headers, target unreachable). */
export class PortForwardError extends KemuError {
  declare readonly code: 'PORTFORWARD_BAD_HEADERS' | 'PORTFORWARD_CONNECT_FAILED';

  constructor(
    code: 'PORTFORWARD_BAD_HEADERS' | 'PORTFORWARD_CONNECT_FAILED',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/** The exec/attach backend could not start the requested process. */
export class ExecStartError extends KemuError {
  declare readonly code: 'EXEC_START_FAILED' | 'EXEC_CONTAINER_NOT_FOUND';

  constructor(code: 'EXEC_START_FAILED' | 'EXEC_CONTAINER_NOT_FOUND', message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
