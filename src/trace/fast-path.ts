// The reader's fast path for event lines: a plain parser generated once from the zod schemas (events.ts) that
// returns what zod's parse would (same values, keys in shape order, unknown keys left out) or null, and then zod
// parses the line as before, with its messages: a default to fill in, an own `__proto__` key, any invalid value.
// It reuses the parsed JSON where it already is the result (the usual line), so it allocates little.
// Only for JSON.parse output (plain objects and arrays).
import type { z } from 'zod';

/** The event zod would return for `v`, or null: ask zod. */
export type FastPath = (v: unknown) => unknown;

interface Def {
  type: string;
  innerType?: z.ZodType;
  element?: z.ZodType;
  keyType?: z.ZodType;
  valueType?: z.ZodType;
  options?: z.ZodType[];
  shape?: Record<string, z.ZodType>;
  catchall?: z.ZodType;
  checks?: { _zod: { def: CheckDef } }[];
  values?: unknown[];
  entries?: Record<string, unknown>;
}
interface CheckDef {
  check: string;
  format?: string;
  value?: unknown;
  inclusive?: boolean;
  pattern?: RegExp;
}

const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** A schema feature the generator does not model: that schema keeps zod alone. */
class Unsupported extends Error {}

/** Generated code's state: regexes are passed in, variables numbered. */
interface Gen {
  lines: string[];
  regexes: RegExp[];
  keyLists: string[][];
  n: number;
}

/** The fast path for one event schema, or null when it holds something not modelled here. */
export function fastPathFor(schema: z.ZodType): FastPath | null {
  const g: Gen = { lines: [], regexes: [], keyLists: [], n: 0 };
  let out: string;
  try {
    out = emit(g, schema, 'input');
  } catch (e) {
    if (e instanceof Unsupported) return null;
    throw e;
  }
  // Code built only from the schema (keys and literals JSON-quoted), never from input.
  const body = `return (input) => {\n${g.lines.join('\n')}\nreturn ${out};\n};`;
  return new Function('R', 'K', body)(g.regexes, g.keyLists) as FastPath;
}

/** A plain object, as zod's object and record schemas require (JSON.parse makes no other kind). */
function isObject(v: string): string {
  return `(typeof ${v} === "object" && ${v} !== null && !Array.isArray(${v}))`;
}

/** Lines that return null unless the value in variable `v` is valid; returns the variable holding zod's result. */
function emit(g: Gen, s: z.ZodType, v: string): string {
  const d = defOf(s);
  const leaf = leafTest(g, s, v);
  if (leaf !== null) {
    g.lines.push(`if (!(${leaf})) return null;`);
    return v;
  }
  switch (d.type) {
    case 'optional': // absent: zod leaves the key out, as JSON did
      return wrapped(g, `${v} !== undefined`, d.innerType!, v);
    case 'nullable':
      return wrapped(g, `${v} !== null`, d.innerType!, v);
    case 'default': // absent: zod fills in the default; left to zod
      g.lines.push(`if (${v} === undefined) return null;`);
      return emit(g, d.innerType!, v);
    case 'array':
      return emitArray(g, d, v);
    case 'record': {
      if (defOf(d.keyType!).type !== 'string' || defOf(d.keyType!).checks?.length) throw new Unsupported();
      const k = `k${g.n++}`;
      const e = `v${g.n++}`;
      // zod leaves out an own `__proto__` key (JSON.parse makes one): left to zod; values must come out unchanged
      g.lines.push(`if (!${isObject(v)}) return null;`, `for (const ${k} in ${v}) {`, `if (${k} === "__proto__") return null;`, `const ${e} = ${v}[${k}];`);
      if (emit(g, d.valueType!, e) !== e) throw new Unsupported();
      g.lines.push('}');
      return v;
    }
    case 'object':
      return emitObject(g, d, v);
    default:
      throw new Unsupported();
  }
}

/** `v` when `cond` fails (absent, null), else what the inner schema makes of it. */
function wrapped(g: Gen, cond: string, inner: z.ZodType, v: string): string {
  const o = `o${g.n++}`;
  g.lines.push(`let ${o} = ${v};`, `if (${cond}) {`);
  g.lines.push(`${o} = ${emit(g, inner, v)};`, '}');
  return o;
}

/** The array itself when every item comes out unchanged, else a copy with the changed items. */
function emitArray(g: Gen, d: Def, v: string): string {
  const i = `i${g.n++}`;
  const e = `v${g.n++}`;
  const o = `o${g.n++}`;
  g.lines.push(`if (!Array.isArray(${v})) return null;`, `let ${o} = ${v};`, `for (let ${i} = 0; ${i} < ${v}.length; ${i}++) {`, `const ${e} = ${v}[${i}];`);
  const item = emit(g, d.element!, e);
  if (item !== e) g.lines.push(`if (${item} !== ${e}) {`, `if (${o} === ${v}) ${o} = ${v}.slice();`, `${o}[${i}] = ${item};`, '}');
  g.lines.push('}');
  return o;
}

/**
 * zod builds an object in shape order and leaves out unknown keys: the JSON object itself when its keys are the
 * shape's, in that order, and no value changed; else a new object built like zod's.
 */
function emitObject(g: Gen, d: Def, v: string): string {
  if (d.catchall !== undefined) throw new Unsupported();
  const keys = Object.keys(d.shape!);
  g.lines.push(`if (!${isObject(v)}) return null;`);
  const outs = keys.map((key) => {
    const f = `v${g.n++}`;
    g.lines.push(`const ${f} = ${v}[${JSON.stringify(key)}];`);
    return [f, emit(g, d.shape![key]!, f)] as const;
  });
  const list = `K[${g.keyLists.push(keys) - 1}]`;
  const i = `i${g.n++}`;
  const k = `k${g.n++}`;
  const same = `s${g.n++}`;
  const o = `o${g.n++}`;
  // a key absent from the JSON passed its check above only where zod leaves it out too
  g.lines.push(
    `let ${same} = true;`,
    `let ${i} = 0;`,
    `for (const ${k} in ${v}) {`,
    `while (${i} < ${keys.length} && ${list}[${i}] !== ${k}) ${i}++;`,
    `if (${i}++ === ${keys.length}) { ${same} = false; break; }`,
    '}',
    ...outs.filter(([f, out]) => f !== out).map(([f, out]) => `if (${out} !== ${f}) ${same} = false;`),
    `let ${o} = ${v};`,
    `if (!${same}) {`,
    `${o} = {};`,
    ...keys.map((key, j) => `if (${outs[j]![0]} !== undefined) ${o}[${JSON.stringify(key)}] = ${outs[j]![1]};`),
    '}',
  );
  return o;
}

/** A boolean expression for a leaf schema (returned unchanged by zod when valid), or null for a container. */
function leafTest(g: Gen, s: z.ZodType, v: string): string | null {
  const d = defOf(s);
  switch (d.type) {
    case 'string':
      return [`typeof ${v} === "string"`, ...(d.checks ?? []).map((c) => stringCheck(g, c._zod.def, v))].join(' && ');
    case 'number':
      return [`typeof ${v} === "number"`, `Number.isFinite(${v})`, ...(d.checks ?? []).map((c) => numberCheck(c._zod.def, v))].join(' && ');
    case 'boolean':
      return noChecks(d, `typeof ${v} === "boolean"`);
    case 'null':
      return noChecks(d, `${v} === null`);
    case 'literal':
      return noChecks(d, oneOf(d.values!, v));
    case 'enum':
      return noChecks(d, oneOf(Object.values(d.entries!), v));
    case 'union': {
      // a union of leaves returns the value of whichever option matched: unchanged
      const tests = d.options!.map((o) => leafTest(g, o, v));
      if (tests.some((t) => t === null)) throw new Unsupported();
      return noChecks(d, tests.map((t) => `(${t})`).join(' || '));
    }
    default:
      return null;
  }
}

function noChecks(d: Def, test: string): string {
  if (d.checks?.length) throw new Unsupported();
  return test;
}

function oneOf(values: unknown[], v: string): string {
  if (!values.every((x) => typeof x === 'string' || (typeof x === 'number' && Number.isFinite(x)) || typeof x === 'boolean' || x === null))
    throw new Unsupported();
  return `(${values.map((x) => `${v} === ${JSON.stringify(x)}`).join(' || ')})`;
}

function stringCheck(g: Gen, c: CheckDef, v: string): string {
  if (c.check !== 'string_format' || c.format !== 'regex' || !(c.pattern instanceof RegExp)) throw new Unsupported();
  // a global or sticky regex keeps state between tests: not modelled
  if (c.pattern.global || c.pattern.sticky) throw new Unsupported();
  return `R[${g.regexes.push(c.pattern) - 1}].test(${v})`;
}

function numberCheck(c: CheckDef, v: string): string {
  if (c.check === 'number_format' && c.format === 'safeint') return `Number.isSafeInteger(${v})`;
  if (typeof c.value !== 'number' || !Number.isFinite(c.value)) throw new Unsupported();
  if (c.check === 'greater_than') return `${v} ${c.inclusive ? '>=' : '>'} ${c.value}`;
  if (c.check === 'less_than') return `${v} ${c.inclusive ? '<=' : '<'} ${c.value}`;
  throw new Unsupported();
}
