"""Stand-in for pip's get-pip.py used by ``ansible-test --requirements``.

The real script is downloaded from a host this network cannot reach. This one
bootstraps pip with ``ensurepip`` and installs the other requested packages.
The exact ``pip==`` pin is dropped: that release is not on the package index here.
"""
import subprocess
import sys

GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}

args = [a for a in sys.argv[1:] if a not in GET_PIP_ONLY and not a.startswith("pip==")]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"])
packages = [a for a in args if not a.startswith("-")]
if packages:
    subprocess.check_call([sys.executable, "-m", "pip", "install", *args])
