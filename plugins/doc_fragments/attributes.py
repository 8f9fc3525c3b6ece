# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared ``attributes`` documentation for refarch.containers modules."""

from __future__ import annotations


class ModuleDocFragment:
    """Attribute descriptions; combine the base with one of the support fragments."""

    # Descriptions of the attributes every module declares.
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in C(check_mode) and return changed status prediction without modifying target.
  diff_mode:
    description: >-
      Will return details on what has changed (or possibly needs changing in C(check_mode)), when in diff mode.
  platform:
    description: Target OS/families that can be operated against.
    support: N/A
"""

    # Read-only modules (*_info, *_facts) on POSIX hosts.
    INFO_MODULE = r"""
options: {}
attributes:
  check_mode:
    support: full
    details: This module only reads files; it behaves the same in check mode.
  diff_mode:
    support: none
    details: Nothing is changed, so there is nothing to diff.
  platform:
    platforms: posix
"""

    # Modules that only publish ansible_facts.
    FACTS = r"""
options: {}
attributes:
  facts:
    description: Action returns an C(ansible_facts) dictionary that will update existing host facts.
    support: full
"""

    # Modules that build, tag or run images on a POSIX host (image_build, image_promote, image_start_probe).
    # List this fragment before refarch.containers.attributes: the first fragment that sets a key wins.
    IMAGE_MODULE = r"""
options: {}
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
    details: Images are not files; the result lists the commands run instead.
  platform:
    support: full
    platforms: posix
"""

    # Action plugins that run on the controller only (report, report_merge, validate_settings); combine with
    # ansible.builtin.action_common_attributes and its flow fragment, which describe these attributes.
    CONTROLLER_ACTION = r"""
options: {}
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
    details: Runs on the controller only.
"""
