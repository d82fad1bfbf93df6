/**
 * The README speaks to users, who have the package, its README and the CLI: not our tracker and
 * not the maintainers' research notes. A reason is said in words, never as "see #11" or a path
 * under research/. References to other projects' trackers (celery/celery#461, a github.com issue
 * URL) name where they point and stay.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");

/** The README's prose: fenced code blocks and URLs blanked out, line numbers kept. */
function prose(markdown: string): string {
  return markdown
    .replaceAll(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, (block) => block.replaceAll(/[^\n]/g, " "))
    .replaceAll(/\b[a-z][a-z0-9+.-]*:\/\/[^\s)>\]]*/gi, (url) => " ".repeat(url.length));
}

/** Each bare "#NN" citation of our own tracker, as "line: text". */
function trackerCitations(markdown: string): string[] {
  return prose(markdown)
    .split("\n")
    .flatMap((line, i) => [...line.matchAll(/(?<![\w/.-])#\d{1,3}\b/g)].map((m) => `${i + 1}: ${m[0]} in ${line.trim()}`));
}

/** Each line pointing at research/, a folder users do not have. */
function researchPaths(markdown: string): string[] {
  return markdown.split("\n").flatMap((line, i) => (/(?<![\w-])research\//.test(line) ? [`${i + 1}: ${line.trim()}`] : []));
}

describe("README", () => {
  it("cites no tracker numbers outside code blocks and URLs", () => {
    assert.deepEqual(trackerCitations(readme), []);
  });

  it("points at no research/ path", () => {
    assert.deepEqual(researchPaths(readme), []);
  });

  it("the checks tell a citation from an external reference", () => {
    const sample = [
      "Waking moved into a trigger (#11); see celery/celery#461 and",
      "https://github.com/celery/celery/issues/4150#issuecomment-1 and [Errors](#errors).",
      "```sql",
      "-- a comment naming #12 inside a code block",
      "```",
      "as #9 item 7 requires, see `research/scaling.md`",
    ].join("\n");
    assert.deepEqual(
      trackerCitations(sample).map((c) => c.split(" in ")[0]),
      ["1: #11", "6: #9"],
    );
    assert.equal(researchPaths(sample).length, 1);
  });
});
