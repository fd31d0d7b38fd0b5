/* The LASSO solver (src/engine/attr/lasso.c) against a closed form (orthonormal
 * design: soft-thresholding), its optimality conditions, and recovery of a
 * planted sparse coefficient vector under cross-validation. */
#include <math.h>
#include <stdlib.h>

#include <check.h>

#include "attr/lasso.h"
#include "lmscope/rng.h"
#include "testutil.h"

/* Columns 1..4 of the 8 x 8 Sylvester-Hadamard matrix: entries +-1, every
 * column sums to 0 and X^T X = 8 I, so with uniform weights the problem
 * separates and beta_j = S(x_j . y / 8, lambda) exactly. */
static void hadamard8(float *X)
{
	for (int s = 0; s < 8; s++)
		for (int j = 0; j < 4; j++)
			X[s * 4 + j] = __builtin_popcount(s & (j + 1)) % 2 ? -1.0f : 1.0f;
}

static double soft(double a, double l)
{
	return a > l ? a - l : (a < -l ? a + l : 0.0);
}

START_TEST(test_fit_orthonormal)
{
	float X[32];
	hadamard8(X);
	double y[8] = {1.0, -0.5, 2.0, 0.25, 3.0, -1.0, 0.5, 1.5};
	double lambdas[] = {0.0, 0.1, 0.3, 0.6, 5.0};
	for (int li = 0; li < 5; li++) {
		double beta[4] = {0}, b0;
		int sweeps = lms_lasso_fit(X, y, NULL, 8, 4, lambdas[li], beta, &b0, 1e-12, 100);
		ck_assert_int_gt(sweeps, 0);
		double ybar = 0.0;
		for (int s = 0; s < 8; s++)
			ybar += y[s] / 8;
		ck_assert_double_eq_tol(b0, ybar, 1e-9);
		for (int j = 0; j < 4; j++) {
			double c = 0.0;
			for (int s = 0; s < 8; s++)
				c += X[s * 4 + j] * y[s] / 8;
			ck_assert_double_eq_tol(beta[j], soft(c, lambdas[li]), 1e-9);
		}
	}
}
END_TEST

/* Weighted problem on random data: the subgradient (KKT) conditions hold at
 * the solution, computed here independently of the solver. */
START_TEST(test_fit_kkt)
{
	enum { S = 60, P = 8 };
	struct lms_rng g;
	lms_rng_seed(&g, 7);
	float X[S * P];
	double y[S], w[S], beta[P] = {0}, b0;
	for (int i = 0; i < S * P; i++)
		X[i] = lms_rng_uniform(&g) < 0.5f ? 1.0f : 0.0f;
	for (int s = 0; s < S; s++) {
		y[s] = 2.0 * X[s * P] - X[s * P + 3] + 0.3 * lms_rng_normal(&g);
		w[s] = 0.2 + lms_rng_uniform(&g);
	}
	w[5] = 0.0; /* a left-out row must not matter */
	y[5] = 1e6;
	double lambda = 0.05;
	lms_lasso_fit(X, y, w, S, P, lambda, beta, &b0, 1e-12, 10000);
	double W = 0.0;
	for (int s = 0; s < S; s++)
		W += w[s];
	int nonzero = 0;
	for (int j = 0; j < P; j++) {
		double grad = 0.0; /* (1/W) sum_s w_s x_sj r_s */
		for (int s = 0; s < S; s++) {
			double p = b0;
			for (int k = 0; k < P; k++)
				p += X[s * P + k] * beta[k];
			grad += w[s] * X[s * P + j] * (y[s] - p) / W;
		}
		if (beta[j] != 0.0) {
			nonzero++;
			ck_assert_double_eq_tol(grad, beta[j] > 0 ? lambda : -lambda, 1e-7);
		} else {
			ck_assert(fabs(grad) <= lambda + 1e-7);
		}
	}
	ck_assert_int_ge(nonzero, 2);
	/* the intercept makes the weighted residuals sum to zero */
	double rs = 0.0;
	for (int s = 0; s < S; s++) {
		double p = b0;
		for (int k = 0; k < P; k++)
			p += X[s * P + k] * beta[k];
		rs += w[s] * (y[s] - p);
	}
	ck_assert_double_eq_tol(rs, 0.0, 1e-7);
}
END_TEST

START_TEST(test_lambda_max)
{
	float X[32];
	hadamard8(X);
	double y[8] = {1.0, -0.5, 2.0, 0.25, 3.0, -1.0, 0.5, 1.5};
	double lmax = lms_lasso_lambda_max(X, y, NULL, 8, 4);
	double beta[4] = {0}, b0;
	lms_lasso_fit(X, y, NULL, 8, 4, lmax * 1.0001, beta, &b0, 1e-12, 100);
	for (int j = 0; j < 4; j++)
		ck_assert(beta[j] == 0.0);
	lms_lasso_fit(X, y, NULL, 8, 4, lmax * 0.99, beta, &b0, 1e-12, 100);
	int nz = 0;
	for (int j = 0; j < 4; j++)
		nz += beta[j] != 0.0;
	ck_assert_int_eq(nz, 1);
}
END_TEST

/* A planted sparse vector in 30 binary features (like lime's masks) is
 * recovered: the right support, coefficients close to the truth. */
START_TEST(test_cv_recovers_planted)
{
	enum { S = 300, P = 30 };
	struct lms_rng g;
	lms_rng_seed(&g, 42);
	float *X = malloc(sizeof(float) * S * P);
	double y[S], truth[P] = {0}, beta[P], b0, lambda, cv[24];
	truth[3] = 2.0;
	truth[11] = -1.5;
	truth[27] = 1.0;
	for (int s = 0; s < S; s++) {
		y[s] = 0.7;
		for (int j = 0; j < P; j++) {
			X[s * P + j] = lms_rng_uniform(&g) < 0.5f ? 1.0f : 0.0f;
			y[s] += truth[j] * X[s * P + j];
		}
		y[s] += 0.1 * lms_rng_normal(&g);
	}
	ck_assert_int_eq(lms_lasso_cv(X, y, NULL, S, P, 5, 24, 3, beta, &b0, &lambda, cv), LMS_OK);
	ck_assert(lambda > 0.0);
	for (int j = 0; j < P; j++) {
		if (truth[j] != 0.0)
			ck_assert_double_eq_tol(beta[j], truth[j], 0.1);
		else
			ck_assert(fabs(beta[j]) < 0.05);
	}
	ck_assert_double_eq_tol(b0, 0.7, 0.1);
	/* the cross-validated error at the chosen penalty is near the noise */
	double best = cv[0];
	for (int i = 1; i < 24; i++)
		best = fmin(best, cv[i]);
	ck_assert(best < 0.02 && cv[0] > 10 * best);
	free(X);
}
END_TEST

START_TEST(test_cv_bad_args)
{
	float X[4] = {0};
	double y[4] = {0}, beta[1], b0, lambda;
	ck_assert_int_eq(lms_lasso_cv(X, y, NULL, 4, 1, 1, 10, 1, beta, &b0, &lambda, NULL), LMS_EARG);
	ck_assert_int_eq(lms_lasso_cv(X, y, NULL, 4, 1, 5, 10, 1, beta, &b0, &lambda, NULL), LMS_EARG);
	/* a constant response: every coefficient zero, the intercept its value */
	double yc[4] = {2, 2, 2, 2};
	float Xc[4] = {0, 1, 0, 1};
	ck_assert_int_eq(lms_lasso_cv(Xc, yc, NULL, 4, 1, 2, 5, 1, beta, &b0, &lambda, NULL), LMS_OK);
	ck_assert(beta[0] == 0.0);
	ck_assert_double_eq_tol(b0, 2.0, 1e-12);
}
END_TEST

Suite *lms_test_suite(void)
{
	const struct tu_case cases[] = {
		{"fit_orthonormal", test_fit_orthonormal},
		{"fit_kkt", test_fit_kkt},
		{"lambda_max", test_lambda_max},
		{"cv_recovers_planted", test_cv_recovers_planted},
		{"cv_bad_args", test_cv_bad_args},
	};
	return TU_SUITE("lasso", cases, 0);
}
