# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options of the Dockerfile walker shared by dockerfile_info and dockerfile_facts (discovery_argument_spec)."""

from __future__ import annotations


class ModuleDocFragment:
    """The walker's options: roots, names, pruning, limits and what may be read."""

    DOCUMENTATION = r"""
options:
  paths:
    description:
      - Roots to scan. A directory is walked; a regular file is scanned whatever its name.
      - Roots that do not exist are reported as problems (code C(root_not_found)), not as a failure.
    type: list
    elements: path
    required: true
  patterns:
    description:
      - Shell-style file name patterns (matched against the base name) that mark a Dockerfile.
      - The default patterns match in any case (C(Dockerfile-dev), C(Dockerfile_worker), C(worker.dockerfile),
        C(DOCKERFILE)); patterns you set match as O(case_insensitive) says.
      - Names ending in C(.dockerignore) never match.
      - A file that a build descriptor (compose, bake, workflow) names as its Dockerfile is read whatever its name.
    type: list
    elements: str
    default: [Dockerfile, Containerfile, '*.Dockerfile', 'Dockerfile.*', 'Dockerfile-*', 'Dockerfile_*',
              'Containerfile.*', 'Containerfile-*', 'Containerfile_*', '*.Containerfile']
  case_insensitive:
    description:
      - Match O(patterns) case-insensitively (finds C(dockerfile), C(DOCKERFILE), C(app.DockerFile)).
    type: bool
    default: false
  excludes:
    description:
      - Directories not descended into. An entry without C(/) is matched against directory names (shell-style
        patterns allowed, for example C(.cache*)); an entry with C(/) against the full path (for example
        C(/proc) or C(/srv/*/vendor)).
      - Setting this replaces the default list; include the defaults you still want.
    type: list
    elements: str
    default: [node_modules, .git, .hg, .svn, /proc, /sys, /dev, /run]
  max_depth:
    description:
      - How many directory levels below each root to descend; V(0) scans only the root's own entries.
      - Unlimited when not set.
    type: int
  max_file_size:
    description:
      - Largest Dockerfile, C(.dockerignore) or C(package.json) read, in bytes. A larger Dockerfile becomes a
        document with C(error.code=too_large) and is not read.
    type: int
    default: 1048576
  one_filesystem:
    description:
      - Do not descend into directories on another file system than their root (like C(find -xdev)).
    type: bool
    default: false
  follow_symlinks_within_root:
    description:
      - Read a symlink whose name matches O(patterns) when its target resolves inside the same root and is a
        regular file. Symlinks leaving the root, dangling or looping symlinks are reported, never read.
      - Symlinked directories are never followed, whatever this option says.
    type: bool
    default: true
  redact_names:
    description:
      - Extra regular expressions (case-insensitive, matched anywhere in the name) for ENV/ARG/flag names whose
        values are secret, added to the built-in list (password, secret, token, api key, private key, credential,
        auth, access key, ...).
    type: list
    elements: str
    default: []
  read_foreign_files:
    description:
      - When the module runs as root, a file is read only when the user who owns the directory holding the name
        found could read it through that name. This applies to every file the scan reads (a Dockerfile, its
        C(.dockerignore) or C(<name>.dockerignore), C(package.json), the target of an in-root symlink).
      - That is, a file found by its own name is that user's, or has a single name (C(st_nlink) 1) and is readable by
        everyone, or sits in a directory that only root can write to; a file found through a symlink is that user's
        and the symlink is that user's or root's. A root-owned C(0644) Dockerfile that a deployment tool left in an
        application user's directory is read; a symlink to another user's SSH key is not.
      - Any other file is not opened. Its document (or its C(dockerignore) / C(package_json) entry, plus a problem of
        the Dockerfile's document) gets the problem C(foreign_owner), naming the owners' uids.
      - This stops a user who can write into a scanned directory from making root read another user's file and
        putting it into reports. V(true) reads such files anyway.
      - Without root the rule is off; the operating system's permissions decide what the scan can read.
    type: bool
    default: false
  allow_hardlinks:
    description:
      - Read a regular file that has more than one name (C(st_nlink) above 1). By default such a file is not read
        and gets the problem C(hardlink), since another of its names may be a file that the owner of the scanned
        directory cannot read.
      - Run as root, O(read_foreign_files) still applies to a hard link that this option lets through.
    type: bool
    default: false
"""
