"""Cross-user reads in the scan (issue 18, item 5): a local user plants links while the scan runs as root.

A scan root spans two users' homes, as ``/home`` does: a victim with an SSH key and a private notes file
in ``0700`` directories, and an attacker (both created with ``useradd`` for the test and removed at the
end). The attacker, as himself, plants in his own directory:

* ``app/Dockerfile``, a symlink ``../../<victim>/.ssh/id_ed25519`` (inside the root, so the walk's
  "symlinks out of the root" rule does not stop it);
* ``hard/Dockerfile``, a hard link to the victim's notes (the kernel refuses this to the attacker when
  ``fs.protected_hardlinks`` is 1: root then makes the link, as an attacker would on a host with it off);
* ``web/``: his own, clean Dockerfile with a ``package.json`` symlink to the victim's notes and a
  ``.dockerignore`` hard link to them.

The scan playbook (``refarch.containers.scan``) then runs as root over real SSH, at default verbosity and
at ``-vvv``, with a jsonfile fact cache and an Ansible log, and once more with ``refarch_read_foreign_files``
and ``refarch_allow_hardlinks``. Every output is searched for the victim's key (each of its lines) and for
a canary line of the notes: none may hold any of them; each planted file must be a per-file problem with
its code; with the options the files are read (their sha256 is in the report).
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "integration"))

from estate_fixtures import LocalUser, root_estate  # noqa: E402
from playrun import run_playbook  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.slow]
CANARY = "zqvictim-notes-canary-7f3e9a"
GOOD = "FROM node:22-bookworm-slim\nUSER node\nCMD [\"node\", \"server.js\"]\n"


def _as(user: LocalUser, *cmd: str) -> subprocess.CompletedProcess:
    """Run a command as ``user`` (no supplementary groups): what the attacker himself can do."""
    return subprocess.run(list(cmd), user=user.uid, group=user.gid, extra_groups=[], capture_output=True,
                          text=True, check=False, cwd="/")


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _targets(report: dict) -> dict[str, dict]:
    return {t["path"]: t for h in report["hosts"].values() for t in h["targets"]}


def _codes(target: dict) -> list[str]:
    codes = [p.get("code") for p in target.get("problems") or []]
    if target.get("error"):
        codes.append(target["error"].get("code") if isinstance(target["error"], dict) else str(target["error"]))
    return codes


@pytest.fixture(scope="module")
def attack(tmp_path_factory):
    work = tmp_path_factory.mktemp("foreign")
    with root_estate("refarch-foreign-") as ssh:
        host = ssh.add_host("shared1")
        home = host.root / "home"
        home.mkdir()
        victim = LocalUser(home / "victim")
        attacker = LocalUser(home / "attacker")
        try:
            # the victim: a real SSH key and private notes, in 0700 directories
            vdir = victim.home
            (vdir / ".ssh").mkdir()
            key = vdir / ".ssh" / "id_ed25519"
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "victim", "-f", str(key)],
                           check=True)
            notes = vdir / "notes"
            notes.write_text(json.dumps({"scripts": {"start": CANARY}}) + "\n" + CANARY + "\n")
            for p in (vdir, vdir / ".ssh", key, Path(f"{key}.pub"), notes):
                os.chown(p, victim.uid, victim.gid)
            for p, mode in ((vdir, 0o700), (vdir / ".ssh", 0o700), (key, 0o600), (notes, 0o600)):
                os.chmod(p, mode)
            os.chmod(attacker.home, 0o755)  # noqa: S103 - the attacker's own directory, listed by root
            # the attacker plants, as himself
            planted: dict[str, str] = {}
            a = attacker.home
            for d in ("app", "hard", "web"):
                assert _as(attacker, "mkdir", str(a / d)).returncode == 0
            assert _as(attacker, "ln", "-s", "../../victim/.ssh/id_ed25519", str(a / "app" / "Dockerfile")
                       ).returncode == 0
            planted["symlink"] = "ln -s by the attacker"
            protected = Path("/proc/sys/fs/protected_hardlinks").read_text().strip()
            for link in (a / "hard" / "Dockerfile", a / "web" / ".dockerignore"):
                made = _as(attacker, "ln", str(notes), str(link))
                if made.returncode != 0:
                    # fs.protected_hardlinks=1 stops the attacker: root makes the link he would make elsewhere
                    os.link(notes, link)
                    planted[link.name] = f"ln refused to the attacker (protected_hardlinks={protected}: " \
                                         f"{made.stderr.strip()[-80:]}); made by root to simulate it"
                else:
                    planted[link.name] = f"ln by the attacker (protected_hardlinks={protected})"
            (a / "web" / "Dockerfile").write_text(GOOD)
            os.chown(a / "web" / "Dockerfile", attacker.uid, attacker.gid)
            assert _as(attacker, "ln", "-s", "../../victim/notes", str(a / "web" / "package.json")).returncode == 0
            # nothing of the victim is readable by the attacker himself (or the test proves nothing)
            assert _as(attacker, "cat", str(a / "app" / "Dockerfile")).returncode != 0
            inventory = ssh.write_inventory(work / "inventory.json",
                                            {"refarch_scan_paths": ["{{ refarch_host_root }}/home"]})
            runs = {}
            for name, args, extra in (("default", [], {}), ("-vvv", ["-vvv"], {}),
                                      ("opt-in", [], {"refarch_read_foreign_files": True,
                                                      "refarch_allow_hardlinks": True})):
                out = work / name.strip("-")
                out.mkdir()
                env = {"ANSIBLE_CACHE_PLUGIN": "jsonfile", "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(out / "cache"),
                       "ANSIBLE_LOG_PATH": str(out / "ansible.log")}
                proc = run_playbook("refarch.containers.scan", inventory, work, args=args, env_extra=env,
                                    extra_vars={"refarch_report_dir": str(out / "report"),
                                                "refarch_evaluation_date": "2026-11-28", **extra})
                runs[name] = {"proc": proc, "dir": out}
            yield {"runs": runs, "key": key.read_text(), "notes": notes.read_bytes(), "key_bytes": key.read_bytes(),
                   "attacker": a, "planted": planted}
        finally:
            attacker.remove()
            victim.remove()


def _secret_words(attack) -> list[str]:
    """What must not leave the host: the first and last 16 characters of every line of the key (a message
    that quotes part of a line is caught too: before issue 18 it was the first 40), the notes' canary."""
    lines = [ln.strip() for ln in attack["key"].splitlines() if len(ln.strip()) >= 16]
    assert len(lines) >= 4, lines
    return [*{part for ln in lines for part in (ln[:16], ln[-16:])}, CANARY]


def _blobs(run: dict) -> dict[str, str]:
    out = run["dir"]
    blobs = {"stdout": run["proc"].stdout, "stderr": run["proc"].stderr}
    for p in [*_files(out / "report"), *_files(out / "cache"), out / "ansible.log"]:
        if p.is_file():
            blobs[str(p.relative_to(out))] = p.read_text(errors="replace")
    return blobs


@pytest.mark.parametrize("verbosity", ["default", "-vvv"])
def test_victim_content_in_no_output(host_case, attack, verbosity):
    c = host_case(f"cross-user links in the scan root: no output holds the victim's files ({verbosity})",
                  "scan as root over SSH: the victim's key lines and notes canary in none of stdout, ansible log, "
                  "fact cache, report.json/.sarif/.junit.xml/.html")
    run = attack["runs"][verbosity]
    blobs = _blobs(run)
    reports = [k for k in blobs if k.startswith("report/")]
    c.see(f"rc={run['proc'].returncode}; searched {len(blobs)} outputs ({', '.join(sorted(reports))}), "
          f"{sum(len(b) for b in blobs.values())} chars")
    assert len(reports) >= 4, sorted(blobs)
    assert any(k.startswith("cache/") for k in blobs), "the fact cache is empty: nothing was searched there"
    leaks = [f"{name}: {word[:6]}..." for name, text in blobs.items() for word in _secret_words(attack)
             if word in text]
    c.see(f"leaks: {leaks or 'none'}")
    assert not leaks, leaks
    # the scan did reach the planted files (or the search proves nothing)
    report = json.loads((run["dir"] / "report" / "report.json").read_text())
    assert str(attack["attacker"] / "app" / "Dockerfile") in _targets(report)


@pytest.mark.parametrize("planted,expected", [
    ("app/Dockerfile", "foreign_owner"),
    ("hard/Dockerfile", "hardlink"),
])
def test_planted_dockerfile_is_a_per_file_problem(host_case, attack, planted, expected):
    how = attack["planted"].get("symlink" if planted.startswith("app") else "Dockerfile")
    what = "symlink to the victim's SSH key" if planted.startswith("app") else "hard link to the victim's notes"
    c = host_case(f"attacker's {planted}: {what}",
                  f"not read: the target carries the per-file problem {expected}; with refarch_read_foreign_files "
                  "and refarch_allow_hardlinks it is read")
    c.see(f"planted: {how}")
    path = str(attack["attacker"] / planted)
    target = _targets(json.loads((attack["runs"]["default"]["dir"] / "report" / "report.json").read_text()))[path]
    codes = _codes(target)
    c.see(f"default: codes={codes}, sha256={target.get('sha256')}")
    assert expected in codes, target
    assert not target.get("sha256"), "a refused file has no content hash"
    opted = _targets(json.loads((attack["runs"]["opt-in"]["dir"] / "report" / "report.json").read_text()))[path]
    source = attack["key_bytes"] if planted.startswith("app") else attack["notes"]
    c.see(f"opt-in: codes={_codes(opted)}, sha256 matches the victim's file: "
          f"{opted.get('sha256') == hashlib.sha256(source).hexdigest()}")
    assert expected not in _codes(opted)
    assert opted.get("sha256") == hashlib.sha256(source).hexdigest(), opted


def test_planted_side_files_are_not_read(host_case, attack):
    c = host_case("attacker's package.json symlink and .dockerignore hard link to the victim's notes",
                  "his own Dockerfile is scanned; problems symlink_not_followed (package.json) and hardlink "
                  "(.dockerignore) on it; notes canary absent")
    c.see(f"planted: package.json by ln -s as the attacker; .dockerignore: {attack['planted'].get('.dockerignore')}")
    path = str(attack["attacker"] / "web" / "Dockerfile")
    report = json.loads((attack["runs"]["default"]["dir"] / "report" / "report.json").read_text())
    target = _targets(report)[path]
    codes = _codes(target)
    messages = [f.get("message", "") for f in target.get("findings") or []]
    c.see(f"Dockerfile error={target.get('error')}, problem codes={codes}, "
          f"NRA004 says: {[m for m in messages if '.dockerignore' in m][:1]}")
    assert not target.get("error") and target.get("sha256") == hashlib.sha256(GOOD.encode()).hexdigest()
    assert "hardlink" in codes and "symlink_not_followed" in codes, target
    assert any(".dockerignore" in m and "hard links" in m for m in messages), messages
    assert CANARY not in json.dumps(report)
