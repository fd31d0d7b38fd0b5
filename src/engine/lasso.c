/* The LASSO by cyclic coordinate descent (Friedman, Hastie and Tibshirani
 * 2010), with weights and an unpenalised intercept.
 *
 * Centering X and y by their weighted means removes the intercept from the
 * problem: b0 = ybar - xbar . beta. With r = yc - Xc beta the residual, the
 * objective's one-coordinate minimiser is the soft threshold
 *
 *   beta_j <- S(rho_j, lambda) / z_j,  rho_j = (1/W) sum_s w_s xc_sj (r_s + xc_sj beta_j),
 *   z_j = (1/W) sum_s w_s xc_sj^2,     S(a, l) = sign(a) max(|a| - l, 0),
 *
 * after which r is updated in place. Cross-validation hides a fold by giving
 * its rows weight zero, so one routine serves every fit. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lasso.h"
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

int lms_lasso_fit(const float *X, const double *y, const double *w, int S, int P, double lambda,
                  double *beta, double *b0, double tol, int max_sweeps)
{
	/* xc (P, S) centered columns, stored column by column for the sweeps */
	double *xc = malloc(((size_t)P * S + S + 2 * (size_t)P) * sizeof(double));
	if (!xc)
		return -1;
	double *res = xc + (size_t)P * S, *xbar = res + S, *z = xbar + P, ybar;
	double W = means(X, y, w, S, P, xbar, &ybar);
	if (W <= 0.0) {
		memset(beta, 0, P * sizeof *beta);
		*b0 = 0.0;
		free(xc);
		return 0;
	}
	for (int j = 0; j < P; j++) {
		double *c = xc + (size_t)j * S;
		z[j] = 0.0;
		for (int s = 0; s < S; s++) {
			double ws = w ? w[s] : 1.0;
			c[s] = ws == 0.0 ? 0.0 : X[(size_t)s * P + j] - xbar[j];
			z[j] += ws * c[s] * c[s];
		}
		z[j] /= W;
	}
	for (int s = 0; s < S; s++) {
		double ws = w ? w[s] : 1.0;
		double fit = 0.0;
		for (int j = 0; j < P; j++)
			fit += xc[(size_t)j * S + s] * beta[j];
		res[s] = ws == 0.0 ? 0.0 : y[s] - ybar - fit;
	}
	int sweep = 0;
	while (sweep < max_sweeps) {
		sweep++;
		double moved = 0.0;
		for (int j = 0; j < P; j++) {
			if (z[j] <= 0.0) { /* a constant column carries nothing */
				beta[j] = 0.0;
				continue;
			}
			const double *c = xc + (size_t)j * S;
			double rho = 0.0;
			for (int s = 0; s < S; s++)
				rho += (w ? w[s] : 1.0) * c[s] * res[s];
			rho = rho / W + z[j] * beta[j];
			double nb = soft(rho, lambda) / z[j], d = nb - beta[j];
			if (d == 0.0)
				continue;
			for (int s = 0; s < S; s++)
				res[s] -= d * c[s];
			beta[j] = nb;
			if (fabs(d) * sqrt(z[j]) > moved)
				moved = fabs(d) * sqrt(z[j]);
		}
		if (moved < tol)
			break;
	}
	*b0 = ybar;
	for (int j = 0; j < P; j++)
		*b0 -= xbar[j] * beta[j];
	free(xc);
	return sweep;
}

#define CV_TOL 1e-7
#define CV_SWEEPS 1000

enum lms_status lms_lasso_cv(const float *X, const double *y, const double *w, int S, int P,
                             int folds, int n_lambda, uint64_t seed, double *beta, double *b0,
                             double *lambda, double *cv_err)
{
	if (folds < 2 || folds > S || n_lambda < 1 || P < 1)
		return lms_fail(LMS_EARG, "lasso: %d folds, %d penalties for %d samples", folds, n_lambda, S);
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
		for (int i = 0; i < n_lambda; i++) {
			double c0;
			if (lms_lasso_fit(X, y, wf, S, P, lam[i], bf, &c0, CV_TOL, CV_SWEEPS) < 0) {
				st = lms_fail(LMS_ENOMEM, "out of memory");
				break;
			}
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
	}
	int best = 0;
	for (int i = 1; i < n_lambda; i++)
		if (err[i] < err[best])
			best = i;
	if (!st) {
		/* refit on every row along the path down to the chosen penalty */
		memset(beta, 0, P * sizeof *beta);
		for (int i = 0; i <= best && !st; i++)
			if (lms_lasso_fit(X, y, w, S, P, lam[i], beta, b0, CV_TOL, CV_SWEEPS) < 0)
				st = lms_fail(LMS_ENOMEM, "out of memory");
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
