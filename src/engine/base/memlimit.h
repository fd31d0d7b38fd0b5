/* Refusing a model that would not fit in memory, before its weights are
 * read: a clear error instead of the kernel's OOM killer. */
#ifndef LMS_MEMLIMIT_H
#define LMS_MEMLIMIT_H

#include <stddef.h>

#include "lmscope/model.h"

/* Bytes a model needs once loaded and run at its full context: its
 * parameters and the activations of one sequence (every layer's, with the
 * attention probabilities the explorer keeps, and the logits). */
size_t lms_memory_needed(const struct lms_config *c);
/* The same for weights that take weight_bytes as stored (half, bfloat16,
 * quantized: mapped from the file, resident once read). */
size_t lms_memory_needed_stored(const struct lms_config *c, size_t weight_bytes);

/* Bytes this process can still allocate: the kernel's MemAvailable (or
 * free physical pages), lowered by an address-space or data limit
 * (ulimit -v / -d) less what the process already maps. */
size_t lms_memory_available(void);

/* LMS_ENOMEM with "<path>: the model needs X GiB ..." when it does not fit. */
enum lms_status lms_memory_check(const struct lms_config *c, const char *path);
enum lms_status lms_memory_check_stored(const struct lms_config *c, size_t weight_bytes,
                                        const char *path);

/* LMS_ENOMEM when a run of B sequences of T positions (lms_run_new) would
 * not fit: checked before its activations are allocated, as a whole. */
enum lms_status lms_memory_check_run(const struct lms_config *c, int B, int T);

#endif
