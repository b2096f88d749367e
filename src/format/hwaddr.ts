// Hardware addresses: hex bytes joined by ':' of any length (6 Ethernet, 20 IPoIB); the one pattern everything checks.

/** As ifblame stores them: lowercase, or empty for none. */
export const HW_ADDR = /^(?:[0-9a-f]{2}(?::[0-9a-f]{2})*)?$/;

const ANY_CASE = /^[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2})*$/;

/** `AA:bb:01` -> `aa:bb:01`; undefined when it is not a hardware address (or empty). */
export function normalizeHwAddr(text: string): string | undefined {
  return ANY_CASE.test(text) ? text.toLowerCase() : undefined;
}
