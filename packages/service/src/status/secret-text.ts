/**
 * Secrets that can stand anywhere inside a piece of text: in one argument of a command line, in a
 * `sh -c` script, in a string of a service's data. The rules of `maskArgv` that look at flags and
 * at which command is running are in mask-argv.ts; these look at the text alone.
 */

export const MASK = "***";

/**
 * Name parts that make a name secret wherever they stand (`DB_PASSWORD`, `client_secret`,
 * `SECRET_KEY_BASE`, `x-auth-token`); a part that ends with one counts too (`PGPASSWORD`,
 * `accessToken` is split, `authtoken` is not). Plurals other than these are not secret:
 * `--max-tokens 512` is a count.
 */
const SECRET_PART =
  /(password|passwd|passphrase|secret|secrets|token|credential|credentials|cookie|cookies|authorization|bearer|jwt|apikey|signature|privatekey|accesskey|secretkey|sessionid)$/;
/** Parts that are secret only as the last part of a name: `--api-key`, `-pass`, `?sig=`. */
const SECRET_LAST = new Set(["key", "pass", "pwd", "pw", "auth", "sig", "creds", "session", "sid"]);
/**
 * A name that ends in one of these is about a secret but is not one: `--password-file /path`,
 * `--password-stdin` (a switch), `tokenCount`.
 */
const NOT_SECRET_LAST = new Set([
  "file",
  "path",
  "dir",
  "stdin",
  "prompt",
  "env",
  "command",
  "cmd",
  "length",
  "type",
  "count",
]);

/**
 * Whether an option, variable, header, query parameter or data key name looks secret. The name is
 * split into parts at `-`, `_`, `.` and camelCase (`apiKey` is `api` `key`, so `StrictHostKeyChecking`
 * is not secret: `key` is not its last part). A switch that says no or asks (`--no-password`,
 * `--ask-pass`) is not.
 */
export function isSecretName(name: string): boolean {
  let secret = judged.get(name);
  if (secret === undefined) {
    secret = judgeName(name);
    if (judged.size >= JUDGED_MAX) judged.clear();
    if (name.length <= 64) judged.set(name, secret);
  }
  return secret;
}

/**
 * Names already judged. A watcher's values repeat the same keys in every value and in every item
 * of a list, and judging one takes about 0.5 µs: the `/events` frame of a 15 KB value of 200
 * records took 900 µs, 690 µs with this. Bounded, and emptied when full, so names that never
 * repeat (a Map keyed by ids) cost no more than without it.
 */
const judged = new Map<string, boolean>();
const JUDGED_MAX = 1024;

function judgeName(name: string): boolean {
  const parts = name
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((p) => p !== "");
  const last = parts[parts.length - 1];
  if (last === undefined || NOT_SECRET_LAST.has(last)) return false;
  if (parts[0] === "no" || parts[0] === "ask") return false;
  return SECRET_LAST.has(last) || parts.some((p) => SECRET_PART.test(p));
}

// Names and URL schemes are bounded in length, so that no rule can take quadratic time on a long
// run of word characters (a 1 MB argument is masked in milliseconds; see the tests).
const NAME = "[A-Za-z_][\\w.-]{0,63}";

/** `scheme://user:password@host`: the password, up to the last `@` before the path. */
const URL_PASSWORD = /\b([a-z][\w+.-]{0,30}:\/\/[^:/@\s"']{0,256}:)[^\s"'/]+@/gi;
/** `scheme://user@host`: a user name alone, which is shown only when it is a plain name. */
const URL_USER = /\b([a-z][\w+.-]{0,30}:\/\/)([^\s"'/@:?#]{1,256})@/gi;
/**
 * A user name as people and services pick them (`git`, `deploy`, `ec2-user`, `postgres16`): lower
 * case, at most 19 characters, digits in one run at most. Anything else as a URL's lone user is
 * taken for a token (`https://<token>@github.com`, `redis://S3CR3T@cache`): upper case, `%`, `~`,
 * `+`, `=`, 20 characters or more, or letters and digits mixed (`s3cr3t`, `k8x2m9`). A token of
 * lower-case letters only, shorter than 20, passes for a name: the rule cannot tell them apart.
 */
const PLAIN_USER = /^[a-z_][a-z0-9_.-]{0,18}$/;

function maskUrlUser(m: string, scheme: string, user: string): string {
  const plain = PLAIN_USER.test(user) && (user.match(/\d+/g)?.length ?? 0) <= 1;
  return plain ? m : `${scheme}${MASK}@`;
}
/**
 * `Name: value` (an HTTP header, a YAML line, openssl's `pass:secret`): the value runs to the end
 * of the line or a quote when a space follows the colon, else to the next space.
 */
const HEADER = new RegExp(
  `(?<![\\w.-]|//)(${NAME})([ \\t]*:)(?!//)([ \\t]*)("(?:[^"\\\\\\r\\n]|\\\\.)*"|'[^'\\r\\n]*'|(?<=[ \\t])[^\\r\\n"']+|[^\\s"']+)`,
  "g",
);
/** `"name": value` in JSON (or `'name': value` in a Python dict): strings, numbers, literals. */
const JSON_PAIR = /(["'])([\w.$-]{1,64})\1(\s*:\s*)("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[\w.+-]+)/g;
/** The same inside a JSON string or a shell argument: `{\"password\":\"x\"}`. */
const ESCAPED_JSON_PAIR = /\\"([\w.$-]{1,64})\\"(\s*:\s*)(\\"(?:[^\\]|\\[^"])*\\"|[\w.+-]+)/g;
/** `name=value`: query parameters, form data, `PGPASSWORD=x`, libpq's `password=x`, `-o pass=x`. */
const PAIR = new RegExp(`(?<![\\w.])(${NAME})=("(?:[^"\\\\]|\\\\.)*"|'[^']*'|[^\\s&;,"'#]+)`, "g");
/** An auth scheme and the space after it, at the start of a credential (`Bearer x`, `basic x`). */
export const AUTH_SCHEME =
  /^(?:bearer|basic|token|digest|negotiate|ntlm|apikey|sso-key)[ \t]+(?=\S)/i;
/** `bearer x` in any case; a scheme name is not a secret, what follows it is. */
const BEARER = /\b(bearer)(\s+)(?!\*\*\*)[^\s"',;]+/gi;
/** Other schemes followed by a credential-looking word (12+ characters, so "basic usage" stays). */
const SCHEME =
  /\b(basic|token|digest|negotiate|ntlm|apikey|sso-key)(\s+)[A-Za-z0-9._~+/=-]{12,}(?![\w-])/gi;
/** Tokens whose shape gives them away, wherever they stand; the prefix stays (it says which kind). */
const KNOWN_TOKEN =
  /\b(gh[pousr]_|github_pat_|glpat-|xox[abposr]-|sk-(?:proj-)?|sk_live_|sk_test_|rk_live_|npm_|hf_|AIza)[\w-]{16,}/g;
/** A JSON Web Token: three base64url parts, the first two JSON objects (`eyJ` is `{"`). */
const JWT = /\beyJ[\w-]{5,}\.eyJ[\w-]{5,}\.[\w-]*/g;

/**
 * Masks the secrets a text shows by itself: URL passwords and token-like user names, `Name: value`
 * headers and `"name": value` JSON pairs and `name=value` pairs with a secret-looking name
 * (`isSecretName`), credentials after an auth scheme (`Authorization: Basic ...`, `bearer ...`),
 * and tokens of a known shape (`ghp_...`, `glpat-...`, `sk-...`, JWTs).
 */
export function maskText(text: string): string {
  if (text === "") return text;
  return text
    .replace(URL_PASSWORD, `$1${MASK}@`)
    .replace(URL_USER, maskUrlUser)
    .replace(HEADER, maskHeader)
    .replace(JSON_PAIR, (m, q: string, name: string, sep: string) =>
      isSecretName(name) ? `${q}${name}${q}${sep}"${MASK}"` : m,
    )
    .replace(ESCAPED_JSON_PAIR, (m, name: string, sep: string) =>
      isSecretName(name) ? `\\"${name}\\"${sep}\\"${MASK}\\"` : m,
    )
    .replace(PAIR, (m, name: string) => (isSecretName(name) ? `${name}=${MASK}` : m))
    .replace(BEARER, `$1$2${MASK}`)
    .replace(SCHEME, `$1$2${MASK}`)
    .replace(KNOWN_TOKEN, `$1${MASK}`)
    .replace(JWT, MASK);
}

/**
 * A whole argument that is one header (`-H "Authorization: Digest username=\"a\", ..."`): its
 * value runs to the end, quotes and all. `undefined` when the argument is no secret header.
 */
export function maskHeaderArg(arg: string): string | undefined {
  const header = /^([A-Za-z][\w-]{0,63})([ \t]*:)(?!\/\/)([ \t]*)([^\r\n]+)$/.exec(arg);
  if (!header) return undefined;
  const [m, name, colon, space, value] = header as unknown as [
    string,
    string,
    string,
    string,
    string,
  ];
  return isSecretName(name) ? maskHeader(m, name, colon, space, value) : undefined;
}

/** Headers whose value starts with an auth scheme: `Authorization`, `Proxy-Authorization`, `X-Auth`. */
const AUTH_HEADER = /(authori[sz]ation|(^|[-_])auth)$/i;

function maskHeader(m: string, name: string, colon: string, space: string, value: string): string {
  if (!isSecretName(name) || value === "") return m;
  const quote = value[0] === '"' || value[0] === "'" ? value[0] : "";
  // `Authorization: Token x`: the scheme says how to read the rest and is no secret.
  const scheme = AUTH_HEADER.test(name)
    ? /^([A-Za-z][\w-]*)([ \t]+)(?=\S)/.exec(value.slice(quote.length))
    : null;
  const kept = scheme ? `${scheme[1]}${scheme[2]}` : "";
  return `${name}${colon}${space}${quote}${kept}${MASK}${quote}`;
}
