/* Sweeps (include/mailsim/sweep.h): the quantiles of Student's t
 * distribution, for confidence intervals with any degrees of freedom,
 * whole (n - 1 replications) or fractional (Welch's test,
 * sweep_compare.c).
 *
 * Design. The distribution function of t with v degrees of freedom is,
 * for t >= 0, F(t) = 1 - I_x(v/2, 1/2) / 2 with x = v / (v + t^2), where
 * I is the regularised incomplete beta function (Abramowitz and Stegun
 * 26.7.1 with 26.5.1 and 6.6.2). I is computed from its continued fraction
 * (A&S 26.5.8), evaluated by the modified Lentz method, on the side of its
 * symmetry I_x(a,b) = 1 - I_{1-x}(b,a) where it converges fast. The
 * quantile is found by bisection on F, which is monotone: the bracket is
 * doubled until it holds the answer, then halved 200 times or until it is
 * narrower than 1e-12 of its value. Slow beside the closed forms of
 * special cases, but one routine for every v and p, and a sweep asks for a
 * handful.
 *
 * Accuracy: within 1e-9 of the tabulated values (tests/test_sweep.c checks
 * a table at p = 0.975 and 0.995). Pure functions; thread-safe (lgamma_r,
 * not lgamma, which writes a global). */
#include "sweep-private.h"

#include <math.h>

/* The continued fraction of I_x(a, b), by Lentz's method. */
static double
beta_fraction(double a, double b, double x)
{
    const double tiny = 1e-300, eps = 1e-15;
    double c = 1, d = 1 - (a + b) * x / (a + 1);
    if (fabs(d) < tiny)
        d = tiny;
    d = 1 / d;
    double f = d;
    for (int m = 1; m <= 1000; m++) {
        /* the even step, d_{2m}, then the odd one, d_{2m+1} */
        double num = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
        for (int pass = 0; pass < 2; pass++) {
            d = 1 + num * d;
            c = 1 + num / c;
            if (fabs(d) < tiny)
                d = tiny;
            if (fabs(c) < tiny)
                c = tiny;
            d = 1 / d;
            double delta = c * d;
            f *= delta;
            if (pass == 1 && fabs(delta - 1) < eps)
                return f;
            num = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1));
        }
    }
    return f;
}

/* The regularised incomplete beta function I_x(a, b), 0 <= x <= 1. */
static double
incomplete_beta(double a, double b, double x)
{
    if (x <= 0)
        return 0;
    if (x >= 1)
        return 1;
    int sign;
    double lbeta = lgamma_r(a + b, &sign) - lgamma_r(a, &sign) - lgamma_r(b, &sign);
    double front = exp(lbeta + a * log(x) + b * log1p(-x));
    if (x < (a + 1) / (a + b + 2))
        return front * beta_fraction(a, b, x) / a;
    return 1 - front * beta_fraction(b, a, 1 - x) / b;
}

double
ms_sweep_t_cdf(double t, double df)
{
    double x = df / (df + t * t);
    double tail = 0.5 * incomplete_beta(df / 2, 0.5, x);
    return t >= 0 ? 1 - tail : tail;
}

double
ms_sweep_t_quantile(double p, double df)
{
    if (!(df > 0) || !(p > 0 && p < 1))
        return NAN;
    if (p == 0.5)
        return 0;
    if (p < 0.5)
        return -ms_sweep_t_quantile(1 - p, df);
    double lo = 0, hi = 1;
    while (ms_sweep_t_cdf(hi, df) < p && hi < 1e300)
        hi *= 2;
    for (int i = 0; i < 200 && hi - lo > 1e-12 * hi; i++) {
        double mid = 0.5 * (lo + hi);
        if (ms_sweep_t_cdf(mid, df) < p)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

double
ms_sweep_t975(guint df)
{
    return df == 0 ? NAN : ms_sweep_t_quantile(0.975, df);
}
