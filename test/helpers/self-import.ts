/** Lets examples import "taskledger" from the source tree, as a user imports the package. */
import { register } from "node:module";

register(
  "data:text/javascript," +
    encodeURIComponent(`
  export async function resolve(specifier, context, next) {
    if (specifier === "taskledger") return next(${JSON.stringify(new URL("../../src/index.ts", import.meta.url).href)}, context);
    if (specifier === "taskledger/drizzle") return next(${JSON.stringify(new URL("../../src/drizzle.ts", import.meta.url).href)}, context);
    return next(specifier, context);
  }
`),
);
