import assert from "node:assert/strict";
import {
  ifMatchHolds,
  ifNoneMatchHits,
  parseETagCondition,
  strongETag,
  strongTagParts,
} from "../http/etag.ts";

Deno.test("strongETag quotes its parts and refuses ones that would make an ambiguous tag", () => {
  assert.equal(strongETag("c", 42, 3, "RUNNING"), '"c.42.3.RUNNING"');
  assert.throws(() => strongETag("a.b"));
  assert.throws(() => strongETag('a"'));
});

Deno.test("If-Match and If-None-Match lists parse with *, W/ and malformed members", () => {
  assert.equal(parseETagCondition(undefined), undefined);
  // Sent but blank lists no tag: an If-Match that matches nothing, never an absent one.
  assert.deepEqual(parseETagCondition(""), { any: false, tags: [] });
  assert.deepEqual(parseETagCondition("  "), { any: false, tags: [] });
  assert.deepEqual(parseETagCondition(" * "), { any: true });
  assert.deepEqual(parseETagCondition('"a.1", W/"b.2" ,junk, "c,d"'), {
    any: false,
    tags: [
      { opaque: "a.1", weak: false },
      { opaque: "b.2", weak: true },
      { opaque: "c,d", weak: false },
    ],
  });
  assert.deepEqual(parseETagCondition("junk"), { any: false, tags: [] });
});

Deno.test("If-Match compares strongly, If-None-Match weakly", () => {
  const current = strongETag("c", 1, 2, "RUNNING");
  assert.equal(ifMatchHolds(undefined, current), true);
  assert.equal(ifMatchHolds(parseETagCondition(""), current), false);
  assert.equal(ifNoneMatchHits(parseETagCondition(""), current), false);
  assert.equal(ifMatchHolds(parseETagCondition("*"), current), true);
  assert.equal(ifMatchHolds(parseETagCondition("*"), undefined), false);
  assert.equal(ifMatchHolds(parseETagCondition(`"x", ${current}`), current), true);
  assert.equal(ifMatchHolds(parseETagCondition(`W/${current}`), current), false);
  assert.equal(ifMatchHolds(parseETagCondition('"c.1.1.RUNNING"'), current), false);
  assert.equal(ifNoneMatchHits(parseETagCondition(`W/${current}`), current), true);
  assert.equal(ifNoneMatchHits(parseETagCondition('"other"'), current), false);
  assert.equal(ifNoneMatchHits(parseETagCondition("*"), current), true);
  assert.equal(ifNoneMatchHits(undefined, current), false);
});

Deno.test("strongTagParts gives the parts of strong tags for a WHERE, leaving out weak ones", () => {
  assert.equal(strongTagParts({ any: true }), "any");
  assert.deepEqual(strongTagParts(parseETagCondition('"c.1.2.DONE", W/"c.1.3.DONE", "a b"')!), [
    ["c", "1", "2", "DONE"],
  ]);
});
