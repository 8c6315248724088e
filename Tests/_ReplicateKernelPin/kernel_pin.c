// Pins OpenBLAS's kernel in test processes as the CLI does at start-up (Engine's BLASKernel), so that
// fingerprints and bitwise expectations are those of the committed results on every x86-64 host with AVX2.
//
// The CLI sets OPENBLAS_CORETYPE and re-executes itself before OpenBLAS loads; a test process cannot, so
// this constructor, which runs after OpenBLAS's own (a shared library's initialisers run before those of
// the program that needs it) and before any test, sets the same variable and re-runs OpenBLAS's
// DYNAMIC_ARCH kernel selection (gotoblas_dynamic_quit, gotoblas_dynamic_init: it reads OPENBLAS_CORETYPE).
// Both symbols are looked up at run time: an OpenBLAS built without DYNAMIC_ARCH has a single kernel and
// nothing to pin. An explicit OPENBLAS_CORETYPE, or REPLICATE_BLAS_KERNEL=native, is respected.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include "replicate_kernel_pin.h"

static int pinned = 0;

int replicate_test_kernel_pinned(void) { return pinned; }

__attribute__((constructor)) static void replicate_test_pin_kernel(void) {
#if defined(__x86_64__)
  const char *coretype = getenv("OPENBLAS_CORETYPE");
  if (coretype && *coretype) return;
  const char *choice = getenv("REPLICATE_BLAS_KERNEL");
  if (choice && strcmp(choice, "native") == 0) return;
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) return;
  void (*quit)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, "gotoblas_dynamic_quit");
  void (*init)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, "gotoblas_dynamic_init");
  if (!quit || !init) return;
  setenv("OPENBLAS_CORETYPE", "Haswell", 1);
  setenv("REPLICATE_BLAS_KERNEL", "pinned", 1);
  quit();
  init();
  pinned = 1;
#endif
}
