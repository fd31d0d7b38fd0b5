/* The LASSO by cyclic coordinate descent, with an unpenalised intercept and
 * optional sample weights; the penalty chosen by k-fold cross-validation.
 * Used by lime.c; internal to the engine (and its tests). */
#ifndef LMS_LASSO_H
#define LMS_LASSO_H

#include <stdint.h>

#include "lmscope/status.h"

/* Minimises over b0 and beta (P)
 *   1 / (2 sum_s w_s) * sum_s w_s (y_s - b0 - X_s . beta)^2 + lambda * sum_j |beta_j|
 * for X (S, P) row-major, y (S), w (S) or NULL for all ones (rows of weight
 * 0 are left out). beta holds the start on entry (zeros, or a warm start)
 * and the solution on return. Stops when no coefficient moves by more than
 * tol (scaled by its column's spread) in a sweep, or after max_sweeps.
 * Returns the sweeps made, or -1 when out of memory. */
int lms_lasso_fit(const float *X, const double *y, const double *w, int S, int P, double lambda,
                  double *beta, double *b0, double tol, int max_sweeps);

/* The smallest lambda at which every coefficient is zero. */
double lms_lasso_lambda_max(const float *X, const double *y, const double *w, int S, int P);

/* Cross-validated fit: n_lambda penalties spaced geometrically from
 * lambda_max down to lambda_max * 1e-3, each scored by its mean squared
 * held-out error over `folds` folds (rows dealt to folds at random from
 * seed); the best penalty is refitted on every row. cv_err may be NULL or
 * receive (n_lambda) errors. */
enum lms_status lms_lasso_cv(const float *X, const double *y, const double *w, int S, int P,
                             int folds, int n_lambda, uint64_t seed, double *beta, double *b0,
                             double *lambda, double *cv_err);

#endif
