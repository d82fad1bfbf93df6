// Preloaded into a CLI child by the export memory test: reports the process's peak RSS at exit.
process.on("exit", () => process.stderr.write(`\nmaxrss-kb=${process.resourceUsage().maxRSS}\n`));
