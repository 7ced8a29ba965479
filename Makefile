# addon-flow: how CI and people drive the flow.
#
#   make help                 the targets, and every setting a user sets
#   make rehearse ENV=stage TREE=... BUNDLES=...   the flow on this machine only
#   make deploy ENV=stage TREE=... BUNDLES=... REGISTRY_ORG=quay.io/osd-addons KUBECONFIG=... OCM_URL=stage
#   make -j8 deploy ...       add-ons in parallel
#   make build/stage/<id>/objects.yaml   rerun one stage of one add-on
#   make wait ENV=stage ... CLUSTERS=clusters.txt PROMETHEUS_URL=...   until the CSVs are ready
#
# Each add-on's outputs live under build/<env>/<id>/, one file per stage, so a
# second `make deploy` with nothing changed runs nothing, and a changed add-on
# (its metadata, image sets, extra resources or bundles) reruns only its own
# stages. Which add-ons a run covers is addon-validate's answer
# (`--list-ids`, with `--changed-since`), the same selection the tools use.
#
# Everything a setting or a folder name puts into a command is passed as one
# quoted shell word: nothing a tree holds runs as a command.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:
.SECONDEXPANSION:
.DEFAULT_GOAL := help

# This file, for `make rehearse` (which runs make again) and the defaults.
THIS_MAKEFILE := $(lastword $(MAKEFILE_LIST))
ROOT := $(patsubst %/,%,$(dir $(THIS_MAKEFILE)))

# One shell word holding exactly $(1): single quotes, each ' as '\''.
q = '$(subst ','\'',$(1))'
# The settings, in the order of their `NAME ?= default ## what` lines.
settings = $(shell sed -nE 's/^([A-Z_]+) +\?=.*## .*/\1/p' $(call q,$(THIS_MAKEFILE)))

# ---- settings (make help lists each `NAME ?= default ## what` line) ------------
ENV      ?= stage## the environment: integration, stage or production
TREE     ?= $(ROOT)/examples/managed-tenants## the managed-tenants tree (holds addons/)
BUNDLES  ?= $(ROOT)/examples/managed-tenants-bundles/addons## one bundles folder per add-on id
REGISTRY_ORG ?=## where catalogs are pushed, as REGISTRY_ORG/<id> (quay.io/osd-addons); deploy needs it
KUBECONFIG ?=## Hive's kubeconfig; several files as a:b, as kubectl reads them (default ~/.kube/config)
OCM_URL  ?= $(ENV)## OCM: production, stage, integration or a URL
CHANGED_SINCE ?=## a git ref of TREE: only the add-ons changed since its merge base (CI: the previous commit)
BUNDLES_CHANGED_SINCE ?=## a git ref of BUNDLES' repository (CHANGED_SINCE's when it is TREE's): also the add-ons whose bundles changed
ADDONS   ?=## these add-on ids instead of addon-validate's selection of TREE
OUT      ?= build## where each add-on's stages are written: OUT/ENV/<id>/
VALIDATE_FLAGS ?=## extra flags for addon-validate (--disable AM0004)
CATALOG_FLAGS  ?=## extra flags for catalog-build (--base-image REF, --insecure)
RENDER_FLAGS   ?= --selector## flags for syncset-render
APPLY_FLAGS    ?=## extra flags for hive-apply (--dry-run=server)
OCM_FLAGS      ?=## extra flags for ocm-post (--token-url URL)
WAIT_FLAGS     ?=## extra flags for csv-wait (--timeout 30m)
REPORTS        ?=## a folder for CI: each stage of each add-on writes its JUnit report there (REPORTS/<stage>-<id>.xml)
REPORT_FLAGS   ?=## report flags every stage gets (--report github: annotations on a pull request)
CLUSTERS       ?= clusters.txt## make wait: the clusters to watch, one id a line
PROMETHEUS_URL ?=## make wait: the telemetry (Prometheus, Thanos) URL; empty: csv-wait's default (PROMETHEUS_URL)
REHEARSAL_REPO ?= quay.io/osd-addons## make rehearse: the repository the OCI layouts are named for
PREFIX  ?= /usr/local## make install: where to (PREFIX/bin, PREFIX/share/man, completions)
DESTDIR ?=## make install: a staging root for packagers
CARGO   ?= cargo## the cargo that builds the tools
PROFILE ?= release## the cargo profile BIN defaults to
BIN     ?= $(if $(TARGET_DIR),$(TARGET_DIR)/$(PROFILE))## the tools' folder; empty (outside this checkout): PATH

BINDIR  := $(DESTDIR)$(PREFIX)/bin
MANDIR  := $(DESTDIR)$(PREFIX)/share/man/man1
BASHDIR := $(DESTDIR)$(PREFIX)/share/bash-completion/completions
ZSHDIR  := $(DESTDIR)$(PREFIX)/share/zsh/site-functions
FISHDIR := $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d

# The tools: the folders of tools/ (the one list of them).
TOOLS := $(sort $(notdir $(patsubst %/Cargo.toml,%,$(wildcard $(ROOT)/tools/*/Cargo.toml))))
# Wherever cargo puts binaries (CARGO_TARGET_DIR, a workspace setting): ask it.
TARGET_DIR := $(shell cd $(call q,$(ROOT)) && $(CARGO) metadata --format-version 1 --no-deps 2>/dev/null \
                | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
tool = $(call q,$(if $(BIN),$(BIN)/$(1),$(1)))

# hive-apply reads every file of a multi-file KUBECONFIG (a:b) itself, as
# kubectl does, so it is passed on in the environment, never as --kubeconfig.
ifneq ($(KUBECONFIG),)
export KUBECONFIG
endif

# ---- refusals, before anything runs ---------------------------------------------
ifeq ($(origin REGISTRY),command line)
$(error REGISTRY is now REGISTRY_ORG: the registry and organisation catalogs are pushed to, as REGISTRY_ORG/<id> (REGISTRY_ORG=quay.io/osd-addons))
endif
ifneq ($(filter -%,$(CHANGED_SINCE) $(BUNDLES_CHANGED_SINCE)),)
$(error CHANGED_SINCE and BUNDLES_CHANGED_SINCE are git refs (a branch, tag or commit), and a ref never starts with '-')
endif
# A deploy must use images that really exist where the SelectorSyncSets and
# OCM name them: without a registry it refuses.
PUSHING_GOALS := deploy catalog render apply post wait
no_registry = $(strip REGISTRY_ORG is not set, and catalogs must be pushed where the \
  SelectorSyncSets and OCM name them (REGISTRY_ORG=quay.io/osd-addons pushes to \
  quay.io/osd-addons/<id>)$(if $(REGISTRY),; REGISTRY in the environment is not read: it was renamed REGISTRY_ORG). \
  To try the flow without a registry$(comma) Hive or OCM: make rehearse)
comma := ,
ifeq ($(REHEARSAL),)
ifneq ($(filter $(PUSHING_GOALS),$(MAKECMDGOALS)),)
ifeq ($(REGISTRY_ORG),)
$(error make $(filter $(PUSHING_GOALS),$(MAKECMDGOALS)): $(no_registry))
endif
endif
else ifneq ($(filter deploy apply post wait,$(MAKECMDGOALS)),)
$(error a rehearsal stops after render: nothing it built was pushed, so nothing may be applied or posted)
endif

# ---- the add-ons of this run ------------------------------------------------------
# addon-validate's selection: every add-on of ENV in TREE, or with
# CHANGED_SINCE (BUNDLES_CHANGED_SINCE) those changed since the merge base of
# that ref, as the tools select them. A folder that is no add-on id, or a ref
# git cannot resolve, fails the run: never an empty selection that deploys
# nothing and passes. Asked only when a target that needs it is a goal.
list_ids = $(call tool,addon-validate) --all $(call q,$(TREE)) --env $(call q,$(ENV)) --list-ids \
  $(if $(CHANGED_SINCE),--changed-since $(call q,$(CHANGED_SINCE))) \
  $(if $(BUNDLES_CHANGED_SINCE),--bundles $(call q,$(BUNDLES)) --bundles-changed-since $(call q,$(BUNDLES_CHANGED_SINCE)))
run_list_ids = $(shell $(list_ids))$(if $(filter 0,$(.SHELLSTATUS)),,$(error \
  cannot tell which add-ons to deploy: `addon-validate --all ... --list-ids` failed (exit $(.SHELLSTATUS)); \
  its message is above$(if $(filter 127,$(.SHELLSTATUS)), (is BIN=$(BIN) built? make build))))
ifneq ($(filter validate catalog render apply post deploy wait,$(MAKECMDGOALS)),)
selected := $(if $(ADDONS),$(ADDONS),$(run_list_ids))
endif

# A rehearsal writes apart from a deploy, so that a deploy never takes an
# unpushed catalog for done.
STAGE_DIR := $(if $(REHEARSAL),$(OUT)/rehearsal/$(ENV),$(OUT)/$(ENV))

# One stage's file of every add-on of the run.
stage_files = $(patsubst %,$(STAGE_DIR)/%/$(1),$(selected))

# Everything an add-on's document is made from (folders too: a file removed
# from one changes its time).
rwildcard = $(foreach entry,$(wildcard $(1)/*),$(entry) $(call rwildcard,$(entry)))
addon_inputs = $(wildcard $(TREE)/addons/$(1)/metadata/$(ENV)/*) \
               $(wildcard $(TREE)/addons/$(1)/addonimagesets/$(ENV)/*) \
               $(call rwildcard,$(BUNDLES)/$(1))

# A stage's command into $@ through a temporary file that is removed whatever
# happens: a failed or interrupted stage leaves neither $@ nor $@.tmp.
publish = $(if $(REPORTS),mkdir -p $(call q,$(REPORTS)); )tmp=$(call q,$@.tmp); trap 'rm -f -- "$$tmp"' EXIT; \
  $(1) > "$$tmp"; mv -- "$$tmp" $(call q,$@)
# The report flags of stage $(1) of add-on $(2).
report = $(if $(REPORTS),--report junit=$(call q,$(REPORTS)/$(1)-$(2).xml)) $(REPORT_FLAGS)

.PHONY: help build test demo bench install uninstall rehearse deploy validate catalog render apply post wait clean

help: ## this list
	@echo "targets:"
	@grep -hE '^[a-zA-Z_/%-]+:.*## ' $(call q,$(THIS_MAKEFILE)) \
	  | awk 'BEGIN {FS = ":.*## "}; {printf "  %-14s %s\n", $$1, $$2}'
	@echo
	@echo "settings (make TARGET NAME=value; the value now in brackets):"
	@printf '%s\n' $(foreach name,$(settings),$(call q,$(name)=$($(name)))) \
	  | awk -v makefile=$(call q,$(THIS_MAKEFILE)) ' \
	      BEGIN { while ((getline line < makefile) > 0) if (line ~ /^[A-Z_]+ +\?=.*## /) { \
	        name = line; sub(/ .*/, "", name); text = line; sub(/^[^#]*## /, "", text); doc[name] = text } } \
	      { name = $$0; sub(/=.*/, "", name); value = substr($$0, length(name) + 2); \
	        printf "  %-22s %s%s\n", name, doc[name], (value == "" ? "" : " [" value "]") }'
	@echo
	@echo "  one stage of one add-on: make $(STAGE_DIR)/<id>/{addon.json,catalog.json,objects.yaml,applied.json,ocm.json}"

# Only the six tools, without debug info and stripped (hive-apply: about 7 MB
# instead of 53), not the test servers of the workspace.
build: ## build the tools (release, stripped)
	CARGO_PROFILE_RELEASE_DEBUG=false CARGO_PROFILE_RELEASE_STRIP=symbols \
	  $(CARGO) build --release --manifest-path $(call q,$(ROOT)/Cargo.toml) $(TOOLS:%=-p %)

test: ## formatting, lints and every test (the README's test command)
	$(call q,$(ROOT)/scripts/test.sh)

demo: ## the whole flow on the examples, against local stand-ins
	$(call q,$(ROOT)/scripts/demo.sh)

bench: ## every benchmark (scripts/bench.sh STAGE for one)
	$(call q,$(ROOT)/scripts/bench.sh) all

# ---- install ------------------------------------------------------------------
# Builds first unless BIN names binaries already built (make install BIN=...);
# `install -s` strips those too.
install: $(if $(filter command line,$(origin BIN)),,build) ## install the tools, man pages and completions (PREFIX, DESTDIR)
	install -d $(call q,$(BINDIR)) $(call q,$(MANDIR)) $(call q,$(BASHDIR)) $(call q,$(ZSHDIR)) $(call q,$(FISHDIR))
	for tool in $(TOOLS); do \
	  install -s -m 0755 $(if $(BIN),$(call q,$(BIN))/"$$tool","$$(command -v "$$tool")") $(call q,$(BINDIR))/"$$tool"; \
	  $(call q,$(BINDIR))/"$$tool" --generate man > $(call q,$(MANDIR))/"$$tool.1"; \
	  $(call q,$(BINDIR))/"$$tool" --generate complete-bash > $(call q,$(BASHDIR))/"$$tool"; \
	  $(call q,$(BINDIR))/"$$tool" --generate complete-zsh > $(call q,$(ZSHDIR))/"_$$tool"; \
	  $(call q,$(BINDIR))/"$$tool" --generate complete-fish > $(call q,$(FISHDIR))/"$$tool.fish"; \
	done

uninstall: ## remove what install put there
	for tool in $(TOOLS); do \
	  rm -f $(call q,$(BINDIR))/"$$tool" $(call q,$(MANDIR))/"$$tool.1" $(call q,$(BASHDIR))/"$$tool" \
	    $(call q,$(ZSHDIR))/"_$$tool" $(call q,$(FISHDIR))/"$$tool.fish"; \
	done

# ---- deploy: one target per stage, one file per add-on and stage ---------------
deploy: apply post ## every stage for every add-on of ENV (needs REGISTRY_ORG)

validate: $(call stage_files,addon.json) ## the normalised add-on documents
catalog: $(call stage_files,catalog.json) ## catalogs built and pushed to REGISTRY_ORG/<id> (indexImage set)
render: $(call stage_files,objects.yaml) ## the SelectorSyncSets
apply: $(call stage_files,applied.json) ## applied to Hive
post: $(call stage_files,ocm.json) ## the add-ons in OCM

# A rehearsal: validate, the catalogs as OCI layouts, the SelectorSyncSets, in
# OUT/rehearsal/ENV/; nothing is pushed, applied or posted.
rehearse: ## the flow on this machine: validated, catalogs as OCI layouts, SelectorSyncSets; nothing pushed, applied or posted
	+$(MAKE) --no-print-directory -f $(call q,$(THIS_MAKEFILE)) render REHEARSAL=1
	@echo "make rehearse: done in $(OUT)/rehearsal/$(ENV)/<id>/ (catalogs as OCI layouts); nothing was pushed, applied or posted: make deploy REGISTRY_ORG=... does"

$(STAGE_DIR)/%/addon.json: $$(call addon_inputs,$$*)
	@mkdir -p $(call q,$(@D))
	$(call publish,$(call tool,addon-validate) $(call q,$(TREE)/addons/$*/metadata/$(ENV)/addon.yaml) \
	  $(if $(wildcard $(BUNDLES)/$*),--bundles $(call q,$(BUNDLES)/$*)) $(call report,validate,$*) $(VALIDATE_FLAGS) -o json)

$(STAGE_DIR)/%/catalog.json: $(STAGE_DIR)/%/addon.json
	$(if $(REGISTRY_ORG)$(REHEARSAL),,$(error $@: $(no_registry)))
	$(if $(wildcard $(BUNDLES)/$*),\
	  $(call publish,$(call tool,catalog-build) $(call q,$<) --bundles $(call q,$(BUNDLES)/$*) \
	    $(if $(REHEARSAL),--repo $(call q,$(REHEARSAL_REPO)/$*) --oci-layout $(call q,$(@D)/catalog),--repo $(call q,$(REGISTRY_ORG)/$*)) \
	    $(call report,catalog,$*) $(CATALOG_FLAGS) -o json),\
	  $(call publish,cat $(call q,$<)))

$(STAGE_DIR)/%/objects.yaml: $(STAGE_DIR)/%/catalog.json
	$(call publish,$(call tool,syncset-render) $(call q,$<) $(call report,render,$*) $(RENDER_FLAGS) -o yaml)

$(STAGE_DIR)/%/applied.json: $(STAGE_DIR)/%/objects.yaml
	$(call publish,$(call tool,hive-apply) $(call q,$<) $(call report,apply,$*) $(APPLY_FLAGS) -o json)

$(STAGE_DIR)/%/ocm.json: $(STAGE_DIR)/%/catalog.json
	$(call publish,$(call tool,ocm-post) $(call q,$<) --url $(call q,$(OCM_URL)) $(call report,post,$*) $(OCM_FLAGS) -o json)

# ---- wait: every add-on of the run at once
# One csv-wait reads their documents as a YAML stream (each catalog.json is a
# document), so each poll is one query for all of them; its lines (one per
# add-on and cluster whose state changed, a summary per add-on) are kept in
# $(STAGE_DIR)/wait.jsonl. Always runs: it observes the clusters, it makes no file.
wait: apply ## wait until each add-on's CSV is ready on CLUSTERS (csv-wait on the stream)
	$(if $(selected),,@echo "make wait: no add-on in $(TREE) for $(ENV)"; exit 1)
	$(if $(REPORTS),mkdir -p $(call q,$(REPORTS)))
	for document in $(foreach id,$(selected),$(call q,$(STAGE_DIR)/$(id)/catalog.json)); do echo ---; cat "$$document"; done \
	  | $(call tool,csv-wait) --clusters $(call q,$(CLUSTERS)) $(if $(PROMETHEUS_URL),--url $(call q,$(PROMETHEUS_URL))) \
	      $(call report,wait,$(ENV)) $(WAIT_FLAGS) -o json \
	  | tee $(call q,$(STAGE_DIR)/wait.jsonl)

clean: ## remove OUT (build/)
	rm -rf -- $(call q,$(OUT))
