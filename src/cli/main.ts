#!/usr/bin/env node
/** The `taskledger` command: wires the program to the process. */
import { processOutput } from "./output.js";
import { buildProgram } from "./program.js";

const { run } = buildProgram(processOutput());
process.exitCode = await run(process.argv.slice(2));
