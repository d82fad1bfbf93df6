/**
 * HTML built from text: every interpolated value is escaped unless it is already SafeHtml,
 * so a stored task name such as `<img src=x onerror=alert(1)>` renders literally. There is no
 * way to splice a raw string except `trusted()`, used only for markup written in this folder.
 */

/** Markup known to be safe: built by `h` or marked by `trusted`. */
export class SafeHtml {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Escapes text for element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

function render(value: unknown): string {
  if (value === null || value === undefined || value === false) return "";
  if (value instanceof SafeHtml) return value.text;
  if (Array.isArray(value)) return value.map(render).join("");
  return escapeHtml(String(value));
}

/** Tagged template: `h\`<td>${name}</td>\`` escapes `name`; arrays of fragments are joined. */
export function h(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1]!;
  return new SafeHtml(out);
}

/** Marks markup written in this folder (never a stored value) as safe. */
export function trusted(markup: string): SafeHtml {
  return new SafeHtml(markup);
}

/** JSON for a `<script type="application/json">` data block: `<` escaped so no tag can close it. */
export function jsonBlock(id: string, value: unknown): SafeHtml {
  const text = JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
  return h`<script type="application/json" id="${id}">${trusted(text)}</script>`;
}
