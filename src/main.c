/* lmscope's entry point: dispatches a subcommand, or opens the explorer when
 * the first argument is a model. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "tui/tui.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{"info", lms_cmd_info, "print a model's architecture, sizes and parameter count"},
	{"explain", lms_cmd_explain, "next-token prediction with saliency (and attention)"},
	{"tokenize", lms_cmd_tokenize, "the tokens and ids of a text"},
	{"tokenizer", lms_cmd_tokenizer, "train a BPE, word or character tokenizer on corpora"},
	{"train", lms_cmd_train, "train a model on text corpora (AdamW, checkpoints, logs)"},
	{"eval", lms_cmd_eval, "cross-entropy, perplexity and <unk> rate on texts"},
	{"generate", lms_cmd_generate, "continue a prompt (greedy or top-p sampling)"},
	{"convert", lms_cmd_convert, "write a model as a model directory or a GGUF file"},
	{"importance", lms_cmd_importance, "permutation importance of context offsets over a text"},
	{"lesson", lms_cmd_lesson, "play a lesson file in the explorer (for teaching)"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: lmscope [--threads N] MODEL            open the explorer\n"
	           "       lmscope [--threads N] COMMAND [ARGS]   (lmscope COMMAND --help)\n\ncommands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
		fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nSee lmscope(1) for the model directory layout, keys and exit statuses.\n");
}

int main(int argc, char **argv)
{
	front_pick_blas_core(argv);
	int i = 1;
	int threads = 0;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return LMS_EXIT_OK;
		}
		if (!strcmp(argv[i], "--version")) {
			printf("lmscope %s\n", LMS_VERSION);
			return LMS_EXIT_OK;
		}
		if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
			threads = atoi(argv[++i]);
			if (threads <= 0)
				return front_usage("--threads wants a positive number");
			continue;
		}
		return front_usage("unknown option %s (see lmscope --help)", argv[i]);
	}
	lms_set_threads(threads);
	if (i >= argc) {
		usage(stderr);
		return LMS_EXIT_USAGE;
	}
	for (size_t c = 0; c < sizeof commands / sizeof *commands; c++)
		if (!strcmp(argv[i], commands[c].name)) {
			front_command = commands[c].name;
			return commands[c].run(argc - i, argv + i);
		}
	/* not a command: a model to open in the explorer */
	if (threads == 0)
		lms_set_threads(tui_blas_threads());
	return lms_explorer_main(argc - i, argv + i);
}
