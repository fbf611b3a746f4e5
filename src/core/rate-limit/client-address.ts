/**
 * The part of a client address that one party controls: an IPv4 address, or
 * the /64 of an IPv6 one (a single host is routinely given a whole /64, so
 * counting each address alone would let it walk around its limit).
 */
import { isIPv4, isIPv6 } from 'node:net';

/** A bucket name for the address: `1.2.3.4`, `2001:db8:0:1::/64`; `unknown` when there is none. */
export function clientAddressKey(ip: string | null | undefined): string {
  if (ip === null || ip === undefined || ip === '') return 'unknown';
  if (isIPv4(ip)) return ip;
  const zoneless = ip.split('%')[0] ?? ip;
  if (!isIPv6(zoneless)) return ip.slice(0, 64); // not an address (a proxy passed on junk): bounded all the same
  const hextets = expandIPv6(zoneless);
  // IPv4-mapped (::ffff:1.2.3.4): the IPv4 client it is.
  if (hextets.slice(0, 5).every((h) => h === 0) && hextets[5] === 0xffff) {
    const [a = 0, b = 0] = hextets.slice(6);
    return `${a >> 8}.${a & 0xff}.${b >> 8}.${b & 0xff}`;
  }
  return `${hextets
    .slice(0, 4)
    .map((h) => h.toString(16))
    .join(':')}::/64`;
}

/** Eight 16-bit groups of a valid IPv6 address (with `::` and a dotted IPv4 tail expanded). */
function expandIPv6(address: string): number[] {
  let text = address.toLowerCase();
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((h) => parseInt(h, 16)));
  const front = parse(head);
  const back = tail === undefined ? [] : parse(tail);
  return [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
}
