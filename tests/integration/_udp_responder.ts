/**
 * A UDP server for network tests: answers every datagram on 0.0.0.0:<port> with <reply>. Prints
 * `ready` once bound. Run inside a task namespace: `ip netns exec NS deno run -A <this> REPLY PORT`.
 * @module
 */
import dgram from "node:dgram";

if (import.meta.main) {
  const [reply, port] = Deno.args;
  const sock = dgram.createSocket("udp4");
  sock.on("message", (_msg, from) => sock.send(reply!, from.port, from.address));
  sock.bind(Number(port), "0.0.0.0", () => console.log("ready"));
}
