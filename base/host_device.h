#pragma once
// Marks functions for host and device (the optimizer steps of optim/adamw_step.h and optim/adafactor_step.h, the
// attention segment test of autograd/attention_segments.h), so the CPU code and the CUDA kernel compile one body.
#if defined(__CUDACC__)
#define GT_HOST_DEVICE __host__ __device__
#else
#define GT_HOST_DEVICE
#endif
