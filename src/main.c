/* lmscope's entry point: dispatches a subcommand, or opens the explorer when
 * the first argument is a model. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "front/i18n.h"
#include "front/opts.h"
#include "tui/tui.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{"info", lms_cmd_info, N_("print a model's architecture, sizes and parameter count")},
	{"explain", lms_cmd_explain, N_("next-token prediction with saliency (and attention)")},
	{"tokenize", lms_cmd_tokenize, N_("the tokens and ids of a text")},
	{"tokenizer", lms_cmd_tokenizer, N_("train a BPE, word or character tokenizer on corpora")},
	{"train", lms_cmd_train, N_("train a model on text corpora (AdamW, checkpoints, logs)")},
	{"eval", lms_cmd_eval, N_("cross-entropy, perplexity and <unk> rate on texts")},
	{"generate", lms_cmd_generate, N_("continue a prompt (greedy or top-p sampling)")},
	{"convert", lms_cmd_convert, N_("write a model as a model directory or a GGUF file")},
	{"importance", lms_cmd_importance, N_("permutation importance of context offsets over a text")},
	{"patch", lms_cmd_patch,
     N_("activation patching: which layer, position and head carry a difference")},
	{"heads", lms_cmd_heads,
     N_("previous-token, duplicate-token and induction scores of every head")},
	{"neurons", lms_cmd_neurons, N_("the corpus contexts where an MLP neuron is most active")},
	{"lesson", lms_cmd_lesson, N_("play a lesson file in the explorer (for teaching)")},
};

struct global {
	int threads, version;
};

static const struct front_opt lmscope_options[] = {
	FRONT_INT("threads", 0, "N",
              N_("OpenBLAS threads for every product (LMSCOPE_THREADS; else each by its size)"),
              struct global, threads, 1, 4096),
	FRONT_FLAG("version", 0, N_("print the version and exit"), struct global, version, 1),
	FRONT_END};

static void usage(FILE *f)
{
	fputs(_("usage: lmscope [--threads N] MODEL [MODEL_B] [explorer options]  open the explorer\n"
	        "       lmscope [--threads N] COMMAND [ARGS]   (lmscope COMMAND --help)\n\noptions:\n"),
	      f);
	front_opts_help(f, lmscope_options);
	fputs(_("\nexplorer options:\n"), f);
	front_opts_help(f, explorer_options);
	fputs(_("\ncommands:\n"), f);
	for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
		fprintf(f, "  %-12s %s\n", commands[i].name, _(commands[i].summary));
	fputs(_("\nSee lmscope(1) for the model directory layout, keys and exit statuses.\n"), f);
}

/* What a command printed must have reached its destination: a full disk
 * or a closed pipe is an error (exit 3), not a silent loss. */
static int check_stdout(int rc)
{
	errno = 0;
	int bad = fflush(stdout) != 0 || ferror(stdout);
	int err = errno;
	if (!bad || rc != LMS_EXIT_OK)
		return rc;
	return front_fail(
		lms_fail(LMS_EIO, "standard output: %s", err ? strerror(err) : _("write error")));
}

int main(int argc, char **argv)
{
	front_pick_blas_core(argv);
	front_i18n_init();
	front_mapguard_hook();
	struct global g = {0};
	struct front_cmd cmd = {NULL, "", NULL, {{lmscope_options, &g}}, 1, usage};
	int i, rc = front_parse(&cmd, argc, argv, &i);
	if (rc)
		return rc < 0 ? check_stdout(LMS_EXIT_OK) : rc;
	if (g.version) {
		printf("lmscope %s\n", LMS_VERSION);
		return check_stdout(LMS_EXIT_OK);
	}
	lms_set_threads(g.threads);
	if (i >= argc) {
		usage(stderr);
		return LMS_EXIT_USAGE;
	}
	for (size_t c = 0; c < sizeof commands / sizeof *commands; c++)
		if (!strcmp(argv[i], commands[c].name)) {
			front_command = commands[c].name;
			return check_stdout(commands[c].run(argc - i, argv + i));
		}
	/* not a command: a model to open in the explorer */
	return check_stdout(lms_explorer_main(argc - i, argv + i));
}
