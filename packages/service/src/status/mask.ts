/** Hides secrets in a command line before it is shown over HTTP. */

const SECRET_NAME = /(token|passw|passphrase|pass$|pwd|secret|key|credential|auth|cookie)/i;
const MASK = "***";

/**
 * Masks, in each argument: the value after a flag whose name looks secret (`--token abc`,
 * `--api-key=abc`, `--passphrase x`), the value of `NAME=value` pairs whose name looks secret
 * (`DB_PASSWORD=x`), passwords in URLs (`postgres://u:secret@host`), `Bearer`/`Basic` credentials,
 * and openssl-style `pass:secret`. An argument with spaces (a `sh -c` script) is masked word by word.
 */
export function maskArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  let maskNext = false;
  for (const arg of argv) {
    if (maskNext) {
      out.push(MASK);
      maskNext = false;
      continue;
    }
    if (/\s/.test(arg.trim())) {
      out.push(maskScript(arg));
      continue;
    }
    const [masked, secretFlag] = maskWord(arg);
    out.push(masked);
    maskNext = secretFlag;
  }
  return out;
}

/** Masks one word; says whether it is a secret-looking flag whose value is the next word. */
function maskWord(word: string): [string, boolean] {
  const flag = /^(--?[A-Za-z0-9][\w.-]*)(=(.*))?$/.exec(word);
  if (flag) {
    const secret = SECRET_NAME.test(flag[1] as string);
    if (secret && flag[2] !== undefined) return [`${flag[1]}=${MASK}`, false];
    return [word, secret];
  }
  const pair = /^([A-Za-z_][\w.-]*)=(.*)$/.exec(word);
  if (pair && SECRET_NAME.test(pair[1] as string)) return [`${pair[1]}=${MASK}`, false];
  return [maskInline(word), false];
}

/** Secrets that can stand anywhere inside a word. */
function maskInline(text: string): string {
  return text
    .replace(/([a-z][\w+.-]*:\/\/[^:/@\s]*:)[^@\s]+@/gi, `$1${MASK}@`)
    .replace(/\b(pass|env|file|fd):(?!\/\/)\S+/g, (m, kind: string) =>
      kind === "pass" ? `pass:${MASK}` : m,
    );
}

/** A script (e.g. the argument of `sh -c`): masked word by word, keeping its spacing. */
function maskScript(script: string): string {
  const text = script.replace(/\b(Bearer|Basic|Token)\s+[^\s"']+/g, `$1 ${MASK}`);
  const parts = text.split(/(\s+)/);
  let maskNext = false;
  return parts
    .map((part) => {
      if (/^\s*$/.test(part)) return part;
      if (maskNext) {
        maskNext = false;
        return MASK;
      }
      const [masked, secretFlag] = maskWord(part.replace(/^["']|["']$/g, ""));
      maskNext = secretFlag;
      return masked === part.replace(/^["']|["']$/g, "") ? part : masked;
    })
    .join("");
}

/** Longest JSON text one data value may take on the wire; a longer one is cut. */
export const MAX_DATA_VALUE_CHARS = 1_000;
/** Deepest nesting shown; deeper objects are summarised. */
const MAX_DEPTH = 6;

/**
 * A service's data as it may go over HTTP: every value under a secret-looking key (`token`,
 * `password`, `secret`, `apiKey`, `auth`, `cookie`, ...; the rules of `maskArgv`) replaced by
 * `"***"` at any depth, secrets inside strings masked (URL passwords, `Bearer ...`), values JSON
 * cannot carry made readable (bigint as text, functions, cycles), and each top-level value whose
 * JSON is longer than `MAX_DATA_VALUE_CHARS` cut to a string that says how much was left out.
 */
export function maskData(data: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(data)) {
    const masked = SECRET_NAME.test(key) ? MASK : maskValue(value, 1, new WeakSet());
    out[key] = bound(masked);
  }
  return out;
}

function maskValue(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value === "string")
    return /\s/.test(value.trim()) ? maskScript(value) : maskInline(value);
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "function") return "[function]";
  if (typeof value === "symbol" || value === undefined) return null;
  if (typeof value === "number") return Number.isFinite(value) ? value : String(value);
  if (value === null || typeof value !== "object") return value;
  if (seen.has(value)) return "[circular]";
  if (depth > MAX_DEPTH) return Array.isArray(value) ? "[array]" : "[object]";
  seen.add(value);
  try {
    if (value instanceof Date) return value.toISOString();
    if (Array.isArray(value)) return value.map((v) => maskValue(v, depth + 1, seen));
    if (value instanceof Map) return maskValue(Object.fromEntries(value), depth, seen);
    if (value instanceof Set) return maskValue([...value], depth, seen);
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) {
      out[key] = SECRET_NAME.test(key) ? MASK : maskValue(v, depth + 1, seen);
    }
    return out;
  } finally {
    seen.delete(value);
  }
}

function bound(value: unknown): unknown {
  const json = JSON.stringify(value) ?? "null";
  if (json.length <= MAX_DATA_VALUE_CHARS) return value;
  const keep = MAX_DATA_VALUE_CHARS - 40;
  return `${json.slice(0, keep)}… (${json.length - keep} more characters)`;
}
