"""Secret canaries through the real scan over real SSH: they must appear in no output at all.

Canary values sit in ENV and ARG instructions with secret names, in an .npmrc
written by a RUN line and by a heredoc, in a registry credentials file written
by a RUN line, in .npmrc / auth.json files of the build context, in
``image_build`` build arguments and in ``refarch_opa_token``. The scan
playbook (``refarch.containers.scan``) and a play running ``dockerfile_facts``
and ``image_build`` run against a real sshd with ``-vvv``, a jsonfile fact
cache and a log file. Then every output is searched for the canary marker:
stdout/stderr, the Ansible log, the fact cache, the report files and the module
results (which ``-vvv`` prints in full).

Then the canary forms of ``canaries.py`` (119 forms: headers, URL userinfo, cloud keys, private keys,
token formats, webhooks, CLI password options, ENV/ARG/LABEL, exec form, comments, package.json
scripts, .dockerignore lines) are planted in four more apps, and every entry point runs once per
verbosity (default and ``-vvv``): the scan playbook, ad hoc ``dockerfile_info`` and ``discovery``,
``refarch.containers.remediate --check --diff``, and a real remediation with ``--diff``. Every
output is searched for every canary: the consoles, the Ansible log, the jsonfile fact cache, the
report files of every run and the remediation outcome files. Backups stay on the host (they are not
outputs) and are not searched.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "integration"))

from canaries import FORMS as CANARY_FORMS  # noqa: E402
from estate_fixtures import root_estate  # noqa: E402
from harness import ansible_env, tool  # noqa: E402
from playrun import run_playbook  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.slow]
MARK = "zqcanary"
DOCKERFILE = f"""FROM node:22-bookworm-slim AS build
ARG DB_PASSWORD={MARK}ARG02
ENV NPM_TOKEN={MARK}ENV01 NODE_ENV=production
RUN echo "//registry.npmjs.org/:_authToken={MARK}NPMRC03" > /root/.npmrc && npm ci
RUN <<EOF
echo "//registry.example.com/:_authToken={MARK}HEREDOC04" >> /root/.npmrc
EOF
COPY <<EOF /root/.npmrc
//registry.example.com/:_auth={MARK}AUTH05
always-auth=true
EOF
RUN mkdir -p /root/.docker && echo '{{"auths":{{"registry.example.com":{{"auth":"{MARK}REGAUTH06"}}}}}}' \\
    > /root/.docker/config.json
RUN curl -u deploy:{MARK}CURL07 https://registry.example.com/ && git clone https://bot:{MARK}GIT08@git.example.com/x.git
FROM node:22-bookworm-slim
ENV API_KEY={MARK}ENV09
USER node
CMD ["node", "server.js"]
"""
FAKE_PODMAN = """#!/usr/bin/python3
import sys
print("STEP 1/2: " + " ".join(sys.argv))      # a noisy engine echoes its arguments
sys.exit(0 if sys.argv[1:2] == ["build"] else 1)
"""
EXTRA_PLAY = """---
- name: Facts module, image build with secret build args
  hosts: all
  gather_facts: false
  tasks:
    - name: Dockerfile facts into the fact cache
      refarch.containers.dockerfile_facts:
        paths: ["{{{{ refarch_host_root }}}}/srv"]
    - name: Build with secret build arguments (fake engine that echoes its argv)
      refarch.containers.image_build:
        dockerfile: "{{{{ refarch_host_root }}}}/srv/app/Dockerfile"
        image: localhost/app:1
        executable: "{{{{ refarch_host_root }}}}/bin/podman"
        build_args:
          NPM_TOKEN: {mark}BUILDARG10
          PLAIN_SETTING: {mark}BUILDARG11
      register: built
      ignore_errors: true
"""


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


CANARY_APPS = 4
HEAD = "FROM node:22-bookworm-slim\nWORKDIR /app\nCOPY . .\n"
TAIL = "EXPOSE 80\nCMD npm start\n"


def _plant_canaries(srv: Path) -> None:
    """The canary forms spread over CANARY_APPS apps: Dockerfile lines, package.json scripts, .dockerignore lines."""
    for k in range(CANARY_APPS):
        forms = CANARY_FORMS[k::CANARY_APPS]
        app = srv / f"canary{k}"
        app.mkdir(parents=True)
        body = "\n".join(f.render() for f in forms if f.where == "dockerfile")
        (app / "Dockerfile").write_text(HEAD + body + "\n" + TAIL)
        scripts = {"start": "node server.js"}
        for i, f in enumerate(x for x in forms if x.where == "package.json"):
            scripts["start" if "start script" in f.name else f"task{i}"] = f.render()
        (app / "package.json").write_text(json.dumps({"name": f"canary{k}", "scripts": scripts}))
        lines = [f.render() for f in forms if f.where == ".dockerignore"]
        (app / ".dockerignore").write_text("\n".join(["*.log", *lines]) + "\n")


def _adhoc(module: str, inventory: Path, work: Path, env: dict, verbose: bool):
    args = json.dumps({"paths": ["{{ refarch_host_root }}/srv"]})
    cmd = [tool("ansible"), "all", "-i", str(inventory), "-m", module, "-a", args] + (["-vvv"] if verbose else [])
    return subprocess.run(cmd, capture_output=True, text=True, env=ansible_env(work, **env), timeout=600,
                          check=False, cwd=str(REPO))


def _needles() -> dict[str, str]:
    """needle -> canary form name (the needles of every planted form)."""
    return {n: f.name for f in CANARY_FORMS for n in f.needles()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    work = tmp_path_factory.mktemp("secrets")
    with root_estate("refarch-secrets-") as ssh:
        host = ssh.add_host("vault1")
        app = host.root / "srv" / "app"
        app.mkdir(parents=True)
        (app / "Dockerfile").write_text(DOCKERFILE)
        (app / ".npmrc").write_text(f"//registry.npmjs.org/:_authToken={MARK}FILE12\n")
        (app / "auth.json").write_text(json.dumps({"auths": {"r.example.com": {"auth": f"{MARK}FILE13"}}}))
        (app / "package.json").write_text(json.dumps({"name": "app", "scripts": {"start": "node server.js"},
                                                      "config": {"token": f"{MARK}PKG14"}}))
        (host.root / "bin").mkdir()
        fake = host.root / "bin" / "podman"
        fake.write_text(FAKE_PODMAN)
        fake.chmod(0o755)
        inventory = ssh.write_inventory(work / "inventory.json",
                                        {"refarch_scan_paths": ["{{ refarch_host_root }}/srv"]})
        cache = work / "factcache"
        env = {"ANSIBLE_CACHE_PLUGIN": "jsonfile", "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(cache),
               "ANSIBLE_LOG_PATH": str(work / "ansible.log")}
        scan = run_playbook("refarch.containers.scan", inventory, work, args=["-vvv"], env_extra=env, extra_vars={
            "refarch_report_dir": str(work / "report"), "refarch_evaluation_date": "2026-11-28",
            "refarch_opa_token": f"{MARK}OPATOKEN15", "refarch_report_print_summary": True})
        play = work / "extra.yml"
        play.write_text(EXTRA_PLAY.format(mark=MARK))
        extra = run_playbook(str(play), inventory, work, args=["-vvv"], env_extra=env)
        # the canary forms: every entry point, once per verbosity
        _plant_canaries(host.root / "srv")
        out: dict = {}
        for verbose in (False, True):
            v = "vvv" if verbose else "default"
            flags = ["-vvv"] if verbose else []
            out[f"scan ({v})"] = run_playbook("refarch.containers.scan", inventory, work, args=flags, env_extra=env,
                                              extra_vars={"refarch_report_dir": str(work / f"report-scan-{v}"),
                                                          "refarch_evaluation_date": "2026-11-28"})
            out[f"ad hoc dockerfile_info ({v})"] = _adhoc("refarch.containers.dockerfile_info", inventory, work, env,
                                                          verbose)
            out[f"ad hoc discovery ({v})"] = _adhoc("refarch.containers.discovery", inventory, work, env, verbose)
        remediation = {"refarch_evaluation_date": "2026-11-28", "refarch_fixes": "all",
                       "refarch_remediate_backup_dir": str(host.root / "backups")}
        for name in ("outcomes-check-default", "outcomes-check-vvv", "outcomes-real"):
            (work / name).mkdir()
        for verbose in (False, True):
            v = "vvv" if verbose else "default"
            flags = ["--check", "--diff", "-vvv"] if verbose else ["--check", "--diff"]
            out[f"remediate --check --diff ({v})"] = run_playbook(
                "refarch.containers.remediate", inventory, work, args=flags,
                env_extra=env, extra_vars=dict(remediation, refarch_report_dir=str(work / f"report-check-{v}"),
                                               refarch_remediation_outcomes_dir=str(work / f"outcomes-check-{v}")))
        out["remediate, real run --diff (-vvv)"] = run_playbook(
            "refarch.containers.remediate", inventory, work, args=["--diff", "-vvv"], env_extra=env,
            extra_vars=dict(remediation, refarch_report_dir=str(work / "report-real"),
                            refarch_remediation_outcomes_dir=str(work / "outcomes-real")))
        yield {"work": work, "scan": scan, "extra": extra, "cache": cache, "host_root": host.root, "canary": out}


def test_scan_ran(case, runs):
    c = case("secret canaries: the scan over SSH ran", "scan playbook succeeds; report lists the Dockerfile")
    scan = runs["scan"]
    c.see(f"scan rc={scan.returncode}, extra play rc={runs['extra'].returncode}")
    assert scan.returncode == 0, scan.stdout[-4000:] + scan.stderr[-2000:]
    report = json.loads((runs["work"] / "report" / "report.json").read_text())
    paths = [t["path"] for h in report["hosts"].values() for t in h["targets"]]
    assert any(p.endswith("/srv/app/Dockerfile") for p in paths), paths
    assert runs["extra"].returncode == 0, runs["extra"].stdout[-4000:]
    assert "STEP 1/2" in runs["extra"].stdout, "the fake engine's output must reach the results (or nothing is tested)"
    assert list(runs["cache"].glob("*")), "the fact cache is empty: dockerfile_facts must have filled it"


@pytest.mark.parametrize("where", ["scan stdout/stderr (-vvv)", "extra play stdout/stderr (-vvv)", "ansible log",
                                   "fact cache", "report files"])
def test_no_canary_anywhere(case, runs, where):
    c = case(f"secret canaries absent from {where}",
             "no canary (ENV, ARG, .npmrc RUN/heredoc, registry auth, build-arg, opa token) in the output")
    work = runs["work"]
    if where.startswith("scan"):
        blobs = {"stdout": runs["scan"].stdout, "stderr": runs["scan"].stderr}
    elif where.startswith("extra"):
        blobs = {"stdout": runs["extra"].stdout, "stderr": runs["extra"].stderr}
    elif where == "ansible log":
        blobs = {"ansible.log": (work / "ansible.log").read_text(errors="replace")}
    elif where == "fact cache":
        blobs = {str(p): p.read_text(errors="replace") for p in _files(runs["cache"])}
        assert blobs, "empty fact cache"
    else:
        blobs = {str(p): p.read_text(errors="replace") for p in _files(work / "report")}
        assert len(blobs) >= 4, blobs.keys()
    assert sum(len(b) for b in blobs.values()) > 300, "nothing to search"
    leaks = []
    kinds = set()
    for name, text in blobs.items():
        start = 0
        while (i := text.find(MARK, start)) >= 0:
            leaks.append(f"{Path(name).name}: ...{text[max(0, i - 60):i + 30]!r}")
            kinds.add(text[i + len(MARK):i + len(MARK) + 12].rstrip("'\"\\ ,}"))
            start = i + 1
    c.see(f"{len(blobs)} output(s), {sum(len(b) for b in blobs.values())} chars searched, "
          f"leaked canaries: {sorted(kinds) or 'none'}")
    assert not leaks, "\n".join(leaks[:15])


def _leaks(blobs: dict[str, str], needles: dict[str, str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, text in blobs.items():
        for needle, form in needles.items():
            if needle in text:
                found.setdefault(form, []).append(Path(name).name)
    return found


def test_canary_runs_ran(case, runs):
    c = case("secret canaries: every entry point ran over the canary apps",
             "each run ends; the planted Dockerfiles are scanned, planned and remediated")
    out = runs["canary"]
    c.see(", ".join(f"{k}: rc={r.returncode}" for k, r in out.items()))
    for name, run in out.items():
        assert run.returncode == 0, f"{name}: rc={run.returncode}\n{run.stdout[-3000:]}\n{run.stderr[-2000:]}"
    for v in ("default", "vvv"):
        assert "canary3/Dockerfile" in out[f"ad hoc dockerfile_info ({v})"].stdout
        assert "canary0/Dockerfile" in out[f"remediate --check --diff ({v})"].stdout
    # the canaries reached the outputs as <redacted> (the planted values were read, and hidden)
    shown = out["ad hoc dockerfile_info (vvv)"].stdout.count("<redacted>")
    c.see(f"<redacted> shown {shown} times by ad hoc dockerfile_info")
    assert shown >= len(CANARY_FORMS), shown
    # the diffs were shown (check mode) and the files written (real run): the outputs hold what is searched
    assert "(remediated)" in out["remediate --check --diff (default)"].stdout
    assert "(remediated)" in out["remediate, real run --diff (-vvv)"].stdout
    changed = [p for p in (runs["host_root"] / "srv").glob("canary*/Dockerfile")
               if "CMD npm start" not in p.read_text()]
    assert changed, "the real run must have remediated a canary Dockerfile (or the real run is not tested)"


@pytest.mark.parametrize("entry", ["scan (default)", "scan (vvv)", "ad hoc dockerfile_info (default)",
                                   "ad hoc dockerfile_info (vvv)", "ad hoc discovery (default)",
                                   "ad hoc discovery (vvv)", "remediate --check --diff (default)",
                                   "remediate --check --diff (vvv)", "remediate, real run --diff (-vvv)"])
def test_no_canary_form_in_the_console(case, runs, entry):
    c = case(f"canary forms absent from the console: {entry}",
             f"none of the {len(CANARY_FORMS)} canary forms in stdout/stderr")
    run = runs["canary"][entry]
    blobs = {"stdout": run.stdout, "stderr": run.stderr}
    assert len(run.stdout) > 2000, "nothing to search"
    leaks = _leaks(blobs, _needles())
    c.see(f"{sum(len(b) for b in blobs.values())} chars searched, {len(leaks)} form(s) leaked: {sorted(leaks)[:10]}")
    assert not leaks, leaks


def test_no_canary_form_in_files(case, runs):
    c = case("canary forms absent from the Ansible log, the fact cache, every report and outcome file",
             f"none of the {len(CANARY_FORMS)} canary forms in any file written on the controller")
    work = runs["work"]
    files = [p for p in _files(work) if p.suffix in (".json", ".sarif", ".xml", ".html", ".log", "")
             and "extra-vars" not in p.name and "ansible-local" not in str(p)]
    blobs = {str(p): p.read_text(errors="replace") for p in files}
    names = {Path(n).name for n in blobs}
    assert {"report.json", "report.sarif", "report.junit.xml", "report.html", "ansible.log"} <= names, names
    assert any("outcomes-real" in n for n in blobs) and any("factcache" in n for n in blobs), sorted(blobs)[:20]
    leaks = _leaks(blobs, _needles())
    c.see(f"{len(blobs)} files, {sum(len(b) for b in blobs.values())} chars searched, "
          f"{len(leaks)} form(s) leaked: {sorted(leaks)[:10]}")
    assert not leaks, leaks
