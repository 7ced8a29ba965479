# addon-flow: how CI and people drive the flow.
#
#   make help                 what is here
#   make deploy ENV=stage TREE=... BUNDLES=... REGISTRY=... KUBECONFIG=... OCM_URL=...
#   make -j8 deploy ...       add-ons in parallel
#   make build/stage/<id>/objects.yaml   rerun one stage of one add-on
#   make wait ENV=stage ... CLUSTERS=clusters.txt PROMETHEUS_URL=...   until the CSVs are ready
#
# Each add-on's outputs live under build/<env>/<id>/, one file per stage, so a
# second `make deploy` with nothing changed runs nothing, and a changed add-on
# (its metadata, image sets, extra resources or bundles) reruns only its own
# stages.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:
.SECONDEXPANSION:
.DEFAULT_GOAL := help

# ---- where things are -------------------------------------------------------
ENV      ?= stage
TREE     ?= examples/managed-tenants
BUNDLES  ?= examples/managed-tenants-bundles/addons
# Catalogs are pushed to $(REGISTRY)/<id> (e.g. quay.io/osd-addons); empty:
# written as OCI layouts under build/ with references to $(CATALOG_REPO)/<id>.
REGISTRY ?=
CATALOG_REPO ?= $(if $(REGISTRY),$(REGISTRY),quay.io/osd-addons)
KUBECONFIG ?= $(HOME)/.kube/config
OCM_URL  ?= $(ENV)
OUT      ?= build
# Extra flags for a stage, e.g. CATALOG_FLAGS=--insecure, OCM_FLAGS=--dry-run.
VALIDATE_FLAGS ?=
CATALOG_FLAGS  ?=
RENDER_FLAGS   ?= --selector
APPLY_FLAGS    ?=
OCM_FLAGS      ?=
WAIT_FLAGS     ?=
# make wait: the clusters to watch (a file, one id a line) and the telemetry
# (Prometheus/Thanos) URL; empty: csv-wait's own default ($PROMETHEUS_URL).
CLUSTERS       ?= clusters.txt
PROMETHEUS_URL ?=

# install
PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR  := $(DESTDIR)$(PREFIX)/bin
MANDIR  := $(DESTDIR)$(PREFIX)/share/man/man1
BASHDIR := $(DESTDIR)$(PREFIX)/share/bash-completion/completions
ZSHDIR  := $(DESTDIR)$(PREFIX)/share/zsh/site-functions
FISHDIR := $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d

TOOLS := addon-validate catalog-build syncset-render hive-apply ocm-post csv-wait
CARGO ?= cargo
# Wherever cargo puts binaries (CARGO_TARGET_DIR, a workspace setting): ask it.
TARGET_DIR := $(shell $(CARGO) metadata --format-version 1 --no-deps 2>/dev/null \
                | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
PROFILE ?= release
# The tools' folder; empty (outside this checkout, after `make install`): PATH.
BIN ?= $(if $(TARGET_DIR),$(TARGET_DIR)/$(PROFILE))
tool = $(if $(BIN),$(BIN)/$(1),$(1))

# The add-ons of this environment: addons/<id>/metadata/$(ENV)/addon.yaml.
ADDONS ?= $(sort $(patsubst $(TREE)/addons/%/metadata/$(ENV)/addon.yaml,%,\
            $(wildcard $(TREE)/addons/*/metadata/$(ENV)/addon.yaml)))
# CHANGED_SINCE=GIT_REF: only the add-ons whose files under TREE changed since
# then (what CI deploys on a merge; a fresh clone has no build/ to compare with).
CHANGED_SINCE ?=
ifneq ($(CHANGED_SINCE),)
ADDONS := $(filter $(sort $(shell git -C $(TREE) diff --name-only --relative $(CHANGED_SINCE) -- addons \
            | cut -d/ -f2)),$(ADDONS))
endif
STAGE_DIR := $(OUT)/$(ENV)

# Everything an add-on's document is made from.
addon_inputs = $(wildcard $(TREE)/addons/$(1)/metadata/$(ENV)/*) \
               $(wildcard $(TREE)/addons/$(1)/addonimagesets/$(ENV)/*) \
               $(shell find $(BUNDLES)/$(1) -type f 2>/dev/null)

.PHONY: help build test demo bench install uninstall deploy validate catalog render apply post wait clean FORCE

help: ## this list
	@grep -hE '^[a-zA-Z_/%-]+:.*## ' $(MAKEFILE_LIST) \
	  | awk 'BEGIN {FS = ":.*## "}; {printf "  %-18s %s\n", $$1, $$2}'
	@echo
	@echo "  deploy settings: ENV=$(ENV) TREE=$(TREE) BUNDLES=$(BUNDLES)"
	@echo "                   REGISTRY=$(REGISTRY) KUBECONFIG=$(KUBECONFIG) OCM_URL=$(OCM_URL)"
	@echo "  one stage of one add-on: make $(STAGE_DIR)/<id>/{addon.json,catalog.json,objects.yaml,applied.json,ocm.json}"

build: ## build the six tools (release)
	$(CARGO) build --release --workspace --bins

test: ## formatting, lints and every test (the README's test command)
	scripts/test.sh

demo: ## the whole flow on the examples, against local stand-ins
	scripts/demo.sh

bench: ## every benchmark (scripts/bench.sh STAGE for one)
	scripts/bench.sh all

# ---- install ------------------------------------------------------------------
# Builds first unless BIN names binaries already built (make install BIN=...).
install: $(if $(filter command line,$(origin BIN)),,build) ## install the tools, man pages and completions (PREFIX, DESTDIR)
	install -d $(BINDIR) $(MANDIR) $(BASHDIR) $(ZSHDIR) $(FISHDIR)
	for tool in $(TOOLS); do \
	  install -m 0755 $(call tool,$$tool) $(BINDIR)/$$tool; \
	  $(BINDIR)/$$tool --generate man > $(MANDIR)/$$tool.1; \
	  $(BINDIR)/$$tool --generate complete-bash > $(BASHDIR)/$$tool; \
	  $(BINDIR)/$$tool --generate complete-zsh > $(ZSHDIR)/_$$tool; \
	  $(BINDIR)/$$tool --generate complete-fish > $(FISHDIR)/$$tool.fish; \
	done

uninstall: ## remove what install put there
	for tool in $(TOOLS); do \
	  rm -f $(BINDIR)/$$tool $(MANDIR)/$$tool.1 $(BASHDIR)/$$tool $(ZSHDIR)/_$$tool $(FISHDIR)/$$tool.fish; \
	done

# ---- deploy: one target per stage, one file per add-on and stage ---------------
deploy: apply post ## every stage for every add-on of ENV

validate: $(ADDONS:%=$(STAGE_DIR)/%/addon.json) ## the normalised add-on documents
catalog: $(ADDONS:%=$(STAGE_DIR)/%/catalog.json) ## catalogs built and pushed (indexImage set)
render: $(ADDONS:%=$(STAGE_DIR)/%/objects.yaml) ## the SelectorSyncSets
apply: $(ADDONS:%=$(STAGE_DIR)/%/applied.json) ## applied to Hive
post: $(ADDONS:%=$(STAGE_DIR)/%/ocm.json) ## the add-ons in OCM

# Each recipe writes a temporary file and renames it, so an interrupted or
# failed stage leaves no output that make would take as done.
$(STAGE_DIR)/%/addon.json: $$(call addon_inputs,$$*)
	@mkdir -p $(@D)
	$(call tool,addon-validate) $(TREE)/addons/$*/metadata/$(ENV)/addon.yaml \
	  $(if $(wildcard $(BUNDLES)/$*),--bundles $(BUNDLES)/$*) $(VALIDATE_FLAGS) -o json > $@.tmp
	mv $@.tmp $@

$(STAGE_DIR)/%/catalog.json: $(STAGE_DIR)/%/addon.json
	$(if $(wildcard $(BUNDLES)/$*),\
	  $(call tool,catalog-build) $< --bundles $(BUNDLES)/$* --repo $(CATALOG_REPO)/$* \
	    $(if $(REGISTRY),,--oci-layout $(@D)/catalog) $(CATALOG_FLAGS) -o json > $@.tmp,\
	  cp $< $@.tmp)
	mv $@.tmp $@

$(STAGE_DIR)/%/objects.yaml: $(STAGE_DIR)/%/catalog.json
	$(call tool,syncset-render) $< $(RENDER_FLAGS) -o yaml > $@.tmp
	mv $@.tmp $@

$(STAGE_DIR)/%/applied.json: $(STAGE_DIR)/%/objects.yaml
	$(call tool,hive-apply) $< --kubeconfig $(KUBECONFIG) $(APPLY_FLAGS) -o json > $@.tmp
	mv $@.tmp $@

$(STAGE_DIR)/%/ocm.json: $(STAGE_DIR)/%/catalog.json
	$(call tool,ocm-post) $< --url $(OCM_URL) $(OCM_FLAGS) -o json > $@.tmp
	mv $@.tmp $@

# ---- wait: every add-on of ADDONS (with CHANGED_SINCE: the changed ones) at once
# One csv-wait reads their documents as a YAML stream (each catalog.json is a
# document), so each poll is one query for all of them; its lines (one per
# add-on and cluster whose state changed, a summary per add-on) are kept in
# $(STAGE_DIR)/wait.jsonl. Always runs: it observes the clusters, it makes no file.
wait: apply ## wait until each add-on's CSV is ready on CLUSTERS (csv-wait on the stream)
	$(if $(ADDONS),,@echo "make wait: no add-on in $(TREE) for $(ENV)"; exit 1)
	for document in $(ADDONS:%=$(STAGE_DIR)/%/catalog.json); do echo ---; cat "$$document"; done \
	  | $(call tool,csv-wait) --clusters $(CLUSTERS) $(if $(PROMETHEUS_URL),--url $(PROMETHEUS_URL)) \
	      $(WAIT_FLAGS) -o json \
	  | tee $(STAGE_DIR)/wait.jsonl

clean: ## remove build/
	rm -rf $(OUT)
