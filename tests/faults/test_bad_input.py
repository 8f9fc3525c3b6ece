"""Bad input (issue 14): each bad setting stops the real scan or remediate playbook before any host is touched.

One short ``ansible-playbook`` run per case. The inventory's one host points at a real TCP listener on the
loopback (``ansible_connection=ssh``): any connection the run makes to the host is accepted and counted, so
"no host touched" is observed, not inferred. Each case asserts the exit status, the message naming the
variable, the play recap (only ``localhost``, failed) and that nothing was written (no report directory, no
outcome file). A misspelled variable is a warning, not an error: that run goes on (and finds the host,
which does not speak SSH, unreachable). Rows go to the "fail-open" section of docs/hostile-and-faults.md.
"""
from __future__ import annotations

import json
import socket
import sys
import threading
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "hostile"))

from playrun import run_playbook  # noqa: E402

pytestmark = [pytest.mark.integration]


class Listener:
    """A TCP port on 127.0.0.1 that counts the connections made to it (and closes them)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _addr = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    work = tmp_path_factory.mktemp("bad-input")
    listener = Listener()
    inventory = work / "inventory.ini"
    inventory.write_text(f"web1 ansible_host=127.0.0.1 ansible_port={listener.port} ansible_connection=ssh "
                         f"ansible_user=nobody ansible_python_interpreter=/usr/bin/python3 "
                         f"ansible_ssh_common_args='-o ConnectTimeout=5 -o StrictHostKeyChecking=no'\n")
    waivers_dir = work / "waivers.d"
    waivers_dir.mkdir()
    broken = work / "broken-waivers.yml"
    broken.write_text("waivers: [\n  - rule: NRA001\n    reason: {unclosed\n")
    yield {"work": work, "inventory": inventory, "listener": listener, "waivers_dir": waivers_dir,
           "broken": broken}
    listener.close()


# case -> (playbook, settings, the message that must name the variable); paths under the work directory are
# given as "<work>/..."
CASES = {
    "refarch_fail_on with a list instead of a string": (
        "scan", {"refarch_fail_on": ["high"]}, "refarch_fail_on must be a string, not a list (['high'])"),
    "invalid refarch_fail_on value": (
        "scan", {"refarch_fail_on": "urgent"},
        "refarch_fail_on: 'urgent' is not one of none, info, low, medium, high, critical"),
    "refarch_scan_paths as a string": (
        "scan", {"refarch_scan_paths": "/srv"}, "refarch_scan_paths must be a list, not a string ('/srv')"),
    "image map that is not a mapping": (
        "remediate", {"refarch_image_map": ["/srv/app/Dockerfile", "localhost/app:1"]},
        "refarch_image_map must be a mapping, not a list"),
    "waiver file that is a directory": (
        "scan", {"refarch_waivers": "<work>/waivers.d"}, "refarch_waivers: <work>/waivers.d is not a regular file"),
    "waiver file with invalid YAML": (
        "scan", {"refarch_waivers": "<work>/broken-waivers.yml"},
        "refarch_waivers: <work>/broken-waivers.yml: invalid YAML"),
    "OPA URL with a bad scheme": (
        "scan", {"refarch_engine": "opa", "refarch_opa_url": "ftp://127.0.0.1:8181"},
        "refarch_opa_url: 'ftp://127.0.0.1:8181' is not an http:// or https:// URL with a host"),
    "refarch_fixes: [NRA999]": (
        "remediate", {"refarch_fixes": ["NRA999"]},
        "refarch_fixes: unknown fix or rule id(s) NRA999 (known fixes: replace_base_image, exec_form_cmd"),
    "refarch_remediation_outcomes_dir missing": (
        "remediate", {"refarch_remediation_outcomes_dir": "<work>/no-such-dir"},
        "refarch_remediation_outcomes_dir: <work>/no-such-dir does not exist on the controller"),
    "start probe timeout shorter than its stay-up time": (
        "remediate", {"refarch_rebuild": True, "refarch_start_probe_seconds": 200},
        "refarch_start_probe_timeout (120) must be at least refarch_start_probe_seconds (200) + 5"),
    "unknown refarch_engine": (
        "scan", {"refarch_engine": "regorus"}, "refarch_engine: 'regorus' is not one of embedded, opa"),
}


def _expand(value, work: Path):
    if isinstance(value, str):
        return value.replace("<work>", str(work))
    if isinstance(value, list):
        return [_expand(v, work) for v in value]
    return value


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_stops_before_any_host(open_case, lab, name):
    playbook, settings, message = CASES[name]
    c = open_case(f"bad input ({playbook}): {name}",
                  "rc != 0 before any host is touched; the message names the variable; nothing written")
    work = lab["work"] / name.replace(" ", "_").replace(":", "").replace("[", "").replace("]", "")
    work.mkdir()
    settings = {k: _expand(v, lab["work"]) for k, v in settings.items()}
    message = _expand(message, lab["work"])
    report_dir = work / "report"
    before = lab["listener"].connections
    run = run_playbook(f"refarch.containers.{playbook}", lab["inventory"], work,
                       dict(settings, refarch_report_dir=str(report_dir)), timeout=300)
    output = run.stdout + run.stderr
    recap = output[output.rindex("PLAY RECAP"):] if "PLAY RECAP" in output else ""
    touched = lab["listener"].connections - before
    shown = next((line for line in output.splitlines() if message in line), "")
    c.see(f"rc={run.returncode}; connections to the host: {touched}; message: {message}")
    assert run.returncode != 0, output[-3000:]
    assert shown, f"no line names the variable as expected ({message!r}):\n{output[-3000:]}"
    assert touched == 0, "the run connected to the managed host"
    assert "localhost" in recap and "web1" not in recap and "failed=1" in recap, recap
    assert not report_dir.exists(), "a report was written"
    assert not [p for p in work.iterdir() if not p.name.startswith(("extra-vars-", "ansible"))], \
        sorted(p.name for p in work.iterdir())


def test_misspelled_variable_is_named_and_fix_spellings_are_accepted(open_case, lab):
    """refarch_scan_path (no s) is a warning with the closest name; nra001 in any case is a valid selection. The
    settings check passes, so this run does go to the host (which is unreachable here: a TCP port, not sshd)."""
    c = open_case("misspelled refarch_scan_path (remediate, refarch_fixes: nra001)",
                  "a warning names it and refarch_scan_paths; nra001 accepted; the run goes on to the hosts")
    work = lab["work"] / "misspelled"
    work.mkdir()
    before = lab["listener"].connections
    run = run_playbook("refarch.containers.remediate", lab["inventory"], work,
                       {"refarch_scan_path": ["/srv"], "refarch_fixes": "nra001",
                        "refarch_report_dir": str(work / "report")}, timeout=300)
    output = run.stdout + run.stderr
    warning = "refarch_scan_path: unknown variable; did you mean refarch_scan_paths?"
    touched = lab["listener"].connections - before
    c.see(f"rc={run.returncode}; warning shown: {warning in output}; connections to the host: {touched}")
    assert warning in output, output[-3000:]
    assert "unknown fix or rule id" not in output, "nra001 must be accepted"
    validate = output.split("TASK [Validate the refarch_* settings on the controller]")[1].split("PLAY [")[0]
    assert "ok: [localhost]" in validate, validate
    assert touched > 0, "the settings check passed, so the run went on to the host"
    assert (work / "report" / "report.json").is_file(), output[-4000:]
    report = json.loads((work / "report" / "report.json").read_text())
    assert report["hosts"]["web1"]["status"] == "unreachable"
