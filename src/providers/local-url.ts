/**
 * Whether `url` names this machine: a loopback address (127.0.0.0/8, ::1), `localhost` or a name
 * under it, or 0.0.0.0 (which connects to this host). A model served there costs nothing per
 * token. A LAN name or address is not counted as local: it may be someone else's billed server.
 */
export function isLocalUrl(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname.toLowerCase();
  } catch {
    return false;
  }
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  if (host === "[::1]" || host === "0.0.0.0") return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
