/** registry.k8s.io/pause: do nothing until told to stop. */
import { onTerminate } from './env.js';

setInterval(() => {}, 1 << 30);
onTerminate(() => {});
