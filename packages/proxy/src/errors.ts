import { KemuError } from '@kemu/runtime';

/** A command-line flag that is missing or malformed (the process prints usage and exits 2). */
export class ProxyFlagError extends KemuError {
  constructor(message: string) {
    super('PROXY_BAD_FLAG', message);
  }
}

/** An address, CIDR or address-plan input that is not what the rule needs. */
export class AddressPlanError extends KemuError {
  constructor(message: string) {
    super('PROXY_BAD_ADDRESS', message);
  }
}
