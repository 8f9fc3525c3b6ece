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
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "integration"))

from estate_fixtures import root_estate  # noqa: E402
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
        yield {"work": work, "scan": scan, "extra": extra, "cache": cache, "host_root": host.root}


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
