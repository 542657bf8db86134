/**
 * Hides secrets in a command line before it is shown over HTTP (`/status`, the status page).
 *
 * Short flags mean different things to different programs: `-p` is mysql's password but ssh's,
 * psql's and redis-cli's port, `-a` is redis-cli's password but `ls -a`, `-P` is zip's and
 * sqlcmd's password but mysql's port. So a short flag's value is masked only for the programs
 * known to take a secret there (`SHORT_FLAGS`): the program is the last word of the command line
 * that names one (by file name, so `/usr/bin/mysql`, `sudo mysql` and `docker exec db mysql`
 * count). Any other `-p 123` is shown. Long flags and everything else go by name (`isSecretName`),
 * whatever the program.
 */
import { AUTH_SCHEME, isSecretName, MASK, maskHeaderArg, maskText } from "./secret-text.ts";

/** How the value of a secret flag is masked. */
type Kind =
  /** The whole value, attached (`-pSECRET`) or the next argument (`-p SECRET`). */
  | "value"
  /** Only an attached value: the flag alone asks for the password (7z's `-p`). */
  | "attached"
  /** `user:password`: the password only. */
  | "userpass"
  /** `user:password`, except `uid:gid` (`docker run -u 1000:1000`). */
  | "uidpass"
  /** `user%password` (Samba). */
  | "userpercent";

const MYSQL = [
  "mysql",
  "mysqldump",
  "mysqladmin",
  "mysqlimport",
  "mysqlcheck",
  "mysqlshow",
  "mysqlpump",
  "mysqlbinlog",
  "mysqlsh",
  "mysqlslap",
  "mariadb",
  "mariadb-dump",
  "mariadb-admin",
  "mariadb-import",
  "mariadb-check",
  "mariadb-show",
  "mariadb-binlog",
  "mydumper",
  "myloader",
];
const MONGO = ["mongo", "mongosh", "mongodump", "mongorestore", "mongoexport", "mongoimport"];
const REDIS = ["redis-cli", "valkey-cli", "keydb-cli", "redis-benchmark"];
const LDAP = ["ldapsearch", "ldapadd", "ldapmodify", "ldapdelete", "ldapwhoami", "ldappasswd"];
const MSSQL = ["sqlcmd", "bcp", "osql", "isql"];
const ZIP = ["zip", "zipcloak", "unzip", "funzip"];
const SEVEN_ZIP = ["7z", "7za", "7zr", "7zz", "rar", "unrar"];
const SAMBA = ["smbclient", "rpcclient", "smbcacls", "smbget", "net"];
/** Tools whose `login` subcommand takes `-p password`: `docker login -u ci -p x registry`. */
const LOGIN_TOOLS = [
  "docker",
  "podman",
  "nerdctl",
  "buildah",
  "skopeo",
  "helm",
  "oras",
  "az",
  "oc",
];

/** Programs whose short flags hold no secret (`-p` is a port or a pid): they end a wrapper's flags. */
const PLAIN = ["ssh", "scp", "sftp", "rsync", "psql", "pg_dump", "pg_restore", "nc", "ncat", "ps"];

/** Short flags whose value is secret, by program. `-u` with `user:pass` is masked for any program. */
const SHORT_FLAGS = new Map<string, Record<string, Kind>>([
  ...MYSQL.map((c) => [c, { p: "value" }] as const),
  ...MONGO.map((c) => [c, { p: "value" }] as const),
  ...REDIS.map((c) => [c, { a: "value" }] as const),
  ...LDAP.map((c) => [c, { w: "value" }] as const),
  ...MSSQL.map((c) => [c, { P: "value" }] as const),
  ...ZIP.map((c) => [c, { P: "value" }] as const),
  ...SEVEN_ZIP.map((c) => [c, { p: "attached" }] as const),
  ...SAMBA.map((c) => [c, { U: "userpercent" }] as const),
  ...[...LOGIN_TOOLS, ...PLAIN].map((c) => [c, {}] as const),
  ["login", { p: "value" }],
  ["sshpass", { p: "value" }],
  ["openssl", { k: "value" }],
  // curl: -u/-U user:password (server, proxy), -E cert:password, -b cookies.
  ["curl", { u: "userpass", U: "userpass", E: "userpass", b: "value" }],
]);
const ANY_PROGRAM: Record<string, Kind> = { u: "uidpass" };
/** Long flags that take `user:password` for any program (curl's, wget's, and the like). */
const USER_FLAGS = new Set(["user", "proxy-user"]);
/** Words of a script after which another program runs. */
const SEPARATORS = new Set([";", "&&", "||", "|", "&", "then", "do"]);

interface State {
  /** The program the flags belong to (a key of `SHORT_FLAGS`), if known. */
  program: string | undefined;
  /** How to mask the next argument: the value of a secret flag. */
  pending: Kind | undefined;
}

/**
 * Masks, in a command line: the value of a flag with a secret-looking name (`--token abc`,
 * `--api-key=abc`, `-pass x`; `--password -- x` masks `x`), the password of `--user`/`-u`
 * `user:password`, the values of the secret short flags of known programs (`mysql -pX`,
 * `redis-cli -a X`, `sshpass -p X`, `docker login -p X`, `zip -P X`, `sqlcmd -P X`,
 * `ldapsearch -w X`, `smbclient -U user%X`, `curl -u user:X`), and in every argument what
 * `maskText` masks (URL passwords, `Name: value` headers, JSON and `name=value` pairs, auth schemes,
 * known token shapes). An argument with spaces (a `sh -c` script) is masked word by word, as a
 * command line of its own. It never throws: anything but an array is `[]`, an argument that is not
 * a string is shown as text, and one that cannot be masked is `"***"`.
 */
export function maskArgv(argv: readonly unknown[]): string[] {
  if (!Array.isArray(argv)) return [];
  const state: State = { program: undefined, pending: undefined };
  const out: string[] = [];
  for (const arg of argv) {
    try {
      out.push(maskArg(typeof arg === "string" ? arg : String(arg), state));
    } catch {
      state.pending = undefined;
      out.push(MASK);
    }
  }
  return out;
}

/** One string on its own (a value of a service's data, an error message), masked like an argument. */
export function maskString(text: string): string {
  return maskArg(text, { program: undefined, pending: undefined });
}

/** `--name=value` or `-name=value`, the value of any length and spacing. */
const FLAG = /^(--?)([A-Za-z0-9][\w.-]*)(?:=(.*))?$/s;
/** `-H<header>` attached (curl's, and wget's and httpie's style): the rest is one header. */
const ATTACHED_HEADER = /^-H(?=[A-Za-z])(.+)$/s;

function maskArg(arg: string, state: State): string {
  const pending = state.pending;
  if (pending !== undefined) {
    // `--password -- x`: the end of options is not the value.
    if (arg === "--") return arg;
    state.pending = undefined;
    return maskValue(arg, pending);
  }
  const header = ATTACHED_HEADER.exec(arg)?.[1];
  const masked = header === undefined ? undefined : maskHeaderArg(header);
  if (masked !== undefined) return `-H${masked}`;
  if (/\s/.test(arg.trim()))
    return maskSpacedFlag(arg, state) ?? maskHeaderArg(arg) ?? maskScript(arg);
  return maskWord(maskText(arg), state);
}

/** How the value of flag `name` is masked, if it holds a secret. */
function flagKind(dashes: string, name: string, state: State): Kind | undefined {
  if (isSecretName(name)) return "value";
  if (dashes !== "--" || !USER_FLAGS.has(name)) return undefined;
  return state.program === "curl" ? "userpass" : "uidpass";
}

/**
 * One argument `--password=correct horse battery` is one flag, not a script: its whole value is
 * the secret. An auth scheme that starts it stays (`--token=Bearer ***`), as in a header.
 */
function maskSpacedFlag(arg: string, state: State): string | undefined {
  const flag = FLAG.exec(arg);
  if (!flag || flag[3] === undefined) return undefined;
  const [, dashes, name, value] = flag as unknown as [string, string, string, string];
  const kind = flagKind(dashes, name, state);
  if (kind === undefined) return undefined;
  if (kind !== "value") return `${dashes}${name}=${maskValue(value, kind)}`;
  const scheme = AUTH_SCHEME.exec(value)?.[0] ?? "";
  return `${dashes}${name}=${scheme}${MASK}`;
}

/** A word without spaces (its `maskText` already applied). */
function maskWord(word: string, state: State): string {
  const short = /^-([A-Za-z])(.*)$/s.exec(word);
  if (short) {
    const [, letter, rest] = short as unknown as [string, string, string];
    const table = state.program === undefined ? undefined : SHORT_FLAGS.get(state.program);
    const kind = table?.[letter] ?? ANY_PROGRAM[letter];
    if (kind !== undefined) {
      if (rest !== "") return `-${letter}${maskValue(rest, kind)}`;
      if (kind !== "attached") state.pending = kind;
      return word;
    }
  }
  const flag = FLAG.exec(word);
  if (flag) {
    const [, dashes, name, value] = flag as unknown as [string, string, string, string?];
    const kind = flagKind(dashes, name, state);
    if (kind === undefined) return word;
    if (value === undefined) {
      state.pending = kind;
      return word;
    }
    return `${dashes}${name}=${maskValue(value, kind)}`;
  }
  if (!word.startsWith("-")) noteProgram(word, state);
  return word;
}

/** Remembers the program a word names, so that the flags after it are read as its flags. */
function noteProgram(word: string, state: State): void {
  const name = word.slice(word.lastIndexOf("/") + 1);
  if (name !== "login") {
    if (SHORT_FLAGS.has(name)) state.program = name;
  } else if (state.program !== undefined && LOGIN_TOOLS.includes(state.program)) {
    state.program = "login";
  }
}

function maskValue(value: string, kind: Kind): string {
  if (kind === "value" || kind === "attached") return MASK;
  const sep = kind === "userpercent" ? "%" : ":";
  const at = value.indexOf(sep);
  if (at < 0) return maskText(value);
  if (kind === "uidpass" && /^\d+:\d+$/.test(value)) return value;
  return `${value.slice(0, at)}${sep}${MASK}`;
}

/** A script (e.g. the argument of `sh -c`): a command line of its own, keeping its spacing. */
function maskScript(script: string): string {
  const state: State = { program: undefined, pending: undefined };
  return maskText(script)
    .split(/(\s+)/)
    .map((part) => {
      if (part === "" || /^\s+$/.test(part)) return part;
      if (SEPARATORS.has(part)) {
        state.program = undefined;
        state.pending = undefined;
        return part;
      }
      // Quotes around the word stay where they were, around the masked word.
      const [, open, word, close] = /^(["'(]*)(.*?)(["');]*)$/s.exec(part) as unknown as string[];
      const masked = maskArg(word as string, state);
      if ((close as string).includes(";")) state.program = undefined;
      return masked === word ? part : `${open}${masked}${close}`;
    })
    .join("");
}
