/**
 * Exceptions as Celery stores them: `{exc_type, exc_message, exc_module}` in the result column
 * (exc_message a list of constructor arguments) and the formatted stack in the traceback column.
 * Rebuilding picks the class from an allowlist, never from the stored name itself.
 */
import { formatExceptionArgs, RemoteError, TaskRevokedError } from "../errors.js";

/** The stored form of an exception. */
export interface StoredException {
  exc_type: string;
  exc_message: unknown[];
  exc_module: string | null;
}

/** Module name for JavaScript's own error classes; Python's builtins module has several of the same names. */
export const BUILTINS_MODULE = "builtins";
/** Module name for errors whose class was not registered with a module. */
export const JAVASCRIPT_MODULE = "javascript";

type ErrorClass = new (...args: any[]) => Error;

const BUILTIN_ERRORS: ReadonlyMap<string, ErrorClass> = new Map<string, ErrorClass>([
  ["Error", Error],
  ["TypeError", TypeError],
  ["RangeError", RangeError],
  ["SyntaxError", SyntaxError],
  ["ReferenceError", ReferenceError],
  ["EvalError", EvalError],
  ["URIError", URIError],
]);

interface Registration {
  cls: ErrorClass;
  module: string;
  type: string;
}
const registered = new Map<string, Registration>();
const byClass = new Map<ErrorClass, Registration>();

/**
 * Allows a class to be rebuilt from stored failures. `type` defaults to the class name and `module`
 * to "javascript"; register Python names (`{ module: "myapp.errors", type: "QuotaExceeded" }`) to
 * map Celery failures onto your own classes. The constructor gets the stored exc_message items.
 */
export function registerErrorClass(cls: ErrorClass, options: { type?: string; module?: string } = {}): void {
  const registration = { cls, type: options.type ?? cls.name, module: options.module ?? JAVASCRIPT_MODULE };
  registered.set(`${registration.module}:${registration.type}`, registration);
  byClass.set(cls, registration);
}

registerErrorClass(TaskRevokedError, { module: "celery.exceptions", type: "TaskRevokedError" });

/** The stored form of anything thrown; non-Error values become a generic Error with their text. */
export function exceptionToStored(error: unknown): StoredException {
  if (!(error instanceof Error)) return { exc_type: "Error", exc_message: [String(error)], exc_module: BUILTINS_MODULE };
  if (error instanceof RemoteError) return { exc_type: error.excType, exc_message: [...error.excMessage], exc_module: error.excModule };
  const cls = error.constructor as ErrorClass;
  const registration = byClass.get(cls);
  if (registration) return { exc_type: registration.type, exc_message: [error.message], exc_module: registration.module };
  const builtin = BUILTIN_ERRORS.get(cls.name) === cls;
  return {
    exc_type: builtin ? cls.name : error.name || cls.name,
    exc_message: [error.message],
    exc_module: builtin ? BUILTINS_MODULE : JAVASCRIPT_MODULE,
  };
}

/** Whether a decoded result has the stored-exception shape. */
export function isStoredException(value: unknown): value is StoredException {
  return (
    value !== null &&
    typeof value === "object" &&
    !Array.isArray(value) &&
    typeof (value as Record<string, unknown>)["exc_type"] === "string"
  );
}

/**
 * Rebuilds an Error from its stored form. The class comes from JavaScript's built-ins (module
 * "builtins" or "javascript") or from {@link registerErrorClass}; anything else is a RemoteError
 * carrying the stored names. Every rebuilt error carries excType, excModule, excMessage (the stored
 * arguments) and remoteTraceback; several arguments read as one message, `custom boom, 42`.
 */
export function storedToError(stored: StoredException, traceback: string | null): Error {
  const message = Array.isArray(stored.exc_message) ? stored.exc_message : [stored.exc_message];
  const module = stored.exc_module ?? null;
  let error: Error | undefined;
  const registration = registered.get(`${module ?? JAVASCRIPT_MODULE}:${stored.exc_type}`);
  if (registration) {
    try {
      error = new registration.cls(...message);
    } catch {
      error = undefined; // a constructor that rejects the stored arguments: fall back to RemoteError
    }
  } else if (module === BUILTINS_MODULE || module === JAVASCRIPT_MODULE || module === null) {
    const builtin = BUILTIN_ERRORS.get(stored.exc_type);
    if (builtin) error = new builtin(formatExceptionArgs(message));
  }
  error ??= new RemoteError(stored.exc_type, module, message, traceback);
  // The stored arguments stay available (Python's exc.args), whatever class was rebuilt.
  Object.assign(error, { excType: stored.exc_type, excModule: module, excMessage: message, remoteTraceback: traceback });
  if (traceback) error.stack = `${error.name}: ${error.message}\n    --- remote traceback ---\n${traceback}`;
  return error;
}

/** The traceback text stored for an error: its stack, or its message when it has none. */
export function tracebackOf(error: unknown): string | null {
  if (error instanceof Error) return error.stack ?? `${error.name}: ${error.message}`;
  return null;
}
