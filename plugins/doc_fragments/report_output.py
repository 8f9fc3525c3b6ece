# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options shared by the modules that render and write a report (``report``, ``report_merge``)."""

from __future__ import annotations


class ModuleDocFragment:
    """The rendering options; their argument spec is ``_report_writer.RENDER_OPTIONS``."""

    DOCUMENTATION = r"""
options:
  dest:
    description:
      - Directory on the controller to write the report files into. Created if missing.
    type: path
    required: true
  previous:
    description:
      - A previous report (path to its C(report.json), or the report as a dictionary) to diff against.
        The report then has a C(diff) section (new, fixed, still open and not rechecked findings) and
        C(report.diff.json) is written too.
    type: raw
  diff_with_existing:
    description:
      - Diff against the C(report.json) already in O(dest), if there is one, before replacing it.
      - Ignored when O(previous) is given.
    type: bool
    default: false
  formats:
    description:
      - Which files to write. V(json) is C(report.json) (plus C(report.diff.json) with a diff),
        V(junit) C(report.junit.xml), V(sarif) C(report.sarif), V(html) C(report.html) and
        V(text) C(report.txt) (the terminal summary).
    type: list
    elements: str
    choices: [json, junit, sarif, html, text]
    default: [json, junit, sarif, html]
  sarif_root:
    description:
      - Dockerfile paths under this directory become URIs relative to O(sarif_uri_base_id) in the SARIF
        file; other paths stay absolute C(file://) URIs.
    type: str
  sarif_uri_base_id:
    description: The C(uriBaseId) used for relative SARIF URIs.
    type: str
    default: SCANROOT
  sarif_host_prefix:
    description:
      - Prefix every SARIF URI with the host name, so the same path on two hosts is two artifacts.
    type: bool
    default: false
  sarif_category:
    description: Prefix of the SARIF C(automationDetails.id) (the category code-scanning services group by).
    type: str
    default: refarch.containers/estate
  title:
    description: Heading of the HTML dashboard.
    type: str
  mode:
    description: File mode of the written files, as an octal string.
    type: raw
    default: '0644'
  return_content:
    description: Also return the rendered files' content under RV(content).
    type: bool
    default: false
  top:
    description: How many rules and hosts the text summary lists.
    type: int
    default: 5
"""
