/** Reads server-sent events from a Response body, as a browser's EventSource would parse them. */
export interface SseEvent {
  id: string | undefined;
  event: string;
  data: unknown;
}

export class SseReader {
  readonly events: SseEvent[] = [];
  /** Comment lines (heartbeats) seen. */
  comments = 0;
  ended = false;
  private waiters: (() => void)[] = [];
  private readonly done: Promise<void>;

  constructor(response: Response) {
    if (!response.body) throw new Error(`no body (status ${response.status})`);
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    this.done = (async () => {
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true });
          let cut: number;
          while ((cut = buffer.indexOf("\n\n")) >= 0) {
            this.parse(buffer.slice(0, cut));
            buffer = buffer.slice(cut + 2);
          }
        }
      } catch {
        // cancelled
      } finally {
        this.ended = true;
        this.poke();
      }
    })();
    this.cancel = () => reader.cancel().catch(() => undefined);
  }

  readonly cancel: () => Promise<void>;

  private parse(block: string): void {
    let id: string | undefined;
    let event = "message";
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) this.comments++;
      else if (line.startsWith("id: ")) id = line.slice(4);
      else if (line.startsWith("event: ")) event = line.slice(7);
      else if (line.startsWith("data: ")) data.push(line.slice(6));
    }
    if (data.length > 0) this.events.push({ id, event, data: JSON.parse(data.join("\n")) });
    this.poke();
  }

  private poke(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves once `n` events have arrived (or the stream ended), failing after `ms`. */
  async until(n: number, ms = 5_000): Promise<SseEvent[]> {
    const deadline = Date.now() + ms;
    while (this.events.length < n && !this.ended) {
      if (Date.now() > deadline) throw new Error(`waited ${ms} ms for ${n} events; got ${JSON.stringify(this.events)}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
    return this.events;
  }

  /** Resolves once the server ended the stream, failing after `ms`. */
  async end(ms = 5_000): Promise<void> {
    await Promise.race([
      this.done,
      new Promise((_, reject) => setTimeout(() => reject(new Error(`stream still open after ${ms} ms`)), ms).unref()),
    ]);
  }
}
