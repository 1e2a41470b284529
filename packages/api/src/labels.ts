// Label selectors: the string syntax (`a=b,c!=d,e in (x,y),f notin (z),g,!h`, plus `gt`/`lt` and
// `>`/`<`) with upstream's lexer/parser and error wording, and metav1.LabelSelector objects
// (matchLabels / matchExpressions). Both compile to a Selector that matches label maps.
import { LabelSelectorError } from './errors.js';
import type { LabelSelector } from './types/meta.js';
import { aggregateMessage, errorString, type FieldError, fieldErr } from './validation/field-error.js';
import { goStringSlice } from './validation/go-format.js';
import { isQualifiedName, isValidLabelValue } from './validation/names.js';

export type LabelOperator = 'in' | 'notin' | '=' | '==' | '!=' | 'exists' | '!' | 'gt' | 'lt';

export interface LabelRequirement {
  readonly key: string;
  readonly operator: LabelOperator;
  /** Sorted and de-duplicated when parsed from a string; in the given order from LabelSelector objects. */
  readonly values: readonly string[];
}

export interface Selector {
  /** True for the selector that matches everything (no requirements). */
  readonly empty: boolean;
  readonly requirements: readonly LabelRequirement[];
  matches(labels: Readonly<Record<string, string>> | undefined | null): boolean;
  /** Canonical form, requirements sorted by key, as upstream's Selector.String(). */
  toString(): string;
}

function requirementMatches(r: LabelRequirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.hasOwn(labels, r.key);
  const value = has ? labels[r.key] : undefined;
  switch (r.operator) {
    case 'in':
    case '=':
    case '==':
      return has && r.values.includes(value ?? '');
    case 'notin':
    case '!=':
      return !has || !r.values.includes(value ?? '');
    case 'exists':
      return has;
    case '!':
      return !has;
    case 'gt':
    case 'lt': {
      if (!has || !/^-?[0-9]+$/.test(value ?? '')) return false;
      const lhs = BigInt(value ?? '0');
      const rhs = BigInt(r.values[0] ?? '0');
      return r.operator === 'gt' ? lhs > rhs : lhs < rhs;
    }
  }
}

export function requirementToString(r: LabelRequirement): string {
  const values = r.values.length === 1 ? (r.values[0] ?? '') : [...r.values].sort().join(',');
  switch (r.operator) {
    case '!':
      return `!${r.key}`;
    case 'exists':
      return r.key;
    case 'in':
      return `${r.key} in (${values})`;
    case 'notin':
      return `${r.key} notin (${values})`;
    case 'gt':
      return `${r.key}>${values}`;
    case 'lt':
      return `${r.key}<${values}`;
    default:
      return `${r.key}${r.operator}${values}`;
  }
}

class RequirementSelector implements Selector {
  readonly requirements: readonly LabelRequirement[];
  constructor(requirements: LabelRequirement[]) {
    // Stable sort by key, like upstream's ByKey.
    this.requirements = [...requirements].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }
  get empty(): boolean {
    return this.requirements.length === 0;
  }
  matches(labels: Readonly<Record<string, string>> | undefined | null): boolean {
    const l = labels ?? {};
    return this.requirements.every((r) => requirementMatches(r, l));
  }
  toString(): string {
    return this.requirements.map(requirementToString).join(',');
  }
}

/** labels.Everything(): matches every object. */
export function everything(): Selector {
  return new RequirementSelector([]);
}

/** labels.Nothing(): what a nil LabelSelector means; matches no object. */
export function nothing(): Selector {
  return { empty: false, requirements: [], matches: () => false, toString: () => '' };
}

/**
 * labels.NewRequirement: validates key and values; errors joined like upstream's aggregate. Upstream
 * passes no field path, so key errors read `key: …` and value errors `values[0][<key>]: …`.
 */
export function newRequirement(key: string, operator: LabelOperator, values: readonly string[]): LabelRequirement {
  const errs: FieldError[] = [];
  const keyErrs = isQualifiedName(key);
  if (keyErrs.length > 0) errs.push(fieldErr.invalid('key', key, keyErrs.join('; ')));
  const bad = { go: goStringSlice(values) };
  switch (operator) {
    case 'in':
    case 'notin':
      if (values.length === 0)
        errs.push(fieldErr.invalid('values', bad, "for 'in', 'notin' operators, values set can't be empty"));
      break;
    case '=':
    case '==':
    case '!=':
      if (values.length !== 1)
        errs.push(fieldErr.invalid('values', bad, 'exact-match compatibility requires one single value'));
      break;
    case 'exists':
    case '!':
      if (values.length !== 0)
        errs.push(fieldErr.invalid('values', bad, 'values set must be empty for exists and does not exist'));
      break;
    case 'gt':
    case 'lt':
      if (values.length !== 1) {
        errs.push(fieldErr.invalid('values', bad, "for 'Gt', 'Lt' operators, exactly one value is required"));
      }
      values.forEach((v, i) => {
        if (!/^[-+]?[0-9]+$/.test(v)) {
          errs.push(fieldErr.invalid(`values[${i}]`, v, "for 'Gt', 'Lt' operators, the value must be an integer"));
        }
      });
      break;
  }
  values.forEach((v, i) => {
    const valErrs = isValidLabelValue(v);
    if (valErrs.length > 0) errs.push(fieldErr.invalid(`values[${i}][${key}]`, v, valErrs.join('; ')));
  });
  if (errs.length > 0) throw new LabelSelectorError(aggregateMessage(errs.map(errorString)));
  return { key, operator, values: [...values] };
}

// ---------- lexer ----------
type Tok = 'end' | 'error' | 'ident' | 'in' | 'notin' | '(' | ')' | ',' | '!' | '=' | '==' | '!=' | '>' | '<';

interface Item {
  tok: Tok;
  lit: string;
}

const symbolTokens: Record<string, Tok> = {
  ')': ')',
  ',': ',',
  '!': '!',
  '==': '==',
  '=': '=',
  '>': '>',
  '<': '<',
  '!=': '!=',
  '(': '(',
};
const isWhitespace = (c: string) => c === ' ' || c === '\t' || c === '\r' || c === '\n';
const isSpecial = (c: string) => '=!(),><'.includes(c);

function lex(s: string): Item[] {
  const items: Item[] = [];
  let pos = 0;
  for (;;) {
    while (pos < s.length && isWhitespace(s[pos] ?? '')) pos++;
    if (pos >= s.length) {
      items.push({ tok: 'end', lit: '' });
      return items;
    }
    const c = s[pos] ?? '';
    if (isSpecial(c)) {
      // Longest special-symbol sequence that is a known token (upstream scanSpecialSymbol).
      let buffer = '';
      let last: Item | null = null;
      while (pos < s.length && isSpecial(s[pos] ?? '')) {
        buffer += s[pos];
        const tok = symbolTokens[buffer];
        if (tok !== undefined) {
          last = { tok, lit: buffer };
          pos++;
        } else if (last !== null) {
          break;
        } else {
          pos++;
        }
      }
      items.push(last ?? { tok: 'error', lit: `error expected: keyword found '${buffer}'` });
      continue;
    }
    let word = '';
    while (pos < s.length && !isWhitespace(s[pos] ?? '') && !isSpecial(s[pos] ?? '')) word += s[pos++];
    items.push({ tok: word === 'in' ? 'in' : word === 'notin' ? 'notin' : 'ident', lit: word });
  }
}

// ---------- parser ----------
type Context = 'keyAndOperator' | 'values';

class Parser {
  private pos = 0;
  constructor(private readonly items: Item[]) {}

  private view(item: Item, ctx: Context): Item {
    // In a values context the keywords `in`/`notin` are plain identifiers.
    if (ctx === 'values' && (item.tok === 'in' || item.tok === 'notin')) return { tok: 'ident', lit: item.lit };
    return item;
  }
  lookahead(ctx: Context): Item {
    return this.view(this.items[this.pos] ?? { tok: 'end', lit: '' }, ctx);
  }
  consume(ctx: Context): Item {
    const item = this.lookahead(ctx);
    if (this.pos < this.items.length - 1) this.pos++;
    return item;
  }

  parse(): LabelRequirement[] {
    const reqs: LabelRequirement[] = [];
    for (;;) {
      const { tok, lit } = this.lookahead('values');
      if (tok === 'ident' || tok === '!') {
        let r: LabelRequirement;
        try {
          r = this.parseRequirement();
        } catch (err) {
          throw new LabelSelectorError(`unable to parse requirement: ${(err as Error).message}`);
        }
        reqs.push(r);
        const next = this.consume('values');
        if (next.tok === 'end') return reqs;
        if (next.tok === ',') {
          const after = this.lookahead('values');
          if (after.tok !== 'ident' && after.tok !== '!') {
            throw new LabelSelectorError(`found '${after.lit}', expected: identifier after ','`);
          }
        } else {
          throw new LabelSelectorError(`found '${next.lit}', expected: ',' or 'end of string'`);
        }
      } else if (tok === 'end') {
        return reqs;
      } else {
        throw new LabelSelectorError(`found '${lit}', expected: !, identifier, or 'end of string'`);
      }
    }
  }

  private parseRequirement(): LabelRequirement {
    let operator: LabelOperator | null = null;
    let item = this.consume('values');
    if (item.tok === '!') {
      operator = '!';
      item = this.consume('values');
    }
    if (item.tok !== 'ident') throw new Error(`found '${item.lit}', expected: identifier`);
    const key = item.lit;
    const keyErrs = isQualifiedName(key);
    if (keyErrs.length > 0) throw new Error(errorString(fieldErr.invalid('<nil>', key, keyErrs.join('; '))));
    const next = this.lookahead('values').tok;
    // `!key` never takes an operator; whatever follows is reported by parse() as a misplaced token.
    if (operator === '!') return newRequirement(key, '!', []);
    if (next === 'end' || next === ',') return newRequirement(key, 'exists', []);
    const op = this.parseOperator();
    const values = op === 'in' || op === 'notin' ? this.parseValues() : this.parseExactValue();
    return newRequirement(key, op, [...values].sort());
  }

  private parseOperator(): LabelOperator {
    const { tok, lit } = this.consume('keyAndOperator');
    switch (tok) {
      case 'in':
        return 'in';
      case 'notin':
        return 'notin';
      case '=':
        return '=';
      case '==':
        return '==';
      case '!=':
        return '!=';
      case '>':
        return 'gt';
      case '<':
        return 'lt';
      default:
        throw new Error(`found '${lit}', expected: in, notin, =, ==, !=, gt, lt`);
    }
  }

  private parseValues(): Set<string> {
    const open = this.consume('values');
    if (open.tok !== '(') throw new Error(`found '${open.lit}' expected: '('`);
    const { tok, lit } = this.lookahead('values');
    if (tok === 'ident' || tok === ',') {
      const s = this.parseIdentifiersList();
      if (this.consume('values').tok !== ')') throw new Error(`found '${lit}', expected: ')'`);
      return s;
    }
    if (tok === ')') {
      this.consume('values');
      return new Set(['']);
    }
    throw new Error(`found '${lit}', expected: ',', ')' or identifier`);
  }

  private parseIdentifiersList(): Set<string> {
    const s = new Set<string>();
    for (;;) {
      const { tok, lit } = this.consume('values');
      if (tok === 'ident') {
        s.add(lit);
        const next = this.lookahead('values');
        if (next.tok === ',') continue;
        if (next.tok === ')') return s;
        throw new Error(`found '${next.lit}', expected: ',' or ')'`);
      }
      if (tok === ',') {
        if (s.size === 0) s.add('');
        const next = this.lookahead('values').tok;
        if (next === ')') {
          s.add('');
          return s;
        }
        if (next === ',') {
          this.consume('values');
          s.add('');
        }
        continue;
      }
      throw new Error(`found '${lit}', expected: ',', or identifier`);
    }
  }

  private parseExactValue(): Set<string> {
    const { tok } = this.lookahead('values');
    if (tok === 'end' || tok === ',') return new Set(['']);
    const item = this.consume('values');
    if (item.tok === 'ident') return new Set([item.lit]);
    throw new Error(`found '${item.lit}', expected: identifier`);
  }
}

/** labels.Parse. Throws LabelSelectorError with upstream's message. */
export function parseLabelSelector(selector: string): Selector {
  return new RequirementSelector(new Parser(lex(selector)).parse());
}

/** metav1.LabelSelectorAsSelector: null/undefined → nothing; `{}` → everything. */
export function labelSelectorAsSelector(sel: LabelSelector | null | undefined): Selector {
  if (sel === null || sel === undefined) return nothing();
  const matchLabels = sel.matchLabels ?? {};
  const exprs = sel.matchExpressions ?? [];
  if (Object.keys(matchLabels).length + exprs.length === 0) return everything();
  const reqs: LabelRequirement[] = [];
  for (const [k, v] of Object.entries(matchLabels)) reqs.push(newRequirement(k, '=', [v]));
  for (const e of exprs) {
    const op: LabelOperator | undefined = (
      { In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!' } as Record<string, LabelOperator>
    )[e.operator];
    if (op === undefined)
      throw new LabelSelectorError(`${JSON.stringify(e.operator)} is not a valid label selector operator`);
    reqs.push(newRequirement(e.key, op, e.values ?? []));
  }
  return new RequirementSelector(reqs);
}

/** A selector from a plain map (Service.spec.selector, nodeSelector): every pair must match. */
export function selectorFromSet(set: Readonly<Record<string, string>> | undefined | null): Selector {
  return new RequirementSelector(Object.entries(set ?? {}).map(([k, v]) => ({ key: k, operator: '=', values: [v] })));
}

/** metav1.FormatLabelSelector: `<none>` for empty, `<error>` for invalid. */
export function formatLabelSelector(sel: LabelSelector | null | undefined): string {
  let s: string;
  try {
    s = labelSelectorAsSelector(sel).toString();
  } catch {
    return '<error>';
  }
  return s.length === 0 ? '<none>' : s;
}

/** labels.FormatLabels: `k=v,…` sorted by key, `<none>` when empty. */
export function formatLabels(labels: Readonly<Record<string, string>> | undefined | null): string {
  const keys = Object.keys(labels ?? {}).sort();
  if (keys.length === 0) return '<none>';
  return keys.map((k) => `${k}=${labels?.[k] ?? ''}`).join(',');
}
