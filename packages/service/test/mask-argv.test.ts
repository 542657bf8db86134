import { describe, expect, test } from "bun:test";
import { maskArgv, maskData } from "../src/index.ts";

const url = "https://api.example.com/v1";
const S = "S3CR3T";

/** [input argv, expected masked argv]: secrets that must be masked. */
const masked: [string[], string[]][] = [
  [
    ["mysql", "-uroot", `-p${S}`, "app"],
    ["mysql", "-uroot", "-p***", "app"],
  ],
  [
    ["mysqldump", "-u", "backup", "-p", S, "--all-databases"],
    ["mysqldump", "-u", "backup", "-p", "***", "--all-databases"],
  ],
  [
    ["/usr/bin/mariadb", `-p${S}`],
    ["/usr/bin/mariadb", "-p***"],
  ],
  [
    ["docker", "exec", "db", "mysql", "-uroot", `-p${S}`],
    ["docker", "exec", "db", "mysql", "-uroot", "-p***"],
  ],
  [
    ["redis-cli", "-h", "cache", "-a", S, "ping"],
    ["redis-cli", "-h", "cache", "-a", "***", "ping"],
  ],
  [
    ["redis-cli", `-a${S}`],
    ["redis-cli", "-a***"],
  ],
  [
    ["curl", "-u", `admin:${S}`, url],
    ["curl", "-u", "admin:***", url],
  ],
  [
    ["curl", "--user", `admin:${S}`, url],
    ["curl", "--user", "admin:***", url],
  ],
  [
    ["curl", `--user=admin:${S}`, url],
    ["curl", "--user=admin:***", url],
  ],
  [
    ["curl", `-uadmin:${S}`],
    ["curl", "-uadmin:***"],
  ],
  [
    ["curl", "-U", `proxy:${S}`, "--proxy-user", `proxy:${S}`],
    ["curl", "-U", "proxy:***", "--proxy-user", "proxy:***"],
  ],
  [
    ["curl", "-u", "admin:123456", url],
    ["curl", "-u", "admin:***", url],
  ],
  [
    ["curl", "-H", `X-Api-Key: ${S}`, url],
    ["curl", "-H", "X-Api-Key: ***", url],
  ],
  [
    ["curl", "-H", `X-Api-Key:${S}`],
    ["curl", "-H", "X-Api-Key:***"],
  ],
  [
    ["curl", "-H", `Authorization: bearer ${S}`],
    ["curl", "-H", "Authorization: bearer ***"],
  ],
  [
    ["curl", "-H", `Authorization: token ${S}`],
    ["curl", "-H", "Authorization: token ***"],
  ],
  [
    ["curl", "-H", `authorization: Digest username="a", response="${S}"`],
    ["curl", "-H", "authorization: Digest ***"],
  ],
  [
    ["curl", "-H", "Proxy-Authorization: BASIC dXNlcjpwYXNzd29yZA=="],
    ["curl", "-H", "Proxy-Authorization: BASIC ***"],
  ],
  [
    ["curl", "-H", `Cookie: session=${S}; theme=dark`],
    ["curl", "-H", "Cookie: ***"],
  ],
  [
    ["curl", "-H", `x-auth-token: ${S}`, "-H", `Private-Token: ${S}`],
    ["curl", "-H", "x-auth-token: ***", "-H", "Private-Token: ***"],
  ],
  [
    ["curl", `--url=${url}?page=2&api_key=${S}`],
    ["curl", `--url=${url}?page=2&api_key=***`],
  ],
  [
    ["curl", `${url}?apikey=${S}&key=${S}&sig=${S}&X-Amz-Signature=${S}&access_token=${S}&page=1`],
    ["curl", `${url}?apikey=***&key=***&sig=***&X-Amz-Signature=***&access_token=***&page=1`],
  ],
  [
    ["curl", "-d", `{"user":"app","password":"${S}"}`, url],
    ["curl", "-d", '{"user":"app","password":"***"}', url],
  ],
  [
    ["app", "--config", `{"db": {"port": 5432, "password": "${S}", "token": 12345}}`],
    ["app", "--config", '{"db": {"port": 5432, "password": "***", "token": "***"}}'],
  ],
  [
    ["sh", "-c", `curl -d "{\\"password\\":\\"${S}\\"}" ${url}`],
    ["sh", "-c", `curl -d "{\\"password\\":\\"***\\"}" ${url}`],
  ],
  [
    ["app", "--password", "--", S],
    ["app", "--password", "--", "***"],
  ],
  [
    ["sshpass", "-p", S, "ssh", "-p", "2222", "deploy@host"],
    ["sshpass", "-p", "***", "ssh", "-p", "2222", "deploy@host"],
  ],
  [
    ["docker", "login", "-u", "ci", "-p", S, "registry.example.com"],
    ["docker", "login", "-u", "ci", "-p", "***", "registry.example.com"],
  ],
  [
    ["helm", "registry", "login", "-p", S, "r.example.com"],
    ["helm", "registry", "login", "-p", "***", "r.example.com"],
  ],
  [
    ["zip", "-P", S, "out.zip", "report.pdf"],
    ["zip", "-P", "***", "out.zip", "report.pdf"],
  ],
  [
    ["7z", "a", `-p${S}`, "out.7z", "f"],
    ["7z", "a", "-p***", "out.7z", "f"],
  ],
  [
    ["sqlcmd", "-S", "db", "-U", "sa", "-P", S],
    ["sqlcmd", "-S", "db", "-U", "sa", "-P", "***"],
  ],
  [
    ["ldapsearch", "-x", "-D", "cn=admin,dc=example", "-w", S],
    ["ldapsearch", "-x", "-D", "cn=admin,dc=example", "-w", "***"],
  ],
  [
    ["smbclient", "//srv/share", "-U", `backup%${S}`],
    ["smbclient", "//srv/share", "-U", "backup%***"],
  ],
  [
    ["mongosh", "--username", "app", "-p", S],
    ["mongosh", "--username", "app", "-p", "***"],
  ],
  [
    ["openssl", "enc", "-aes-256-cbc", "-k", S],
    ["openssl", "enc", "-aes-256-cbc", "-k", "***"],
  ],
  [
    ["sh", "-c", `mysql -uroot -p${S} -e 'select 1'`],
    ["sh", "-c", "mysql -uroot -p*** -e 'select 1'"],
  ],
  [
    ["bash", "-c", `redis-cli -a ${S} ping && ls -a /tmp`],
    ["bash", "-c", "redis-cli -a *** ping && ls -a /tmp"],
  ],
  [
    ["git", "clone", `https://x-access-token:${S}@github.com/org/repo.git`],
    ["git", "clone", "https://x-access-token:***@github.com/org/repo.git"],
  ],
  [
    ["git", "clone", "https://ghp_abcdefghijklmnopqrstuvwxyz0123@github.com/org/r.git"],
    ["git", "clone", "https://***@github.com/org/r.git"],
  ],
  [
    ["git", "-c", `http.extraHeader=Authorization: Bearer ${S}`, "fetch"],
    ["git", "-c", "http.extraHeader=Authorization: Bearer ***", "fetch"],
  ],
  [
    ["app", "--conninfo", `host=db password=${S} dbname=app`],
    ["app", "--conninfo", "host=db password=*** dbname=app"],
  ],
  [
    ["env", `PGPASSWORD=${S}`, "psql", "-h", "db", "-p", "5432"],
    ["env", "PGPASSWORD=***", "psql", "-h", "db", "-p", "5432"],
  ],
  [
    ["curl", "-d", `grant_type=password&username=a&password=${S}`],
    ["curl", "-d", "grant_type=password&username=a&password=***"],
  ],
  [
    ["app", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl"],
    ["app", "***"],
  ],
  [
    ["app", "--oauth2-bearer", S, "--client-secret", S, "--db-password=x"],
    ["app", "--oauth2-bearer", "***", "--client-secret", "***", "--db-password=***"],
  ],
  [
    ["sh", "-c", "curl -H 'authorization: basic dXNlcjpwYXNzd29yZA==' https://h/"],
    ["sh", "-c", "curl -H 'authorization: basic ***' https://h/"],
  ],
  [
    ["sudo", "-u", "backup", "mysqldump", `-p${S}`, "--all-databases"],
    ["sudo", "-u", "backup", "mysqldump", "-p***", "--all-databases"],
  ],
  [
    ["curl", "-E", `client.pem:${S}`, "-b", `session=${S}`, url],
    ["curl", "-E", "client.pem:***", "-b", "***", url],
  ],
  [
    ["podman", "login", "-p", S, "quay.io"],
    ["podman", "login", "-p", "***", "quay.io"],
  ],
  [
    ["unzip", "-P", S, "in.zip"],
    ["unzip", "-P", "***", "in.zip"],
  ],
  [
    ["app", "--mount-options", `user=backup,password=${S},vers=3.0`],
    ["app", "--mount-options", "user=backup,password=***,vers=3.0"],
  ],
  // One argument with spaces that is one flag: the whole value is the secret, not its first word.
  [
    ["app", `--password=correct horse ${S}`, `--user=admin:correct horse ${S}`],
    ["app", "--password=***", "--user=admin:***"],
  ],
  [
    ["app", `--token=Bearer ${S}`, `--auth=Basic ${S}`, `--Authorization=bearer ${S}`],
    ["app", "--token=Bearer ***", "--auth=Basic ***", "--Authorization=bearer ***"],
  ],
  // A URL's lone user name that is no plain name is a token.
  [
    ["git", "clone", `https://${S}@example.com/x`, "redis://s3cr3t@cache:6379/0"],
    ["git", "clone", "https://***@example.com/x", "redis://***@cache:6379/0"],
  ],
  [
    ["curl", `-HX-Api-Key: ${S}`, `-HX-Api-Key:${S}`, `-HAuthorization: Token ${S}`],
    ["curl", "-HX-Api-Key: ***", "-HX-Api-Key:***", "-HAuthorization: Token ***"],
  ],
  [
    ["sh", "-c", `curl -HX-Api-Key:${S} https://${S}@h/ && ls -Hl`],
    ["sh", "-c", "curl -HX-Api-Key:*** https://***@h/ && ls -Hl"],
  ],
];

/** Command lines that hold no secret and must be shown as they are. */
const shown: string[][] = [
  ["ls", "-a", "/tmp"],
  ["cp", "-a", "src", "dst"],
  ["ps", "-p", "123", "-o", "pid,comm"],
  ["ssh", "-p", "2222", "-o", "StrictHostKeyChecking=no", "deploy@host"],
  ["scp", "-P", "2222", "f", "host:/tmp"],
  ["psql", "-h", "db", "-p", "5432", "-U", "app"],
  ["nc", "-l", "-p", "4000"],
  ["redis-cli", "-h", "cache", "-p", "6379", "ping"],
  ["mysql", "-h", "db", "-P", "3306", "-u", "app"],
  ["docker", "run", "-p", "8080:80", "-u", "1000:1000", "nginx"],
  ["mkdir", "-p", "/tmp/a/b"],
  ["tar", "-pxf", "a.tar"],
  ["7z", "x", "-p", "out.7z"],
  ["curl", "-u", "admin", "-H", "Accept: application/json", "http://127.0.0.1:5000/?page=2"],
  ["app", "--max-tokens", "512", "--no-password", "db", "--password-file", "/run/secrets/db"],
  ["git", "commit", "--author", "Ann Lee <ann@example.com>", "-m", "fix: basic usage"],
  ["tunnel", "--url", "http://127.0.0.1:5000", "--hostname", "example.com"],
  ["sh", "-c", "echo token expired; sleep 1"],
  ["docker", "login", "--password-stdin", "registry.example.com"],
  ["node", "server.js", "--port=3000", "--key-id", "k1", "MODE=fast"],
  // Plain user names in URLs stay: the rule is in secret-text.ts (PLAIN_USER).
  ["git", "clone", "ssh://git@github.com/org/r.git", "git@github.com:org/r.git"],
  [
    "app",
    "postgres://postgres16@db/app",
    "amqp://guest@mq",
    "ssh://ec2-user@host",
    "ftp://anonymous@h",
  ],
  ["ls", "-Hl", "--format=long listing", "--title=Basic usage of the API"],
];

describe("maskArgv", () => {
  test("the table has at least 40 command lines with secrets and 15 without", () => {
    expect(masked.length).toBeGreaterThanOrEqual(40);
    expect(shown.length).toBeGreaterThanOrEqual(15);
  });

  test.each(masked)("%p -> %p", (input, output) => {
    expect(maskArgv(input)).toEqual(output);
  });

  test.each(shown.map((argv) => [argv]))("%p is shown as it is", (argv) => {
    expect(maskArgv(argv)).toEqual(argv);
  });

  test("never throws: odd arguments are shown as text, unreadable ones as ***", () => {
    const hostile = {
      toString() {
        throw new Error("no");
      },
    };
    expect(maskArgv(null as never)).toEqual([]);
    expect(maskArgv("mysql -pX" as never)).toEqual([]);
    expect(maskArgv([1, null, undefined, Symbol("s"), hostile] as never)).toEqual([
      "1",
      "null",
      "undefined",
      "Symbol(s)",
      "***",
    ]);
    expect(maskArgv([])).toEqual([]);
    expect(maskArgv(["", " ", "--", "-", "=", ":", "--token"])).toEqual([
      "",
      " ",
      "--",
      "-",
      "=",
      ":",
      "--token",
    ]);
  });

  // A rule that backtracks would take minutes on these; the test's timeout is the bound.
  test("long hostile arguments (1 MB each) are masked", () => {
    const long = [
      "a.".repeat(500_000),
      "a-".repeat(500_000),
      "a:".repeat(500_000),
      '"a":"'.repeat(200_000),
      "x://".repeat(250_000),
      "token=".repeat(170_000),
      `${"a ".repeat(500_000)}--password ${S}`,
    ];
    const out = maskArgv(long);
    expect(out).toHaveLength(long.length);
    expect(out.join("")).not.toContain(S);
  }, 10_000);
});

describe("maskData uses the same names", () => {
  test("secret keys, and not words that only contain one", () => {
    const data = maskData({
      apiKey: "k",
      db: { PGPASSWORD: "x", tokenCount: 3, author: "Ann", hostKeyChecking: "no" },
      header: `Authorization: token ${S}`,
    });
    expect(data).toEqual({
      apiKey: "***",
      db: { PGPASSWORD: "***", tokenCount: 3, author: "Ann", hostKeyChecking: "no" },
      header: "Authorization: token ***",
    });
  });
});
