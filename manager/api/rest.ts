/**
 * REST on Hono, mirroring the gRPC resources as JSON (`/v1/services`, `/v1/nodes`, `/v1/secrets`,
 * `/v1/cluster/join-tokens/:role`, ...), for
 * clients on loopback only (see {@link restHandler}), plus `/health`, `/ready` and `/metrics`. Same handlers as gRPC; errors map to HTTP in
 * net/http/status.ts; bodies are `application/json` (else 415) of at most {@link MAX_BODY_BYTES}
 * (else 413), validated with the zod schemas (400 names the field); an unknown path is a JSON
 * 404, a method a resource does not take a JSON 405.
 * @module
 */
import { Hono } from "hono";
import type { Context } from "hono";
import {
  CreateServiceRequestSchema,
  IdSchema,
  ListTasksRequestSchema,
  NodeRoleSchema,
  NodeUpdateSchema,
  parseOrThrow,
  ScaleServiceRequestSchema,
  SecretCreateRequestSchema,
  SecretUpdateRequestSchema,
  UpdateServiceRequestSchema,
  VolumeCreateRequestSchema,
  WatchRequestSchema,
} from "../../proto/schema/mod.ts";
import {
  MethodNotAllowedError,
  NotFoundError,
  PermissionDeniedError,
  UnauthenticatedError,
  ValidationError,
} from "../../proto/errors.ts";
import { constantTimeEqual } from "../security/mod.ts";
import { REST_TOKEN_FILE } from "./rest_token.ts";
import { toHttpError } from "../../net/http/status.ts";
import { DEFAULT_MAX_MESSAGE_BYTES } from "../../net/grpc/server.ts";
import type { Registry } from "../../net/http/metrics.ts";
import { type ApiContext, withRequestId } from "./context.ts";
import { parseRequestId, REQUEST_ID_KEY } from "../../net/grpc/request_id.ts";
import * as services from "./services.ts";
import * as nodes from "./nodes.ts";
import { listTasks } from "./tasks.ts";
import * as volumes from "./volumes.ts";
import { watchEvents } from "./events.ts";
import { clusterInfo } from "./cluster.ts";
import * as secrets from "./secrets.ts";
import * as membership from "./membership.ts";
import { readJsonBody } from "./_rest_body.ts";

/**
 * Largest request body, in bytes: the gRPC API's largest message, so both APIs accept the same
 * requests. Larger bodies get 413 before they are read (Content-Length) or once the bytes read
 * pass it (chunked).
 */
export const MAX_BODY_BYTES = DEFAULT_MAX_MESSAGE_BYTES;

/**
 * The REST resources (`/v1/...`) answer only local tools. The gRPC API authenticates every caller
 * by its client certificate; this port has no such check, so a request gets the full app only
 * from a loopback address, with a loopback `Host` (no DNS rebinding) and no browser marks
 * (`Origin`, `Sec-Fetch-Site`: a web page must not drive it). Anything else gets `publicApp`,
 * which has only what carries no authority: `/health`, `/ready` and `/metrics` (Prometheus
 * scrapes it). The choice is of the whole app, not of a path: the path a router sees may differ
 * from the one a URL parser reads (percent-encoding, odd `Host` values). Local tools get the JSON
 * API, as Docker's daemon socket is local by default; remote administration goes through the CLI
 * (mutual TLS) or an SSH tunnel.
 *
 * Loopback is not enough: every user of the machine reaches it, and the API can create a
 * service that bind-mounts the host's root. So a local request also presents the manager's
 * token (`Authorization: Bearer <token>`, rest_token.ts: a file only the manager's owner reads),
 * as Docker's socket is root's. Without it a local request gets `publicApp` too, whose refusal
 * then says where the token is.
 */
export function restHandler(
  app: Hono,
  publicApp: Hono,
  token: string,
): (req: Request, info: Deno.ServeHandlerInfo) => Response | Promise<Response> {
  const expected = `Bearer ${token}`;
  return (req, info) => {
    const addr = info.remoteAddr as Deno.NetAddr;
    const h = req.headers;
    const local = isLoopback(addr.hostname) && loopbackHost(h.get("host")) &&
      !h.has("origin") && !h.has("sec-fetch-site");
    const authorized = local && constantTimeEqual(h.get("authorization") ?? "", expected);
    return authorized ? app.fetch(req) : publicApp.fetch(req, { local });
  };
}

/** The app for clients that are not local tools: health, readiness and metrics only. */
export function publicRestApp(ctx: ApiContext, opts: PublicRoutesOptions): Hono {
  const app = new Hono();
  addPublicRoutes(app, ctx, opts);
  app.notFound((c) => {
    if ((c.env as { local?: boolean } | undefined)?.local) {
      const { status, body } = toHttpError(
        new UnauthenticatedError(
          "the REST API (/v1) needs the manager's token: send 'Authorization: Bearer <token>' " +
            `with the token in ${REST_TOKEN_FILE} of the manager's data directory (readable by ` +
            'root only), e.g. curl -H "Authorization: Bearer $(cat /var/lib/warren/' +
            `${REST_TOKEN_FILE})"`,
        ),
      );
      c.header("WWW-Authenticate", 'Bearer realm="warren"');
      return c.json(body, status as 401);
    }
    const { status, body } = toHttpError(
      new PermissionDeniedError(
        "the REST API (/v1) answers only local tools on loopback; from elsewhere use the gRPC " +
          "API (the warren CLI, mutual TLS) or an SSH tunnel",
      ),
    );
    return c.json(body, status as 403);
  });
  return app;
}

/** Whether a `Host` header names loopback (`localhost`, 127.x, [::1]), with any port. */
function loopbackHost(host: string | null): boolean {
  if (host === null) return true; // HTTP/1.0 without Host
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/.exec(host);
  if (!m) return false;
  const name = m[1]!.toLowerCase();
  return name === "localhost" || isLoopback(name);
}

/** Whether `host` is a loopback address (127.0.0.0/8, ::1, or IPv4-mapped 127.x). */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "::1" || /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** Most committed-but-unapplied entries a manager may have and still report ready. */
const READY_MAX_LAG = 100;

/**
 * `/ready`: a leader is known and this manager applies what is committed (a few entries in
 * flight are normal under load). Nothing applied yet is not caught up: every cluster's log
 * starts with its bootstrap entries, so a member at index 0 has not heard from its leader yet
 * (a join still pending), even though its own commit index (0) says nothing is missing.
 */
export function isReady(leaderId: string, applied: number, commit: number): boolean {
  return leaderId !== "" && applied > 0 && commit - applied <= READY_MAX_LAG;
}

/** Extra routes other layers (secrets, workers) add to the same app. */
export type RouteHook = (app: Hono) => void;

/** Options of {@link publicRestApp} (and of the public part of {@link restApp}). */
export interface PublicRoutesOptions {
  metrics: Registry;
  observe?: (route: string, ms: number, status: number) => void;
}

/** Error mapping, latency observation, `/health`, `/ready` and `/metrics`. */
function addPublicRoutes(app: Hono, ctx: ApiContext, opts: PublicRoutesOptions): void {
  app.onError((err, c) => {
    const { status, body } = toHttpError(err);
    return c.json(body, status as 400);
  });
  app.use("*", async (c, next) => {
    const t0 = performance.now();
    await next();
    opts.observe?.(`${c.req.method} ${c.req.routePath}`, performance.now() - t0, c.res.status);
  });
  app.get("/health", (c) => c.json({ status: "ok" }));
  app.get("/ready", async (c) => {
    const lead = ctx.raft.leader;
    const st = ctx.raft.status();
    // A manager restarted under autolock follows the log but signs, seals and opens nothing
    // (joins, certificates, secrets) until unlocked: not ready, and the body says why.
    const locked = (await ctx.localKek?.locked().catch(() => false)) ?? false;
    const ready = !locked && isReady(lead.leaderId, ctx.raft.appliedIndex, st.commit);
    return c.json(
      {
        ready,
        leader: lead.leaderId || null,
        applied: ctx.raft.appliedIndex,
        commit: st.commit,
        ...(locked ? { locked } : {}),
      },
      ready ? 200 : 503,
    );
  });
  app.get(
    "/metrics",
    async (c) =>
      c.text(await opts.metrics.renderAll(), 200, {
        "content-type": "text/plain; version=0.0.4",
      }),
  );
}

/** Builds the REST app for local tools. `observe` records each request's latency by route. */
export function restApp(
  ctx: ApiContext,
  opts: PublicRoutesOptions & {
    extraRoutes?: RouteHook[];
    /** Largest request body in bytes; default {@link MAX_BODY_BYTES}. */
    maxBodyBytes?: number;
  },
): Hono {
  const app = new Hono();
  addPublicRoutes(app, ctx, opts);

  const stale = (c: Context) => boolQuery(c, "stale");
  const idParam = (c: Context) => parseOrThrow(IdSchema, c.req.param("id"), "id");
  const maxBodyBytes = opts.maxBodyBytes ?? MAX_BODY_BYTES;
  const body = (c: Context): Promise<object> =>
    readJsonBody(c.req.raw, maxBodyBytes) as Promise<object>;
  // A write's request ID ({@link requestIdOf}): a repeat gets the first outcome (answerOnce).
  const once = (c: Context) => {
    const id = requestIdOf(c);
    return withRequestId(ctx, id?.requestId, id?.header);
  };

  app.get("/v1/cluster", async (c) => c.json(await clusterInfo(ctx, stale(c))));

  app.get("/v1/nodes", async (c) => {
    const roleQ = c.req.query("role");
    const role = roleQ === undefined ? undefined : parseOrThrow(NodeRoleSchema, roleQ, "role");
    return c.json(await nodes.listNodes(ctx, { stale: stale(c), role }));
  });
  app.get("/v1/nodes/:id", async (c) => c.json(await nodes.inspectNode(ctx, idParam(c), stale(c))));
  app.patch("/v1/nodes/:id", async (c) => {
    const update = parseOrThrow(NodeUpdateSchema, await body(c));
    return c.json(await nodes.updateNode(once(c), idParam(c), update));
  });
  app.delete("/v1/nodes/:id", async (c) => {
    await nodes.removeNode(once(c), idParam(c), boolQuery(c, "force"));
    return c.body(null, 204);
  });

  app.get("/v1/services", async (c) => c.json(await services.listServices(ctx, stale(c))));
  app.post("/v1/services", async (c) => {
    const req = parseOrThrow(CreateServiceRequestSchema, { spec: await body(c) });
    return c.json(await services.createService(once(c), req.spec), 201);
  });
  app.get(
    "/v1/services/:id",
    async (c) => c.json(await services.inspectService(ctx, idParam(c), stale(c))),
  );
  app.put("/v1/services/:id", async (c) => {
    const expected = c.req.query("expected_spec_version");
    const revision = c.req.query("expected_revision");
    const req = parseOrThrow(UpdateServiceRequestSchema, {
      id: c.req.param("id"),
      spec: await body(c),
      ...(expected === undefined
        ? {}
        : { expectedSpecVersion: versionQuery("expected_spec_version", expected) }),
      ...(revision === undefined
        ? {}
        : { expectedRevision: versionQuery("expected_revision", revision) }),
      ...(boolQuery(c, "force") ? { force: true } : {}),
    });
    return c.json(await services.updateService(once(c), req.id, req.spec, req));
  });
  app.post("/v1/services/:id/scale", async (c) => {
    const req = parseOrThrow(ScaleServiceRequestSchema, {
      ...(await body(c)),
      id: c.req.param("id"),
    });
    return c.json(await services.scaleService(once(c), req.id, req.replicas));
  });
  app.post(
    "/v1/services/:id/rollback",
    async (c) => c.json(await services.rollbackService(once(c), idParam(c))),
  );
  app.delete("/v1/services/:id", async (c) => {
    await services.deleteService(once(c), idParam(c));
    return c.body(null, 204);
  });

  app.get("/v1/tasks", async (c) => {
    const req = parseOrThrow(ListTasksRequestSchema, {
      serviceId: c.req.query("service"),
      nodeId: c.req.query("node"),
      history: boolQuery(c, "history"),
      stale: stale(c),
    });
    return c.json(await listTasks(ctx, req));
  });

  app.get("/v1/volumes", async (c) => c.json(await volumes.listVolumes(ctx, stale(c))));
  app.post("/v1/volumes", async (c) => {
    const req = parseOrThrow(VolumeCreateRequestSchema, await body(c));
    return c.json(await volumes.createVolume(once(c), req), 201);
  });
  app.get(
    "/v1/volumes/:id",
    async (c) => c.json(await volumes.inspectVolume(ctx, idParam(c), stale(c))),
  );
  app.delete("/v1/volumes/:id", async (c) => {
    await volumes.deleteVolume(once(c), idParam(c), { force: boolQuery(c, "force") });
    return c.body(null, 204);
  });

  // Secrets: metadata out, plaintext (base64 `data`) only in.
  app.get("/v1/secrets", async (c) => c.json(await secrets.listSecrets(ctx, stale(c))));
  app.post("/v1/secrets", async (c) => {
    const req = parseOrThrow(SecretCreateRequestSchema, await body(c));
    return c.json(await secrets.createSecret(once(c), req), 201);
  });
  app.get(
    "/v1/secrets/:id",
    async (c) => c.json(await secrets.inspectSecret(ctx, idParam(c), stale(c))),
  );
  app.put("/v1/secrets/:id", async (c) => {
    const req = parseOrThrow(SecretUpdateRequestSchema, {
      ...(await body(c)),
      id: c.req.param("id"),
    });
    return c.json(await secrets.updateSecret(once(c), req));
  });
  app.delete("/v1/secrets/:id", async (c) => {
    await secrets.deleteSecret(once(c), idParam(c));
    return c.body(null, 204);
  });

  // Join tokens: GET prints, POST .../rotate replaces.
  const role = (c: Context) => parseOrThrow(NodeRoleSchema, c.req.param("role"), "role");
  app.get(
    "/v1/cluster/join-tokens/:role",
    async (c) => c.json(await membership.getJoinToken(ctx, role(c), false)),
  );
  app.post(
    "/v1/cluster/join-tokens/:role/rotate",
    async (c) => c.json(await membership.getJoinToken(ctx, role(c), true)),
  );

  // Events as newline-delimited JSON, until the client disconnects.
  app.get("/v1/events", (c) => {
    const from = c.req.query("from_index");
    const req = parseOrThrow(WatchRequestSchema, {
      fromIndex: from === undefined ? 0 : versionQuery("from_index", from, "a Raft index"),
      kinds: c.req.queries("kind") ?? [],
    });
    const ac = new AbortController();
    const enc = new TextEncoder();
    const it = watchEvents(ctx, req, ac.signal);
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const r = await it.next();
          if (r.done) controller.close();
          else controller.enqueue(enc.encode(JSON.stringify(r.value) + "\n"));
        } catch (err) {
          controller.enqueue(enc.encode(JSON.stringify(toHttpError(err).body) + "\n"));
          controller.close();
        }
      },
      cancel() {
        ac.abort();
      },
    });
    return c.body(stream, 200, { "content-type": "application/x-ndjson" });
  });

  for (const hook of opts.extraRoutes ?? []) hook(app);
  app.notFound((c) => notFoundOrNotAllowed(app, c));
  return app;
}

/**
 * The request ID of a write, from `Idempotency-Key` (the IETF draft's header, as Stripe takes it)
 * or `warren-request-id` (what the gRPC API takes); both given, they must agree. `header`: the
 * one it came in (`Idempotency-Key` when both), for messages.
 * @throws ValidationError naming the header when malformed
 */
function requestIdOf(c: Context): { requestId: string; header: string } | undefined {
  const given = [IDEMPOTENCY_KEY, REQUEST_ID_KEY].flatMap((h) => {
    const v = c.req.header(h);
    return v === undefined ? [] : [{ id: parseRequestId([v], h)!, header: h }];
  });
  const requestId = parseRequestId(
    given.map((g) => g.id),
    `${IDEMPOTENCY_KEY} and ${REQUEST_ID_KEY}`,
  );
  return requestId === undefined ? undefined : { requestId, header: given[0].header };
}

const IDEMPOTENCY_KEY = "Idempotency-Key";

/**
 * `?expected_spec_version=N` or `?expected_revision=N` (query `name`). Not `Number(text)`: that
 * reads an empty value as 0, which then fails as a stale version (412) instead of as bad input.
 */
function versionQuery(
  name: string,
  text: string,
  what = "a version, a whole number (as inspect shows it)",
): number {
  const n = /^\d{1,16}$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n)) {
    throw new ValidationError(name, `${JSON.stringify(text)} must be ${what}`);
  }
  return n;
}

/**
 * A boolean query parameter: absent or `false` is false, `true` true, anything else a 400
 * naming it, so `?force=1` is not silently read as "no force" (or `?stale=yes` as a full read).
 */
function boolQuery(c: Context, name: string): boolean {
  const v = c.req.query(name);
  if (v === undefined || v === "false") return false;
  if (v === "true") return true;
  throw new ValidationError(name, `must be true or false, not ${JSON.stringify(v)}`);
}

/**
 * The JSON error of a request no route took: 405 (with `Allow`) when the path is a resource that
 * takes other methods, else 404.
 */
function notFoundOrNotAllowed(app: Hono, c: Context): Response {
  const path = c.req.path;
  const allowed = new Set<string>();
  for (const r of app.routes) {
    if (r.method === "ALL" || !routePattern(r.path).test(path)) continue;
    allowed.add(r.method);
    if (r.method === "GET") allowed.add("HEAD");
  }
  const err = allowed.size === 0 ? new NotFoundError("path", path) : new MethodNotAllowedError(
    `${c.req.method} is not allowed on ${path}; it takes ${[...allowed].join(", ")}`,
  );
  const { status, body } = toHttpError(err);
  const headers: Record<string, string> = allowed.size === 0
    ? {}
    : { allow: [...allowed].join(", ") };
  return c.json(body, status as 404, headers);
}

/** A Hono route path (`/v1/services/:id/scale`) as a regular expression of the paths it takes. */
function routePattern(route: string): RegExp {
  const parts = route.split("/").map((seg) =>
    seg.startsWith(":") ? "[^/]+" : seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
  );
  return new RegExp(`^${parts.join("/")}$`);
}
