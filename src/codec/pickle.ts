/**
 * Python pickle support for rows written by Celery 5.6 and older, whose result columns hold
 * SQLAlchemy PickleType bytes. Reading never runs code (pickle-read.ts runs the opcodes, this file
 * turns what they built into plain values); writing covers the data subset plus the Celery group
 * and failure shapes (pickle-write.ts).
 */
import { OP, PICKLE_MAX_DEPTH, PickleReadError, parsePickle } from "./pickle-read.js";
import { GlobalRef, PythonObject, PythonResultRef, uuidFromObject } from "./python-values.js";

export { PICKLE_MAX_DEPTH, PickleReadError } from "./pickle-read.js";
export { pickleException, pickleGroupResult, pickleResultTuple, writePickle, type PickleWriteOptions } from "./pickle-write.js";
export { PyTuple, PythonObject, PythonResultRef, PythonTimedelta, type PickledException } from "./python-values.js";

/** True for protocol 2+ pickles, the only kind Celery has written (SQLAlchemy's PickleType uses the highest protocol). */
export function looksLikePickle(bytes: Uint8Array): boolean {
  return bytes[0] === OP.PROTO;
}

/**
 * Decodes a pickle. None is null, int a number (a bigint beyond 2**53), bytes and bytearray a
 * Buffer, list and tuple an array, dict a plain object (a Map if any key is not a string), set and
 * frozenset a Set; datetime, uuid, Decimal, exceptions and Celery results map as python-values.ts
 * says, and any other object is an inert PythonObject. Throws PickleReadError, and nothing else,
 * for any input it cannot read.
 */
export function readPickle(bytes: Uint8Array): unknown {
  try {
    const { root, raw } = parsePickle(bytes);
    return finalize(root, raw);
  } catch (error) {
    if (error instanceof PickleReadError) throw error;
    // A bug or an exhausted engine (RangeError) must still surface as an unreadable value.
    throw new PickleReadError(`unreadable pickle: ${error instanceof Error ? error.message : String(error)}`);
  }
}

interface Frame {
  node: object;
  children: unknown[];
  next: number;
  tallestChild: number;
}

/**
 * Turns the parse graph into the values callers see, in one iterative walk: dicts become plain
 * objects (all keys strings) or Maps, sets get their final members, uuid objects become strings
 * and bare globals become PythonObjects. Shared and cyclic references stay shared. Dicts are only
 * converted here because their key types are known only once every SETITEM has run.
 * The walk also measures the longest chain of containers and refuses one deeper than PICKLE_MAX_DEPTH.
 */
function finalize(root: unknown, raw: () => Buffer): unknown {
  if (!isNode(root)) return root;
  const output = new Map<object, unknown>();
  const heights = new Map<object, number>();
  const frames: Frame[] = [];
  const resolve = (value: unknown): unknown => (isNode(value) ? output.get(value) : value);
  const enter = (node: object): void => {
    const { shell, children } = shellOf(node, raw);
    output.set(node, shell);
    frames.push({ node, children, next: 0, tallestChild: 0 });
    if (frames.length > PICKLE_MAX_DEPTH) throw new PickleReadError(`value nested deeper than ${PICKLE_MAX_DEPTH} levels`);
  };
  enter(root);
  while (frames.length > 0) {
    const frame = frames[frames.length - 1]!;
    if (frame.next < frame.children.length) {
      const child = frame.children[frame.next++];
      if (!isNode(child)) continue;
      const height = heights.get(child);
      if (height !== undefined) frame.tallestChild = Math.max(frame.tallestChild, height);
      else if (!output.has(child)) enter(child); // already entered but unfinished means a cycle: no height to add
      continue;
    }
    frames.pop();
    fill(frame.node, output.get(frame.node), resolve);
    const height = frame.tallestChild + 1;
    if (height > PICKLE_MAX_DEPTH) throw new PickleReadError(`value nested deeper than ${PICKLE_MAX_DEPTH} levels`);
    heights.set(frame.node, height);
    const parent = frames[frames.length - 1];
    if (parent) parent.tallestChild = Math.max(parent.tallestChild, height);
  }
  return output.get(root);
}

/** Values the walk looks inside; Buffers, Dates and timedeltas are finished leaves. */
function isNode(value: unknown): value is object {
  if (typeof value !== "object" || value === null) return false;
  return (
    Array.isArray(value) ||
    value instanceof Map ||
    value instanceof Set ||
    value instanceof PythonObject ||
    value instanceof GlobalRef ||
    value instanceof PythonResultRef ||
    Object.getPrototypeOf(value) === Object.prototype
  );
}

function shellOf(node: object, raw: () => Buffer): { shell: unknown; children: unknown[] } {
  if (Array.isArray(node)) return { shell: node, children: node };
  if (node instanceof Map) {
    const children: unknown[] = [];
    let stringKeys = true;
    for (const [key, value] of node) {
      children.push(key, value);
      if (typeof key !== "string") stringKeys = false;
    }
    return { shell: stringKeys ? {} : new Map(), children };
  }
  if (node instanceof Set) return { shell: new Set(), children: [...node] };
  if (node instanceof GlobalRef) return { shell: new PythonObject(node.module, node.name, [], raw()), children: [] };
  if (node instanceof PythonResultRef) return { shell: node, children: [...node.children, node.parent] };
  if (node instanceof PythonObject) {
    const uuid = uuidFromObject(node);
    if (uuid !== null) return { shell: uuid, children: [] };
    return { shell: node, children: [node.args, node.state, node.kwargs, node.listItems, node.dictItems] };
  }
  return { shell: node, children: Object.values(node) };
}

function fill(node: object, shell: unknown, resolve: (value: unknown) => unknown): void {
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) node[i] = resolve(node[i]);
  } else if (node instanceof Map) {
    for (const [key, value] of node) {
      if (shell instanceof Map) shell.set(resolve(key), resolve(value));
      // defineProperty, not assignment: a "__proto__" key must stay an own property, not replace the prototype.
      else Object.defineProperty(shell, key as string, { value: resolve(value), enumerable: true, writable: true, configurable: true });
    }
  } else if (node instanceof Set) {
    for (const item of node) (shell as Set<unknown>).add(resolve(item));
  } else if (node instanceof PythonObject) {
    if (shell !== node) return; // a uuid, already a string
    node.state = resolve(node.state);
    node.kwargs = resolve(node.kwargs);
    node.dictItems = resolve(node.dictItems);
  } else if (Object.getPrototypeOf(node) === Object.prototype) {
    const record = node as Record<string, unknown>;
    for (const key of Object.keys(record)) record[key] = resolve(record[key]);
  }
}
