// Timestamps as the API serializes them. metav1.Time is RFC 3339 with whole seconds; metav1.MicroTime
// (Lease renewTime/acquireTime, Event eventTime) must carry exactly six fractional digits or
// `kubectl describe node` fails to parse the lease (contract §0.6).

/** `2026-11-22T04:50:09Z` */
export function formatTime(at: Date | number): string {
  const d = typeof at === 'number' ? new Date(at) : at;
  return `${d.toISOString().slice(0, 19)}Z`;
}

/** `2026-11-22T04:50:09.936000Z` */
export function formatMicroTime(at: Date | number): string {
  const d = typeof at === 'number' ? new Date(at) : at;
  const iso = d.toISOString(); // always millisecond precision
  return `${iso.slice(0, 23)}000Z`;
}

/** Epoch milliseconds of a Time or MicroTime, or undefined when absent or unparsable. */
export function parseTime(value: string | null | undefined): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}
