import assert from "node:assert/strict";
import { ValidationError } from "../../proto/errors.ts";
import { parseGroup, parsePasswd, resolveUser } from "./user.ts";

const etc = {
  passwd: [
    "root:x:0:0:root:/root:/bin/sh",
    "# a comment",
    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin",
    "app:x:1000:1001:app:/home/app:/bin/sh",
    "broken:x:notanumber:1::/:/bin/sh",
    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin",
  ].join("\n"),
  group: [
    "root:x:0:",
    "wheel:x:10:root,app",
    "appgrp:x:1001:",
    "video:x:44:app,daemon",
    "docker:x:999:app",
    "nogroup:x:65534:",
  ].join("\n"),
};

Deno.test("resolveUser: a name gives its uid, primary gid and member groups", () => {
  assert.deepEqual(resolveUser("app", etc), {
    uid: 1000,
    gid: 1001,
    additionalGids: [10, 44, 999],
  });
  assert.deepEqual(resolveUser("nobody", etc), { uid: 65534, gid: 65534 });
});

Deno.test("resolveUser: empty means root, which gets its groups too (as Docker does)", () => {
  assert.deepEqual(resolveUser("", etc), { uid: 0, gid: 0, additionalGids: [10] });
  assert.deepEqual(resolveUser("root", etc), { uid: 0, gid: 0, additionalGids: [10] });
  assert.deepEqual(resolveUser("", {}), { uid: 0, gid: 0 });
  assert.deepEqual(resolveUser("root", {}), { uid: 0, gid: 0 }, "scratch images: no passwd");
});

Deno.test("resolveUser: a known numeric uid is looked up like its name", () => {
  assert.deepEqual(resolveUser("1000", etc), {
    uid: 1000,
    gid: 1001,
    additionalGids: [10, 44, 999],
  });
});

Deno.test("resolveUser: a uid not in /etc/passwd runs with gid 0 and no groups", () => {
  assert.deepEqual(resolveUser("4242", etc), { uid: 4242, gid: 0 });
  assert.deepEqual(resolveUser("4242", {}), { uid: 4242, gid: 0 });
});

Deno.test("resolveUser: an explicit group replaces the primary gid and drops member groups", () => {
  assert.deepEqual(resolveUser("app:app", { ...etc, group: etc.group + "\napp:x:2000:" }), {
    uid: 1000,
    gid: 2000,
  });
  assert.deepEqual(resolveUser("app:video", etc), { uid: 1000, gid: 44 });
  assert.deepEqual(resolveUser("1000:7", etc), { uid: 1000, gid: 7 });
  assert.deepEqual(resolveUser("4242:video", etc), { uid: 4242, gid: 44 });
  assert.deepEqual(resolveUser("4242:4243", {}), { uid: 4242, gid: 4243 });
});

Deno.test("resolveUser: unknown names and malformed values fail on field user, naming the image", () => {
  const fails = (user: string, files: typeof etc | Record<string, never>, text: RegExp) =>
    assert.throws(
      () => resolveUser(user, files, "registry.test/app:v1"),
      (err) =>
        err instanceof ValidationError && err.field === "user" && text.test(err.message) &&
        err.message.includes("registry.test/app:v1"),
    );
  fails("ghost", etc, /no user "ghost" in \/etc\/passwd/);
  fails("app", {}, /no user "app" in \/etc\/passwd \(file missing\)/);
  fails("app:ghosts", etc, /no group "ghosts" in \/etc\/group/);
  fails("broken", etc, /no user "broken"/); // its line is malformed, so it is not an entry
  fails("a:b:c", etc, /user\[:group\]/);
  fails("app:", etc, /empty group/);
  fails("99999999999", etc, /too large/);
});

Deno.test("parsePasswd / parseGroup: skip comments and malformed lines", () => {
  assert.deepEqual(parsePasswd("#c\nx:y\nu:x:1:2::/:/bin/sh\n").map((e) => e.name), ["u"]);
  assert.deepEqual(parseGroup("g:x:5:a,,b\nbad:x:z:\n"), [{
    name: "g",
    gid: 5,
    members: ["a", "b"],
  }]);
});
