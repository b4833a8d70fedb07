/**
 * The common start of the e2e tests: a real registry holding the test HTTP image (`v1`),
 * network-namespace hosts, and the image's reference as those hosts reach the registry
 * (`_registry_access.ts`). `await using` tears them down in reverse order.
 * @module
 */
import { createNetnsCluster, type NetnsCluster } from "../fixtures/netns.ts";
import { startRegistry } from "../fixtures/registry.ts";
import { buildHttpServerImage, pushImage } from "../fixtures/image.ts";
import { exposeRegistry } from "./_registry_access.ts";

/** The hosts and the image reference their containers pull. */
export interface HttpImageHosts extends AsyncDisposable {
  netns: NetnsCluster;
  /** `127.0.0.1:PORT/warren/http:v1`, valid inside every host. */
  reference: string;
}

/** Starts a registry with the HTTP image, `hosts` netns hosts, and the registry's forwarders. */
export async function httpImageOnHosts(hosts: number): Promise<HttpImageHosts> {
  await using stack = new AsyncDisposableStack();
  const registry = stack.use(await startRegistry());
  const image = await pushImage(
    registry,
    "warren/http",
    "v1",
    await buildHttpServerImage({ version: "v1" }),
  );
  const netns = stack.use(await createNetnsCluster({ hosts }));
  const access = stack.use(await exposeRegistry(netns, registry));
  const reference = image.reference.replace(registry.host, access.host);
  const owned = stack.move();
  return { netns, reference, [Symbol.asyncDispose]: () => owned.disposeAsync() };
}
