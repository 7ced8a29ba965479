#!/usr/bin/env python3
"""Checks that both sides of scripts/bench.sh mtcli did the same work: the
same add-ons, the same rendered objects (ours carry the fleet's add-on label
besides, which is dropped before comparing) and the same OCM payloads, in
the same order. Prints one line of counts; exits 1 with the first difference.

ocm-post sends clusters_mgmt what its model defines, where managed-tenants-cli
sends addons_mgmt's names (tools/ocm-post/README.md, DF0007 and DF0008):
managed-tenants-cli's payloads are read as ocm-post sends them before the
comparison (`add_on_secret_propagations` is `secret_propagations`, a
parameter has no `order`).

usage: mtcli_compare.py OURS_DIR MTCLI_OUT
  OURS_DIR: docs.jsonl, sss.json and payloads.json of bench_whole_tree_job.
  MTCLI_OUT: what scripts/bench/mtcli_tasks wrote: per add-on its List as
  YAML, a `---` line, one JSON line per payload.
"""
import json
import sys

import yaml

ADDON_LABEL = "addon-flow.openshift.io/addon"


def ours(folder):
    with open(f"{folder}/docs.jsonl") as f:
        addons = [json.loads(line)["id"] for line in f
                  if line.strip() and '"AddonInventory"' not in line]
    with open(f"{folder}/sss.json") as f:
        objects = json.load(f)["items"]
    for item in objects:
        labels = item.get("metadata", {}).get("labels")
        if labels is not None:
            labels.pop(ADDON_LABEL, None)
            if not labels:
                del item["metadata"]["labels"]
    with open(f"{folder}/payloads.json") as f:
        payloads = [request["body"] for request in json.load(f)]
    return addons, objects, payloads


def as_clusters_mgmt(payload):
    """managed-tenants-cli's payload with clusters_mgmt's names, as ocm-post
    sends it (the documented differences DF0007 and DF0008)."""
    config = payload.get("config")
    if isinstance(config, dict) and "add_on_secret_propagations" in config:
        config["secret_propagations"] = config.pop("add_on_secret_propagations")
    parameters = payload.get("parameters")
    if isinstance(parameters, dict):
        for parameter in parameters.get("items") or []:
            parameter.pop("order", None)
    return payload


def mtcli(path):
    objects, payloads, addons, chunk = [], [], 0, []
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(path) as f:
        for line in f:
            if line.startswith("{"):
                payloads.append(as_clusters_mgmt(json.loads(line)))
            elif line == "---\n":
                objects.extend(yaml.load("".join(chunk), Loader=loader)["items"])
                addons += 1
                chunk = []
            else:
                chunk.append(line)
    return addons, objects, payloads


def first_difference(name, left, right):
    if len(left) != len(right):
        return f"{name}: ours {len(left)}, managed-tenants-cli {len(right)}"
    for i, (a, b) in enumerate(zip(left, right)):
        if a != b:
            return (f"{name} #{i + 1} differ:\n  ours:  {json.dumps(a, sort_keys=True)[:600]}\n"
                    f"  mtcli: {json.dumps(b, sort_keys=True)[:600]}")
    return None


def main():
    our_addons, our_objects, our_payloads = ours(sys.argv[1])
    their_addons, their_objects, their_payloads = mtcli(sys.argv[2])
    problems = [p for p in (
        None if len(our_addons) == their_addons else
        f"add-ons: ours {len(our_addons)}, managed-tenants-cli {their_addons}",
        first_difference("objects", our_objects, their_objects),
        first_difference("payloads", our_payloads, their_payloads),
    ) if p]
    print(f"{len(our_addons)} add-ons, {len(our_objects)} objects, {len(our_payloads)} OCM payloads"
          + ("; managed-tenants-cli wrote the same" if not problems else ""))
    if problems:
        print("the two sides did not do the same work:\n" + "\n".join(problems), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
