#!/usr/bin/env node
import './thread-pool.ts';
import { main } from './cli/main.ts';
import { log } from './log.ts';

main(process.argv).catch((err: unknown) => {
  log().fatal({ err }, 'redisfork.plugin failed');
  process.exit(2);
});
