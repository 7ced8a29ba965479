#!/usr/bin/env python3
"""What managed-tenants-cli's Addon.load_metadata does for each addon.yaml of a
tree: load with a duplicate-key-checking PyYAML loader, then validate with
jsonschema (Draft 7) against the metadata schema. Peer timing for
scripts/bench.sh validate; the schema files come from ../shared/reference.

usage: mtcli_schema.py SCHEMAS_DIR TREE
"""
import glob
import os
import sys

import jsonschema
import yaml

Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class UniqueKeyLoader(Loader):
    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


def main():
    schemas, tree = sys.argv[1], sys.argv[2]
    with open(os.path.join(schemas, "metadata.schema.yaml")) as f:
        schema = yaml.load(f, Loader=Loader)
    resolver = jsonschema.RefResolver(base_uri=f"file://{os.path.abspath(schemas)}/", referrer=schema)
    validator = jsonschema.Draft7Validator(schema, resolver=resolver)
    failures = 0
    for path in sorted(glob.glob(os.path.join(tree, "addons", "*", "metadata", "*", "addon.yaml"))):
        with open(path) as f:
            data = yaml.load(f.read(), Loader=UniqueKeyLoader)
        if list(validator.iter_errors(data)):
            failures += 1
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
