#!/usr/bin/env bash
# Runs every cargo-fuzz target of fuzz/ (issue 11) and prints, per target,
# the executions and the crashes found.
#
#   scripts/fuzz.sh [SECONDS]   each target for SECONDS (default 60)
#   scripts/fuzz.sh --smoke     each target over its seed corpus only (CI)
#   scripts/fuzz.sh --seeds     only (re)write the seed corpora
#
# Seeds are written from our fixtures into fuzz/seeds/<target>/ (not
# committed); what the fuzzer learns goes to fuzz/corpus/<target>/ (not
# committed) and crashes to fuzz/artifacts/<target>/. A crash reproduces with
#   cargo +nightly fuzz run <target> fuzz/artifacts/<target>/<file>
# and becomes a regression test in the normal suite. Exit status: 0 when no
# target crashed, 1 otherwise. Needs a nightly toolchain and cargo-fuzz.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

mode=run
seconds=60
case "${1:-}" in
--smoke) mode=smoke ;;
--seeds) mode=seeds ;;
'') ;;
*[!0-9]* | 0)
    echo "usage: scripts/fuzz.sh [SECONDS | --smoke | --seeds]" >&2
    exit 2
    ;;
*) seconds=$1 ;;
esac

targets=(addon_yaml addon_document bundle_folder kubeconfig prometheus_answer ocm_answer
    ocm_token_answer registry_manifest registry_auth oci_layout hive_objects)
sep=$'\n%%FILE%%\n' # tests/fuzz_bodies/src/lib.rs FILE_SEPARATOR
seeds=fuzz/seeds

# --- seed corpora, from our fixtures --------------------------------------
seed() { # seed TARGET NAME < bytes
    mkdir -p "$seeds/$1"
    cat >"$seeds/$1/$2"
}
# An HTTP answer seed: two status bytes (tests/fuzz_bodies/src/lib.rs `response`), the body.
answer() { # answer TARGET NAME STATUS < body
    local code=$(($3 - 100))
    { printf "\\x$(printf %02x $((code / 256)))\\x$(printf %02x $((code % 256)))"; cat; } | seed "$1" "$2"
}
# A bundle folder seed: two versions' annotations, CSV, CRD, then config.yaml.
bundle_seed() { # bundle_seed NAME DIR
    local dir=$2 first=true
    {
        for version in $(ls "$dir/main" | grep -E '^[0-9]' | sort -V | head -2); do
            for file in "metadata/annotations.yaml" "manifests/"*clusterserviceversion.yaml "manifests/"*crd*.yaml "manifests/"*_*.yaml; do
                local path
                path=$(cd "$dir/main/$version" && ls $file 2>/dev/null | head -1 || true)
                $first || printf '%s' "$sep"
                first=false
                if [ -n "$path" ] && [ -f "$dir/main/$version/$path" ]; then cat "$dir/main/$version/$path"; else printf -- -; fi
            done 2>/dev/null
        done
        printf '%s' "$sep"
        if [ -f "$dir/main/config.yaml" ]; then cat "$dir/main/config.yaml"; else printf -- -; fi
    } | seed bundle_folder "$1"
}

write_seeds() {
    rm -rf "$seeds"
    local n=0 file
    while IFS= read -r file; do
        n=$((n + 1))
        seed addon_yaml "fixture-$n" <"$file"
        seed addon_document "yaml-$n" <"$file"
    done < <(find examples/managed-tenants tests/fixtures -name 'addon.yaml' -o -name '*.yml' | sort)
    for file in tests/fixtures/wait/addon.json tests/fixtures/ocm/plain-addon.json; do
        seed addon_document "$(basename "$file")" <"$file"
    done
    # The normalised document addon-validate prints, when the tools are built.
    if [ -x target/debug/addon-validate ]; then
        n=0
        for file in examples/managed-tenants/addons/*/metadata/*/addon.yaml; do
            n=$((n + 1))
            target/debug/addon-validate "$file" --bundles "examples/managed-tenants-bundles/addons/$(echo "$file" | cut -d/ -f4)" -o json \
                2>/dev/null | seed addon_document "validated-$n" || true
        done
    fi
    for file in tests/fixtures/sss/expected/*.yaml; do
        seed hive_objects "$(basename "$file")" <"$file"
    done
    n=0
    for dir in examples/managed-tenants-bundles/addons/* tests/fixtures/catalog/*; do
        [ -d "$dir/main" ] || continue
        n=$((n + 1))
        bundle_seed "$(basename "$dir")-$n" "$dir"
    done

    seed kubeconfig token <<'YAML'
apiVersion: v1
kind: Config
current-context: fuzz
clusters:
- name: hive
  cluster: {server: "https://127.0.0.1:6443", insecure-skip-tls-verify: true}
users:
- name: admin
  user: {token: sha256~abc}
contexts:
- name: fuzz
  context: {cluster: hive, user: admin, namespace: default}
YAML
    seed kubeconfig files <<'YAML'
apiVersion: v1
kind: Config
current-context: other
clusters:
- name: hive
  cluster: {server: "https://hive.example.com", certificate-authority: ca.crt, certificate-authority-data: Zm9v}
users:
- name: admin
  user: {tokenFile: token.txt, client-certificate-data: Zm9v, client-key: key.pem}
contexts:
- {name: other, context: {cluster: hive, user: admin}}
- {name: fuzz, context: {cluster: hive, user: admin}}
YAML

    answer prometheus_answer vector 200 <<'JSON'
{"status":"success","data":{"resultType":"vector","result":[
 {"metric":{"__name__":"csv_succeeded","_id":"cluster-a","name":"my-addon.v1.2.0","version":"1.2.0","exported_namespace":"redhat-my-addon"},"value":[1700000000.123,"1"]},
 {"metric":{"__name__":"csv_abnormal","_id":"cluster-b","name":"my-addon.v1.1.0","phase":"Failed","reason":"InstallCheckFailed"},"value":[1700000000,"1"]},
 {"metric":{"__name__":"csv_succeeded","_id":"cluster-c","name":"my-addon.v1.2.0"},"value":[1700000000,"0"]}]},
 "warnings":["partial"]}
JSON
    answer prometheus_answer bad-data 400 <<<'{"status":"error","errorType":"bad_data","error":"parse error at char 3"}'
    answer prometheus_answer matrix 200 <<<'{"status":"success","data":{"resultType":"matrix","result":[]}}'
    answer prometheus_answer html 503 <<<'<html><body>Service Unavailable</body></html>'
    printf 'cluster-a\n# comment\ncluster-b, cluster-c\n' | seed prometheus_answer clusters

    answer ocm_answer addon 200 <tests/fixtures/ocm/plain-addon.json
    answer ocm_answer error 409 <<<'{"kind":"Error","id":"409","href":"/api/clusters_mgmt/v1/errors/409","code":"CLUSTERS-MGMT-409","reason":"Add-on already exists"}'
    answer ocm_answer versions 200 <<<'{"kind":"AddOnVersionList","page":1,"size":1,"total":1,"items":[{"id":"1.2.0","enabled":true,"channel":"stable","source_image":"quay.io/x/y@sha256:00"}]}'
    answer ocm_answer installations 200 <<<'{"kind":"AddOnInstallationList","items":[{"kind":"AddOnInstallation","id":"my-addon","state":"ready","state_description":"","addon":{"id":"my-addon"},"parameters":{"items":[{"id":"size","value":"1"}]}}]}'
    answer ocm_answer empty 204 </dev/null
    answer ocm_token_answer grant 200 <<<'{"access_token":"eyJhbGciOiJub25lIn0.eyJleHAiOjE3MDAwMDAwMDB9.sig","expires_in":900,"refresh_token":"r","token_type":"Bearer"}'
    answer ocm_token_answer refused 400 <<<'{"error":"invalid_grant","error_description":"Offline user session not found"}'

    seed registry_manifest oci <<'JSON'
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2}],"annotations":{"a":"b"}}
JSON
    seed registry_manifest docker <<'JSON'
{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2}]}
JSON
    seed registry_manifest index <<'JSON'
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2,"platform":{"architecture":"amd64","os":"linux"}}]}
JSON
    seed registry_manifest config <<'JSON'
{"architecture":"amd64","os":"linux","created":"2024-01-01T00:00:00Z","config":{"Labels":{"a":"b"},"Entrypoint":["/bin/opm"]},"rootfs":{"type":"layers","diff_ids":["sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"]},"history":[{"created_by":"base"}]}
JSON
    printf '%s\n%s' 'Bearer realm="https://quay.io/v2/auth",service="quay.io",scope="repository:osd-addons/x:pull,push"' \
        '{"token":"eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjE3MDAwMDAwMDB9.sig"}' | seed registry_auth quay
    printf '%s\n%s' 'Basic realm="registry", Bearer realm="http://127.0.0.1:5000/token",service="local\"reg"' \
        '{"access_token":"t","expires_in":60}' | seed registry_auth two-challenges

    {
        printf '{"imageLayoutVersion":"1.0.0"}%s' "$sep"
        printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"@BLOB1@","size":1,"annotations":{"org.opencontainers.image.ref.name":"latest"}}]}%s' "$sep"
        printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"@BLOB2@","size":1},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"@BLOB3@","size":1}]}%s' "$sep"
        printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:0"]}}%s' "$sep"
        printf 'layer bytes'
    } | seed oci_layout one-image
}

write_seeds
echo "seeds: $(find "$seeds" -type f | wc -l) files in $seeds/" >&2
[ "$mode" = seeds ] && exit 0

# --- build once, then run each target -------------------------------------
(cd fuzz && cargo +nightly fuzz build -O >&2)
binaries=fuzz/target/x86_64-unknown-linux-gnu/release
printf '%-18s %8s %12s %10s %8s %8s\n' target seconds executions exec/s corpus crashes
crashed=0
for target in "${targets[@]}"; do
    corpus=fuzz/corpus/$target artifacts=fuzz/artifacts/$target
    mkdir -p "$corpus" "$artifacts"
    before=$(find "$artifacts" -type f | wc -l)
    log=$(mktemp)
    if [ "$mode" = smoke ]; then
        flags=(-runs=0)
    else
        flags=(-max_total_time="$seconds")
    fi
    # -timeout: an input that takes 10 s is a hang; -rss_limit_mb: bounded memory.
    "$binaries/$target" "$corpus" "$seeds/$target" "${flags[@]}" -timeout=10 -rss_limit_mb=2048 \
        -max_len=65536 -artifact_prefix="$artifacts/" -print_final_stats=1 >"$log" 2>&1 || true
    executions=$(awk '/stat::number_of_executed_units:/ { print $2 }' "$log" | tail -1)
    elapsed=$(awk '/Done [0-9]+ runs in/ { for (i = 1; i <= NF; i++) if ($i == "in") print $(i+1) }' "$log" | tail -1)
    [ -n "$elapsed" ] || elapsed=$([ "$mode" = smoke ] && echo 0 || echo "$seconds")
    speed=$(awk '/stat::average_exec_per_sec:/ { print $2 }' "$log" | tail -1)
    crashes=$(($(find "$artifacts" -type f | wc -l) - before))
    if grep -qE '^==[0-9]+== ERROR|panicked at|deadly signal|ERROR: libFuzzer' "$log" && [ "$crashes" -eq 0 ]; then
        crashes=1
    fi
    if [ "$crashes" -gt 0 ]; then
        crashed=1
        grep -m3 -E 'panicked at|ERROR' "$log" | sed "s/^/  $target: /" >&2 || true
    fi
    printf '%-18s %8s %12s %10s %8s %8s\n' "$target" "$elapsed" "${executions:-?}" "${speed:-?}" \
        "$(find "$corpus" -type f | wc -l)" "$crashes"
    rm -f "$log"
done
exit "$crashed"
