#!/usr/bin/env node
// The `kemu` executable npm links into node_modules/.bin. It is tracked (with its exec bit) so that
// `npx kemu` works in a fresh clone after `npm ci && npm run build`: tsc writes dist/src/bin.js
// without an exec bit, and npm only sets it on bins that exist at install time.
await import('../dist/src/bin.js');
