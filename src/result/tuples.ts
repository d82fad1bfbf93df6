/** Celery's result_from_tuple(); it lives beside GroupResult, which it builds, to keep the modules acyclic. */
export { resultFromTuple, type LegacyResultTuple } from "./group-result.js";
