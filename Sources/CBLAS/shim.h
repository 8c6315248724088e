#include <cblas.h>
// LAPACK's single-precision Cholesky (Debian's OpenBLAS ships LAPACK).
void spotrf_(const char *uplo, const int *n, float *a, const int *lda, int *info);
void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info);
// A spin-wait hint for the engine's worker pool (PAUSE on x86, YIELD on ARM).
static inline void replicate_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}
// Whether the CPU runs OpenBLAS's Haswell kernels (AVX2 and FMA; x86-64 only).
static inline int replicate_cpu_has_avx2_fma(void) {
#if defined(__x86_64__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return 0;
#endif
}
