import assert from "node:assert/strict";
import { ValidationError } from "../../proto/errors.ts";
import {
  parseConstraintFlag,
  parseEnvFlag,
  parseHealthHttp,
  parseKeyValue,
  parseMount,
  parsePlacementPref,
  parsePublish,
  parseSecretRef,
} from "./_values.ts";

function rejects(fn: () => unknown, flag: string, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ValidationError, String(err));
    assert.equal(err.field, flag);
    assert.match(err.message, pattern);
    return true;
  });
}

Deno.test("values: --publish short and long forms", () => {
  assert.deepEqual(parsePublish("8080:80"), { published: 8080, target: 80 });
  assert.deepEqual(parsePublish("53:53/udp"), { published: 53, target: 53, protocol: "udp" });
  assert.deepEqual(parsePublish("mode=host,8080:80/tcp"), {
    publishMode: "host",
    published: 8080,
    target: 80,
    protocol: "tcp",
  });
  assert.deepEqual(parsePublish("9000"), { target: 9000 });
  assert.deepEqual(parsePublish("published=8443,target=443,protocol=tcp,mode=ingress,name=https"), {
    published: 8443,
    target: 443,
    protocol: "tcp",
    publishMode: "ingress",
    name: "https",
  });
  rejects(() => parsePublish("80:http"), "--publish", /PUBLISHED:TARGET/);
  rejects(() => parsePublish("8080:80/sctp"), "--publish", /protocol "sctp" must be tcp or udp/);
  rejects(() => parsePublish("mode=bridge,80:80"), "--publish", /mode "bridge"/);
  rejects(() => parsePublish("70000:80"), "--publish", /between 1 and 65535/);
  rejects(() => parsePublish("published=80"), "--publish", /no target port/);
  rejects(() => parsePublish("size=3,80"), "--publish", /unknown key "size"/);
});

Deno.test("values: --mount", () => {
  assert.deepEqual(parseMount("type=volume,src=data,dst=/var/lib/data"), {
    type: "volume",
    source: "data",
    target: "/var/lib/data",
  });
  assert.deepEqual(parseMount("src=data,dst=/d,ro"), {
    type: "volume",
    source: "data",
    target: "/d",
    readOnly: true,
  });
  assert.deepEqual(parseMount("type=bind,source=/srv,target=/srv,readonly=false"), {
    type: "bind",
    source: "/srv",
    target: "/srv",
    readOnly: false,
  });
  assert.deepEqual(parseMount("type=tmpfs,dst=/tmp"), { type: "tmpfs", target: "/tmp" });
  rejects(() => parseMount("type=nfs,dst=/x"), "--mount", /must be volume, bind or tmpfs/);
  rejects(() => parseMount("src=data"), "--mount", /needs dst=/);
  rejects(
    () => parseMount("src=data,dst=/d,ro=maybe"),
    "--mount",
    /ro=maybe must be true or false/,
  );
  rejects(() => parseMount("src=a,dst=/b,size=1"), "--mount", /unknown key "size"/);
});

Deno.test("values: --secret, --env, --label, --constraint, --placement-pref, --health-http", () => {
  assert.deepEqual(parseSecretRef("db-pass"), { secret: "db-pass" });
  assert.deepEqual(parseSecretRef("db-pass,target=pw,mode=0400"), {
    secret: "db-pass",
    target: "pw",
    mode: 0o400,
  });
  assert.deepEqual(parseSecretRef("source=x,target=y"), { secret: "x", target: "y" });
  rejects(() => parseSecretRef("x,mode=999"), "--secret", /octal/);
  rejects(() => parseSecretRef("target=y"), "--secret", /names no secret/);

  assert.equal(parseEnvFlag("A=b=c"), "A=b=c");
  rejects(() => parseEnvFlag("NOVALUE"), "--env", /must be KEY=VALUE/);
  rejects(() => parseEnvFlag("1A=x"), "--env", /must start with a letter/);

  assert.deepEqual(parseKeyValue("zone=edge", "--label"), ["zone", "edge"]);
  assert.deepEqual(parseKeyValue("a=", "--label"), ["a", ""]);
  assert.deepEqual(parseKeyValue("flag", "--label", { allowBare: true }), ["flag", ""]);
  rejects(() => parseKeyValue("flag", "--opt"), "--opt", /KEY=VALUE/);
  rejects(() => parseKeyValue("=v", "--opt"), "--opt", /KEY=VALUE/);

  assert.equal(parseConstraintFlag(" node.labels.zone == edge "), "node.labels.zone == edge");
  assert.equal(parseConstraintFlag("node.role!=manager"), "node.role!=manager");
  rejects(() => parseConstraintFlag("node.cpu==4"), "--constraint", /unknown attribute "node.cpu"/);
  rejects(() => parseConstraintFlag("zone=edge"), "--constraint", /must look like/);
  assert.deepEqual(parsePlacementPref("spread=node.labels.zone"), { spread: "node.labels.zone" });
  rejects(() => parsePlacementPref("spread=zone"), "--placement-pref", /node.labels.KEY/);

  assert.deepEqual(parseHealthHttp("/healthz:8080"), { path: "/healthz", port: 8080 });
  assert.deepEqual(parseHealthHttp("8080"), { port: 8080 });
  assert.deepEqual(parseHealthHttp(":8080"), { port: 8080 });
  rejects(() => parseHealthHttp("healthz:80"), "--health-http", /PATH:PORT/);
  rejects(() => parseHealthHttp("/x:0"), "--health-http", /between 1 and 65535/);
});
