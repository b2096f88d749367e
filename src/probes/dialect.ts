// The few constructs a generated program writes differently for the bpftrace that will run it (0.17 ... 0.27+).

/** `0.23.2` -> [0, 23]; unknown -> null. */
export function bpftraceMinor(version: string | null | undefined): [number, number] | null {
  const m = /^v?(\d+)\.(\d+)/.exec(version ?? '');
  return m ? [Number(m[1]), Number(m[2])] : null;
}

/** True when `version` is known and at least `major.minor`. */
export function atLeast(version: string | null | undefined, major: number, minor: number): boolean {
  const v = bpftraceMinor(version);
  return v !== null && (v[0] > major || (v[0] === major && v[1] >= minor));
}

export interface Dialect {
  /** 0.24+: `for ($i : 0..N)`; 0.25 deprecates `while` and warns at every start. */
  forRange: boolean;
  /** 0.24+: `delete(@m, key)` returns whether the key existed and warns when that result is dropped. */
  deleteReturns: boolean;
}

/** Unknown versions get the oldest dialect: it runs everywhere (newer releases only warn). */
export function dialectOf(version: string | null | undefined): Dialect {
  const modern = atLeast(version, 0, 24);
  return { forRange: modern, deleteReturns: modern };
}

/**
 * The catalog writes `LOOP(N) {` for a bounded loop and `DELETE(@map[key, ...]);` for a deletion; this turns
 * them into what the version accepts without a warning.  The loop body must `break` on its own condition.
 */
export function inDialect(text: string, d: Dialect): string {
  return text
    .replace(/LOOP\((\d+)\) \{/g, (_, n: string) => (d.forRange ? `for ($i : 0..${n}) {` : `$i = 0;\n    while ($i < ${n}) {\n      $i++;`))
    .replace(/DELETE\((@\w+)\[(.*?)\]\);/g, (_, map: string, key: string) => {
      if (!d.deleteReturns) return `delete(${map}[${key}]);`;
      // the result is used (a variable), so a key already gone is not reported as a warning
      return `$deleted = delete(${map}, ${key.includes(',') ? `(${key})` : key});`;
    });
}
