#!/usr/bin/env node
// The `kemu` command. Sub-commands arrive with the launcher issue; until then it says so plainly.
const [command] = process.argv.slice(2);
process.stderr.write(
  `kemu: '${command ?? ''}' is not available yet: this build has the foundation, the wire and Raft; ` +
    'the etcd members, apiserver and launcher are still being built (see the issues).\n',
);
process.exit(1);
