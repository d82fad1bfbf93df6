import { openBackend } from "taskledger";

const backend = await openBackend({ url: process.env["TASKLEDGER_URL"], resultExtended: true });
const rules = [
  { name: "billing.*", keep: "400d" }, // invoices: 400 days
  { name: "billing.*", state: "FAILURE", keep: "forever" }, // failed billing: for ever
  { queue: "audit", keep: "forever" },
];
await backend.markAsDone("inv-1", { total: 12 }, { request: { name: "billing.invoice" } });
await backend.hold("inv-1", { reason: "case 2026-118" }); // kept whatever the rules say

const [why] = await backend.explainRetention(["inv-1"], { expires: "30d", rules });
console.log(why!.rule, why!.held?.reason);
const report = await backend.cleanup({ expires: "30d", rules, dryRun: true });
console.log(report.byRule.map((r) => `${r.rule}: ${r.tasks}`).join("; "));
await backend.release("inv-1");
await backend.close();
