"""Build commands are argument lists made from validated values."""
from __future__ import annotations

import pytest
from ansible_collections.refarch.containers.plugins.module_utils import _build as b

GOOD = ["node:20", "localhost/shop-api:1.4", "registry.example.com:5000/team/app:v1.2.3",
        "docker.io/library/node:22-bookworm-slim",
        "node@sha256:" + "a" * 64, "ghcr.io/org/app:1.0@sha256:" + "0" * 64, "my_app__x/y-z:tag_1.0-rc"]
BAD = ["x; rm -rf /", "Node:20", "node:20 --privileged", "$(id)", "node:`id`", "", "../etc/passwd",
       "node:" + "a" * 129, "a//b", "node:-bad", "node@sha256:xyz", "name\nFROM evil"]


@pytest.mark.parametrize("ref", GOOD)
def test_valid_references(ref):
    assert b.validate_reference(ref) == ref


@pytest.mark.parametrize("ref", BAD)
def test_hostile_references_are_refused(ref):
    with pytest.raises(b.BuildError):
        b.validate_reference(ref)


def test_reference_split_keeps_docker_semantics():
    assert b.checked_reference("team/app:1").registry is None
    assert b.checked_reference("team/app:1").path == "team/app"
    assert b.checked_reference("localhost/app").registry == "localhost"
    assert b.checked_reference("reg.io:5000/a/b").registry == "reg.io:5000"


def test_candidate_and_previous_tags():
    sha = "0123456789abcdef" * 4
    assert b.candidate_reference("localhost/app:1.4", sha) == "localhost/app:1.4-refarch-0123456789ab"
    assert b.candidate_reference("app", sha) == "app:latest-refarch-0123456789ab"
    long_tag = "t" * 128
    assert len(b.candidate_reference("app:" + long_tag, sha).split(":", 1)[1]) == 128
    assert b.previous_reference("localhost/app:1.4") == "localhost/app:1.4-refarch-previous"
    with pytest.raises(b.BuildError):
        b.candidate_reference("app@sha256:" + "a" * 64, sha)


def test_build_argv_podman_and_docker():
    argv = b.build_argv("podman", "/usr/bin/podman", "/srv/a/Dockerfile", "/srv/a", "localhost/a:1",
                        {"b": "2", "a": "1"}, {"TOKEN": "s3cret"}, target="runtime")
    assert argv[:6] == ["/usr/bin/podman", "build", "--file", "/srv/a/Dockerfile", "--tag", "localhost/a:1"]
    assert "--pull=never" in argv and "--isolation=chroot" in argv
    assert argv.index("a=1") < argv.index("b=2")
    assert argv[-1] == "/srv/a" and argv[-3:-1] == ["--target", "runtime"]
    docker = b.build_argv("docker", "/usr/bin/docker", "/srv/a/Dockerfile", "/srv/a", "a:1", {}, {},
                          isolation=None, network="none")
    assert docker[1] == "build" and "--network=none" in docker and not any("isolation" in x for x in docker)
    buildah = b.build_argv("buildah", "/usr/bin/buildah", "/d/Dockerfile", "/d", "a:1", {}, {})
    assert buildah[1] == "bud"


@pytest.mark.parametrize("kwargs,message", [
    ({"dockerfile": "Dockerfile"}, "absolute"),
    ({"tag": "x; rm -rf /"}, "invalid image reference"),
    ({"build_args": {"BAD NAME": "1"}}, "build argument"),
    ({"target": "--privileged"}, "target"),
    ({"labels": {"a=b": "c"}}, "label"),
    ({"network": "container:evil"}, "network"),
])
def test_build_argv_refuses(kwargs, message):
    args = {"engine": "podman", "executable": "/usr/bin/podman", "dockerfile": "/d/Dockerfile", "context": "/d",
            "tag": "a:1", "labels": {}, "build_args": {}}
    args.update(kwargs)
    with pytest.raises(b.BuildError, match=message):
        b.build_argv(**args)


def test_masked_hides_build_arg_values_everywhere():
    argv = ["podman", "build", "--build-arg", "TOKEN=s3cret-value", "--label", "x=s3cret-value", "/d"]
    out = b.masked(argv, ["s3cret-value"])
    assert "s3cret-value" not in " ".join(out)
    assert "TOKEN=********" in out


def test_find_runtime_reports_what_it_looked_for(monkeypatch):
    monkeypatch.setattr(b.shutil, "which", lambda name: None)
    with pytest.raises(b.BuildError, match="podman, buildah, docker"):
        b.find_runtime("auto")
    with pytest.raises(b.BuildError, match="absolute"):
        b.find_runtime("auto", "podman")


def test_tag_and_untag_argv():
    assert b.tag_argv("podman", "/p", "sha256:" + "a" * 64, "a:1") == ["/p", "tag", "sha256:" + "a" * 64, "a:1"]
    assert b.untag_argv("podman", "/p", "a:1") == ["/p", "untag", "a:1", "a:1"]  # only that name, not all
    assert b.untag_argv("docker", "/d", "a:1") == ["/d", "image", "rm", "a:1"]
    with pytest.raises(b.BuildError):
        b.tag_argv("podman", "/p", "a:1", "b:1;reboot")
