/* Training: AdamW with warm-up + cosine decay and gradient clipping over the
 * mean next-token cross-entropy, as one library call. It never prints; it
 * reports through a progress callback.
 *
 * A model directory being trained holds, besides the model itself (written
 * at every checkpoint, so it always opens):
 *   logs/train.csv                step, epoch, train_loss, valid_loss,
 *                                 valid_perplexity, lr, grad_norm, tokens_per_s
 *   logs/events.out.tfevents.*    the same scalars for TensorBoard
 *   checkpoint/                   config.json + model.safetensors (F32),
 *                                 optimizer.safetensors (AdamW moments m, v),
 *                                 state.json (options, update count, data
 *                                 position = epoch and chunk cursor, which
 *                                 with the seed fixes every later batch)
 *   snapshots/                    with snapshot_every: the model every N
 *                                 updates, F16, and their index.json
 *                                 (lmscope/snapshots.h)
 * Every checkpoint replaces the whole directory (lmscope/stage.h): it is
 * built beside it, checked, and swapped in by a rename, so a crash leaves
 * either the previous checkpoint with its model or the new one, never a mix
 * (checkpoint.old/ is still read, from directories older versions wrote). */
#ifndef LMSCOPE_TRAIN_H
#define LMSCOPE_TRAIN_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "lmscope/dataset.h"
#include "lmscope/model.h"
#include "lmscope/stage.h"
#include "lmscope/tokenizer.h"

struct lms_train_opts {
	int B, T;           /* batch rows, positions per row */
	long steps;         /* updates in all; 0: from epochs */
	double epochs;      /* used when steps == 0 */
	double lr;          /* peak learning rate */
	double min_lr_frac; /* cosine decays to lr * min_lr_frac */
	long warmup;        /* linear warm-up updates */
	double weight_decay;
	double dropout; /* inverted dropout's drop probability, [0, 1), in training
	                   updates only (not Llama); 0: none */
	double clip;    /* global gradient norm limit, 0: none */
	double beta1, beta2, eps;
	long
		valid_every; /* validate every N updates (and at each epoch end, and the end); 0: not by count */
	long valid_tokens;     /* at most this many validation targets per validation, 0: all */
	long checkpoint_every; /* 0: only at the end (and on interruption) */
	long log_every;        /* a CSV / TensorBoard row every N updates (1 = every update) */
	long snapshot_every;   /* a snapshot (lmscope/snapshots.h), with a validation, every N
	                           updates and at the end; 0: none */
	long stop_at;  /* stop after this update with a checkpoint, as if interrupted; 0: never */
	uint64_t seed; /* data order (the caller seeds the initialisation) */
	int f16;       /* the model in the directory's root in F16 (the checkpoint stays F32) */
	volatile sig_atomic_t *interrupt; /* when set non-zero: checkpoint and return LMS_EINTR */
	const char *const *watch; /* files (the corpora) whose change or removal during training */
	int nwatch;               /* stops it with LMS_EIO, keeping the last checkpoint */
	struct lms_stage *stage;  /* a fresh run: the staging directory (lms_stage_begin on dir,
	                             holding the tokenizer) the run writes into; the first
	                             checkpoint commits it. NULL: dir is already the run's own */
	const struct lms_tokenizer *tok; /* checked against what each checkpoint holds (NULL: none) */
	/* for tests: the masks of the run's first update written here (safetensors,
	 * F32 1 kept / 0 dropped, "site.S" (B, T, width) for each site S,
	 * arch/arch.h's dropout_sites, nn/dropout.h);
	 * NULL: not */
	const char *dropout_masks;
};

void lms_train_defaults(struct lms_train_opts *o);

enum lms_train_event {
	LMS_TRAIN_STEP,       /* an update was made */
	LMS_TRAIN_VALID,      /* a validation finished (valid_loss is set) */
	LMS_TRAIN_CHECKPOINT, /* a checkpoint was written */
};

struct lms_train_progress {
	enum lms_train_event event;
	long step; /* updates done */
	long total;
	long epoch;
	double loss;       /* training loss of the last update */
	double valid_loss; /* NaN until the first validation */
	double lr, grad_norm;
	double tokens_per_s; /* training tokens per second since the start of this call */
	double elapsed;      /* seconds since the start of this call */
};

typedef void (*lms_train_fn)(void *userdata, const struct lms_train_progress *p);

/* Trains m on ds, writing the model, logs and checkpoints into dir (which
 * must exist, unless o->stage is set: then the run writes into the staging
 * directory and dir keeps what it held until the first checkpoint; the
 * tokenizer files are the caller's). With resume, the
 * options, optimizer state and data position come from dir/checkpoint and m
 * must already hold the checkpoint's parameters (lms_train_resume_model).
 * Returns LMS_EINTR after an interruption or stop_at (a checkpoint was
 * written), LMS_ENUMERIC when the loss or gradient became NaN/Inf, LMS_EIO
 * when a watched file changed (size, modification time or inode) or
 * vanished since training started (in both cases the last checkpoint is
 * left as it was). */
enum lms_status lms_train(struct lms_model *m, const struct lms_dataset *ds, const char *dir,
                          const struct lms_train_opts *o, int resume, lms_train_fn cb,
                          void *userdata);

/* The training options saved in dir's checkpoint (for --resume). */
enum lms_status lms_train_resume_opts(const char *dir, struct lms_train_opts *o);
/* The options a resumed run was given that its checkpoint overrides: those
 * where given differs from both dflt (the defaults, so: given at all) and
 * saved (the checkpoint's, from lms_train_resume_opts). An option given at
 * its default value cannot be told from one not given, and is not listed.
 * Writes "key value (checkpoint: value), ..." into buf (truncated to size);
 * returns how many. */
int lms_train_opts_ignored(const struct lms_train_opts *given, const struct lms_train_opts *dflt,
                           const struct lms_train_opts *saved, char *buf, size_t size);
/* The checkpoint's model (F32), to pass to lms_train with resume. */
enum lms_status lms_train_resume_model(const char *dir, struct lms_model **out);

#endif
