/** Hides secrets in a command line before it is shown over HTTP. */

const SECRET_NAME = /(token|password|passwd|secret|key|credential|auth)/i;
const MASK = "***";

/**
 * Masks the value after a flag whose name looks secret (`--token abc`, `--api-key=abc`, `-p`
 * excepted), and the value of `NAME=value` pairs whose name looks secret (`DB_PASSWORD=x`).
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
    const flag = /^(--?[A-Za-z0-9][\w.-]*)(=(.*))?$/.exec(arg);
    if (flag) {
      const secret = SECRET_NAME.test(flag[1] as string);
      if (secret && flag[2] !== undefined) out.push(`${flag[1]}=${MASK}`);
      else {
        out.push(arg);
        maskNext = secret;
      }
      continue;
    }
    const pair = /^([A-Za-z_][\w.-]*)=(.*)$/.exec(arg);
    if (pair && SECRET_NAME.test(pair[1] as string)) out.push(`${pair[1]}=${MASK}`);
    else out.push(arg);
  }
  return out;
}
