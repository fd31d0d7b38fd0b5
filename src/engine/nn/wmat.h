/* Weight matrices as stored: float32, half, bfloat16 or a block-quantized
 * format, read where they lie (usually inside a memory-mapped file) and
 * multiplied without first being copied out as float32. Internal to the
 * engine; conventions of ops.h (outputs first, backward accumulates,
 * nothing in the products allocates).
 *
 * Layout, one convention for every type: row-major (rows, cols) = (out, in),
 * as PyTorch's nn.Linear and Hugging Face Llama checkpoints store weights and
 * as GGUF stores them (ne[0] = cols varies fastest). Each row is
 * lms_wtype_row_bytes(type, cols) bytes, rows follow each other with that
 * stride; a quantized row is cols / block whole blocks. A token embedding
 * (V, C) and an unembedding (V, C) are such matrices too: the embedding
 * gathers rows, the unembedding multiplies. Layouts stored transposed
 * (GPT-2's Conv1D (in, out)) are converted to float32 at load and never
 * reach this abstraction typed.
 *
 * Typed weights are for inference and attribution: gradients flow through
 * them to the input (lms_wmat_backward) but never into them; training
 * needs float32 parameters. */
#ifndef LMS_WMAT_H
#define LMS_WMAT_H

#include <stddef.h>
#include <stdint.h>

/* Storage types. The numbering is lmscope's own; GGUF's ggml_type codes
 * are mapped by the GGUF reader. */
enum lms_wtype {
	LMS_W_F32,
	LMS_W_F16,
	LMS_W_BF16,
	LMS_W_Q8_0, /* blocks of 32: f16 d, int8 q[32];            x = d q        */
	LMS_W_Q4_0, /* blocks of 32: f16 d, 16 bytes of nibbles;   x = d (q - 8)  */
	LMS_W_Q4_1, /* blocks of 32: f16 d, f16 m, 16 bytes;       x = d q + m    */
	LMS_W_Q5_0, /* blocks of 32: f16 d, 4 bytes high bits, 16; x = d (q - 16) */
	LMS_W_Q5_1, /* blocks of 32: f16 d, f16 m, 4 bytes, 16;    x = d q + m    */
	LMS_W_Q4_K, /* super-blocks of 256, 144 bytes (llama.cpp's block_q4_K)    */
	LMS_W_Q5_K, /* super-blocks of 256, 176 bytes (block_q5_K)                */
	LMS_W_Q6_K, /* super-blocks of 256, 210 bytes (block_q6_K)                */
	LMS_W_NTYPES
};

/* One weight matrix as stored. data is not owned: it points into the
 * model's parameter block (F32) or its file mapping. */
struct lms_wmat {
	enum lms_wtype type;
	const void *data; /* rows * row_bytes bytes */
	int rows, cols;   /* (out, in) */
	size_t row_bytes; /* lms_wtype_row_bytes(type, cols) */
};

/* "F32", "BF16", "Q4_K", ... */
const char *lms_wtype_name(enum lms_wtype t);
/* Values per block (1 for F32, F16, BF16; 32 or 256 for quantized types)
 * and bytes per block. */
int lms_wtype_block(enum lms_wtype t);
size_t lms_wtype_block_bytes(enum lms_wtype t);
/* Bytes of one row of cols values; 0 when cols is not a whole number of
 * blocks (such a matrix cannot be stored in that type). */
size_t lms_wtype_row_bytes(enum lms_wtype t, int cols);
/* Whether this build can read the type (its dequantizer is linked in).
 * Loaders refuse other types with LMS_EUNSUPPORTED. */
int lms_wtype_available(enum lms_wtype t);

/* A matrix over data; row_bytes filled in. */
struct lms_wmat lms_wmat_of(enum lms_wtype t, const void *data, int rows, int cols);

/* Converts n values (a whole number of blocks) starting at src to float.
 * The per-type dispatch every product and gather goes through. */
void lms_wtype_to_f32(float *out, const void *src, enum lms_wtype t, size_t n);

/* out (n) = row r of w as float: the embedding gather, attribution's rows
 * of the unembedding. */
void lms_wmat_row(float *out, const struct lms_wmat *w, int r);

/* ---- products ---------------------------------------------------------------
 * out (N, rows) = in (N, cols) @ w^T + b (rows); b may be NULL. in rows
 * have stride ldi, out rows stride ldo (floats). */
void lms_wmat_forward(float *out, int ldo, const float *in, int ldi, const struct lms_wmat *w,
                      const float *b, int N);
/* din (N, cols) += dout (N, rows) @ w, rows of stride ldd and ldo.
 * There is no weight gradient (see the top of this file). */
void lms_wmat_backward(float *din, int ldd, const float *dout, int ldo, const struct lms_wmat *w,
                       int N);

/* ---- plain-loop twins, for the unit tests only (wmat_ref.c) -------------- */
void lms_wmat_forward_ref(float *out, int ldo, const float *in, int ldi, const struct lms_wmat *w,
                          const float *b, int N);
void lms_wmat_backward_ref(float *din, int ldd, const float *dout, int ldo,
                           const struct lms_wmat *w, int N);

#endif
