// Every op on the GPU against the same op on the CPU, outputs and gradients, in f32 and in bf16.
//
// Tolerances (relative to the largest reference element; cuda_test.h): f32 runs differ from the CPU only in the
// order of float32 additions, so 1e-5 covers sums of up to a few hundred terms (the CPU accumulates several of
// them in double); pointwise ops 2e-6. bf16 runs round every op's output and every gradient between ops to bf16
// (relative half-ulp 2^-9 = 2e-3 of the element, at most that of the largest): 1e-2 allows a few such roundings
// in a chain; attention and the losses, whose gradients pass through two or three rounded operands, get 2e-2.
#include "autograd/cuda/kernels.h"
#include "base/error.h"
#include "cuda_test.h"

using namespace gt;
using namespace gt::testing;

namespace {

constexpr double kPointF32 = 2e-6, kSumF32 = 1e-5, kBf16 = 1e-2, kBf16Chain = 2e-2;

class CudaOps : public CudaTest {};

TEST_F(CudaOps, CopiesRoundTripExactlyWithConversionsAndStrides) {
  const Tensor x = randn({3, 5, 7}, 1);
  const Tensor g = x.to(Device::CUDA);
  EXPECT_EQ(g.device(), Device::CUDA);
  EXPECT_EQ(g.to(Device::CPU).to_floats(), x.to_floats());
  // A strided view made dense on the device, and a dtype conversion there: bit-identical to the CPU's.
  EXPECT_EQ(g.permute({2, 0, 1}).contiguous().to_floats(), x.permute({2, 0, 1}).contiguous().to_floats());
  EXPECT_EQ(g.to(DType::BF16).to_floats(), x.to(DType::BF16).to_floats());
  EXPECT_EQ(g.slice(1, 1, 4).to_floats(), x.slice(1, 1, 4).to_floats());
  // Host -> device into a strided destination, integers too.
  Tensor dst = Tensor::zeros({7, 3, 5}, DType::F32, Device::CUDA);
  dst.permute({1, 2, 0}).copy_from(x);
  EXPECT_EQ(dst.to_floats(), x.permute({2, 0, 1}).contiguous().to_floats());
  const Tensor ids = Tensor::from_ids({4, 1, 3, 9}, {2, 2});
  EXPECT_EQ(ids.to(Device::CUDA).to_ids(), ids.to_ids());
  EXPECT_EQ(dense_as(ids.to(Device::CUDA), DType::I32).to_ids(), ids.to_ids());
}

TEST_F(CudaOps, BroadcastingArithmetic) {
  const Tensor a = with_grad(randn({4, 1, 6}, 2)), b = with_grad(randn({3, 1}, 3));
  // Keep divisors away from zero.
  const Tensor d = with_grad(add(scale(randn({3, 6}, 4), 0.1), Tensor::full({}, 2.0)).detach());
  for (DType dt : {DType::F32, DType::BF16}) {
    const double tol = dt == DType::F32 ? kSumF32 : kBf16;
    const bool f32 = dt == DType::F32;
    expect_close(f32 ? "add (broadcast) f32" : "add (broadcast) bf16",
                 compare_op([](auto& x) { return std::vector<Tensor>{add(x[0], x[1])}; }, {a, b}, dt), tol);
    expect_close(f32 ? "sub f32" : "sub bf16",
                 compare_op([](auto& x) { return std::vector<Tensor>{sub(x[0], x[1])}; }, {a, b}, dt), tol);
    expect_close(f32 ? "mul f32" : "mul bf16",
                 compare_op([](auto& x) { return std::vector<Tensor>{mul(x[0], x[1])}; }, {a, b}, dt), tol);
    expect_close(f32 ? "div f32" : "div bf16",
                 compare_op([](auto& x) { return std::vector<Tensor>{div(x[0], x[1])}; }, {a, d}, dt), tol);
    expect_close(f32 ? "scale f32" : "scale bf16",
                 compare_op([](auto& x) { return std::vector<Tensor>{scale(x[0], -1.7)}; }, {a}, dt),
                 f32 ? kPointF32 : kBf16);
  }
}

TEST_F(CudaOps, Reductions) {
  const Tensor a = with_grad(randn({5, 7, 9}, 5));
  for (DType dt : {DType::F32, DType::BF16}) {
    const double tol = dt == DType::F32 ? kSumF32 : kBf16;
    expect_close(dt == DType::F32 ? "sum/mean over dims f32" : "sum/mean over dims bf16",
                 compare_op(
                     [](auto& x) {
                       return std::vector<Tensor>{sum(x[0], {0, 2}), mean(x[0], {1}, true), sum(x[0])};
                     },
                     {a}, dt),
                 tol);
  }
}

TEST_F(CudaOps, MatmulAndLinear) {
  const Tensor a = with_grad(randn({2, 3, 5, 8}, 6)), b = with_grad(randn({8, 6}, 7));
  const Tensor bb = with_grad(randn({3, 8, 4}, 8));
  const Tensor x = with_grad(randn({2, 9, 64}, 9)), w = with_grad(randn({48, 64}, 10, 0.2f));
  for (DType dt : {DType::F32, DType::BF16}) {
    const bool f32 = dt == DType::F32;
    const double tol = f32 ? kSumF32 : kBf16;
    expect_close(f32 ? "matmul 2-D right f32" : "matmul 2-D right bf16",
                 compare_op([](auto& v) { return std::vector<Tensor>{matmul(v[0], v[1])}; }, {a, b}, dt), tol);
    expect_close(f32 ? "matmul batched broadcast f32" : "matmul batched broadcast bf16",
                 compare_op([](auto& v) { return std::vector<Tensor>{matmul(v[0], v[1])}; }, {a, bb}, dt), tol);
    expect_close(f32 ? "linear f32" : "linear bf16",
                 compare_op([](auto& v) { return std::vector<Tensor>{linear(v[0], v[1])}; }, {x, w}, dt), tol);
    // A transposed view as the input, and a row slice: operands at an offset.
    expect_close(f32 ? "linear on views f32" : "linear on views bf16",
                 compare_op(
                     [](auto& v) {
                       return std::vector<Tensor>{linear(v[0].slice(1, 1, 8), v[1]), linear(v[0].transpose(0, 1), v[1])};
                     },
                     {x, w}, dt),
                 tol);
  }
}

TEST_F(CudaOps, RmsNormRopeAndActivations) {
  const Tensor x = with_grad(randn({2, 5, 3, 64}, 11)), w = with_grad(add(randn({64}, 12, 0.1f), Tensor::full({}, 1.0)).detach());
  const RopeTable tab = rope_table(rope_inv_freq(64, 10000.0, 16), Tensor::arange(5));
  const RopeTable tab_b = rope_table(rope_inv_freq(64, 1e6, 32), Tensor::from_ids({3, 4, 5, 6, 7, 0, 1, 2, 3, 4}, {2, 5}));
  for (DType dt : {DType::F32, DType::BF16}) {
    const bool f32 = dt == DType::F32;
    expect_close(f32 ? "rms_norm (weight) f32" : "rms_norm (weight) bf16",
                 compare_op([](auto& v) { return std::vector<Tensor>{rms_norm(v[0], v[1], 1e-6)}; }, {x, w}, dt),
                 f32 ? kSumF32 : kBf16);
    expect_close(f32 ? "rms_norm (no weight) f32" : "rms_norm (no weight) bf16",
                 compare_op([](auto& v) { return std::vector<Tensor>{rms_norm(v[0], Tensor(), 1e-6)}; }, {x}, dt),
                 f32 ? kSumF32 : kBf16);
    for (const RopeTable* t : {&tab, &tab_b}) {
      const Tensor c = t->cos.to(Device::CUDA), s = t->sin.to(Device::CUDA);
      const Tensor cc = t->cos, sc = t->sin;
      expect_close(f32 ? "rope f32" : "rope bf16",
                   compare_op(
                       [&](auto& v) {
                         const bool gpu = v[0].device() == Device::CUDA;
                         return std::vector<Tensor>{rope(v[0], gpu ? c : cc, gpu ? s : sc)};
                       },
                       {x}, dt),
                   f32 ? kPointF32 : kBf16);
    }
    expect_close(f32 ? "gelu_tanh f32" : "gelu_tanh bf16",
                 compare_op([](auto& v) { return std::vector<Tensor>{gelu_tanh(v[0])}; }, {x}, dt),
                 f32 ? kPointF32 : kBf16);
    expect_close(f32 ? "gelu_tanh_mul f32" : "gelu_tanh_mul bf16",
                 compare_op([](auto& v) { return std::vector<Tensor>{gelu_tanh_mul(v[0], v[1])}; },
                            {x, with_grad(randn(x.shape(), 21))}, dt),
                 f32 ? kPointF32 : kBf16);
    expect_close(f32 ? "softcap f32" : "softcap bf16",
                 compare_op([](auto& v) { return std::vector<Tensor>{softcap(scale(v[0], 20.0), 30.0)}; }, {x}, dt),
                 f32 ? kPointF32 : kBf16);
  }
}

TEST_F(CudaOps, EmbeddingDenseAndRowSparse) {
  const Tensor ids = Tensor::from_ids({3, 0, 7, 3, 3, 9, 0, 1}, {2, 4});
  const Tensor ids2 = Tensor::from_ids({9, 2, 3}, {1, 3});
  for (DType dt : {DType::F32, DType::BF16}) {
    const bool f32 = dt == DType::F32;
    const Tensor table = with_grad(randn({10, 24}, 13));
    // Dense: the padding row 0 gets no gradient, repeated ids add up.
    expect_close(f32 ? "embedding (dense grad, padding) f32" : "embedding (dense grad, padding) bf16",
                 compare_op([&](auto& v) { return std::vector<Tensor>{embedding(v[0], v[1], 0)}; }, {table, ids}, dt),
                 f32 ? kPointF32 : kBf16);
    // Row-sparse: two lookups leave two pieces that the GPU merges.
    Tensor tc = table.clone(), tg = table.to(dt).to(Device::CUDA).detach();
    tc.requires_grad_();
    tg.requires_grad_();
    set_sparse_grad(tc);
    set_sparse_grad(tg);
    const Tensor upa = randn({2, 4, 24}, 14), upb = randn({1, 3, 24}, 15);
    backward({embedding(tc, ids), embedding(tc, ids2)}, {upa, upb});
    backward({embedding(tg, ids.to(Device::CUDA)), embedding(tg, ids2)},
             {upa.to(dt).to(Device::CUDA), upb.to(dt).to(Device::CUDA)});
    const SparseRows sc = sparse_grad(tc), sg = sparse_grad(tg);
    EXPECT_EQ(sg.rows.device(), Device::CPU);
    EXPECT_EQ(sg.rows.to_ids(), sc.rows.to_ids());
    const double e = rel_err(sg.values, sc.values);
    std::printf("[cuda] %-52s values %.2e\n", f32 ? "embedding row-sparse merge f32" : "embedding row-sparse merge bf16",
                e);
    EXPECT_LE(e, f32 ? kPointF32 : kBf16);
    EXPECT_LE(rel_err(tg.grad(), tc.grad()), f32 ? kPointF32 : kBf16) << "densified sparse gradient";
  }
}

TEST_F(CudaOps, LossesWithIgnoredRows) {
  const Tensor logits = with_grad(randn({6, 50}, 16, 3.f));
  const Tensor targets = Tensor::from_ids({4, -100, 49, 0, 7, -100}, {6});
  const Tensor all = Tensor::from_ids({4, 11, 49, 0, 7, 2}, {6});
  for (DType dt : {DType::F32, DType::BF16}) {
    const bool f32 = dt == DType::F32;
    expect_close(f32 ? "cross_entropy mean f32" : "cross_entropy mean bf16",
                 compare_op([](auto& v) { return std::vector<Tensor>{cross_entropy(v[0], v[1])}; },
                            {logits, targets}, dt),
                 f32 ? kSumF32 : kBf16Chain);
    expect_close(f32 ? "cross_entropy sum f32" : "cross_entropy sum bf16",
                 compare_op([](auto& v) {
                   return std::vector<Tensor>{cross_entropy(v[0], v[1], -100, Reduction::Sum)};
                 }, {logits, targets}, dt),
                 f32 ? kSumF32 : kBf16Chain);
    expect_close(f32 ? "token_logprobs f32" : "token_logprobs bf16",
                 compare_op([](auto& v) { return std::vector<Tensor>{token_logprobs(v[0], v[1])}; }, {logits, all}, dt),
                 f32 ? kSumF32 : kBf16Chain);
  }
}

TEST_F(CudaOps, FusedHeadLossesWithIgnoredRows) {
  const Tensor hidden = with_grad(randn({2, 5, 24}, 17, 2.f)), table = with_grad(randn({50, 24}, 18));
  const Tensor targets = Tensor::from_ids({4, -100, 49, 0, 7, -100, 3, 3, -100, 1}, {2, 5});
  for (DType dt : {DType::F32, DType::BF16}) {
    const bool f32 = dt == DType::F32;
    // Chunks of 3 rows: several, the last one short.
    expect_close(f32 ? "linear_cross_entropy f32" : "linear_cross_entropy bf16",
                 compare_op([](auto& v) { return std::vector<Tensor>{linear_cross_entropy(v[0], v[1], v[2], 5.0, 3)}; },
                            {hidden, table, targets}, dt),
                 f32 ? kSumF32 : kBf16Chain);
    expect_close(f32 ? "linear_token_logprobs f32" : "linear_token_logprobs bf16",
                 compare_op([](auto& v) {
                   return std::vector<Tensor>{linear_token_logprobs(v[0], v[1], v[2], 5.0, 0.7, 3)};
                 }, {hidden, table, targets}, dt),
                 f32 ? kSumF32 : kBf16Chain);
  }
}

TEST_F(CudaOps, ConcatSplitSlice) {
  const Tensor a = with_grad(randn({2, 3, 4}, 17)), b = with_grad(randn({2, 5, 4}, 18));
  for (DType dt : {DType::F32, DType::BF16}) {
    const bool f32 = dt == DType::F32;
    expect_close(f32 ? "concat/split/slice f32" : "concat/split/slice bf16",
                 compare_op(
                     [](auto& v) {
                       const Tensor c = concat({v[0], v[1]}, 1);
                       std::vector<Tensor> parts = split(c, {2, 6}, 1);
                       return std::vector<Tensor>{parts[1], c.slice(2, 1, 3), mul(parts[0], parts[0])};
                     },
                     {a, b}, dt),
                 f32 ? kPointF32 : kBf16);
  }
}

struct AttnCase {
  const char* name;
  int64_t B, T, S, Hq, Hkv, D, Dv;
  bool causal;
  int64_t window, q_offset;
  bool mask;
  // Packed rows (segment ids, attention_segments.h): samples of these lengths in turn, each batch row restarting the
  // list; empty for none.
  std::vector<int64_t> lengths = {};
};

std::vector<int64_t> segment_ids(const AttnCase& c) {
  std::vector<int64_t> seg;
  for (int64_t b = 0; b < c.B; ++b) {
    size_t next = 0;
    for (int64_t left = 0, id = 0, t = 0; t < c.S; ++t, --left) {
      if (left == 0) left = c.lengths[next++ % c.lengths.size()], ++id;
      seg.push_back(id);
    }
  }
  return seg;
}

TEST_F(CudaOps, AttentionMasksHeadsAndHeadDims) {
  const AttnCase cases[] = {
      {"attention GQA causal D16", 2, 37, 37, 4, 2, 16, 16, true, 0, 0, false},
      {"attention sliding window 8", 2, 45, 45, 4, 1, 16, 16, true, 8, 0, false},
      {"attention key mask + window", 2, 33, 33, 6, 2, 24, 24, true, 10, 0, true},
      {"attention non-causal Dv != D", 1, 20, 29, 3, 3, 12, 20, false, 0, 0, true},
      {"attention decode (q_offset)", 2, 3, 40, 8, 1, 32, 32, true, 16, 37, false},
      {"attention MQA D256 (E2B sliding)", 1, 70, 70, 8, 1, 256, 256, true, 32, 0, false},
      {"attention MQA D512 (E2B full)", 1, 50, 50, 8, 1, 512, 512, true, 0, 0, false},
      {"segments GQA causal D16", 2, 41, 41, 4, 2, 16, 16, true, 0, 0, false, {9, 17, 5, 10}},
      {"segments window 8 + key mask", 2, 50, 50, 6, 2, 24, 24, true, 8, 0, true, {20, 3, 27}},
      {"segments non-causal", 1, 30, 30, 3, 3, 12, 20, false, 0, 0, false, {12, 18}},
      {"segments MQA D256 window 32 (E2B sliding)", 1, 90, 90, 8, 1, 256, 256, true, 32, 0, false, {40, 1, 49}},
      {"segments MQA D512 (E2B full)", 1, 60, 60, 8, 1, 512, 512, true, 0, 0, false, {25, 35}},
  };
  for (cuda::AttentionKernel kernel : {cuda::AttentionKernel::Tiled, cuda::AttentionKernel::Products}) {
    cuda::set_attention_kernel(kernel);
    const std::string path = kernel == cuda::AttentionKernel::Tiled ? " [tiled]" : " [products]";
    for (const AttnCase& c : cases) {
      const Tensor q = with_grad(randn({c.B, c.T, c.Hq, c.D}, 20, 0.3f));
      const Tensor k = with_grad(randn({c.B, c.S, c.Hkv, c.D}, 21, 0.3f));
      const Tensor v = with_grad(randn({c.B, c.S, c.Hkv, c.Dv}, 22));
      std::vector<int64_t> m(static_cast<size_t>(c.B * c.S), 1);
      if (c.mask)
        for (int64_t s = 0; s < 4; ++s) m[static_cast<size_t>(s)] = 0;  // left padding of batch row 0
      const Tensor mask = Tensor::from_ids(m, {c.B, c.S});
      for (DType dt : {DType::F32, DType::BF16}) {
        const OpErrors e = compare_op(
            [&](auto& x) {
              AttentionOptions o;
              o.scale = 1.0 / std::sqrt(static_cast<double>(c.D));
              o.causal = c.causal;
              o.window = c.window;
              o.q_offset = c.q_offset;
              if (c.mask) o.key_mask = mask;
              if (!c.lengths.empty()) o.segment_ids = Tensor::from_ids(segment_ids(c), {c.B, c.S});
              return std::vector<Tensor>{attention(x[0], x[1], x[2], o)};
            },
            {q, k, v}, dt);
        expect_close((std::string(c.name) + path + (dt == DType::F32 ? " f32" : " bf16")).c_str(), e,
                     dt == DType::F32 ? kSumF32 : kBf16Chain);
      }
    }
  }
  cuda::set_attention_kernel(cuda::AttentionKernel::Auto);
}

TEST_F(CudaOps, MixedDevicesAreAnError) {
  const Tensor a = randn({3}, 1), b = randn({3}, 2).to(Device::CUDA);
  EXPECT_THROW(add(a, b), Error);
  EXPECT_THROW(linear(a.reshape({1, 3}), b.reshape({1, 3})), Error);
}

}  // namespace
