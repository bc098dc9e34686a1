/* tails.c — binomial and hypergeometric upper tails in log space, accurate in relative terms
 * far below 1e-300. The pmf comes from Loader's saddle-point form (C. Loader, "Fast and
 * accurate computation of binomial probabilities", 2000): log C(n,x) p^x q^(n-x) =
 * stirlerr(n) - stirlerr(x) - stirlerr(n-x) - bd0(x, np) - bd0(n-x, nq) - ½ log(2π x(n-x)/n),
 * which avoids the cancellation of lgamma differences. The tail is then summed from its
 * largest term with exact term ratios, or taken as log1p(-lower tail) when it is large. */
#include "modex/stats.h"
#include <math.h>

// --- Loader's pieces -----------------------------------------------------------------------

#define LN_SQRT_2PI 0.918938533204672741780329736406L

/* stirlerr(n) = log(n!) - log(sqrt(2πn) (n/e)^n). */
static double stirlerr(double n) {
    if (n <= 15.0) {
        long double x = (long double)n;
        return (double)(lgammal(x + 1.0L) - (x + 0.5L) * logl(x) + x - LN_SQRT_2PI);
    }
    double n2 = 1.0 / (n * n); /* Stirling series: 1/12n - 1/360n³ + 1/1260n⁵ - 1/1680n⁷ + 1/1188n⁹ */
    return (1.0 / 12 - (1.0 / 360 - (1.0 / 1260 - (1.0 / 1680 - n2 / 1188) * n2) * n2) * n2) / n;
}

/* bd0(x, m) = x log(x/m) + m - x, by the log((1+v)/(1-v)) series when x is close to m. */
static double bd0(double x, double m) {
    if (fabs(x - m) < 0.1 * (x + m)) {
        double v = (x - m) / (x + m), s = (x - m) * v, ej = 2 * x * v, v2 = v * v;
        for (int j = 1; j < 1000; j++) {
            ej *= v2;
            double s1 = s + ej / (2 * j + 1);
            if (s1 == s) return s1;
            s = s1;
        }
        return s;
    }
    return x * log(x / m) + m - x;
}

/* log of C(n,x) p^x q^(n-x) with q = 1-p given separately (keeps precision for tiny q). */
static double log_dbinom(double x, double n, double p, double q) {
    if (x < 0 || x > n) return -INFINITY;
    if (p == 0) return x == 0 ? 0 : -INFINITY;
    if (q == 0) return x == n ? 0 : -INFINITY;
    if (x == 0) return n == 0 ? 0 : n * (p < 0.5 ? log1p(-p) : log(q));
    if (x == n) return n * (q < 0.5 ? log1p(-q) : log(p));
    double lc = stirlerr(n) - stirlerr(x) - stirlerr(n - x) - bd0(x, n * p) - bd0(n - x, n * q);
    double lf = 2 * (double)LN_SQRT_2PI + log(x) + log1p(-x / n);
    return lc - 0.5 * lf;
}

// --- binomial --------------------------------------------------------------------------------

double modex_log_binom_pmf(long x, long n, double p) {
    if (n < 0 || !(p >= 0 && p <= 1)) return NAN;
    return log_dbinom((double)x, (double)n, p, 1.0 - p);
}

double modex_log_binom_sf(long k, long n, double p) {
    if (n < 0 || !(p >= 0 && p <= 1)) return NAN;
    if (k <= 0) return 0;
    if (k > n) return -INFINITY;
    double q = 1.0 - p;
    if (p == 0) return -INFINITY;
    if (q == 0) return 0;
    double rho = p / q;
    if ((double)k > (double)n * p) { /* upper tail is the small side: sum terms upwards */
        double S = 1, t = 1;
        for (long x = k; x < n; x++) {
            t *= (double)(n - x) / (double)(x + 1) * rho;
            S += t;
            if (t < S * 1e-17) break;
        }
        return log_dbinom((double)k, (double)n, p, q) + log(S);
    }
    double S = 1, t = 1; /* lower tail P(X <= k-1), summed downwards */
    for (long x = k - 1; x > 0; x--) {
        t *= (double)x / (double)(n - x + 1) / rho;
        S += t;
        if (t < S * 1e-17) break;
    }
    double L = exp(log_dbinom((double)(k - 1), (double)n, p, q) + log(S));
    return log1p(-L);
}

// --- hypergeometric --------------------------------------------------------------------------

/* Population M with K successes, n draws: the identity
 * C(K,x) C(M-K,n-x) / C(M,n) = b(x; K, r) b(n-x; M-K, r) / b(n; M, r), r = n/M,
 * lets every factor use the accurate binomial form. */
double modex_log_hypergeom_pmf(long x, long M, long K, long n) {
    if (M < 0 || K < 0 || n < 0 || K > M || n > M) return NAN;
    long lo = n - (M - K) > 0 ? n - (M - K) : 0, hi = n < K ? n : K;
    if (x < lo || x > hi) return -INFINITY;
    if (n == 0 || n == M) return 0; /* x is forced (0 or K) */
    double r = (double)n / (double)M, s = (double)(M - n) / (double)M;
    return log_dbinom((double)x, (double)K, r, s) + log_dbinom((double)(n - x), (double)(M - K), r, s)
           - log_dbinom((double)n, (double)M, r, s);
}

double modex_log_hypergeom_sf(long k, long M, long K, long n) {
    if (M < 0 || K < 0 || n < 0 || K > M || n > M) return NAN;
    long lo = n - (M - K) > 0 ? n - (M - K) : 0, hi = n < K ? n : K;
    if (k <= lo) return 0;
    if (k > hi) return -INFINITY;
    long B = M - K;
    if ((double)k > (double)n * (double)K / (double)M) {
        double S = 1, t = 1;
        for (long x = k; x < hi; x++) {
            t *= (double)(K - x) * (double)(n - x) / ((double)(x + 1) * (double)(B - n + x + 1));
            S += t;
            if (t < S * 1e-17) break;
        }
        return modex_log_hypergeom_pmf(k, M, K, n) + log(S);
    }
    double S = 1, t = 1;
    for (long x = k - 1; x > lo; x--) {
        t *= (double)x * (double)(B - n + x) / ((double)(K - x + 1) * (double)(n - x + 1));
        S += t;
        if (t < S * 1e-17) break;
    }
    double L = exp(modex_log_hypergeom_pmf(k - 1, M, K, n) + log(S));
    return log1p(-L);
}
