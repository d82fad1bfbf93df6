// Preloaded (node --import) into a child whose memory the bench measures without changing its
// code (the taskledger CLI): prints the process's RSS high-water mark on stderr at exit.
import { readFileSync } from "node:fs";

process.on("exit", () => {
  const match = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync("/proc/self/status", "utf8"));
  process.stderr.write(`\ntaskledger-bench-vmhwm-kb=${match ? match[1] : "?"}\n`);
});
