// Renders values the way Go's fmt does in apimachinery field errors (`%v` for scalars, `%q` for
// strings, `%#v` for maps, slices and structs), because kubectl users see these strings verbatim,
// e.g. `map[string]string{"app":"web"}`.

/** A value tagged with the Go type name it had upstream, for `%#v` of structs and typed slices. */
export interface GoTyped {
  goType: string;
  value: unknown;
}

export function goQuote(s: string): string {
  // Go %q escapes like JSON for the characters that matter here (quotes, backslashes, control chars).
  return JSON.stringify(s);
}

/** `%#v` for map[string]string. Go prints map keys sorted. */
export function goStringMap(m: Record<string, string> | undefined | null): string {
  if (m === undefined || m === null) return 'map[string]string(nil)';
  const keys = Object.keys(m).sort();
  return `map[string]string{${keys.map((k) => `${goQuote(k)}:${goQuote(m[k] ?? '')}`).join(', ')}}`;
}

/** `%#v` for []string. */
export function goStringSlice(xs: readonly string[] | undefined | null): string {
  if (xs === undefined || xs === null) return '[]string(nil)';
  return `[]string{${xs.map(goQuote).join(', ')}}`;
}

/** `%#v` of a metav1.LabelSelector value (the pointer is dereferenced by field.Error first). */
export function goLabelSelector(sel: {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}): string {
  const exprs =
    sel.matchExpressions === undefined
      ? '[]v1.LabelSelectorRequirement(nil)'
      : `[]v1.LabelSelectorRequirement{${sel.matchExpressions
          .map(
            (e) =>
              `v1.LabelSelectorRequirement{Key:${goQuote(e.key)}, Operator:${goQuote(e.operator)}, Values:${goStringSlice(e.values)}}`,
          )
          .join(', ')}}`;
  return `v1.LabelSelector{MatchLabels:${goStringMap(sel.matchLabels)}, MatchExpressions:${exprs}}`;
}
