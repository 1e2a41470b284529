import { Counter, type Registry } from 'prom-client';

interface MethodStats {
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
}

/** Label for frames that carry no method (hello, ping, pong). */
export const CONTROL_METHOD = '_control';

/**
 * Frame, byte and error counts per method. The hot path only bumps plain numbers in a map; they are
 * copied into prom-client counters when the registry is scraped, because labelled `inc()` hashes its
 * labels on every call.
 */
export class WireMetrics {
  private static readonly byRegistry = new WeakMap<Registry, WireMetrics>();
  private readonly methods = new Map<string, MethodStats>();
  private readonly errors = new Map<string, number>();

  /** One instance per registry, shared by every server and client of the process. */
  static for(registry: Registry): WireMetrics {
    let m = WireMetrics.byRegistry.get(registry);
    if (!m) {
      m = new WireMetrics(registry);
      WireMetrics.byRegistry.set(registry, m);
    }
    return m;
  }

  private constructor(registry: Registry) {
    const self = this;
    new Counter({
      name: 'kemu_wire_frames_total',
      help: 'Wire frames by method and direction',
      labelNames: ['method', 'direction'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const [method, s] of self.methods) {
          if (s.framesIn > 0) this.inc({ method, direction: 'in' }, s.framesIn);
          if (s.framesOut > 0) this.inc({ method, direction: 'out' }, s.framesOut);
        }
      },
    });
    new Counter({
      name: 'kemu_wire_bytes_total',
      help: 'Encoded wire frame bytes by method and direction',
      labelNames: ['method', 'direction'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const [method, s] of self.methods) {
          if (s.bytesIn > 0) this.inc({ method, direction: 'in' }, s.bytesIn);
          if (s.bytesOut > 0) this.inc({ method, direction: 'out' }, s.bytesOut);
        }
      },
    });
    new Counter({
      name: 'kemu_wire_errors_total',
      help: 'Wire errors by code (bad frames, unknown methods, timeouts, disconnects, ...)',
      labelNames: ['code'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const [code, n] of self.errors) this.inc({ code }, n);
      },
    });
  }

  private stats(method: string): MethodStats {
    let s = this.methods.get(method);
    if (!s) {
      s = { framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0 };
      this.methods.set(method, s);
    }
    return s;
  }

  frameIn(method: string | undefined, bytes: number): void {
    const s = this.stats(method ?? CONTROL_METHOD);
    s.framesIn++;
    s.bytesIn += bytes;
  }

  frameOut(method: string | undefined, bytes: number): void {
    const s = this.stats(method ?? CONTROL_METHOD);
    s.framesOut++;
    s.bytesOut += bytes;
  }

  error(code: string): void {
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
  }
}
