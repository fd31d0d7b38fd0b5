/* Lesson files: a plain-text script of steps that the explorer plays for a
 * class (`lmscope lesson FILE`), and that the explorer's recorder writes.
 *
 *   # a comment
 *   title   What a language model predicts
 *   model   kjv-transformer          (header: before the first step)
 *   compare kjv-lstm                 (header: a second model side by side)
 *   theme   light                    (header or step: light | dark)
 *   speed   12                       (header: typed characters per second)
 *
 *   step The chain rule              (a step starts; the rest is its title)
 *   caption The model gives every word a probability.
 *   caption A second caption line.
 *   context In the beginning         (the whole context; typed visibly)
 *   type " God"                      (appended to the context; typed visibly)
 *   focus candidates                 (context | candidates | saliency | attention | lens)
 *   candidate 2                      (select the candidate of that rank)
 *   target created                   (select a candidate by its token)
 *   contrast made                    (or: contrast off)
 *   method occlusion                 (a name of `lmscope explain --method`)
 *   layer 1 / head 1 0 / mean on     (attention: layer, layer and head, mean)
 *   view overview                    (matrix | overview | query)
 *   query 3                          (query mode: the 3rd token; -1 the last)
 *   pin on                           (pin this step's results; off unpins)
 *   present on                       (presenter mode: the focused pane enlarged)
 *   ablate 1.0,1.1                   (heads ablated as `explain --ablate`; off: none)
 *   score induction                  (overview numbers: entropy | previous | duplicate | induction)
 *   corrupt "the key to the"         (the patching pane with this corrupted context; off: the attention)
 *   expect top1 "them"               (a claim checked against the open model:
 *   expect prob "them" > 0.2          top1 TOKEN | prob TOKEN OP X |
 *   expect head-induction-score 1.1 > 0.5   head-induction-score L.H OP X |
 *   expect saliency-top "God"         saliency-top TOKEN (the step's method,
 *   expect ppl < 80 corpora/kjv.valid.txt    target, contrast) | ppl OP X FILE |
 *   expect patch resid_pre 0.1 > 0.9  patch SITE L.N OP X (the share of the
 *                                     logit difference the step's patching
 *                                     restores at layer L, position N from 0,
 *                                     or head N for the heads site);
 *                                     OP is < or >; a step may have several)
 *
 * A value is the rest of the line with surrounding blanks removed, or a
 * double-quoted string (keeping blanks; \" \\ and \n escaped). A step
 * changes only what it names: every other setting stays as the steps
 * before it left it. Errors read "FILE:LINE: what is wrong". */
#ifndef LMS_TUI_LESSON_H
#define LMS_TUI_LESSON_H

#include <stddef.h>
#include <stdio.h>

/* Panes a step can focus (the order of enum tui_pane in ui.h). */
enum {
	LESSON_CONTEXT,
	LESSON_CANDIDATES,
	LESSON_SALIENCY,
	LESSON_ATTENTION,
	LESSON_LENS,
	LESSON_N_PANES
};
/* Attention views (the order of enum tui_att_mode in session.h). */
enum { LESSON_MATRIX, LESSON_OVERVIEW, LESSON_QUERY, LESSON_N_VIEWS };
enum { LESSON_DARK, LESSON_LIGHT };

#define LESSON_UNSET (-1000000) /* an integer setting the step leaves alone */

/* What an `expect` line claims (lesson_expect.c measures it). */
enum lesson_expect_kind {
	EXPECT_TOP1,
	EXPECT_PROB,
	EXPECT_INDUCTION,
	EXPECT_SALIENCY_TOP,
	EXPECT_PPL,
	EXPECT_PATCH
};
/* Patching sites an expectation names (`lmscope patch --json`'s keys). */
enum { LESSON_RESID_PRE, LESSON_ATTN_OUT, LESSON_MLP_OUT, LESSON_HEADS, LESSON_N_SITES };
struct lesson_expect {
	int line;
	enum lesson_expect_kind kind;
	char *src;       /* the line after "expect", for messages and the writer */
	char *token;     /* top1, prob, saliency-top; NULL otherwise */
	char *file;      /* ppl's text file; NULL otherwise */
	int layer, head; /* head-induction-score; patch: layer, position or head */
	int site;        /* patch: LESSON_RESID_PRE ... */
	int greater;     /* OP: 1 '>', 0 '<' (prob, head-induction-score, ppl) */
	double value;
};

struct lesson_step {
	int line;        /* of its `step` line */
	char *title;     /* may be empty */
	char *caption;   /* caption lines joined by '\n'; NULL: none */
	char *context;   /* NULL: unchanged */
	char *type;      /* appended to the context after `context`; NULL: none */
	int focus;       /* LESSON_* pane or LESSON_UNSET */
	int candidate;   /* rank from 1, or LESSON_UNSET */
	char *target;    /* candidate by token; NULL: unchanged */
	char *contrast;  /* NULL unchanged; "" clears */
	int method;      /* enum tui_method or LESSON_UNSET */
	int layer, head; /* LESSON_UNSET: unchanged (head needs layer) */
	int layer_line;  /* the line that set them, for tui_lesson_check */
	int mean;        /* 0/1 or LESSON_UNSET */
	int view;        /* LESSON_* view or LESSON_UNSET */
	int query;       /* token from 1, -1 the last; or LESSON_UNSET */
	int pin;         /* 0/1 or LESSON_UNSET */
	int present;     /* 0/1 or LESSON_UNSET */
	int theme;       /* LESSON_DARK/LIGHT or LESSON_UNSET */
	int n_expect;
	struct lesson_expect *expect; /* (n_expect) */
	char *ablate;                 /* NULL unchanged; "" restores every head */
	int score;                    /* index into tui_lesson_scores or LESSON_UNSET */
	char *corrupt;                /* NULL unchanged; "" back to the attention pane */
};

struct lesson {
	char *title;   /* NULL: none */
	char *model;   /* NULL: given on the command line */
	char *compare; /* second model, NULL: none */
	int theme;     /* LESSON_UNSET: the explorer's default */
	double speed;  /* typed characters per second */
	int n;
	struct lesson_step *steps;
};

/* Reads a lesson file. On failure returns 0 and puts "FILE:LINE: what is
 * wrong" (or "FILE: ..." when no line is to blame) into err. */
int tui_lesson_load(const char *path, struct lesson *ls, char *err, size_t size);
/* Parses text (len bytes) as if read from the file named name. */
int tui_lesson_parse(const char *name, const char *text, size_t len, struct lesson *ls, char *err,
                     size_t size);
void tui_lesson_free(struct lesson *ls);
/* What the parser cannot know: that every step's layer and head exist in
 * a model of L layers and NH heads (NH 0: recurrent, whose pane ignores
 * heads, so they are not checked). Returns 0
 * with "NAME:LINE: what is wrong" in err otherwise. */
int tui_lesson_check(const struct lesson *ls, const char *name, int L, int NH, char *err,
                     size_t size);

/* A model a lesson names: beside the lesson's directory first (a lesson in
 * models/lessons/ names models/NAME as NAME), else as given; buf holds the
 * path built. NULL when name is. (explorer.c) */
const char *tui_lesson_model(const char *lesson, const char *name, char *buf, size_t size);
/* `lmscope lesson FILE [MODEL] --check`: measures every expect line of the
 * lesson on MODEL (NULL: the lesson's) and prints a line for each, with no
 * screen. Returns the exit status: LMS_EXIT_FAIL when one fails. */
int tui_lesson_check_run(const char *lesson, const char *model, const char *tokenizer);

/* An empty step (every setting LESSON_UNSET) appended to ls; NULL on
 * allocation failure. */
struct lesson_step *tui_lesson_add_step(struct lesson *ls);
/* Writes ls in the file format (readable back by tui_lesson_parse).
 * Returns 0 on a write error. */
int tui_lesson_write(FILE *f, const struct lesson *ls);

/* Names of the keyword values, for messages and the writer. */
extern const char *const tui_lesson_panes[LESSON_N_PANES];
extern const char *const tui_lesson_views[LESSON_N_VIEWS];
#define LESSON_N_SCORES 4
extern const char *const tui_lesson_scores[LESSON_N_SCORES];
extern const char *const tui_lesson_sites[LESSON_N_SITES];

#endif
