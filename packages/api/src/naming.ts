// Generated names as upstream makes them: `generateName` + 5 characters from an alphabet without
// vowels (k8s.io/apiserver names + k8s.io/apimachinery util/rand), and the short hash encoding
// controllers use for `pod-template-hash` and ControllerRevision names. Randomness is injected.

/** Vowel-free alphabet (upstream avoids forming words). */
export const NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
const MAX_NAME_LENGTH = 63;
const RANDOM_LENGTH = 5;
export const MAX_GENERATED_NAME_LENGTH = MAX_NAME_LENGTH - RANDOM_LENGTH;

/** A source of integers in [0, n), e.g. `(n) => seeded.int(n)`; injected for determinism. */
export type RandomInt = (n: number) => number;

/** names.SimpleNameGenerator: base truncated to 58 characters + 5 random characters. */
export function generateName(base: string, randomInt: RandomInt): string {
  const prefix = base.length > MAX_GENERATED_NAME_LENGTH ? base.slice(0, MAX_GENERATED_NAME_LENGTH) : base;
  let suffix = '';
  for (let i = 0; i < RANDOM_LENGTH; i++) suffix += NAME_ALPHABET[randomInt(NAME_ALPHABET.length)] ?? 'x';
  return prefix + suffix;
}

/** rand.SafeEncodeString: every character mapped into the alphabet (no vowels, no look-alikes). */
export function safeEncodeString(s: string): string {
  let out = '';
  for (const ch of s) out += NAME_ALPHABET[(ch.codePointAt(0) ?? 0) % NAME_ALPHABET.length];
  return out;
}

/** FNV-1a, 32 bit (upstream's hasher for template hashes). */
export function fnv32a(data: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(data, 'utf8')) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_k, val: unknown) =>
    val !== null && typeof val === 'object' && !Array.isArray(val)
      ? Object.fromEntries(
          Object.entries(val as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : val,
  );
}

/**
 * controller.ComputeHash: a short, name-safe hash of a pod template (plus the collision count).
 * Same shape as upstream (FNV-32a, decimal, safe-encoded) but over canonical JSON rather than Go's
 * struct dump, so values differ from a real cluster's; stable across key order.
 */
export function computeTemplateHash(template: unknown, collisionCount?: number): string {
  const payload =
    collisionCount === undefined ? canonicalJson(template) : `${canonicalJson(template)}${collisionCount}`;
  return safeEncodeString(String(fnv32a(payload)));
}
