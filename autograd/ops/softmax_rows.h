#pragma once
// The backward row kernel of every log-softmax loss on the CPU (cross_entropy, token_logprobs, and the fused head
// ops linear_cross_entropy and linear_token_logprobs): the CPU twin of cuda::softmax_grad.
#include <cstdint>

namespace gt {

// d[n, :] = scale[n] (softmax(inv_t x[n, :]) - onehot(target[n])), then times the softcap's derivative
// 1 - (x / cap)^2 when cap > 0 (x being the capped logits), for the N rows of x [N, V]. lse[n] is the log-sum-exp
// of inv_t x[n, :] as vec::logsumexp gives it. The loss picks the sign through scale: a cross-entropy passes its
// upstream gradient, a log-probability at temperature 1 / inv_t its upstream gradient times -inv_t. Rows with
// scale 0 are zero-filled without reading their target (an ignored row's is no class). d may equal x.
void softmax_minus_onehot(const float* x, const double* lse, const int64_t* target, const float* scale, int64_t N,
                          int64_t V, float inv_t, float cap, float* d);

}  // namespace gt
