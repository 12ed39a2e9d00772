/**
 * Where a webhook may be sent: https to public addresses only, unless WEBHOOK_ALLOW_PRIVATE=true. Checked when an
 * endpoint is created and again on every delivery, where the request connects to the very address that was checked
 * (a DNS answer that changes between the check and the connection, "DNS rebinding", cannot slip a private address in).
 *
 * "Public" is what ipaddr.js calls `unicast`: everything it classifies otherwise is refused, among them private
 * (10/8, 172.16/12, 192.168/16), loopback, link-local (169.254/16, the cloud metadata address; fe80::/10),
 * unique-local (fc00::/7), carrier-grade NAT (100.64/10), multicast, broadcast, unspecified (0.0.0.0, ::), reserved
 * and documentation ranges, and IPv6 forms that embed an IPv4 address (IPv4-mapped ::ffff:0:0/96, NAT64, 6to4,
 * Teredo), which could reach an internal IPv4 host.
 */
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { isIP, type LookupFunction } from "node:net";
import ipaddr from "ipaddr.js";
import { LIMITS } from "../validation.js";

/** Whether `address` (an IPv4 or IPv6 literal) is a public unicast address. */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  return ipaddr.parse(address).range() === "unicast";
}

/** Why a URL is refused, as a sentence for BAD_USER_INPUT (or a delivery's lastError); null when it is fine. */
export type UrlProblem = string | null;

/** The host of `url` without IPv6 brackets. */
function hostOf(url: URL): string {
  return url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
}

/** What can be said of a URL without resolving it. */
export function urlProblem(url: URL, allowPrivate: boolean): UrlProblem {
  if (url.protocol !== "https:" && !(allowPrivate && url.protocol === "http:")) {
    return allowPrivate ? "The URL must be http or https." : "The URL must be https.";
  }
  if (url.username || url.password) return "The URL must not hold a user name or password: requests are signed instead.";
  const host = hostOf(url);
  if (!host) return "The URL has no host.";
  if (!allowPrivate && isIP(host) && !isPublicAddress(host)) {
    return "The URL points at a private, loopback, link-local or otherwise non-public address.";
  }
  return null;
}

/** Resolves `host` (every address, as the connection would) with the system resolver. */
function resolveAll(host: string): Promise<LookupAddress[]> {
  return new Promise((resolve, reject) =>
    dnsLookup(host, { all: true, verbatim: true }, (error, addresses) => (error ? reject(error) : resolve(addresses))),
  );
}

/**
 * Checks an endpoint URL when it is created: syntax, scheme, and (unless private addresses are allowed) every
 * address its host resolves to. Returns the normalised URL, or the problem.
 */
export async function checkEndpointUrl(raw: string, allowPrivate: boolean): Promise<{ url: string } | { problem: string }> {
  if (raw.length > LIMITS.url) return { problem: `The URL is longer than ${LIMITS.url} characters.` };
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return { problem: "Not a valid URL." };
  }
  const problem = urlProblem(url, allowPrivate);
  if (problem) return { problem };
  url.hash = "";
  const host = hostOf(url);
  if (!allowPrivate && !isIP(host)) {
    let addresses: LookupAddress[];
    try {
      addresses = await resolveAll(host);
    } catch {
      return { problem: `The host ${host} could not be resolved.` };
    }
    if (addresses.length === 0 || addresses.some((a) => !isPublicAddress(a.address))) {
      return { problem: `The host ${host} resolves to a private, loopback, link-local or otherwise non-public address.` };
    }
  }
  return { url: url.toString() };
}

/**
 * A `lookup` for http.request that refuses a host with any non-public address and hands the connection exactly
 * the addresses it checked. Node's own connection code calls it (with `all: true` when it tries several families).
 */
export const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  resolveAll(hostname).then(
    (addresses) => {
      const refused = addresses.length === 0 || addresses.some((a) => !isPublicAddress(a.address));
      if (refused) {
        const error = Object.assign(new Error(`${hostname} resolves to a non-public address`), { code: "ENONPUBLIC" });
        callback(error, "", 0);
        return;
      }
      const wanted = options.family === 4 || options.family === 6 ? addresses.filter((a) => a.family === options.family) : addresses;
      if (wanted.length === 0) {
        callback(Object.assign(new Error(`${hostname} has no IPv${options.family} address`), { code: "ENOTFOUND" }), "", 0);
      } else if (options.all) {
        (callback as unknown as (error: null, addresses: LookupAddress[]) => void)(null, wanted);
      } else {
        callback(null, wanted[0]!.address, wanted[0]!.family);
      }
    },
    (error: Error) => callback(error as NodeJS.ErrnoException, "", 0),
  );
};
