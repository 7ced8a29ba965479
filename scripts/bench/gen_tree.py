#!/usr/bin/env python3
"""Generates a managed-tenants tree for benchmarks: N add-ons x 3 environments,
each with three bundle versions, built from the examples/ reference add-on.

usage: gen_tree.py N OUTDIR
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(ROOT, "examples")
SOURCE_ID = "reference-addon"


def read(rel):
    with open(os.path.join(EXAMPLES, rel)) as f:
        return f.read()


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def main():
    count, out = int(sys.argv[1]), sys.argv[2]
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
    for i in range(count):
        # Image set names allow only letters and '-' before the version.
        letters = "".join(chr(ord("a") + (i // 26 ** k) % 26) for k in (2, 1, 0))
        addon_id = f"bench-addon-{letters}"
        def rename(text):
            return text.replace(SOURCE_ID, addon_id)
        base = os.path.join(out, "managed-tenants", "addons", addon_id)
        for env in ("integration", "stage", "production"):
            write(os.path.join(base, "metadata", env, "addon.yaml"),
                  rename(addon).replace("reference-addon-stage", f"{addon_id}-{env}"))
            for v, text in image_sets.items():
                write(os.path.join(base, "addonimagesets", env, f"{addon_id}.v{v}.yml"), rename(text))
        bundle_base = os.path.join(out, "managed-tenants-bundles", "addons", addon_id, "main")
        write(os.path.join(bundle_base, "config.yaml"), rename(config))
        for v, files in bundles.items():
            for rel, text in files.items():
                write(os.path.join(bundle_base, v, rel.replace(SOURCE_ID, addon_id)), rename(text))


if __name__ == "__main__":
    main()
