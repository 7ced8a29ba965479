"""The whole-tree CI job, as managed-tenants-cli runs its tasks: loaded by
`managedtenants --addons-dir DIR --environment ENV --dry-run run THIS_DIR`
(scripts/bench/mtcli.sh). mtcli's loader has already validated every add-on
(duplicate keys, the metadata and image set schemas, its own checks) and
rendered its SelectorSyncSet List (`Addon.sss`, with the extra resources).
Each add-on's task then writes that List in mtcli's own serialisation and
builds the add-on's OCM payloads with OcmCli's builders, as `add_addon` and
`add_addon_version` build them (clusters_mgmt, deep copies: the builders
change their inputs), without sending anything.

BENCH_MTCLI_OUT names the output file (emptied by the bench first): per
add-on, its List as YAML, a `---` line, and one JSON line per payload, so
the bench can count what was written. mtcli loads this file once per task
type, so the module keeps no state between tasks.
"""
import copy
import json
import os

from managedtenants import Task
from managedtenants.utils.ocm import OcmCli


class RenderAndBuildPayloads(Task):
    def run(self):
        addon = self.addon
        # A token provider only: nothing is contacted unless a request is sent.
        ocm = OcmCli(offline_token="bench-offline", api="http://127.0.0.1:9")
        payloads = [ocm._sanitize_addon_metadata_for_cluster_service(
            addon=ocm._addon_from_metadata(copy.deepcopy(addon.metadata)))]
        if addon.imageset is not None:
            payloads.append(ocm._sanitize_addon_metadata_for_cluster_service(
                addon=ocm._addon_from_imageset(copy.deepcopy(addon.imageset),
                                               copy.deepcopy(addon.metadata))))
        with open(os.environ["BENCH_MTCLI_OUT"], "a", encoding="utf8") as out:
            out.write(addon.sss.yaml)
            out.write("---\n")
            for payload in payloads:
                out.write(json.dumps(payload))
                out.write("\n")
