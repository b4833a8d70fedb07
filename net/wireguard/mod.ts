/**
 * The WireGuard mesh between nodes: keys, the per-node interface, peer/route diffing and the
 * daemon-facing {@link startNodeMesh}.
 * @module
 */
export {
  DEFAULT_KEEPALIVE_S,
  desiredPeers,
  type DeviceDump,
  type DevicePeer,
  diffPeers,
  diffRoutes,
  parseDump,
  parseRoutes,
  type PeerChanges,
  type PeerConfig,
  wgSetArgs,
} from "./config_diff.ts";
export { type DeviceMode, socketPath, WIREGUARD_SOCKET_DIR } from "./device.ts";
export { interfaceName, overlayAddress } from "./interface_name.ts";
export { generateKeyPair, type KeyPair, loadOrCreateNodeKey, publicKeyOf } from "./keys.ts";
export { DEFAULT_MTU, Mesh, type MeshOptions } from "./mesh.ts";
export {
  DEFAULT_WIREGUARD_PORT,
  endpointOf,
  type NodeMesh,
  type NodeMeshOptions,
  nodePublicKey,
  type OverlayUpdate,
  startNodeMesh,
} from "./node_mesh.ts";
