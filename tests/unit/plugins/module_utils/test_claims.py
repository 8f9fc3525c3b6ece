"""Claims that hold (#16 item 1): the application's port variable, the safe reads of its files, each fix's status,
the claims decision, and the shared corpus re-evaluated with the embedded engine (0 false claims)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from ansible_collections.refarch.containers.plugins.module_utils import _dockerfile_facts
from ansible_collections.refarch.containers.plugins.module_utils import _rewriter as R
from ansible_collections.refarch.containers.plugins.module_utils._context_files import ContextFiles
from ansible_collections.refarch.containers.plugins.module_utils._rewrite import app_port, claims
from ansible_collections.refarch.containers.plugins.module_utils._rewrite.model import FixContext, _Doc

REPO = Path(__file__).resolve().parents[4]
DATE = "2026-11-28"


# --------------------------------------------------------------------------- what one source file says

@pytest.mark.parametrize(("src", "name", "default"), [
    ("const port = process.env.PORT || 3000;\napp.listen(port);", "PORT", 3000),
    ("app.listen(process.env.PORT ?? 8080, () => {})", "PORT", 8080),
    ("app.listen(process.env['APP_PORT'] || '5000')", "APP_PORT", 5000),
    ('server.listen(process.env["HTTP_PORT"])', "HTTP_PORT", None),
    ("const { PORT = 3000, HOST } = process.env\napp.listen(PORT, HOST)", "PORT", 3000),
    ("const port = parseInt(process.env.PORT, 10) || 4000\napp.listen(port)", "PORT", 4000),
    ("fastify.listen({ port: Number(process.env.SERVER_PORT) || 3000, host: '0.0.0.0' })", "SERVER_PORT", 3000),
    ("var port = normalizePort(process.env.PORT || '3000');\nfunction normalizePort(val) {\n"
     "  var port = parseInt(val, 10);\n  return port;\n}\nserver.listen(port);", "PORT", 3000),
    ("// app.listen(80)\n/* app.listen(443) */ const s = 'http://x//y';\napp.listen(process.env.PORT)", "PORT", None),
])
def test_port_variable_forms(src, name, default):
    scan = app_port.scan_source(src)
    assert scan.hard_coded == [] and scan.other == [], scan
    assert {n for n, _d, _l in scan.env_reads} == {name}
    assert next(d for n, d, _l in scan.env_reads if n == name) == default


@pytest.mark.parametrize(("src", "port"), [
    ("app.listen(80)", 80),
    ("const port = 80\napp.listen(port, () => console.log('up'))", 80),
    ("let PORT = '443';\nhttps.createServer(opts, app).listen(PORT)", 443),
    ("fastify.listen({ port: 80 })", 80),
    ("app.listen(parseInt('8080', 10))", 8080),
])
def test_hard_coded_ports(src, port):
    scan = app_port.scan_source(src)
    assert [p for p, _l in scan.hard_coded] == [port]


def test_port_from_configuration_and_imports():
    scan = app_port.scan_source("const config = require('./config.json')\napp.listen(config.port)\n"
                                "import x from './lib/app.js'; export * from '../shared'")
    assert scan.other and scan.other[0][0] == "config.port" and scan.env_reads == []
    assert scan.imports == ["./config.json", "./lib/app.js", "../shared"]
    assert app_port.scan_source("const { port } = require('./settings')\napp.listen(port)").other
    # only names are echoed in a reason, never other source text (a literal may be a secret)
    assert app_port.scan_source("app.listen(pick('s3cr3t-t0ken', 80))").other == [("an expression", 1)]


# --------------------------------------------------------------------------- detection over a real build context

def detect(tmp_path: Path, dockerfile: str, package: dict | None = None) -> app_port.PortEvidence:
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    reader = ContextFiles(fd, str(tmp_path))
    try:
        pkg = {"exists": package is not None, **(package or {})}
        return app_port.detect(_Doc(dockerfile, R.parse_dockerfile), FixContext(package_json=pkg, read_file=reader))
    finally:
        reader.close()
        os.close(fd)


def test_entry_point_from_cmd_npm_start_main_and_stages(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "index.js").write_text("require('./server')\n")
    (tmp_path / "src" / "server.js").write_text("module.exports = app.listen(process.env.PORT || 3000)\n")
    ev = detect(tmp_path, "FROM node:22\nWORKDIR /app\nCOPY . .\nCMD [\"node\", \"--enable-source-maps\", "
                          "\"src/index.js\"]\n")
    assert (ev.variable, ev.default, ev.files) == ("PORT", 3000, ("src/index.js", "src/server.js"))
    ev = detect(tmp_path, "FROM node:22\nWORKDIR /app\nCOPY src ./src\nCMD [\"npm\", \"start\"]\n",
                {"scripts": {"start": "node src/index"}})
    assert ev.variable == "PORT"
    ev = detect(tmp_path, "FROM node:22\nWORKDIR /srv\nCOPY src/ ./\nCMD node .\n", {"main": "index.js"})
    assert ev.variable == "PORT", ev.why
    # the runtime stage copies the application from the build stage, which copied it from the context
    ev = detect(tmp_path, "FROM node:22 AS build\nWORKDIR /app\nCOPY . .\nRUN npm ci\n"
                          "FROM node:22-slim\nWORKDIR /app\nCOPY --from=build /app /app\nCMD [\"node\", "
                          "\"src/index.js\"]\n")
    assert ev.variable == "PORT", ev.why


def test_compiled_typescript_entry_point_is_read_from_its_source(tmp_path):
    """A NestJS-style build: dist/ is compiled in the image, so main.ts is read (tsconfig's outDir holds dist)."""
    docker = ("FROM node:22 AS build\nWORKDIR /app\nCOPY . .\nRUN npm ci && npm run build\n"
              "FROM node:22-slim\nWORKDIR /app\nCOPY --from=build /app/node_modules ./node_modules\n"
              "COPY --from=build /app/dist ./dist\nEXPOSE 80\nCMD [\"node\", \"dist/main\"]\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "main.ts").write_text(
        "import { NestFactory } from '@nestjs/core';\nimport { AppModule } from './app.module';\n"
        "async function bootstrap() {\n  const app = await NestFactory.create(AppModule);\n"
        "  await app.listen(process.env.PORT ?? 3000);\n}\nbootstrap();\n")
    ev = detect(tmp_path, docker)
    assert ev.variable is None and "dist/main does not exist" in ev.why   # no tsconfig.json: no mapping
    (tmp_path / "tsconfig.json").write_text('{\n  // compiler options\n  "compilerOptions": {"outDir": "./dist", '
                                            '"module": "commonjs"}\n}\n')
    ev = detect(tmp_path, docker)
    # the listen on process.env.PORT is seen, so the unread ./app.module does not matter
    assert (ev.variable, ev.default, ev.files) == ("PORT", 3000, ("src/main.ts",)), ev


def test_hard_coded_config_and_several_variables_are_not_evidence(tmp_path):
    docker = "FROM node:22\nWORKDIR /app\nCOPY . .\nCMD [\"node\", \"a.js\"]\n"
    (tmp_path / "a.js").write_text("const port = 80\nrequire('http').createServer().listen(port)\n")
    ev = detect(tmp_path, docker)
    assert ev.variable is None and "a.js line 1 listens on port 80 (hard-coded)" in ev.why
    (tmp_path / "a.js").write_text("const cfg = require('./config.json')\napp.listen(cfg.port)\n")
    ev = detect(tmp_path, docker)
    assert ev.variable is None and "takes the port from 'cfg.port'" in ev.why
    (tmp_path / "a.js").write_text("app.listen(process.env.PORT || process.env.HTTP_PORT)\n")
    assert "several port variables (HTTP_PORT, PORT)" in detect(tmp_path, docker).why
    (tmp_path / "a.js").write_text("console.log('batch job')\n")
    assert "neither listens on a port nor reads a port variable" in detect(tmp_path, docker).why


def test_unreadable_or_absent_entry_points(tmp_path):
    docker = "FROM node:22\nWORKDIR /app\nCOPY . .\nCMD [\"node\", \"server.js\"]\n"
    ev = detect(tmp_path, docker)
    assert ev.variable is None and "server.js does not exist" in ev.why
    ev = detect(tmp_path, "FROM node:22\nWORKDIR /app\nCOPY --from=builder-image:1 /out /app\n"
                          "CMD [\"node\", \"server.js\"]\n")
    assert "comes from builder-image:1" in ev.why
    ev = detect(tmp_path, "FROM node:22\nCMD [\"npm\", \"run\", \"serve\"]\n", {"scripts": {}})
    assert "cannot find the entry point: package.json has no 'serve' script" in ev.why
    ev = detect(tmp_path, "FROM node:22\nCMD node $APP_MAIN\n")
    assert "cannot find the entry point" in ev.why
    assert "no build context given" in app_port.detect(_Doc(docker, R.parse_dockerfile), FixContext()).why


def test_links_fifos_and_large_files_are_refused(tmp_path):
    docker = "FROM node:22\nWORKDIR /app\nCOPY . .\nCMD [\"node\", \"server.js\"]\n"
    outside = tmp_path.parent / (tmp_path.name + "-outside.js")
    outside.write_text("app.listen(process.env.PORT)\n")
    (tmp_path / "server.js").symlink_to(outside)
    ev = detect(tmp_path, docker)
    assert ev.variable is None and "is a symlink; not followed" in ev.why
    (tmp_path / "server.js").unlink()
    os.mkfifo(tmp_path / "server.js")          # never opened for reading, never blocks
    assert "FIFO" in detect(tmp_path, docker).why
    (tmp_path / "server.js").unlink()
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "server.js").write_text("app.listen(process.env.PORT)\n")
    (tmp_path / "lib").symlink_to(tmp_path / "real", target_is_directory=True)
    ev = detect(tmp_path, "FROM node:22\nWORKDIR /app\nCOPY . .\nCMD [\"node\", \"lib/server.js\"]\n")
    assert "symlink; not followed (directory)" in ev.why
    # a local module the entry point imports cannot be read: the port may be set there, so no evidence
    (tmp_path / "main.js").write_text("process.env.PORT; require('./lib/server')\n")
    ev = detect(tmp_path, "FROM node:22\nWORKDIR /app\nCOPY . .\nCMD [\"node\", \"main.js\"]\n")
    assert ev.variable is None and "main.js imports ./lib/server, which cannot be read" in ev.why
    (tmp_path / "big.js").write_text("// " + "x" * (600 * 1024) + "\napp.listen(process.env.PORT)\n")
    ev = detect(tmp_path, "FROM node:22\nWORKDIR /app\nCOPY . .\nCMD [\"node\", \"big.js\"]\n")
    assert "byte cap" in ev.why


def test_context_files_refuses_paths_outside_the_context(tmp_path):
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        read = ContextFiles(fd, str(tmp_path), max_files=2)
        for bad in ("../x.js", "/etc/passwd", "a//b.js", "./a.js"):
            text, why = read(bad)
            assert text is None and "not a plain path inside the build context" in why
        (tmp_path / "a.js").write_text("x")
        (tmp_path / "b.js").write_text("y")
        (tmp_path / "c.js").write_text("z")
        assert read("a.js") == ("x", None)
        assert read("missing.js")[1].endswith("does not exist")     # a name tried is not a file read
        (tmp_path / "a.js").write_text("changed")
        assert read("a.js") == ("x", None)      # asked again (two fixes read one entry point): read once, same answer
        assert read("b.js") == ("y", None)
        assert "at most 2 source files" in read("c.js")[1]
        read.close()
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- NRA002 through the rewriter

def test_nra002_follows_the_variable_or_changes_nothing(tmp_path):
    docker = "FROM node:22\nWORKDIR /app\nCOPY . .\nEXPOSE 80\nCMD [\"node\", \"server.js\"]\n"
    (tmp_path / "server.js").write_text("const port = process.env.APP_PORT || 3000\napp.listen(port)\n")
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        res = R.rewrite(docker, ["remap_privileged_ports"], {"read_file": ContextFiles(fd, str(tmp_path))})
        assert res["text"] == docker.replace("EXPOSE 80", "ENV APP_PORT=8080\nEXPOSE 8080")
        (entry,) = res["fix_status"]
        assert (entry["status"], entry["claims"]) == ("applied", ["NRA002"])
        assert "APP_PORT, set to 8080 (server.js line 1 reads process.env.APP_PORT)" in entry["precondition"]
        (tmp_path / "server.js").write_text("app.listen(80)\n")
        res = R.rewrite(docker, ["remap_privileged_ports"], {"read_file": ContextFiles(fd, str(tmp_path))})
        assert res["text"] == docker and res["applied"] == []
        (entry,) = res["fix_status"]
        assert (entry["status"], entry["claims"]) == ("skipped", [])
        assert entry["reason"] == ("EXPOSE 80 left unchanged: the application's port cannot be shown to follow an "
                                   "environment variable (server.js line 1 listens on port 80 (hard-coded))")
    finally:
        os.close(fd)


def test_precondition_is_checked_on_the_final_text():
    facts = _dockerfile_facts.dockerfile_facts("/x/Dockerfile", b"FROM node:22\nENV PORT=8080\nEXPOSE 8080\n",
                                               include_instructions=False)
    pre = {"variable": "PORT", "port": 8080, "evidence": "server.js line 1 reads process.env.PORT"}
    assert claims.check_precondition("remap_privileged_ports", pre, facts) == (True, "")
    for text, why in ((b"FROM node:22\nENV PORT=3000\nEXPOSE 8080\n", "does not set PORT=8080"),
                      (b"FROM node:22\nENV PORT=8080\nEXPOSE 8080 80\n", "still exposes 80"),
                      (b"FROM node:22\nENV PORT=8080\nEXPOSE 9000\n", "does not name port 8080")):
        facts = _dockerfile_facts.dockerfile_facts("/x/Dockerfile", text, include_instructions=False)
        holds, message = claims.check_precondition("remap_privileged_ports", pre, facts)
        assert not holds and why in message
        status = claims.fix_statuses(["remap_privileged_ports"], [{"fix": "remap_privileged_ports"}], [],
                                     {"remap_privileged_ports": pre}, lambda f=facts: f)
        assert (status[0]["status"], status[0]["claims"]) == ("partly_applied", [])
        assert "precondition failed: " in status[0]["reason"]


# --------------------------------------------------------------------------- the status of each fix

def test_each_fix_reports_one_status():
    text = ("FROM node:16-alpine\nWORKDIR /app\nCOPY . .\nRUN npm install\nEXPOSE 80\nENV PORT=80\n"
            "CMD npm start\n")
    res = R.rewrite(text, ["all"], {"package_json": {"exists": True, "scripts": {"start": "nodemon app.js"}},
                                    "dockerignore_text": None, "evaluation_date": DATE})
    status = {e["fix"]: e for e in res["fix_status"]}
    assert list(status) == list(R.FIX_ORDER)
    applied = {a["fix"] for a in res["applied"]}
    for fix, entry in status.items():
        assert entry["status"] in claims.STATUSES
        assert entry["rule_ids"] == R.FIX_RULES[fix]
        assert (fix in applied) == (entry["status"] in (claims.APPLIED, claims.PARTLY_APPLIED)), entry
        assert entry["claims"] == (entry["rule_ids"] if fix in applied else []), entry
        if entry["status"] != claims.APPLIED:
            assert entry["reason"], entry
    assert status["replace_npm_start"]["status"] == "skipped"
    assert "development file watcher" in status["replace_npm_start"]["reason"]
    assert status["remap_privileged_ports"]["status"] == "skipped"       # no source given: never claimed
    assert status["exec_form_cmd"]["status"] == "applied"
    assert status["add_non_root_user"]["status"] == "applied"
    assert status["write_dockerignore"]["status"] == "applied"
    again = R.rewrite(res["text"], ["add_non_root_user", "write_dockerignore"],
                      {"dockerignore_text": res["dockerignore"]})
    assert [(e["fix"], e["status"]) for e in again["fix_status"]] == [
        ("add_non_root_user", "not_needed"), ("write_dockerignore", "not_needed")]
    partial = R.rewrite("FROM node:22\nEXPOSE 80-90\n", ["exec_form_cmd", "write_dockerignore"],
                        {"dockerignore_text": "node_modules\n!node_modules/keep\n"})
    assert [e["status"] for e in partial["fix_status"]] == ["not_needed", "skipped"]
    assert claims.status_text({"status": "partly_applied", "reason": "why"}) == "partly applied (why)"


def test_decide_claims_only_what_no_longer_fires():
    status = [{"fix": "replace_base_image", "rule_ids": ["NRA012", "NRA013", "NRA014"], "status": "partly_applied",
               "reason": "Alpine left", "claims": ["NRA012", "NRA013", "NRA014"], "precondition": None},
              {"fix": "remap_privileged_ports", "rule_ids": ["NRA002"], "status": "skipped",
               "reason": "hard-coded port", "claims": [], "precondition": None},
              {"fix": "add_non_root_user", "rule_ids": ["NRA001"], "status": "applied", "reason": "",
               "claims": ["NRA001"], "precondition": None}]
    out = claims.decide(status, ["NRA001", "NRA002", "NRA012", "NRA013"], {"NRA002", "NRA012"})
    assert out["rules_fixed"] == ["NRA001", "NRA013"]
    assert out["refuted"] == ["NRA012"]
    base = out["fix_status"][0]
    assert base["status"] == "partly_applied" and base["claims"] == ["NRA013", "NRA014"]
    assert base["reason"] == "Alpine left; NRA012 still raised on the rewritten Dockerfile"
    assert {n["rule_id"]: n["reason"] for n in out["not_fixed"]} == {
        "NRA002": "remap_privileged_ports: skipped (hard-coded port)",
        "NRA012": "still raised on the rewritten Dockerfile"}
    failed = claims.decide(status, ["NRA001"], set(), evaluated=False)
    assert failed["rules_fixed"] == [] and "could not be re-evaluated" in failed["not_fixed"][0]["reason"]


# --------------------------------------------------------------------------- the shared corpus, re-evaluated

def test_corpus_rewrites_make_no_false_claim(corpus_dir):
    """Every corpus Dockerfile: its findings' fixes, the rewrite re-evaluated with the embedded engine (the remediate
    role's default), the claims decided; every rule reported fixed no longer fires and its precondition holds, and
    a fix reported fully applied is never refuted."""
    from ansible_collections.refarch.containers.plugins.plugin_utils import _bundle  # noqa: PLC0415
    from ansible_collections.refarch.containers.plugins.plugin_utils._engine_embedded import (  # noqa: PLC0415
        EmbeddedEngine,
    )
    engine = EmbeddedEngine(_bundle.load_bundle(include_default=False, paths=[str(REPO / "policies")]),
                            backend="regorus")
    table = json.loads((REPO / "policies" / "refarch" / "config" / "data.json").read_text(encoding="utf-8"))
    cases = sorted(p for p in corpus_dir.iterdir() if (p / "Dockerfile").is_file())

    def side(case, name):
        return (case / name).read_bytes() if (case / name).is_file() else None

    before_docs = [_dockerfile_facts.dockerfile_facts(f"/srv/{c.name}/Dockerfile", (c / "Dockerfile").read_bytes(),
                                                      side(c, ".dockerignore"), side(c, "package.json"),
                                                      include_instructions=False) for c in cases]
    before = engine.evaluate(before_docs, DATE)
    after_docs, results, wanted = [], [], []
    for case, doc, findings in zip(cases, before_docs, before, strict=True):
        rules = sorted({f["rule_id"] for f in findings if f.get("fix") not in (None, "manual")})
        di = side(case, ".dockerignore")
        fd = os.open(case, os.O_RDONLY | os.O_DIRECTORY)
        try:
            res = R.rewrite((case / "Dockerfile").read_bytes().decode("utf-8", "surrogateescape"), rules, {
                "package_json": doc["package_json"], "evaluation_date": DATE,
                "base_image_table": {"node_releases": table["node_releases"]},
                "dockerignore_text": di.decode("utf-8", "replace") if di is not None else None,
                "context_files": sorted(p.name for p in case.iterdir()),
                "read_file": ContextFiles(fd, str(case))})
        finally:
            os.close(fd)
        new_di = res["dockerignore"].encode() if res["dockerignore"] is not None else di
        after_docs.append(_dockerfile_facts.dockerfile_facts(
            doc["path"], res["text"].encode("utf-8", "surrogateescape"), new_di, side(case, "package.json"),
            include_instructions=False))
        results.append(res)
        wanted.append(rules)
    after = engine.evaluate(after_docs, DATE)
    doc_pkg = {c.name: {k: v for k, v in d["package_json"].items() if k != "exists"} if d["package_json"]["exists"]
               else None for c, d in zip(cases, before_docs, strict=True)}
    false_claims, fixed, refuted_applied = [], 0, []
    for case, res, rules, findings, facts in zip(cases, results, wanted, after, after_docs, strict=True):
        firing = {f["rule_id"] for f in findings}
        out = claims.decide(res["fix_status"], rules, firing, "NRA000" not in firing)
        fixed += len(out["rules_fixed"])
        applied = {e["fix"] for e in res["fix_status"] if e["status"] == claims.APPLIED}
        refuted_applied += [(case.name, r) for r in out["refuted"] if R.RULE_FIXES[r] in applied]
        for rule in out["rules_fixed"]:
            if rule in firing:
                false_claims.append((case.name, rule, "still fires"))
            if rule == "NRA002":   # re-detect the variable the application reads, on the rewritten text
                ev = detect(case, res["text"], doc_pkg[case.name])
                value = str(((facts["final_stage"]["env"] or {}).get(ev.variable) or {}).get("value") or "")
                pre = {"variable": ev.variable, "port": int(value) if value.isdigit() else None}
                holds, why = claims.check_precondition("remap_privileged_ports", pre, facts)
                if ev.variable is None or not holds:
                    false_claims.append((case.name, rule, ev.why if ev.variable is None else why))
    assert fixed > 500, f"only {fixed} rules fixed over {len(cases)} Dockerfiles"
    assert false_claims == []
    assert refuted_applied == [], "a fix reported fully applied left its rule firing"
