/* The pointwise part of the recurrent cells (RNN, LSTM, GRU): one position
 * of every batch row, forward and backward, after the matrix products that
 * rnn.c does. Internal to the engine; the equations are in rnn.c's header
 * comment.
 *
 * Buffers shaped (B, T, X) have row stride T: row b at position t is at
 * (b * T + t) * X. */
#ifndef LMS_RNN_CELL_H
#define LMS_RNN_CELL_H

#include "lmscope/model.h"

/* One forward step at position t. */
struct lms_cell_fwd {
	int B, T, H, t;
	const float *xg;    /* (B, T, G*H) W_ih x + b_ih */
	const float *hg;    /* (B, G*H) this step's W_hh h_{t-1} + b_hh */
	const float *hprev; /* (B, T, H) the layer's h, read at t-1; NULL at t = 0 */
	const float *cprev; /* (B, T, H) LSTM cell states, read at t-1; NULL at t = 0 */
	float *gates;       /* (B, T, G*H) written: activations after their nonlinearities */
	float *hout;        /* (B, T, H) written: h_t */
	float *cout;        /* (B, T, H) LSTM: c_t */
	float *tcout;       /* (B, T, H) LSTM: tanh(c_t) */
	float *hn;          /* (B, T, H) GRU: W_hn h_{t-1} + b_hn */
};

/* One backward step at position t. */
struct lms_cell_bwd {
	int B, T, H, t;
	const float *dcur;  /* (B, H) d objective / d h_t, every path */
	const float *gates; /* (B, T, G*H) as the forward left them */
	const float *hout;  /* (B, T, H) */
	const float *cst;   /* (B, T, H) LSTM c */
	const float *tc;    /* (B, T, H) LSTM tanh(c) */
	const float *hn;    /* (B, T, H) GRU */
	float *dxg;         /* (B, T, G*H) written: d / d xg at t */
	float *dhg;         /* (B, T, G*H) written: d / d hg at t (GRU; else dxg) */
	float *drec;        /* (B, H) written (GRU): the part of d / d h_{t-1} not through W_hh */
	float *dcrec;       /* (B, H) LSTM: d / d c_t in, d / d c_{t-1} out */
};

void lms_cell_forward(enum lms_arch arch, const struct lms_cell_fwd *s);
void lms_cell_backward(enum lms_arch arch, const struct lms_cell_bwd *s);

/* y (n) = sigmoid(x), tanh(x); y may be x. Within a few units in the last
 * place of the libm functions (tests/unit/test_rnn.c checks them). */
void lms_vsigmoid(float *y, const float *x, int n);
void lms_vtanh(float *y, const float *x, int n);

#endif
