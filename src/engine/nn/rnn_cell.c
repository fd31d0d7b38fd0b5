/* Pointwise cell math of the recurrent models (see rnn_cell.h), and the
 * sigmoid and tanh it runs on: four lanes at a time with GCC vector
 * extensions (libm's expf and tanhf do not vectorise, and they were a sixth
 * of a forward pass). */
#include <stdint.h>
#include <string.h>

#include "nn/rnn_cell.h"

/* ---- sigmoid and tanh, four lanes at a time --------------------------------- */

/* 16 bytes: the vector width every x86-64 and ARMv8 has, so that no build
 * (the sanitizer one is not -march=native) changes the calling convention */
typedef float vf __attribute__((vector_size(16)));
typedef int32_t vi __attribute__((vector_size(16)));
#define LANES 4

static vf splat(float x)
{
	return (vf){x, x, x, x};
}

/* mask ? a : b, lane by lane (mask lanes are all ones or all zeros) */
static vf blend(vi mask, vf a, vf b)
{
	return (vf)((mask & (vi)a) | (~mask & (vi)b));
}

/* e^x, Cephes' method: x = n ln2 + r with |r| <= ln2 / 2, e^r by a degree-7
 * polynomial, 2^n by building the float's exponent bits. x is clamped to
 * [-87, 88] so that 2^n stays a normal float; e^x beyond that range is
 * within 1e-38 of 0 or past every use here. */
static vf vexp(vf x)
{
	x = blend(x < splat(-87.0f), splat(-87.0f), x);
	x = blend(x > splat(88.0f), splat(88.0f), x);
	/* n = round(x / ln2): adding 1.5 * 2^23 rounds to an integer */
	vf magic = splat(12582912.0f);
	vf n = (x * splat(1.44269504088896341f) + magic) - magic;
	/* ln2 in two parts, so that n * ln2 is exact to float precision */
	vf r = x - n * splat(0.693359375f) - n * splat(-2.12194440e-4f);
	vf p = splat(1.9875691500e-4f);
	p = p * r + splat(1.3981999507e-3f);
	p = p * r + splat(8.3334519073e-3f);
	p = p * r + splat(4.1665795894e-2f);
	p = p * r + splat(1.6666665459e-1f);
	p = p * r + splat(5.0000001201e-1f);
	p = p * r * r + r + splat(1.0f);
	vi bits = (__builtin_convertvector(n, vi) + 127) << 23;
	return p * (vf)bits;
}

static vf vsigmoid(vf x)
{
	return splat(1.0f) / (splat(1.0f) + vexp(-x));
}

/* tanh: an odd polynomial below |x| = 0.625 (Cephes' tanhf), where the
 * exponential form would cancel; above, 1 - 2 / (e^{2|x|} + 1) with x's sign. */
static vf vtanh(vf x)
{
	vi sign = (vi)x & (vi)splat(-0.0f);
	vf ax = (vf)((vi)x & ~(vi)splat(-0.0f));
	vf big = splat(1.0f) - splat(2.0f) / (vexp(ax + ax) + splat(1.0f));
	big = (vf)((vi)big | sign);
	vf z = x * x;
	vf p = splat(-5.70498872745e-3f);
	p = p * z + splat(2.06390887954e-2f);
	p = p * z - splat(5.37397155531e-2f);
	p = p * z + splat(1.33314422036e-1f);
	p = p * z - splat(3.33332819422e-1f);
	vf small = x + x * z * p;
	return blend(ax < splat(0.625f), small, big);
}

/* Applies f to n floats: whole vectors, then the tail through a padded one. */
#define MAP_LANES(f, y, x, n)                                                                      \
	do {                                                                                           \
		int i_ = 0;                                                                                \
		for (; i_ + LANES <= (n); i_ += LANES) {                                                   \
			vf v_;                                                                                 \
			memcpy(&v_, (x) + i_, sizeof v_);                                                      \
			v_ = f(v_);                                                                            \
			memcpy((y) + i_, &v_, sizeof v_);                                                      \
		}                                                                                          \
		if (i_ < (n)) {                                                                            \
			vf v_ = splat(0.0f);                                                                   \
			int k_ = (n)-i_;                                                                       \
			memcpy(&v_, (x) + i_, k_ * sizeof(float));                                             \
			v_ = f(v_);                                                                            \
			memcpy((y) + i_, &v_, k_ * sizeof(float));                                             \
		}                                                                                          \
	} while (0)

void lms_vsigmoid(float *y, const float *x, int n)
{
	MAP_LANES(vsigmoid, y, x, n);
}

void lms_vtanh(float *y, const float *x, int n)
{
	MAP_LANES(vtanh, y, x, n);
}

/* ---- forward ----------------------------------------------------------------- */

/* h = tanh(xg + hg) */
static void rnn_forward(const struct lms_cell_fwd *s)
{
	int H = s->H;
	for (int b = 0; b < s->B; b++) {
		size_t row = (size_t)b * s->T + s->t;
		const float *xg = s->xg + row * H, *hg = s->hg + (size_t)b * H;
		float *y = s->gates + row * H;
		for (int j = 0; j < H; j++)
			y[j] = xg[j] + hg[j];
		lms_vtanh(y, y, H);
		memcpy(s->hout + row * H, y, (size_t)H * sizeof(float));
	}
}

/* i, f, g, o = sigm, sigm, tanh, sigm of (xg + hg);
 * c = f * c_prev + i * g;  h = o * tanh(c) */
static void lstm_forward(const struct lms_cell_fwd *s)
{
	int H = s->H;
	for (int b = 0; b < s->B; b++) {
		size_t row = (size_t)b * s->T + s->t;
		const float *xg = s->xg + row * 4 * H, *hg = s->hg + (size_t)b * 4 * H;
		const float *cp = s->cprev ? s->cprev + (row - 1) * H : NULL;
		float *y = s->gates + row * 4 * H, *h = s->hout + row * H, *c = s->cout + row * H;
		float *tc = s->tcout + row * H;
		for (int j = 0; j < 4 * H; j++)
			y[j] = xg[j] + hg[j];
		lms_vsigmoid(y, y, 2 * H);
		lms_vtanh(y + 2 * H, y + 2 * H, H);
		lms_vsigmoid(y + 3 * H, y + 3 * H, H);
		const float *ig = y, *fg = y + H, *gg = y + 2 * H, *og = y + 3 * H;
		for (int j = 0; j < H; j++)
			c[j] = (cp ? fg[j] * cp[j] : 0.0f) + ig[j] * gg[j];
		lms_vtanh(tc, c, H);
		for (int j = 0; j < H; j++)
			h[j] = og[j] * tc[j];
	}
}

/* r = sigm(xg_r + hg_r), z = sigm(xg_z + hg_z), n = tanh(xg_n + r * hg_n),
 * h = (1 - z) * n + z * h_prev */
static void gru_forward(const struct lms_cell_fwd *s)
{
	int H = s->H;
	for (int b = 0; b < s->B; b++) {
		size_t row = (size_t)b * s->T + s->t;
		const float *xg = s->xg + row * 3 * H, *hg = s->hg + (size_t)b * 3 * H;
		const float *hp = s->hprev ? s->hprev + (row - 1) * H : NULL;
		float *y = s->gates + row * 3 * H, *h = s->hout + row * H, *hn = s->hn + row * H;
		float *rg = y, *zg = y + H, *ng = y + 2 * H;
		for (int j = 0; j < 2 * H; j++)
			y[j] = xg[j] + hg[j];
		lms_vsigmoid(y, y, 2 * H);
		memcpy(hn, hg + 2 * H, (size_t)H * sizeof(float));
		for (int j = 0; j < H; j++)
			ng[j] = xg[2 * H + j] + rg[j] * hn[j];
		lms_vtanh(ng, ng, H);
		for (int j = 0; j < H; j++)
			h[j] = (1.0f - zg[j]) * ng[j] + (hp ? zg[j] * hp[j] : 0.0f);
	}
}

void lms_cell_forward(enum lms_arch arch, const struct lms_cell_fwd *s)
{
	if (arch == LMS_LSTM)
		lstm_forward(s);
	else if (arch == LMS_GRU)
		gru_forward(s);
	else
		rnn_forward(s);
}

/* ---- backward ---------------------------------------------------------------- */

/* forward: h = tanh(a), a = xg + hg */
static void rnn_backward(const struct lms_cell_bwd *s)
{
	int H = s->H;
	for (int b = 0; b < s->B; b++) {
		size_t row = (size_t)b * s->T + s->t;
		const float *y = s->gates + row * H, *dh = s->dcur + (size_t)b * H;
		float *da = s->dxg + row * H;
		for (int j = 0; j < H; j++)
			da[j] = dh[j] * (1.0f - y[j] * y[j]);
	}
}

/* forward: i, f, g, o = sigm, sigm, tanh, sigm (xg + hg);
 *          c = f * c_prev + i * g;  h = o * tanh(c) */
/* Loads and stores of LANES floats */
static vf vload(const float *p)
{
	vf v;
	memcpy(&v, p, sizeof v);
	return v;
}

static void vstore(float *p, vf v)
{
	memcpy(p, &v, sizeof v);
}

/* One unit j of lstm_backward; y is the row's gates, cp c_{t-1} (keep 0 at
 * t = 0, where there is none). */
static void lstm_backward_unit(int j, int H, const float *y, const float *dh, const float *tc,
                               const float *cp, float keep, float *dcr, float *da)
{
	const float *ig = y, *fg = y + H, *gg = y + 2 * H, *og = y + 3 * H;
	float dout = dh[j] * tc[j];
	float dc = dcr[j] + dh[j] * og[j] * (1.0f - tc[j] * tc[j]);
	float di = dc * gg[j], dg = dc * ig[j], df = dc * cp[j] * keep;
	dcr[j] = dc * fg[j];
	da[j] = di * ig[j] * (1.0f - ig[j]);
	da[H + j] = df * fg[j] * (1.0f - fg[j]);
	da[2 * H + j] = dg * (1.0f - gg[j] * gg[j]);
	da[3 * H + j] = dout * og[j] * (1.0f - og[j]);
}

static void lstm_backward(const struct lms_cell_bwd *s)
{
	int H = s->H;
	vf one = splat(1.0f);
	for (int b = 0; b < s->B; b++) {
		size_t row = (size_t)b * s->T + s->t;
		const float *y = s->gates + row * 4 * H, *dh = s->dcur + (size_t)b * H;
		const float *tc = s->tc + row * H;
		/* c_{t-1}; at t = 0 there is none (c_{-1} = 0): any finite row
		 * times keep = 0, so that the loop has no branch */
		const float *cp = s->t ? s->cst + (row - 1) * H : s->cst + row * H;
		float keep = s->t ? 1.0f : 0.0f;
		float *dcr = s->dcrec + (size_t)b * H, *da = s->dxg + row * 4 * H;
		int j = 0;
		/* lstm_backward_unit, LANES units at a time */
		for (; j + LANES <= H; j += LANES) {
			vf ig = vload(y + j), fg = vload(y + H + j), gg = vload(y + 2 * H + j);
			vf og = vload(y + 3 * H + j), d = vload(dh + j), t = vload(tc + j);
			vf dout = d * t;
			vf dc = vload(dcr + j) + d * og * (one - t * t);
			vf df = dc * vload(cp + j) * splat(keep);
			vstore(dcr + j, dc * fg);
			vstore(da + j, dc * gg * ig * (one - ig));
			vstore(da + H + j, df * fg * (one - fg));
			vstore(da + 2 * H + j, dc * ig * (one - gg * gg));
			vstore(da + 3 * H + j, dout * og * (one - og));
		}
		for (; j < H; j++)
			lstm_backward_unit(j, H, y, dh, tc, cp, keep, dcr, da);
	}
}

/* forward: r = sigm(xg_r + hg_r), z = sigm(xg_z + hg_z),
 *          n = tanh(xg_n + r * hg_n),  h = (1 - z) * n + z * h_prev */
static void gru_backward(const struct lms_cell_bwd *s)
{
	int H = s->H;
	for (int b = 0; b < s->B; b++) {
		size_t row = (size_t)b * s->T + s->t;
		const float *y = s->gates + row * 3 * H, *dh = s->dcur + (size_t)b * H;
		const float *rg = y, *zg = y + H, *ng = y + 2 * H, *hn = s->hn + row * H;
		const float *hp = s->t ? s->hout + (row - 1) * H : NULL;
		float *dx = s->dxg + row * 3 * H, *dhh = s->dhg + row * 3 * H;
		float *drec = s->drec + (size_t)b * H;
		for (int j = 0; j < H; j++) {
			float dz = dh[j] * ((hp ? hp[j] : 0.0f) - ng[j]);
			float dnp = dh[j] * (1.0f - zg[j]) * (1.0f - ng[j] * ng[j]);
			float drp = dnp * hn[j] * rg[j] * (1.0f - rg[j]);
			float dzp = dz * zg[j] * (1.0f - zg[j]);
			drec[j] = dh[j] * zg[j];
			dx[j] = dhh[j] = drp;
			dx[H + j] = dhh[H + j] = dzp;
			dx[2 * H + j] = dnp;
			dhh[2 * H + j] = dnp * rg[j];
		}
	}
}

void lms_cell_backward(enum lms_arch arch, const struct lms_cell_bwd *s)
{
	if (arch == LMS_LSTM)
		lstm_backward(s);
	else if (arch == LMS_GRU)
		gru_backward(s);
	else
		rnn_backward(s);
}
