// Ages as kubectl prints them: k8s.io/apimachinery/pkg/util/duration.HumanDuration, with `now`
// passed in so tables are deterministic.

/** HumanDuration: `16s`, `5m3s`, `12m`, `3h5m`, `10h`, `3d4h`, `45d`, `2y45d`, `9y`. */
export function humanDuration(ms: number): string {
  // Go's int(d.Seconds()) truncates toward zero; up to 2 s of clock skew still reads as "0s".
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.trunc(ms / 60_000);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.trunc(ms / 3_600_000);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.trunc(hours / 24)}d` : `${Math.trunc(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const dy = Math.trunc(hours / 24) % 365;
    const y = Math.trunc(hours / 24 / 365);
    return dy === 0 ? `${y}y` : `${y}y${dy}d`;
  }
  return `${Math.trunc(hours / 24 / 365)}y`;
}

/** Milliseconds since the epoch for a `now` given as a Date or a number. */
export function nowMs(now: Date | number): number {
  return typeof now === 'number' ? now : now.getTime();
}

/** translateTimestampSince: `<unknown>` for a missing or unparsable time, else the human age. */
export function timestampSince(time: string | null | undefined, now: Date | number): string {
  if (time === undefined || time === null || time === '') return '<unknown>';
  const t = Date.parse(time);
  if (Number.isNaN(t)) return '<unknown>';
  return humanDuration(nowMs(now) - t);
}
