/**
 * JSON as kombu (Celery's default serializer) writes it: Python's json.dumps defaults, i.e.
 * ", " and ": " separators and every non-ASCII character escaped, plus kombu's
 * {"__type__", "__value__"} markers. Celery decodes args/kwargs written this way exactly as its own.
 */
import { encodeJsonText } from "./json.js";

/** Re-renders compact JSON (from encodeJsonText, so already validated) in Python's layout. */
export function encodeKombuJson(value: unknown): string {
  return pythonLayout(encodeJsonText(value));
}

function pythonLayout(json: string): string {
  let out = "";
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const ch = json[i]!;
    if (inString) {
      if (ch === "\\") {
        out += ch + json[++i]!;
        continue;
      }
      if (ch === '"') inString = false;
      const code = ch.charCodeAt(0);
      out += code > 0x7e ? `\\u${code.toString(16).padStart(4, "0")}` : ch;
      continue;
    }
    if (ch === '"') inString = true;
    out += ch === "," ? ", " : ch === ":" ? ": " : ch;
  }
  return out;
}
