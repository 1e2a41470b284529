// resource.Quantity: exact fixed-point arithmetic over nano-units (bigint), so the scheduler can sum
// `100m` + `0.25` or `512Mi` + `1Gi` without floating-point drift. Parsing rounds sub-nano precision
// up (away from zero) like upstream; formatting reproduces upstream's canonical form
// (`1500m`, `1`, `1536Mi`, `1e3`, `15k`).
import { QuantityError } from './errors.js';

export type QuantityFormat = 'DecimalSI' | 'BinarySI' | 'DecimalExponent';

const FORMAT_WRONG = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
const SUFFIX_WRONG = "unable to parse quantity's suffix";
const QUANTITY_RE = /^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$/;

const NANO = 1_000_000_000n;
const decimalSuffixes: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const binarySuffixes: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const decimalSuffixByExp = new Map(Object.entries(decimalSuffixes).map(([s, e]) => [e, s]));
const binarySuffixByPower = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];
// Exponents beyond this are not meaningful resource amounts and would make bigints explode.
const MAX_EXPONENT = 100;

function pow10(n: number): bigint {
  return 10n ** BigInt(n);
}

/** Divide rounding away from zero (inf.RoundUp), which is how upstream drops sub-nano precision. */
function divRoundUp(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b === 0n ? q : a < 0n ? q - 1n : q + 1n;
}

export class Quantity {
  /** The amount in units of 10^-9. */
  readonly nanos: bigint;
  readonly format: QuantityFormat;

  constructor(nanos: bigint, format: QuantityFormat = 'DecimalSI') {
    this.nanos = nanos;
    this.format = format;
  }

  static parse(input: string): Quantity {
    return parseQuantity(input);
  }

  static fromMilli(milli: number | bigint, format: QuantityFormat = 'DecimalSI'): Quantity {
    return new Quantity(BigInt(milli) * 1_000_000n, format);
  }

  static fromInt(value: number | bigint, format: QuantityFormat = 'DecimalSI'): Quantity {
    return new Quantity(BigInt(value) * NANO, format);
  }

  static zero(format: QuantityFormat = 'DecimalSI'): Quantity {
    return new Quantity(0n, format);
  }

  isZero(): boolean {
    return this.nanos === 0n;
  }

  sign(): -1 | 0 | 1 {
    return this.nanos === 0n ? 0 : this.nanos < 0n ? -1 : 1;
  }

  cmp(other: Quantity): -1 | 0 | 1 {
    return this.nanos === other.nanos ? 0 : this.nanos < other.nanos ? -1 : 1;
  }

  equals(other: Quantity): boolean {
    return this.nanos === other.nanos;
  }

  /** Sum keeps the receiver's format, as upstream Quantity.Add does (a zero receiver adopts the other's). */
  add(other: Quantity): Quantity {
    return new Quantity(this.nanos + other.nanos, this.isZero() ? other.format : this.format);
  }

  sub(other: Quantity): Quantity {
    return new Quantity(this.nanos - other.nanos, this.isZero() ? other.format : this.format);
  }

  /** Rounded up (away from zero) to a multiple of 10^-3, like upstream's RoundUp(Milli). */
  roundUpToMilli(): Quantity {
    return new Quantity(divRoundUp(this.nanos, 1_000_000n) * 1_000_000n, this.format);
  }

  neg(): Quantity {
    return new Quantity(-this.nanos, this.format);
  }

  /** Milli-units rounded up (away from zero), like MilliValue(): `100m` → 100, `1` → 1000. */
  milli(): bigint {
    return divRoundUp(this.nanos, 1_000_000n);
  }

  /** Whole units rounded up (away from zero), like Value(): `1Gi` → 1073741824, `100m` → 1. */
  whole(): bigint {
    return divRoundUp(this.nanos, NANO);
  }

  milliValue(): number {
    return Number(this.milli());
  }

  value(): number {
    return Number(this.whole());
  }

  /** Approximate float for ratios and display (never for sums). */
  toNumber(): number {
    return Number(this.nanos) / 1e9;
  }

  toString(): string {
    return formatQuantity(this);
  }

  toJSON(): string {
    return this.toString();
  }
}

export function parseQuantity(input: string): Quantity {
  if (input.length === 0) throw new QuantityError(FORMAT_WRONG);
  const m = QUANTITY_RE.exec(input);
  if (m === null) throw new QuantityError(FORMAT_WRONG);
  let num = m[1] ?? '';
  const suffix = m[2] ?? '';
  let negative = false;
  if (num.startsWith('+') || num.startsWith('-')) {
    negative = num.startsWith('-');
    num = num.slice(1);
  }
  const dot = num.indexOf('.');
  if (dot !== num.lastIndexOf('.')) throw new QuantityError(FORMAT_WRONG);
  const intPart = dot < 0 ? num : num.slice(0, dot);
  const fracPart = dot < 0 ? '' : num.slice(dot + 1);
  if (intPart.length + fracPart.length === 0) throw new QuantityError(FORMAT_WRONG);
  let mantissa = BigInt(`${intPart}${fracPart}` || '0');
  if (negative) mantissa = -mantissa;
  const scale = fracPart.length; // value = mantissa * 10^-scale

  let format: QuantityFormat;
  let nanos: bigint;
  const decExp = decimalSuffixes[suffix];
  const binPow = binarySuffixes[suffix];
  if (decExp !== undefined) {
    format = 'DecimalSI';
    nanos = scaleDecimal(mantissa, 9 - scale + decExp);
  } else if (binPow !== undefined) {
    format = 'BinarySI';
    nanos = divRoundUp(mantissa * (1n << BigInt(binPow)) * NANO, pow10(scale));
  } else if (/^[eE][-+]?[0-9]+$/.test(suffix)) {
    const exp = Number.parseInt(suffix.slice(1), 10);
    if (Math.abs(exp) > MAX_EXPONENT) throw new QuantityError(SUFFIX_WRONG);
    format = 'DecimalExponent';
    nanos = scaleDecimal(mantissa, 9 - scale + exp);
  } else {
    throw new QuantityError(SUFFIX_WRONG);
  }
  return new Quantity(nanos, format);
}

function scaleDecimal(mantissa: bigint, exp: number): bigint {
  return exp >= 0 ? mantissa * pow10(exp) : divRoundUp(mantissa, pow10(-exp));
}

/** Like parseQuantity but returns null instead of throwing (for tolerant readers such as printers). */
export function tryParseQuantity(input: string | undefined | null): Quantity | null {
  if (input === undefined || input === null) return null;
  try {
    return parseQuantity(input);
  } catch {
    return null;
  }
}

/** Canonical string: upstream's CanonicalizeBytes. */
export function formatQuantity(q: Quantity): string {
  let format = q.format;
  if (format === 'BinarySI') {
    const small = q.nanos > -1024n * NANO && q.nanos < 1024n * NANO;
    if (small || q.nanos % NANO !== 0n) format = 'DecimalSI';
  }
  if (format === 'BinarySI') {
    let n = q.nanos / NANO;
    let power = 0;
    while (power < 6 && n % 1024n === 0n && n !== 0n) {
      n /= 1024n;
      power++;
    }
    return `${n}${binarySuffixByPower[power]}`;
  }
  if (q.nanos === 0n) return '0';
  let mantissa = q.nanos;
  let exp = -9;
  const maxExp = format === 'DecimalSI' ? 18 : Number.POSITIVE_INFINITY;
  while (mantissa % 1000n === 0n && exp + 3 <= maxExp) {
    mantissa /= 1000n;
    exp += 3;
  }
  if (format === 'DecimalExponent') return exp === 0 ? `${mantissa}` : `${mantissa}e${exp}`;
  return `${mantissa}${decimalSuffixByExp.get(exp) ?? ''}`;
}

export function compareQuantities(a: string, b: string): -1 | 0 | 1 {
  return parseQuantity(a).cmp(parseQuantity(b));
}

/** Sums resource lists key by key (`{cpu: '100m'} + {cpu: '0.5', memory: '1Gi'}`), canonical strings out. */
export function addResourceLists(...lists: (Record<string, string> | undefined)[]): Record<string, string> {
  const sums = new Map<string, Quantity>();
  for (const list of lists) {
    if (list === undefined) continue;
    for (const [name, value] of Object.entries(list)) {
      const q = parseQuantity(value);
      const prev = sums.get(name);
      sums.set(name, prev === undefined ? q : prev.add(q));
    }
  }
  const out: Record<string, string> = {};
  for (const [name, q] of sums) out[name] = q.toString();
  return out;
}

/**
 * SetDefaults_ResourceList plus JSON re-encoding: every value rounded up to milli precision and
 * written in canonical form (`0.5` → `500m`, `1024Mi` → `1Gi`), which is what a real apiserver
 * stores and returns. Unparsable values are left for validation to report.
 */
export function canonicalResourceList(list: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(list)) {
    const q = tryParseQuantity(value);
    out[name] = q === null ? value : q.roundUpToMilli().toString();
  }
  return out;
}
