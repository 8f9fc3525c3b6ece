# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Dockerfile rewriter's parts: document and edit model, one module per fix, the Node.js release table.

The entry point and the public API are in ``module_utils/_rewriter.py``."""
