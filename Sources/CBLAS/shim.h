#include <cblas.h>
// LAPACK's single-precision Cholesky (Debian's OpenBLAS ships LAPACK).
void spotrf_(const char *uplo, const int *n, float *a, const int *lda, int *info);
void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info);
