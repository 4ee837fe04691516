#pragma once
// Marks the per-element optimizer steps (adamw_step.h, adafactor_step.h) for host and device, so the CPU update and
// the CUDA kernel compile one body.
#if defined(__CUDACC__)
#define GT_HOST_DEVICE __host__ __device__
#else
#define GT_HOST_DEVICE
#endif
