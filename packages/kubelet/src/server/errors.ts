import { KemuError } from '@kemu/runtime';

export type KubeletServerErrorCode = 'KUBELET_BAD_REQUEST' | 'KUBELET_NOT_FOUND' | 'KUBELET_INTERNAL';

/** A kubelet HTTP request that cannot be served; answered with `httpStatus` and the message as body. */
export class KubeletServerError extends KemuError {
  declare readonly code: KubeletServerErrorCode;
  readonly httpStatus: number;

  constructor(code: KubeletServerErrorCode, message: string, httpStatus: number, options?: { cause?: unknown }) {
    super(code, message, options);
    this.httpStatus = httpStatus;
  }
}
