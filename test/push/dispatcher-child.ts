/** A dispatcher in a process of its own, for the kill -9 test: delivers until killed. */
import { openBackend } from "../../src/index.js";

const backend = await openBackend({ url: process.argv[2]! });
backend.startWebhookDispatcher({ interval: 20, timeout: 60_000, concurrency: 4 });
