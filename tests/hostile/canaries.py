"""Secret canaries: one unique secret value per form, planted where a form can appear.

Every form names where it goes (``dockerfile``: one or more Dockerfile lines; ``package.json``: a
script; ``.dockerignore``: one line) and the text with ``{c}`` (and ``{d}`` for a second part)
standing for its canary. Each canary is shaped like the real secret (an AWS key id is ``AKIA`` and
16 upper-case characters, a GitHub token ``ghp_`` and 36 characters, ...) and is unique, so a leak
is found by searching the outputs for it. ``needles(form)`` are the strings that must not appear
anywhere (the whole value, and each part of a value split over two lines).

The forms are the 60 of the security review (issue 18) and more; ``tests/hostile/test_redaction_forms.py``
checks them against the redaction functions and ``tests/hostile/test_secrets_ssh.py`` in every
output of real playbook runs.
"""
from __future__ import annotations

import base64
import hashlib
import string
from dataclasses import dataclass, field

_ALNUM = string.ascii_letters + string.digits
_UPPER = string.ascii_uppercase + string.digits


def _stream(seed: str, alphabet: str, n: int) -> str:
    """``n`` characters of ``alphabet`` derived from ``seed`` (deterministic, random-looking)."""
    out = []
    counter = 0
    while len(out) < n:
        block = hashlib.sha256(f"{seed}/{counter}".encode()).digest()
        out += [alphabet[b % len(alphabet)] for b in block]
        counter += 1
    return "".join(out[:n])


def mixed(i: int, n: int = 32, tag: str = "Zqc") -> str:
    """A random-looking value with a marker: ``Zqc`` + the form number + mixed characters."""
    head = f"{tag}{i:03d}"
    return head + _stream(f"m{i}", _ALNUM, n - len(head))


def upper(i: int, n: int) -> str:
    return f"ZQC{i:03d}" + _stream(f"u{i}", _UPPER, n - 6)


def hexs(i: int, n: int = 40) -> str:
    return _stream(f"h{i}", "0123456789abcdef", n)


def b64(i: int, n: int = 48) -> str:
    raw = f"zqc{i:03d}:".encode() + hashlib.sha256(f"b{i}".encode()).digest()
    return base64.b64encode(raw).decode()[:n]


def jwt(i: int) -> str:
    def part(obj: str) -> str:
        return base64.urlsafe_b64encode(obj.encode()).decode().rstrip("=")
    sig = base64.urlsafe_b64encode(hashlib.sha256(f"j{i}".encode()).digest()).decode().rstrip("=")
    return part('{"alg":"HS256","typ":"JWT"}') + "." + part(f'{{"sub":"zqc{i:03d}","iat":1700000000}}') + "." + sig


@dataclass
class Form:
    name: str
    where: str          # dockerfile | package.json | .dockerignore
    text: str           # with {c} (and {d})
    c: str
    d: str = ""
    extra: list = field(default_factory=list)  # more needles (parts that are secret on their own)

    def render(self) -> str:
        return self.text.format(c=self.c, d=self.d)

    def needles(self) -> list:
        return [n for n in (self.c, self.d, *self.extra) if n]


def _forms() -> list:
    f: list = []

    def add(name: str, where: str, text: str, c: str, d: str = "", *, extra=None) -> None:
        f.append(Form(name, where, text, c, d, list(extra or [])))

    n = len
    # -- HTTP headers --------------------------------------------------------------------------------
    add("custom header -H X-Api-Key", "dockerfile",
        'RUN curl -fsS -H "X-Api-Key: {c}" https://api.acme.io/v1/x', mixed(n(f)))
    add("GitLab PRIVATE-TOKEN header", "dockerfile",
        "RUN curl --header 'PRIVATE-TOKEN: {c}' https://gitlab.acme.io/api/v4/projects", mixed(n(f), 26))
    add("Authorization Bearer header", "dockerfile",
        'RUN curl -H "Authorization: Bearer {c}" https://api.acme.io', mixed(n(f)))
    add("Authorization token header (GitHub)", "dockerfile",
        'RUN curl -H "Authorization: token {c}" https://api.github.com/user', mixed(n(f), 40))
    add("JOB-TOKEN header", "dockerfile",
        'RUN curl --header "JOB-TOKEN: {c}" https://gitlab.acme.io/x', mixed(n(f), 24))
    add("wget --header= X-Auth-Token", "dockerfile",
        'RUN wget --header="X-Auth-Token: {c}" https://acme.io/f', mixed(n(f)))
    add("Cookie header", "dockerfile", "RUN curl -H 'Cookie: sid={c}' https://acme.io/f", mixed(n(f)))
    add("Basic credentials in a git extraheader", "dockerfile",
        'RUN git -c http.extraheader="AUTHORIZATION: basic {c}" clone https://git.acme.io/app.git', b64(n(f), 40))
    add("short custom header value", "dockerfile", "RUN curl -H 'X-Api-Key: {c}' https://acme.io", f"zqc{n(f):03d}k9")
    add("header in HEALTHCHECK", "dockerfile",
        'HEALTHCHECK CMD curl -fs -H "X-Api-Key: {c}" http://localhost:3000/health || exit 1', mixed(n(f)))
    add("header in ONBUILD", "dockerfile",
        'ONBUILD RUN curl -H "PRIVATE-TOKEN: {c}" https://acme.io/x', mixed(n(f), 26))
    add("nginx proxy_set_header in a heredoc", "dockerfile",
        "COPY <<EOF /etc/nginx/conf.d/api.conf\nlocation / {{\n  proxy_set_header X-Api-Key {c};\n}}\nEOF",
        mixed(n(f)))
    # -- URL userinfo ---------------------------------------------------------------------------------
    add("git clone https://TOKEN@host", "dockerfile",
        "RUN git clone https://{c}@github.com/acme/app.git", mixed(n(f), 40))
    add("git clone https://oauth2:TOKEN@host", "dockerfile",
        "RUN git clone https://oauth2:{c}@gitlab.com/acme/app.git", mixed(n(f), 26))
    add("x-access-token:TOKEN@", "dockerfile",
        "RUN git clone https://x-access-token:{c}@github.com/acme/app.git", mixed(n(f), 40))
    add("TOKEN:x-oauth-basic@", "dockerfile",
        'RUN git config --global url."https://{c}:x-oauth-basic@github.com/".insteadOf "https://github.com/"',
        mixed(n(f), 40))
    add("pip index URL user:pass@", "dockerfile",
        "RUN pip install --index-url https://deploy:{c}@pypi.acme.io/simple app", mixed(n(f), 20))
    add("postgres URL in RUN", "dockerfile",
        'RUN psql "postgresql://app:{c}@db:5432/app" -c "select 1"', mixed(n(f), 16))
    add("redis URL with empty user", "dockerfile", "RUN redis-cli -u redis://:{c}@cache:6379 ping", mixed(n(f), 16))
    add("ADD from URL with credentials", "dockerfile",
        "ADD https://ci:{c}@files.acme.io/app.tgz /tmp/app.tgz", mixed(n(f), 18))
    add("Sentry DSN key as URL user", "dockerfile",
        "RUN sentry-cli --url https://{c}@o4501.ingest.sentry.io/12 releases new 1", hexs(n(f), 32))
    # -- cloud keys -----------------------------------------------------------------------------------
    add("AWS access key id (AKIA) bare", "dockerfile", "RUN ./deploy.sh {c} eu-west-1", "AKIA" + upper(n(f), 16))
    add("AWS temporary key id (ASIA)", "dockerfile", "RUN aws-vault-exec {c} -- true", "ASIA" + upper(n(f), 16))
    add("aws configure set aws_access_key_id", "dockerfile",
        "RUN aws configure set aws_access_key_id {c}", "AKIA" + upper(n(f), 16))
    add("aws configure set aws_secret_access_key", "dockerfile",
        "RUN aws configure set aws_secret_access_key {c}", mixed(n(f), 40))
    add("AWS env pair before a command", "dockerfile",
        "RUN AWS_ACCESS_KEY_ID={d} AWS_SECRET_ACCESS_KEY={c} aws s3 cp s3://b/k /tmp/k", mixed(n(f), 40),
        "AKIA" + upper(n(f) + 500, 16))
    add("AWS secret key bare (40 base64)", "dockerfile", "RUN ./sync --region eu-west-1 {c}",
        mixed(n(f), 30) + "/" + _stream("aws", _ALNUM, 9))
    add("Azure storage connection string", "dockerfile",
        'RUN az storage blob upload --connection-string "DefaultEndpointsProtocol=https;AccountName=acme;'
        'AccountKey={c};EndpointSuffix=core.windows.net" -f x -c y', b64(n(f), 64) + "==")
    add("Azure SAS URL signature", "dockerfile",
        'RUN curl -o f "https://acme.blob.core.windows.net/c/f?sv=2022-11-02&ss=b&sig={c}"', mixed(n(f), 44))
    add("Azure AD client secret (8Q~)", "dockerfile",
        "RUN ./login-sp --tenant t1 {c}", "zQc" + str(n(f) % 10) + "8Q~" + _stream("az", _ALNUM, 34))
    add("az login -p", "dockerfile", "RUN az login --service-principal -u app-id -p {c} --tenant t1", mixed(n(f), 24))
    add("Google API key AIza", "dockerfile", "RUN ./maps-cli --region eu {c}", "AIza" + mixed(n(f), 35))
    add("Google API key in ?key=", "dockerfile",
        'RUN curl "https://maps.googleapis.com/maps/api/geocode/json?address=x&key={c}"', mixed(n(f), 20))
    add("GCP service account private key (heredoc JSON)", "dockerfile",
        'COPY <<EOF /app/sa.json\n{{"type": "service_account", "private_key_id": "{d}",\n'
        ' "private_key": "-----BEGIN PRIVATE KEY-----\\n{c}\\n-----END PRIVATE KEY-----\\n"}}\nEOF',
        b64(n(f), 64), hexs(n(f), 40))
    add("Google OAuth access token ya29.", "dockerfile", "RUN ./gcs-upload {c}", "ya29." + mixed(n(f), 60))
    # -- private keys ---------------------------------------------------------------------------------
    add("private key block in a COPY heredoc", "dockerfile",
        "COPY <<EOF /root/.ssh/id_rsa\n-----BEGIN RSA PRIVATE KEY-----\n{c}\n{d}\n-----END RSA PRIVATE KEY-----\nEOF",
        b64(n(f), 64), b64(n(f) + 600, 64))
    add("OpenSSH private key in a RUN heredoc", "dockerfile",
        "RUN <<EOF\nmkdir -p /root/.ssh\ncat > /root/.ssh/id_ed25519 <<KEY\n-----BEGIN OPENSSH PRIVATE KEY-----\n{c}\n"
        "-----END OPENSSH PRIVATE KEY-----\nKEY\nEOF", b64(n(f), 70))
    add("private key with \\n escapes in echo", "dockerfile",
        'RUN echo "-----BEGIN EC PRIVATE KEY-----\\n{c}\\n-----END EC PRIVATE KEY-----" > /k.pem', b64(n(f), 60))
    add("private key across continuation lines", "dockerfile",
        "RUN printf '%s\\n' '-----BEGIN PRIVATE KEY-----' \\\n    '{c}' \\\n    '{d}' \\\n"
        "    '-----END PRIVATE KEY-----' > /k.pem", b64(n(f), 64), b64(n(f) + 600, 40))
    add("private key without END line", "dockerfile",
        "RUN <<EOF\necho '-----BEGIN PRIVATE KEY-----' > k\necho '{c}' >> k\nEOF", b64(n(f), 64))
    add("PGP private key block", "dockerfile",
        "COPY <<EOF /k.asc\n-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n{c}\n-----END PGP PRIVATE KEY BLOCK-----\nEOF",
        b64(n(f), 64))
    # -- tokens by format -----------------------------------------------------------------------------
    add("JWT bare", "dockerfile", "RUN ./client --endpoint https://acme.io {c}", jwt(n(f)))
    add("JWT in a shell variable", "dockerfile", "RUN SESSION={c} ./migrate", jwt(n(f)))
    add("long base64 value", "dockerfile", "RUN echo {c} | base64 -d > /root/.netrc", b64(n(f), 56))
    add("long hex value (no hash around it)", "dockerfile", "RUN ./register --host acme.io {c}", hexs(n(f), 40))
    add("GitHub ghp_ token", "dockerfile", "RUN ./fetch-release {c} v1.2.3", "ghp_" + mixed(n(f), 36))
    add("GitHub gho_ token via herestring", "dockerfile",
        "RUN gh auth login --with-token <<< {c}", "gho_" + mixed(n(f), 36))
    add("GitHub fine-grained PAT", "dockerfile",
        "RUN ./fetch {c}", "github_pat_" + mixed(n(f), 22) + "_" + mixed(n(f) + 700, 59))
    add("GitLab glpat- token", "dockerfile", "RUN ./gl-fetch {c}", "glpat-" + mixed(n(f), 20))
    add("npm_ token", "dockerfile", "RUN ./publish.sh {c}", "npm_" + mixed(n(f), 36))
    add("Slack bot token xoxb-", "dockerfile",
        "RUN ./notify {c}", f"xoxb-{n(f)}2345678901-1234567890123-" + mixed(n(f), 24))
    add("Stripe secret key", "dockerfile", "RUN ./billing-sync {c}", "sk_live_" + mixed(n(f), 24))
    add("SendGrid key", "dockerfile", "RUN ./mail {c}", "SG." + mixed(n(f), 22) + "." + mixed(n(f) + 800, 43))
    add("Vault token hvs.", "dockerfile", "RUN vault login {c}", "hvs." + mixed(n(f), 24))
    add("Docker Hub PAT", "dockerfile", "RUN ./hub-push {c}", "dckr_pat_" + mixed(n(f), 27))
    add("Telegram bot token in URL", "dockerfile",
        "RUN curl https://api.telegram.org/bot{c}/sendMessage?chat_id=1", "123456789:AA" + mixed(n(f), 33))
    add("OpenAI key", "dockerfile", "RUN ./ai-warmup {c}", "sk-proj-" + mixed(n(f), 40))
    # -- webhooks -------------------------------------------------------------------------------------
    add("Slack webhook URL", "dockerfile",
        "RUN curl -X POST -d '{{}}' https://hooks.slack.com/services/T0ACME/B0ACME/{c}", mixed(n(f), 24))
    add("Discord webhook URL", "dockerfile",
        "RUN curl -d 'x' https://discord.com/api/webhooks/112233445566778899/{c}", mixed(n(f), 68))
    add("Teams incoming webhook URL", "dockerfile",
        "RUN curl -d 'x' https://acme.webhook.office.com/webhookb2/{c}/IncomingWebhook/abc/def", mixed(n(f), 30))
    add("Google Chat webhook", "dockerfile",
        "RUN curl -d 'x' 'https://chat.googleapis.com/v1/spaces/AAAA/messages?key={c}&token={d}'",
        mixed(n(f), 39), mixed(n(f) + 900, 43))
    add("generic /hooks/ URL", "dockerfile", "RUN curl -d 'x' https://ci.acme.io/hooks/{c}", mixed(n(f), 26))
    add("webhook URL in ARG by name", "dockerfile", "ARG SLACK_WEBHOOK_URL=https://hooks.slack.com/services/T0/B0/{c}",
        mixed(n(f), 24))
    # -- CLI password options -------------------------------------------------------------------------
    add("docker login -p", "dockerfile", "RUN docker login -u bot -p {c} registry.acme.io", mixed(n(f), 20))
    add("podman login --password", "dockerfile", "RUN podman login --password {c} -u bot quay.io", mixed(n(f), 20))
    add("echo | docker login --password-stdin", "dockerfile",
        'RUN echo "{c}" | docker login --password-stdin -u bot ghcr.io', mixed(n(f), 20))
    add("mysql -pSECRET", "dockerfile", "RUN mysql -uroot -p{c} -e 'select 1'", f"Zqc{n(f):03d}pw")
    add("mysql -p SECRET", "dockerfile", "RUN mysql -u root -p {c} -h db", f"Zqc{n(f):03d}pw")
    add("mysqldump --password=", "dockerfile", "RUN mysqldump --password={c} app > /dump.sql", f"Zqc{n(f):03d}pw")
    add("sshpass -p", "dockerfile", "RUN sshpass -p {c} scp deploy@host:/x /x", f"Zqc{n(f):03d}pw")
    add("sshpass -pSECRET", "dockerfile", "RUN sshpass -p{c} ssh deploy@host true", f"Zqc{n(f):03d}pw")
    add("redis-cli -a", "dockerfile", "RUN redis-cli -h cache -a {c} ping", f"Zqc{n(f):03d}pw")
    add("mongosh -p", "dockerfile", "RUN mongosh -u admin -p {c} --eval 1", f"Zqc{n(f):03d}pw")
    add("openssl -k", "dockerfile", "RUN openssl enc -aes-256-cbc -k {c} -in a -out b", f"Zqc{n(f):03d}pw")
    add("openssl pass:", "dockerfile", "RUN openssl rsa -in k.pem -passin pass:{c} -out k2.pem", f"Zqc{n(f):03d}pw")
    add("zip -P", "dockerfile", "RUN zip -P {c} /out.zip /data", f"Zqc{n(f):03d}pw")
    add("7z -pSECRET", "dockerfile", "RUN 7z a -p{c} /out.7z /data", f"Zqc{n(f):03d}pw")
    add("htpasswd -b", "dockerfile", "RUN htpasswd -bc /etc/nginx/.htpasswd admin {c}", f"Zqc{n(f):03d}pw")
    add("smbclient -U user%pass", "dockerfile", "RUN smbclient //fs/share -U svc%{c} -c ls", f"Zqc{n(f):03d}pw")
    add("keytool -storepass", "dockerfile", "RUN keytool -list -keystore k.jks -storepass {c}", f"Zqc{n(f):03d}pw")
    add("mc alias set KEY SECRET", "dockerfile", "RUN mc alias set s3 https://s3.acme.io {d} {c}", mixed(n(f), 40),
        upper(n(f) + 950, 20))
    add("curl -u user:password", "dockerfile", "RUN curl -u admin:{c} https://acme.io/f", f"Zqc{n(f):03d}pw")
    add("curl --oauth2-bearer", "dockerfile", "RUN curl --oauth2-bearer {c} https://acme.io/f", mixed(n(f), 24))
    add("--token flag", "dockerfile", "RUN npx firebase deploy --token {c}", mixed(n(f), 24))
    add("--password= flag", "dockerfile", "RUN ./setup --password={c}", f"Zqc{n(f):03d}pw")
    add("npm set _authToken (space)", "dockerfile", "RUN npm set //registry.npmjs.org/:_authToken {c}", mixed(n(f)))
    add("npm config set _authToken=", "dockerfile", "RUN npm config set //npm.acme.io/:_authToken={c}", mixed(n(f)))
    add("yarn config set npmAuthToken", "dockerfile", "RUN yarn config set npmAuthToken {c}", mixed(n(f)))
    add(".npmrc via echo", "dockerfile", 'RUN echo "//registry.npmjs.org/:_authToken={c}" > /root/.npmrc', mixed(n(f)))
    add("docker run -e DB_PASS=", "dockerfile", "RUN docker run -e DB_PASS={c} app true || true", f"Zqc{n(f):03d}pw")
    # -- ENV / ARG / LABEL by name ----------------------------------------------------------------------
    add("ENV DB_PASS", "dockerfile", "ENV DB_PASS={c}", f"Zqc{n(f):03d}pw")
    add("ENV GH_PAT", "dockerfile", "ENV GH_PAT={c}", mixed(n(f), 24))
    add("ENV SMTP_PW legacy form", "dockerfile", "ENV SMTP_PW {c}", f"Zqc{n(f):03d}pw")
    add("ARG with a default, used in RUN", "dockerfile", "ARG DEPLOY_PASS={c}", f"Zqc{n(f):03d}pw")
    add("ENV NPM_TOKEN= value (blank after =)", "dockerfile", "ENV NPM_TOKEN= {c}", mixed(n(f), 24))
    add("ARG NPM_TOKEN= value (blank after =)", "dockerfile", "ARG GH_TOKEN= {c}", mixed(n(f), 24))
    add("ENV value continued onto the next line", "dockerfile", "ENV API_TOKEN={c}\\\n{d} NODE_ENV=production",
        mixed(n(f), 16), mixed(n(f) + 1000, 16))
    add("ENV value continued onto an indented line", "dockerfile", "ENV SERVICE_TOKEN={c}\\\n    {d} PORT=8080",
        mixed(n(f), 16), mixed(n(f) + 1000, 16))
    add("header value continued onto the next line", "dockerfile",
        'RUN curl -H "Authorization: Bearer {c}\\\n{d}" https://acme.io', mixed(n(f), 16), mixed(n(f) + 1000, 16))
    add("Azure connection string ENV", "dockerfile",
        'ENV AZURE_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=https;AccountName=a;AccountKey={c}"',
        b64(n(f), 64))
    add("LABEL with a secret name", "dockerfile", "LABEL ci.deploy-token={c}", mixed(n(f), 24))
    add("LABEL holding a webhook URL", "dockerfile",
        'LABEL org.acme.alerts="https://hooks.slack.com/services/T0/B0/{c}"', mixed(n(f), 24))
    add("--build-arg GH_PAT= in RUN", "dockerfile", "RUN docker build --build-arg GH_PAT={c} .", mixed(n(f), 24))
    # -- exec form ------------------------------------------------------------------------------------
    add('exec form ["--token", value]', "dockerfile", 'CMD ["node", "server.js", "--token", "{c}"]', mixed(n(f), 24))
    add('exec form ["--api-key", value]', "dockerfile", 'ENTRYPOINT ["/app/bin", "--api-key", "{c}"]', mixed(n(f), 24))
    add('exec form ["--password=value"]', "dockerfile", 'CMD ["app", "--password={c}"]', f"Zqc{n(f):03d}pw")
    add("exec form JWT element", "dockerfile", 'CMD ["node", "client.js", "{c}"]', jwt(n(f)))
    # -- comments and pragmas -------------------------------------------------------------------------
    add("comment with a header", "dockerfile", '# curl -H "X-Api-Key: {c}" https://api.acme.io', mixed(n(f)))
    add("comment with a GitHub token", "dockerfile", "# deploy token: {c}", "ghp_" + mixed(n(f), 36))
    add("pragma reason with a token", "dockerfile",
        "# refarch:ignore NRA006 reason=ticket {c}\nRUN true", "glpat-" + mixed(n(f), 20))
    # -- package.json scripts -------------------------------------------------------------------------
    add("package.json script with a header", "package.json", "curl -H 'X-Api-Key: {c}' https://api.acme.io/warm",
        mixed(n(f)))
    add("package.json start script with --token", "package.json", "node server.js --token {c}", mixed(n(f), 24))
    add("package.json script pushing to https://TOKEN@", "package.json",
        "git push https://{c}@github.com/acme/app.git", "ghp_" + mixed(n(f), 36))
    add("package.json script with _authToken", "package.json",
        "npm publish --//registry.npmjs.org/:_authToken={c}", "npm_" + mixed(n(f), 36))
    add("package.json script with mysql -p", "package.json", "mysql -uroot -p{c} < schema.sql", f"Zqc{n(f):03d}pw")
    add("package.json script with a webhook", "package.json",
        "curl -d ok https://hooks.slack.com/services/T0/B0/{c}", mixed(n(f), 24))
    # -- .dockerignore lines --------------------------------------------------------------------------
    add(".dockerignore comment with a token", ".dockerignore", "# registry token {c}", "glpat-" + mixed(n(f), 20))
    add(".dockerignore pattern naming an AWS key id", ".dockerignore", "config/{c}.json", "AKIA" + upper(n(f), 16))
    add(".dockerignore pattern with a JWT", ".dockerignore", "cache/{c}", jwt(n(f)))
    return f


FORMS = _forms()
assert len({x.c for x in FORMS}) == len(FORMS), "canary values must be unique"

# Placeholders and non-secrets that must be kept as they are (so that reports stay useful and
# the rules keep their inputs): text -> the value that must still be in the redacted text.
KEPT = {
    "ENV DB_PASSWORD=changeme": "changeme",
    "ENV NPM_TOKEN=${NPM_TOKEN}": "${NPM_TOKEN}",
    "ENV NPM_TOKEN=$NPM_TOKEN": "$NPM_TOKEN",
    "ARG GITHUB_TOKEN=<token>": "<token>",
    "ENV API_KEY=xxx": "xxx",
    "ENV API_KEY=your-token-here": "your-token-here",
    "ENV SECRET_KEY=example": "example",
    "ENV DB_PASSWORD=": "ENV DB_PASSWORD=",
    "RUN curl -H 'Authorization: Bearer $TOKEN' https://api.acme.io": "Bearer $TOKEN",
    "ENV NODE_ENV=production": "production",
    "FROM node@sha256:" + hexs(1, 64): hexs(1, 64),
    "FROM registry.access.redhat.com/ubi9/nodejs-20@sha256:" + hexs(2, 64): hexs(2, 64),
    "LABEL org.opencontainers.image.revision=" + hexs(3, 40): hexs(3, 40),
    "ARG GIT_COMMIT=" + hexs(4, 40): hexs(4, 40),
    "RUN git checkout " + hexs(5, 40): hexs(5, 40),
    'RUN echo "' + hexs(6, 64) + '  node.tar.xz" | sha256sum -c -': hexs(6, 64),
    "RUN for key in 4ED778F539E3634C779C87C6D7062848A1AB005C 141F07595B7B3FFE74309A937405533BE57C7D57; do "
    'gpg --batch --keyserver hkps://keys.openpgp.org --recv-keys "$key"; done':
        "4ED778F539E3634C779C87C6D7062848A1AB005C",
    '{"integrity": "sha512-' + b64(7, 86) + '=="}': b64(7, 86),
    "ENV NODE_OPTIONS=--max-old-space-size=4096": "--max-old-space-size=4096",
    "EXPOSE 8080": "8080",
    "USER 1001": "1001",
    'CMD ["node", "dist/server.js"]': "dist/server.js",
    "RUN curl -fsSL https://github.com/Yelp/dumb-init/releases/download/v1.2.5/dumb-init_1.2.5_x86_64 -o /d":
        "Yelp/dumb-init/releases/download/v1.2.5",
    "RUN echo 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx7JqK4P0dQh2tX1nWm8vRzL5cY3bFkE9sUaT6oPiQw ci@acme' "
    ">> /root/.ssh/authorized_keys": "AAAAC3NzaC1lZDI1NTE5AAAAIGx7JqK4P0dQh2tX1nWm8vRzL5cY3bFkE9sUaT6oPiQw",
    "RUN mkdir -p /app/node_modules && chown -R node:node /app": "chown -R node:node /app",
    "RUN docker run -p 8080:80 -d app": "-p 8080:80",
    "RUN git clone git@github.com:acme/app.git && ssh -p 2222 git@host": "git@github.com",
    "ENV REQUEST_ID=3f2b6c1e-8a4d-4f0e-9b7a-2c5d1e8f6a90": "3f2b6c1e-8a4d-4f0e-9b7a-2c5d1e8f6a90",
    "RUN apt-get install -y unzip gzip && useradd -s /sbin/nologin app": "unzip gzip",
    "RUN npm run build:prod -- --base-href=/app/ --output-path=dist/ReactNativeWebViewBridge2":
        "ReactNativeWebViewBridge2",
}
