#ifndef REPLICATE_KERNEL_PIN_H
#define REPLICATE_KERNEL_PIN_H
/// 1 when the constructor pinned OpenBLAS's Haswell kernel in this test process, 0 when the environment
/// named a kernel (or opted out) or the CPU cannot run it.
int replicate_test_kernel_pinned(void);
#endif
