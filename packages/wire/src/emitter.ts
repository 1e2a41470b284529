import type { Logger } from '@kemu/runtime';

type Listener = (...args: unknown[]) => void;

/** A minimal typed event emitter; a throwing listener is logged, never breaks the wire. */
export class Emitter<E extends Record<string, unknown[]>> {
  private readonly listeners = new Map<keyof E, Listener[]>();

  constructor(private readonly log: Logger) {}

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof E>(event: K, fn: (...args: E[K]) => void): () => void {
    const l = fn as unknown as Listener;
    const list = this.listeners.get(event) ?? [];
    list.push(l);
    this.listeners.set(event, list);
    return () => {
      const current = this.listeners.get(event);
      const i = current?.indexOf(l) ?? -1;
      if (current && i >= 0) current.splice(i, 1);
    };
  }

  emit<K extends keyof E>(event: K, ...args: E[K]): void {
    const list = this.listeners.get(event);
    if (!list) return;
    for (const fn of [...list]) {
      try {
        fn(...args);
      } catch (err) {
        this.log.error({ err, event: String(event) }, 'wire event listener threw');
      }
    }
  }
}
