// Workqueue metrics in Prometheus, named like client-go's (`workqueue_depth{name}` ...).
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { QueueMetricsHooks } from './workqueue.js';

export function prometheusQueueMetrics(registry: Registry): QueueMetricsHooks {
  const depth = new Gauge({
    name: 'workqueue_depth',
    help: 'Current depth of workqueue',
    labelNames: ['name'],
    registers: [registry],
  });
  const adds = new Counter({
    name: 'workqueue_adds_total',
    help: 'Total number of adds handled by workqueue',
    labelNames: ['name'],
    registers: [registry],
  });
  const retries = new Counter({
    name: 'workqueue_retries_total',
    help: 'Total number of retries handled by workqueue',
    labelNames: ['name'],
    registers: [registry],
  });
  const buckets = [1, 5, 10, 50, 100, 500, 1000, 5000, 10000, 60000];
  const latency = new Histogram({
    name: 'workqueue_queue_duration_seconds',
    help: 'How long in seconds an item stays in workqueue before being requested',
    labelNames: ['name'],
    buckets: buckets.map((b) => b / 1000),
    registers: [registry],
  });
  const work = new Histogram({
    name: 'workqueue_work_duration_seconds',
    help: 'How long in seconds processing an item from workqueue takes',
    labelNames: ['name'],
    buckets: buckets.map((b) => b / 1000),
    registers: [registry],
  });
  return {
    onAdd: (name) => adds.inc({ name }),
    onDepth: (name, n) => depth.set({ name }, n),
    onRetry: (name) => retries.inc({ name }),
    onQueueLatency: (name, ms) => latency.observe({ name }, ms / 1000),
    onWorkDuration: (name, ms) => work.observe({ name }, ms / 1000),
  };
}
