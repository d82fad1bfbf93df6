/** A webhook receiver on a local port that records each delivery and answers as a test tells it. */
import http from "node:http";

export interface Delivery {
  key: string;
  signature: string;
  body: string;
  at: number;
}

export class Receiver {
  readonly deliveries: Delivery[] = [];
  /** Requests being answered now, by idempotency key (to catch one event sent twice at once). */
  readonly inFlight = new Map<string, number>();
  maxInFlightPerKey = 0;
  /** Task ids of deliveries answered 2xx. */
  readonly answered = new Set<string>();
  /** Decides each answer: a status, or "hang" to never answer. */
  answer: (delivery: Delivery) => number | "hang" | Promise<number> = () => 200;
  private readonly server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => void this.respond(req, res, body));
  });

  private async respond(req: http.IncomingMessage, res: http.ServerResponse, body: string): Promise<void> {
    {
      const delivery = {
        key: String(req.headers["idempotency-key"]),
        signature: String(req.headers["x-taskledger-signature"]),
        body,
        at: Date.now(),
      };
      this.deliveries.push(delivery);
      const now = (this.inFlight.get(delivery.key) ?? 0) + 1;
      this.inFlight.set(delivery.key, now);
      this.maxInFlightPerKey = Math.max(this.maxInFlightPerKey, now);
      const status = await this.answer(delivery);
      if (status === "hang") return;
      this.inFlight.set(delivery.key, this.inFlight.get(delivery.key)! - 1);
      if (status >= 200 && status < 300) this.answered.add(String(JSON.parse(body).task_id));
      res.writeHead(status).end();
    }
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as { port: number }).port}/hooks`;
  }

  async until(check: () => boolean, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`receiver: condition not met in ${ms} ms (${this.deliveries.length} deliveries)`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
