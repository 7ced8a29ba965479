#!/usr/bin/env python3
"""Generates a managed-tenants tree for benchmarks: N add-ons x 3 environments,
each with three image set versions and (unless --no-bundles) three bundle
versions, built from the examples/ reference add-on.

One add-on in EVERY (default 4) also has extra resources, as managed-tenants
add-ons use them: two Jinja templates with loops and conditionals (an extra
SelectorSyncSet with one ConfigMap per namespace, and a ConfigMap of the
add-on's parameters in the `hive` namespace) and one plain YAML ConfigMap.
They are objects of kinds and namespaces a Hive cluster has, so the fleet
bench can apply them, and they render the same in managed-tenants-cli's
Jinja2 environment (trim_blocks) and in ours: every block tag starts its own
line at column 0, and nothing sits in a block scalar.

usage: gen_tree.py N OUTDIR [--extra-every K] [--no-bundles]
"""
import argparse
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(ROOT, "examples")
SOURCE_ID = "reference-addon"

# An extra SelectorSyncSet: a loop over the add-on's labels and namespaces,
# conditionals on its fields.
SETTINGS_TEMPLATE = """\
apiVersion: hive.openshift.io/v1
kind: SelectorSyncSet
metadata:
  name: addon-{{ ADDON.metadata['id'] }}-settings
  labels:
{% for key, value in ADDON.metadata['commonLabels'].items() %}
    {{ key }}: "{{ value }}"
{% endfor %}
spec:
  clusterDeploymentSelector:
    matchLabels:
      {{ ADDON.metadata['label'] }}: "true"
  resourceApplyMode: Sync
  resources:
{% for namespace in ADDON.metadata['namespaces'] %}
  - apiVersion: v1
    kind: ConfigMap
    metadata:
      name: {{ ADDON.metadata['id'] }}-settings
      namespace: {{ namespace }}
    data:
      addon: "{{ ADDON.metadata['id'] }}"
      position: "{{ loop.index }}"
{% if ADDON.metadata['enabled'] %}
      state: enabled
{% else %}
      state: disabled
{% endif %}
{% if ADDON.metadata['pagerduty'] is defined %}
      escalation-policy: "{{ ADDON.metadata['pagerduty']['escalationPolicy'] }}"
{% endif %}
{% endfor %}
"""

# A ConfigMap on the Hive cluster: a loop over the add-on's parameters.
PARAMETERS_TEMPLATE = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ ADDON.metadata['id'] }}-parameters
  namespace: hive
data:
{% for parameter in ADDON.metadata['addOnParameters'] %}
  {{ parameter['id'] }}: "{{ parameter['default_value'] }}"
{% if parameter['required'] %}
  {{ parameter['id'] }}-required: "true"
{% endif %}
{% endfor %}
  quota: "{{ ADDON.metadata['ocmQuotaName'] }}"
  namespaces: "{{ ADDON.metadata['namespaces'] | join(',') }}"
"""

PLAIN_RESOURCE = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: reference-addon-plain
  namespace: hive
data:
  owner: addon-team
  runbook: https://example.com/runbooks/reference-addon
"""

EXTRA_RESOURCES = {
    "settings.yaml.j2": SETTINGS_TEMPLATE,
    "parameters.yaml.j2": PARAMETERS_TEMPLATE,
    "plain.yaml": PLAIN_RESOURCE,
}


def read(rel):
    with open(os.path.join(EXAMPLES, rel)) as f:
        return f.read()


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def with_extra_resources(addon_yaml):
    """The add-on's metadata naming the extra resources (a top-level key)."""
    names = "".join(f"  - {name}\n" for name in EXTRA_RESOURCES)
    return addon_yaml.rstrip("\n") + "\nextraResources:\n" + names


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("count", type=int)
    parser.add_argument("out")
    parser.add_argument("--extra-every", type=int, default=4,
                        help="one add-on in K has extra resources (0: none)")
    parser.add_argument("--no-bundles", action="store_true",
                        help="write no managed-tenants-bundles (a tree for the tools that read none)")
    args = parser.parse_args()
    count, out = args.count, args.out

    addon = read("managed-tenants/addons/reference-addon/metadata/stage/addon.yaml")
    image_sets = {v: read(f"managed-tenants/addons/reference-addon/addonimagesets/stage/reference-addon.v{v}.yml")
                  for v in ("0.1.0", "0.2.0", "0.3.0")}
    bundle_root = "managed-tenants-bundles/addons/reference-addon/main"
    # A realistic CSV is tens of kilobytes: pad the description.
    padding = "\n".join(f"    Paragraph {i}: this operator manages the add-on's workloads, upgrades and alerts."
                        for i in range(200))
    bundles = {}
    for v in ("0.1.0", "0.2.0", "0.3.0"):
        csv = read(f"{bundle_root}/{v}/manifests/reference-addon.clusterserviceversion.yaml")
        csv = csv.replace("  description: An example operator that addon-flow builds into a catalog.",
                          "  description: |\n" + padding)
        bundles[v] = {
            "manifests/reference-addon.clusterserviceversion.yaml": csv,
            "manifests/referenceaddons.reference.addons.example.com.crd.yaml":
                read(f"{bundle_root}/{v}/manifests/referenceaddons.reference.addons.example.com.crd.yaml"),
            "metadata/annotations.yaml": read(f"{bundle_root}/{v}/metadata/annotations.yaml"),
        }
    config = read(f"{bundle_root}/config.yaml")
    with_extras = 0
    for i in range(count):
        # Image set names allow only letters and '-' before the version.
        letters = "".join(chr(ord("a") + (i // 26 ** k) % 26) for k in (2, 1, 0))
        addon_id = f"bench-addon-{letters}"

        def rename(text):
            return text.replace(SOURCE_ID, addon_id)
        extras = args.extra_every > 0 and i % args.extra_every == 0
        with_extras += extras
        base = os.path.join(out, "managed-tenants", "addons", addon_id)
        for env in ("integration", "stage", "production"):
            metadata = rename(addon).replace("reference-addon-stage", f"{addon_id}-{env}")
            if extras:
                metadata = with_extra_resources(metadata)
                for name, text in EXTRA_RESOURCES.items():
                    write(os.path.join(base, "metadata", env, name), rename(text))
            write(os.path.join(base, "metadata", env, "addon.yaml"), metadata)
            for v, text in image_sets.items():
                write(os.path.join(base, "addonimagesets", env, f"{addon_id}.v{v}.yml"), rename(text))
        if args.no_bundles:
            continue
        bundle_base = os.path.join(out, "managed-tenants-bundles", "addons", addon_id, "main")
        write(os.path.join(bundle_base, "config.yaml"), rename(config))
        for v, files in bundles.items():
            for rel, text in files.items():
                write(os.path.join(bundle_base, v, rel.replace(SOURCE_ID, addon_id)), rename(text))
    print(f"gen_tree: {count} add-ons x 3 environments in {out}, {with_extras} with extra resources"
          f" ({len(EXTRA_RESOURCES)} each: 2 Jinja templates, 1 plain YAML)"
          + ("" if args.no_bundles else ", 3 bundle versions each"))


if __name__ == "__main__":
    main()
