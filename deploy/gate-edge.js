#!/usr/bin/env node
// The launcher of an installed gate (the release bundle): runs the compiled JavaScript in dist/, without
// tsx. The bundle script puts it at bin/gate-edge.js; in the repository, bin/gate-edge.js runs the sources.
const { main } = await import("../dist/src/cli.js");
process.exitCode = await main(process.argv.slice(2));
