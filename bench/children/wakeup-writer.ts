/**
 * The writer half of the wake-up scenario: reads task ids on stdin, stores each as SUCCESS, and
 * prints "<id> <commit time>" (epoch ms, sub-millisecond) once the commit returned.
 * argv: url
 */
import { createInterface } from "node:readline";
import { openBackend } from "../../src/index.js";

const backend = await openBackend({ url: process.argv[2]!, migrate: false });
process.stdout.write("ready\n");
for await (const line of createInterface({ input: process.stdin })) {
  const id = line.trim();
  if (!id) continue;
  await backend.markAsDone(id, { ok: true });
  process.stdout.write(`${id} ${performance.timeOrigin + performance.now()}\n`);
}
await backend.close();
