#!/usr/bin/env node
/**
 * `paxos <role> <id> <config>`: the entry point. It only installs the signal handlers, then
 * loads the CLI (lib/cli/main.ts), so that a SIGTERM during start-up still exits 0.
 */
import { installSignalHandlers } from './signals.js';

installSignalHandlers();
const { runCli } = await import('./main.js');
runCli(process.argv.slice(2));
