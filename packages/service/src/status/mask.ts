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
