/**
 * How deep a stored value may nest. Everything that walks a decoded value (rebuilding errors,
 * the CLI's JSON and CSV, JSON.stringify) recurses, so an unbounded value overflows the stack:
 * a 5,000-deep stored value stopped `list` and `export` with a RangeError. Values are
 * bounded at VALUE_MAX_DEPTH both ways: deeper is an EncodeError when writing and a corrupt row
 * when reading. 1,000 is Python's default recursion limit, so Celery cannot write deeper either.
 */

/** The deepest nesting taskledger writes or reads (containers inside containers). */
export const VALUE_MAX_DEPTH = 1000;

/**
 * Whether JSON text nests deeper than `max`, counted without parsing. Each level needs at least
 * two characters, so short texts (nearly all results) are answered by their length alone.
 */
export function jsonTooDeep(text: string, max = VALUE_MAX_DEPTH): boolean {
  if (text.length <= 2 * max) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/**
 * Why a decoded value (a pickle's, which may share and even contain itself) cannot be handed on:
 * it contains itself, or it nests deeper than `max`; null when it is fine. Walks without
 * recursion and visits each object once, so shared sub-values cost nothing extra.
 */
export function unwalkable(value: unknown, max = VALUE_MAX_DEPTH): string | null {
  if (!isContainer(value)) return null;
  const IN_PROGRESS = -1;
  const heights = new Map<object, number>();
  const stack: { node: object; children: unknown[]; next: number; height: number }[] = [];
  const enter = (node: object): string | null => {
    if (stack.length >= max) return `it nests deeper than ${max} levels`;
    heights.set(node, IN_PROGRESS);
    stack.push({ node, children: childrenOf(node), next: 0, height: 0 });
    return null;
  };
  const first = enter(value);
  if (first) return first;
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    if (frame.next < frame.children.length) {
      const child = frame.children[frame.next++];
      if (!isContainer(child)) continue;
      const known = heights.get(child);
      if (known === IN_PROGRESS) return "it contains itself (a cycle)";
      if (known !== undefined) {
        if (stack.length + known > max) return `it nests deeper than ${max} levels`;
        frame.height = Math.max(frame.height, known);
        continue;
      }
      const refused = enter(child);
      if (refused) return refused;
    } else {
      stack.pop();
      heights.set(frame.node, frame.height + 1);
      const parent = stack[stack.length - 1];
      if (parent) parent.height = Math.max(parent.height, frame.height + 1);
    }
  }
  return null;
}

function isContainer(value: unknown): value is object {
  return (
    typeof value === "object" && value !== null && !(value instanceof Date) && !ArrayBuffer.isView(value) && !(value instanceof ArrayBuffer)
  );
}

function childrenOf(node: object): unknown[] {
  if (Array.isArray(node)) return node;
  if (node instanceof Map) return [...node.keys(), ...node.values()];
  if (node instanceof Set) return [...node];
  return Object.values(node);
}
