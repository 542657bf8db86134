/**
 * Whether a listening address is reachable from this machine only. Loopback is 127.0.0.0/8, ::1
 * (also written in full, or as IPv4-mapped ::ffff:127.x.y.z) and "localhost". Anything else,
 * "0.0.0.0", "::", a LAN address or another host name, may be reachable from the network.
 */
import { isIPv4, isIPv6 } from "node:net";

export function isLoopback(hostname: string): boolean {
  const host = hostname
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, "$1")
    .replace(/\.$/, "");
  if (host === "localhost") return true;
  if (isIPv4(host)) return host.startsWith("127.");
  if (!isIPv6(host)) return false;
  let normal: string;
  try {
    // The URL parser writes an IPv6 address in its one short form: "0:0:0:0:0:0:0:1" is "[::1]".
    normal = new URL(`http://[${host}]/`).hostname;
  } catch {
    // A zone index (fe80::1%eth0) is not a loopback address either.
    return false;
  }
  if (normal === "[::1]") return true;
  const mapped = /^\[::ffff:([0-9a-f]{1,4}):[0-9a-f]{1,4}\]$/.exec(normal);
  return mapped !== null && Number.parseInt(mapped[1] as string, 16) >> 8 === 127;
}
