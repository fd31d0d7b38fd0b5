/* The LASSO by cyclic coordinate descent (Friedman, Hastie and Tibshirani
 * 2010), with weights and an unpenalised intercept.
 *
 * Centering X and y by their weighted means removes the intercept from the
 * problem: b0 = ybar - xbar . beta. With r = yc - Xc beta the residual, the
 * objective's one-coordinate minimiser is the soft threshold
 *
 *   beta_j <- S(rho_j, lambda) / z_j,  rho_j = (1/W) sum_s w_s xc_sj (r_s + xc_sj beta_j),
 *   z_j = (1/W) sum_s w_s xc_sj^2,     S(a, l) = sign(a) max(|a| - l, 0).
 *
 * In the covariance form used here, (1/W) sum_s w_s xc_sj r_s = c_j - (G beta)_j
 * with G = Xc^T diag(w) Xc / W and c = Xc^T diag(w) yc / W, kept up to date
 * as a vector, so one step costs P operations, not S. Cross-validation hides
 * a fold by giving its rows weight zero, so one routine serves every fit. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attr/lasso.h"
#include "lmscope/rng.h"

static double soft(double a, double l)
{
	return a > l ? a - l : (a < -l ? a + l : 0.0);
}

/* Weighted means of the columns and of y; returns the weight total. */
static double means(const float *X, const double *y, const double *w, int S, int P, double *xbar,
                    double *ybar)
{
	double W = 0.0;
	memset(xbar, 0, P * sizeof *xbar);
	*ybar = 0.0;
	for (int s = 0; s < S; s++) {
		double ws = w ? w[s] : 1.0;
		if (ws == 0.0)
			continue;
		W += ws;
		*ybar += ws * y[s];
		for (int j = 0; j < P; j++)
			xbar[j] += ws * X[(size_t)s * P + j];
	}
	if (W > 0.0) {
		*ybar /= W;
		for (int j = 0; j < P; j++)
			xbar[j] /= W;
	}
	return W;
}

double lms_lasso_lambda_max(const float *X, const double *y, const double *w, int S, int P)
{
	double *xbar = malloc((size_t)P * sizeof *xbar), ybar;
	if (!xbar)
		return 0.0;
	double W = means(X, y, w, S, P, xbar, &ybar), best = 0.0;
	for (int j = 0; j < P && W > 0.0; j++) {
		double c = 0.0;
		for (int s = 0; s < S; s++) {
			double ws = w ? w[s] : 1.0;
			c += ws * (X[(size_t)s * P + j] - xbar[j]) * (y[s] - ybar);
		}
		if (fabs(c) / W > best)
			best = fabs(c) / W;
	}
	free(xbar);
	return best;
}

/* One coordinate step on j; returns how far beta_j moved (scaled). */
static double step(int j, int P, const double *G, double *grad, double *beta, double lambda)
{
	double z = G[(size_t)j * P + j];
	if (z <= 0.0) { /* a constant column carries nothing */
		beta[j] = 0.0;
		return 0.0;
	}
	double nb = soft(grad[j] + z * beta[j], lambda) / z, d = nb - beta[j];
	if (d == 0.0)
		return 0.0;
	/* grad_k = c_k - sum_i G_ki beta_i loses G_kj d */
	for (int k = 0; k < P; k++)
		grad[k] -= G[(size_t)k * P + j] * d;
	beta[j] = nb;
	return fabs(d) * sqrt(z);
}

/* A weighted problem in covariance form, prepared once for a whole path of
 * penalties: G (P, P), c (P), the means, and grad = c - G beta. */
struct problem {
	int P;
	double *G, *c, *grad, *xbar, ybar, W;
};

static void problem_free(struct problem *q)
{
	free(q->G);
	q->G = NULL;
}

static int problem_init(struct problem *q, const float *X, const double *y, const double *w, int S,
                        int P)
{
	q->P = P;
	q->G = calloc((size_t)P * P + 3 * (size_t)P, sizeof(double));
	if (!q->G)
		return -1;
	q->grad = q->G + (size_t)P * P;
	q->xbar = q->grad + P;
	q->c = q->xbar + P;
	q->W = means(X, y, w, S, P, q->xbar, &q->ybar);
	if (q->W <= 0.0)
		return 0;
	double *G = q->G;
	for (int s = 0; s < S; s++) {
		double ws = w ? w[s] : 1.0;
		if (ws == 0.0)
			continue;
		const float *xs = X + (size_t)s * P;
		for (int j = 0; j < P; j++) {
			double dj = ws * (xs[j] - q->xbar[j]);
			q->c[j] += dj * (y[s] - q->ybar);
			for (int k = 0; k <= j; k++)
				G[(size_t)j * P + k] += dj * (xs[k] - q->xbar[k]);
		}
	}
	for (int j = 0; j < P; j++) {
		q->c[j] /= q->W;
		for (int k = 0; k <= j; k++)
			G[(size_t)k * P + j] = G[(size_t)j * P + k] /= q->W;
	}
	return 0;
}

/* Solves at lambda from the start in beta; returns the sweeps made. */
static int problem_solve(struct problem *q, double lambda, double *beta, double *b0, double tol,
                         int max_sweeps)
{
	int P = q->P;
	if (q->W <= 0.0) {
		memset(beta, 0, P * sizeof *beta);
		*b0 = 0.0;
		return 0;
	}
	for (int j = 0; j < P; j++) {
		q->grad[j] = q->c[j];
		for (int k = 0; k < P; k++)
			q->grad[j] -= q->G[(size_t)j * P + k] * beta[k];
	}
	/* full sweeps, and between them sweeps over the nonzero coefficients
	 * only until those settle (the active set) */
	int sweep = 0;
	while (sweep < max_sweeps) {
		double moved = 0.0;
		for (int j = 0; j < P; j++)
			moved = fmax(moved, step(j, P, q->G, q->grad, beta, lambda));
		sweep++;
		if (moved < tol)
			break;
		while (sweep < max_sweeps) {
			double am = 0.0;
			for (int j = 0; j < P; j++)
				if (beta[j] != 0.0)
					am = fmax(am, step(j, P, q->G, q->grad, beta, lambda));
			sweep++;
			if (am < tol)
				break;
		}
	}
	*b0 = q->ybar;
	for (int j = 0; j < P; j++)
		*b0 -= q->xbar[j] * beta[j];
	return sweep;
}

int lms_lasso_fit(const float *X, const double *y, const double *w, int S, int P, double lambda,
                  double *beta, double *b0, double tol, int max_sweeps)
{
	struct problem q;
	if (problem_init(&q, X, y, w, S, P) < 0)
		return -1;
	int sweeps = problem_solve(&q, lambda, beta, b0, tol, max_sweeps);
	problem_free(&q);
	return sweeps;
}

#define CV_TOL 1e-7
#define CV_SWEEPS 1000

enum lms_status lms_lasso_cv(const float *X, const double *y, const double *w, int S, int P,
                             int folds, int n_lambda, uint64_t seed, double *beta, double *b0,
                             double *lambda, double *cv_err)
{
	if (folds < 2 || folds > S || n_lambda < 1 || P < 1)
		return lms_fail(LMS_EARG, "lasso: %d folds, %d penalties for %d samples", folds, n_lambda,
		                S);
	double *lam = malloc((size_t)n_lambda * 2 * sizeof(double));
	double *wf = malloc((size_t)S * sizeof(double));
	int *fold = malloc((size_t)S * sizeof(int));
	double *bf = malloc((size_t)P * sizeof(double));
	if (!lam || !wf || !fold || !bf) {
		free(lam);
		free(wf);
		free(fold);
		free(bf);
		return lms_fail(LMS_ENOMEM, "out of memory");
	}
	double *err = lam + n_lambda;
	double lmax = lms_lasso_lambda_max(X, y, w, S, P);
	for (int i = 0; i < n_lambda; i++) {
		lam[i] = n_lambda == 1 ? lmax : lmax * pow(1e-3, (double)i / (n_lambda - 1));
		err[i] = 0.0;
	}
	/* deal a random permutation of the rows round the folds */
	struct lms_rng g;
	lms_rng_seed(&g, seed);
	for (int s = 0; s < S; s++)
		fold[s] = s;
	for (int s = S - 1; s > 0; s--) {
		int k = (int)lms_rng_below(&g, (uint64_t)s + 1), t = fold[s];
		fold[s] = fold[k];
		fold[k] = t;
	}
	for (int s = 0; s < S; s++)
		wf[fold[s]] = s; /* rank in the permutation, reused below */
	for (int s = 0; s < S; s++)
		fold[s] = (int)wf[s] % folds;
	enum lms_status st = LMS_OK;
	for (int f = 0; f < folds && !st; f++) {
		double held = 0.0;
		for (int s = 0; s < S; s++) {
			wf[s] = fold[s] == f ? 0.0 : (w ? w[s] : 1.0);
			if (fold[s] == f)
				held += w ? w[s] : 1.0;
		}
		memset(bf, 0, P * sizeof *bf);
		struct problem q;
		if (problem_init(&q, X, y, wf, S, P) < 0) {
			st = lms_fail(LMS_ENOMEM, "out of memory");
			break;
		}
		for (int i = 0; i < n_lambda; i++) {
			double c0;
			problem_solve(&q, lam[i], bf, &c0, CV_TOL, CV_SWEEPS);
			double e = 0.0;
			for (int s = 0; s < S; s++) {
				if (fold[s] != f)
					continue;
				double p = c0;
				for (int j = 0; j < P; j++)
					p += X[(size_t)s * P + j] * bf[j];
				e += (w ? w[s] : 1.0) * (y[s] - p) * (y[s] - p);
			}
			err[i] += held > 0.0 ? e / held / folds : 0.0;
		}
		problem_free(&q);
	}
	int best = 0;
	for (int i = 1; i < n_lambda; i++)
		if (err[i] < err[best])
			best = i;
	if (!st) {
		/* refit on every row along the path down to the chosen penalty */
		memset(beta, 0, P * sizeof *beta);
		struct problem q;
		if (problem_init(&q, X, y, w, S, P) < 0)
			st = lms_fail(LMS_ENOMEM, "out of memory");
		for (int i = 0; i <= best && !st; i++)
			problem_solve(&q, lam[i], beta, b0, CV_TOL, CV_SWEEPS);
		problem_free(&q);
		*lambda = lam[best];
		if (cv_err)
			memcpy(cv_err, err, n_lambda * sizeof *err);
	}
	free(lam);
	free(wf);
	free(fold);
	free(bf);
	return st;
}
