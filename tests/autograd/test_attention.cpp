#include <gtest/gtest.h>

#include "support/error_message.h"

#include <cmath>
#include <functional>
#include <string>

#include "autograd/parallel.h"
#include "base/error.h"
#include "support/gradcheck.h"

using namespace gt;
using namespace gt::testing;

namespace {

struct Case {
  std::string name;
  int64_t B, T, S, Hq, Hkv, D, Dv;
  double scale = 1.0;
  bool causal = true;
  int64_t window = 0, q_offset = 0;
  std::vector<int64_t> mask = {};  // [B, S], empty for none
  std::vector<int64_t> seg = {};   // [B, S] segment ids, empty for none

  AttentionOptions options() const {
    AttentionOptions o;
    o.scale = scale;
    o.causal = causal;
    o.window = window;
    o.q_offset = q_offset;
    if (!mask.empty()) o.key_mask = Tensor::from_ids(mask, {B, S}, DType::I32);
    if (!seg.empty()) o.segment_ids = Tensor::from_ids(seg, {B, S}, DType::I32);
    return o;
  }
  bool visible(int64_t b, int64_t t, int64_t s) const {
    const int64_t p = q_offset + t;
    if (causal && s > p) return false;
    if (window > 0 && s <= p - window) return false;
    if (!seg.empty() && seg[static_cast<size_t>(b * S + s)] != seg[static_cast<size_t>(b * S + p)]) return false;
    return mask.empty() || mask[static_cast<size_t>(b * S + s)] != 0;
  }
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

struct Inputs {
  Tensor q, k, v, dout;
};

Inputs make_inputs(const Case& c, uint64_t seed) {
  return {leaf(randn({c.B, c.T, c.Hq, c.D}, seed)), leaf(randn({c.B, c.S, c.Hkv, c.D}, seed + 1)),
          leaf(randn({c.B, c.S, c.Hkv, c.Dv}, seed + 2)), randn({c.B, c.T, c.Hq, c.Dv}, seed + 3)};
}

// Attention and its gradients by the textbook formulas, in double, one (b, h, t) row at a time.
struct Reference {
  std::vector<double> out, dq, dk, dv;
};

Reference reference(const Case& c, const Inputs& in) {
  const std::vector<float> q = in.q.to_floats(), k = in.k.to_floats(), v = in.v.to_floats(),
                           dout = in.dout.to_floats();
  Reference r;
  r.out.assign(static_cast<size_t>(c.B * c.T * c.Hq * c.Dv), 0.0);
  r.dq.assign(q.size(), 0.0);
  r.dk.assign(k.size(), 0.0);
  r.dv.assign(v.size(), 0.0);
  auto at = [](int64_t row, int64_t width, int64_t d) { return static_cast<size_t>(row * width + d); };
  auto qi = [&](int64_t b, int64_t t, int64_t h, int64_t d) { return at((b * c.T + t) * c.Hq + h, c.D, d); };
  auto oi = [&](int64_t b, int64_t t, int64_t h, int64_t d) { return at((b * c.T + t) * c.Hq + h, c.Dv, d); };
  auto ki = [&](int64_t b, int64_t s, int64_t g, int64_t d) { return at((b * c.S + s) * c.Hkv + g, c.D, d); };
  auto vi = [&](int64_t b, int64_t s, int64_t g, int64_t d) { return at((b * c.S + s) * c.Hkv + g, c.Dv, d); };
  for (int64_t b = 0; b < c.B; ++b)
    for (int64_t h = 0; h < c.Hq; ++h)
      for (int64_t t = 0; t < c.T; ++t) {
        const int64_t g = h / (c.Hq / c.Hkv);
        std::vector<double> p(static_cast<size_t>(c.S), 0.0);
        double mx = -INFINITY;
        for (int64_t s = 0; s < c.S; ++s) {
          if (!c.visible(b, t, s)) continue;
          double dot = 0;
          for (int64_t d = 0; d < c.D; ++d) dot += double(q[qi(b, t, h, d)]) * k[ki(b, s, g, d)];
          p[static_cast<size_t>(s)] = dot * c.scale;
          mx = std::max(mx, dot * c.scale);
        }
        if (mx == -INFINITY) continue;
        double z = 0;
        for (int64_t s = 0; s < c.S; ++s)
          if (c.visible(b, t, s)) z += std::exp(p[static_cast<size_t>(s)] - mx);
        for (int64_t s = 0; s < c.S; ++s)
          p[static_cast<size_t>(s)] = c.visible(b, t, s) ? std::exp(p[static_cast<size_t>(s)] - mx) / z : 0.0;
        std::vector<double> dp(static_cast<size_t>(c.S), 0.0);
        double di = 0;
        for (int64_t s = 0; s < c.S; ++s) {
          for (int64_t d = 0; d < c.Dv; ++d) {
            r.out[oi(b, t, h, d)] += p[static_cast<size_t>(s)] * v[vi(b, s, g, d)];
            dp[static_cast<size_t>(s)] += double(dout[oi(b, t, h, d)]) * v[vi(b, s, g, d)];
          }
          di += p[static_cast<size_t>(s)] * dp[static_cast<size_t>(s)];
        }
        for (int64_t s = 0; s < c.S; ++s) {
          const double ps = p[static_cast<size_t>(s)], ds = ps * (dp[static_cast<size_t>(s)] - di) * c.scale;
          for (int64_t d = 0; d < c.D; ++d) {
            r.dq[qi(b, t, h, d)] += ds * k[ki(b, s, g, d)];
            r.dk[ki(b, s, g, d)] += ds * q[qi(b, t, h, d)];
          }
          for (int64_t d = 0; d < c.Dv; ++d) r.dv[vi(b, s, g, d)] += ps * dout[oi(b, t, h, d)];
        }
      }
  return r;
}

void expect_near(const std::vector<float>& got, const std::vector<double>& want, double tol, const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double err = std::abs(got[i] - want[i]);
    worst = std::isnan(err) ? INFINITY : std::max(worst, err);
  }
  EXPECT_LE(worst, tol) << what;
}

struct Result {
  std::vector<float> out, dq, dk, dv;
};

Result run_case(const Case& c, Inputs in) {
  for (Tensor* t : {&in.q, &in.k, &in.v}) t->zero_grad();
  Tensor out = attention(in.q, in.k, in.v, c.options());
  out.backward(in.dout);
  return {out.to_floats(), in.q.grad().to_floats(), in.k.grad().to_floats(), in.v.grad().to_floats()};
}

// Small configurations: every one is checked against the reference and by finite differences.
std::vector<Case> small_cases() {
  return {
      {.name = "causal", .B = 2, .T = 7, .S = 7, .Hq = 2, .Hkv = 2, .D = 4, .Dv = 4},
      {.name = "sliding", .B = 1, .T = 9, .S = 9, .Hq = 2, .Hkv = 1, .D = 4, .Dv = 4, .window = 3},
      // Batch 0 has a hole, batch 1 is left-padded: its rows 0..2 see no key at all.
      {.name = "padding", .B = 2, .T = 6, .S = 6, .Hq = 2, .Hkv = 1, .D = 4, .Dv = 4,
       .mask = {1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1}},
      {.name = "decode", .B = 1, .T = 3, .S = 8, .Hq = 2, .Hkv = 1, .D = 4, .Dv = 4, .q_offset = 5},
      {.name = "decode_window", .B = 2, .T = 3, .S = 8, .Hq = 2, .Hkv = 1, .D = 4, .Dv = 4, .window = 4,
       .q_offset = 5, .mask = {0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}},
      {.name = "noncausal", .B = 1, .T = 5, .S = 7, .Hq = 2, .Hkv = 1, .D = 4, .Dv = 4, .causal = false},
      {.name = "gqa", .B = 1, .T = 6, .S = 6, .Hq = 4, .Hkv = 2, .D = 4, .Dv = 4},
      {.name = "mqa", .B = 1, .T = 6, .S = 6, .Hq = 4, .Hkv = 1, .D = 4, .Dv = 4, .window = 4},
      {.name = "dv_ne_d", .B = 1, .T = 5, .S = 5, .Hq = 2, .Hkv = 1, .D = 4, .Dv = 6},
      {.name = "scale", .B = 1, .T = 6, .S = 6, .Hq = 2, .Hkv = 2, .D = 4, .Dv = 3, .scale = 0.37},
      // Packed rows: three samples, then two and a padding segment (any ids, each one run).
      {.name = "segments", .B = 2, .T = 9, .S = 9, .Hq = 2, .Hkv = 1, .D = 4, .Dv = 4,
       .seg = {0, 0, 0, 1, 1, 1, 1, 2, 2, 5, 5, 5, 5, 5, 7, 7, 9, 9}},
      {.name = "segments_sliding_gqa", .B = 1, .T = 10, .S = 10, .Hq = 4, .Hkv = 2, .D = 4, .Dv = 3, .window = 3,
       .seg = {0, 0, 0, 0, 0, 0, 1, 1, 1, 1}},
      {.name = "segments_padded", .B = 1, .T = 8, .S = 8, .Hq = 2, .Hkv = 1, .D = 4, .Dv = 4,
       .mask = {1, 1, 1, 1, 1, 1, 0, 0}, .seg = {0, 0, 0, 1, 1, 1, 2, 2}},
      {.name = "segments_noncausal", .B = 1, .T = 7, .S = 7, .Hq = 2, .Hkv = 1, .D = 4, .Dv = 4, .causal = false,
       .seg = {3, 3, 3, 1, 1, 1, 1}},
  };
}

// Segment ids of B rows of S positions filled with samples of these lengths in turn (the last one cut at the end).
std::vector<int64_t> packed_segments(int64_t B, int64_t S, const std::vector<int64_t>& lengths) {
  std::vector<int64_t> seg;
  int64_t id = 0, left = 0;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t s = 0; s < S; ++s) {
      if (left == 0 || s == 0) left = lengths[static_cast<size_t>(id++ % static_cast<int64_t>(lengths.size()))];
      seg.push_back(id);
      --left;
    }
  return seg;
}

// Larger ones that span several query tiles and several backward chunks (the op stacks 128 query rows per tile
// and gives each (batch, kv head) up to 16 backward chunks; mqa_long puts two tiles in each chunk).
std::vector<Case> large_cases() {
  std::vector<int64_t> left_pad(2 * 150, 1);
  for (int64_t s = 0; s < 37; ++s) left_pad[static_cast<size_t>(150 + s)] = 0;
  return {
      {.name = "mqa_sliding_padded", .B = 2, .T = 150, .S = 150, .Hq = 4, .Hkv = 1, .D = 16, .Dv = 8, .scale = 0.25,
       .window = 40, .mask = left_pad},
      {.name = "mha_causal", .B = 1, .T = 130, .S = 130, .Hq = 2, .Hkv = 2, .D = 8, .Dv = 8},
      {.name = "gqa_decode", .B = 1, .T = 70, .S = 200, .Hq = 8, .Hkv = 2, .D = 8, .Dv = 12, .q_offset = 130},
      {.name = "noncausal", .B = 1, .T = 100, .S = 90, .Hq = 8, .Hkv = 1, .D = 8, .Dv = 8, .causal = false},
      {.name = "mqa_long", .B = 1, .T = 300, .S = 300, .Hq = 8, .Hkv = 1, .D = 8, .Dv = 8, .window = 100},
      {.name = "segments_long", .B = 2, .T = 260, .S = 260, .Hq = 8, .Hkv = 1, .D = 8, .Dv = 8, .window = 50,
       .seg = packed_segments(2, 260, {70, 3, 101, 40, 46})},
  };
}

class AttentionSmall : public ::testing::TestWithParam<Case> {};
class AttentionLarge : public ::testing::TestWithParam<Case> {};

std::string case_name(const ::testing::TestParamInfo<Case>& info) { return info.param.name; }

}  // namespace

TEST_P(AttentionSmall, MatchesReference) {
  const Case& c = GetParam();
  const Inputs in = make_inputs(c, 100);
  const Reference ref = reference(c, in);
  const Result got = run_case(c, in);
  expect_near(got.out, ref.out, 1e-5, "out");
  expect_near(got.dq, ref.dq, 1e-5, "dq");
  expect_near(got.dk, ref.dk, 1e-5, "dk");
  expect_near(got.dv, ref.dv, 1e-5, "dv");
}

TEST_P(AttentionSmall, Gradcheck) {
  const Case& c = GetParam();
  const Inputs in = make_inputs(c, 200);
  const AttentionOptions opt = c.options();
  const double worst = gradcheck1([&](auto& x) { return attention(x[0], x[1], x[2], opt); }, {in.q, in.k, in.v});
  EXPECT_LE(worst, 1.0);
  RecordProperty("worst_ratio", std::to_string(worst));
}

INSTANTIATE_TEST_SUITE_P(Configs, AttentionSmall, ::testing::ValuesIn(small_cases()), case_name);

TEST_P(AttentionLarge, MatchesReference) {
  const Case& c = GetParam();
  const Inputs in = make_inputs(c, 300);
  const Reference ref = reference(c, in);
  const Result got = run_case(c, in);
  expect_near(got.out, ref.out, 1e-5, "out");
  expect_near(got.dq, ref.dq, 1e-4, "dq");
  expect_near(got.dk, ref.dk, 1e-4, "dk");
  expect_near(got.dv, ref.dv, 1e-4, "dv");
}

INSTANTIATE_TEST_SUITE_P(Configs, AttentionLarge, ::testing::ValuesIn(large_cases()), case_name);

TEST(Attention, RowsWithoutKeysAreZeroAndPassNoGradient) {
  const Case c = small_cases()[2];
  ASSERT_EQ(c.name, "padding");
  const Result got = run_case(c, make_inputs(c, 400));
  for (int64_t t = 0; t < 3; ++t)
    for (int64_t i = 0; i < c.Hq * c.D; ++i) {
      EXPECT_EQ(got.out[static_cast<size_t>((c.T + t) * c.Hq * c.Dv + i)], 0.f);
      EXPECT_EQ(got.dq[static_cast<size_t>((c.T + t) * c.Hq * c.D + i)], 0.f);
    }
  // Masked keys receive nothing either: batch 1's left padding and the hole at key 2 of batch 0.
  for (int64_t s : {c.S + 0, c.S + 1, c.S + 2, int64_t{2}})
    for (int64_t i = 0; i < c.Hkv * c.D; ++i) {
      EXPECT_EQ(got.dk[static_cast<size_t>(s * c.Hkv * c.D + i)], 0.f);
      EXPECT_EQ(got.dv[static_cast<size_t>(s * c.Hkv * c.Dv + i)], 0.f);
    }
}

TEST(Attention, DeterministicAcrossRunsAndThreadCounts) {
  for (const Case& c : large_cases()) {
    SCOPED_TRACE(c.name);
    const Inputs in = make_inputs(c, 500);
    const Result a = run_case(c, in), b = run_case(c, in);
    EXPECT_EQ(a.out, b.out);
    EXPECT_EQ(a.dq, b.dq);
    EXPECT_EQ(a.dk, b.dk);
    EXPECT_EQ(a.dv, b.dv);
    const int threads = num_threads();
    set_num_threads(threads == 1 ? 2 : 1);
    const Result s = run_case(c, in);
    set_num_threads(threads);
    EXPECT_EQ(a.out, s.out);
    EXPECT_EQ(a.dq, s.dq);
    EXPECT_EQ(a.dk, s.dk);
    EXPECT_EQ(a.dv, s.dv);
  }
}

TEST(Attention, StridedBf16AndPartialGradients) {
  const Case c = small_cases()[6];
  ASSERT_EQ(c.name, "gqa");
  const Inputs in = make_inputs(c, 600);
  const Result full = run_case(c, in);
  const Tensor k = in.k.detach(), v = in.v.detach();
  // q as a permuted view of [B, Hq, T, D]: same values, and the gradient reaches the base through the view.
  Tensor qh = leaf(in.q.detach().permute({0, 2, 1, 3}).contiguous());
  Tensor out = attention(qh.permute({0, 2, 1, 3}), k, v, c.options());
  EXPECT_EQ(out.to_floats(), full.out);
  out.backward(in.dout);
  EXPECT_EQ(qh.grad().permute({0, 2, 1, 3}).to_floats(), full.dq);
  // bf16 operands are widened on the way in.
  const Tensor kb = k.to(DType::BF16);
  EXPECT_EQ(attention(in.q.detach(), kb, v, c.options()).to_floats(),
            attention(in.q.detach(), kb.to(DType::F32), v, c.options()).to_floats());
  // Any subset of inputs may want a gradient; each gets the same values as when all do.
  Tensor q_only = leaf(in.q.detach().clone()), k_only = leaf(k.clone()), v_only = leaf(v.clone());
  attention(q_only, k, v, c.options()).backward(in.dout);
  attention(in.q.detach(), k_only, v, c.options()).backward(in.dout);
  attention(in.q.detach(), k, v_only, c.options()).backward(in.dout);
  EXPECT_EQ(q_only.grad().to_floats(), full.dq);
  EXPECT_EQ(k_only.grad().to_floats(), full.dk);
  EXPECT_EQ(v_only.grad().to_floats(), full.dv);
}

TEST(Attention, NoGradRecordsNothing) {
  const Case c = small_cases()[0];
  const Inputs in = make_inputs(c, 700);
  NoGradGuard ng;
  Tensor out = attention(in.q, in.k, in.v, c.options());
  EXPECT_FALSE(out.requires_grad());
  expect_near(out.to_floats(), reference(c, in).out, 1e-5, "out");
}

TEST(Attention, ShapeErrors) {
  const Tensor q = Tensor::zeros({1, 4, 6, 8}), k = Tensor::zeros({1, 4, 4, 8}), v = Tensor::zeros({1, 4, 4, 8});
  AttentionOptions opt;
  EXPECT_EQ(gt::testing::thrown_message<Error>([&] { attention(q, k, v, opt); }),
            "attention: q f32[1, 4, 6, 8], k f32[1, 4, 4, 8], v f32[1, 4, 4, 8]: 6 query heads is not a multiple of "
            "4 kv heads");
  const Tensor q2 = Tensor::zeros({1, 4, 8, 8});
  EXPECT_NE(gt::testing::thrown_message<Error>([&] { attention(q2, Tensor::zeros({1, 4, 4, 6}), v, opt); }).find("head dims differ"),
            std::string::npos);
  EXPECT_NE(gt::testing::thrown_message<Error>([&] { attention(q2, k, Tensor::zeros({1, 5, 4, 8}), opt); }).find("sequence lengths"),
            std::string::npos);
  EXPECT_NE(gt::testing::thrown_message<Error>([&] { attention(q2, k, Tensor::zeros({1, 4, 2, 8}), opt); }).find("head counts"),
            std::string::npos);
  EXPECT_NE(gt::testing::thrown_message<Error>([&] { attention(Tensor::zeros({2, 4, 8, 8}), k, v, opt); }).find("batch sizes differ"),
            std::string::npos);
  EXPECT_NE(gt::testing::thrown_message<Error>([&] { attention(Tensor::zeros({4, 8, 8}), k, v, opt); }).find("q f32[4, 8, 8]"),
            std::string::npos);
  EXPECT_NE(gt::testing::thrown_message<Error>([&] { attention(Tensor::zeros({1, 4, 8, 8}, DType::I64), k, v, opt); }).find("float"),
            std::string::npos);
  AttentionOptions bad_mask;
  bad_mask.key_mask = Tensor::ones({1, 5}, DType::I32);
  EXPECT_NE(gt::testing::thrown_message<Error>([&] { attention(q2, k, v, bad_mask); })
                .find("key_mask i32[1, 5] must be an integer [B, S] = [1, 4]"),
            std::string::npos);
  bad_mask.key_mask = Tensor::ones({1, 4});
  EXPECT_NE(gt::testing::thrown_message<Error>([&] { attention(q2, k, v, bad_mask); }).find("key_mask f32[1, 4]"), std::string::npos);
  AttentionOptions window_without_causal;
  window_without_causal.causal = false;
  window_without_causal.window = 2;
  EXPECT_NE(gt::testing::thrown_message<Error>([&] { attention(q2, k, v, window_without_causal); }).find("needs causal"), std::string::npos);
  AttentionOptions negative;
  negative.q_offset = -1;
  EXPECT_NE(gt::testing::thrown_message<Error>([&] { attention(q2, k, v, negative); }).find("q_offset -1"), std::string::npos);
}

// A packed row equals its samples run alone: the same keys under the same positions, in float32 (not bitwise: a
// sample's rows sit at other offsets of the tile buffers, where Eigen vectorises the softmax differently).
TEST(Attention, SegmentsEqualTheSamplesRunAlone) {
  const std::vector<int64_t> lengths = {5, 9, 4};
  const int64_t S = 18, Hq = 4, Hkv = 2, D = 8;
  std::vector<int64_t> seg;
  for (size_t i = 0; i < lengths.size(); ++i) seg.insert(seg.end(), static_cast<size_t>(lengths[i]), int64_t(i));
  const Tensor q = randn({1, S, Hq, D}, 1), k = randn({1, S, Hkv, D}, 2), v = randn({1, S, Hkv, D}, 3);
  AttentionOptions opt;
  opt.window = 6;
  opt.segment_ids = Tensor::from_ids(seg, {1, S});
  const std::vector<float> packed = attention(q, k, v, opt).to_floats();
  opt.segment_ids = Tensor();
  int64_t o = 0;
  for (int64_t n : lengths) {
    const std::vector<float> alone =
        attention(q.slice(1, o, o + n), k.slice(1, o, o + n), v.slice(1, o, o + n), opt).to_floats();
    for (size_t i = 0; i < alone.size(); ++i)
      EXPECT_NEAR(packed[static_cast<size_t>(o * Hq * D) + i], alone[i], 1e-6) << "sample at " << o << ", " << i;
    o += n;
  }
}

TEST(Attention, SegmentErrors) {
  const Tensor q = randn({1, 4, 2, 4}, 1), k = randn({1, 4, 1, 4}, 2), v = randn({1, 4, 1, 4}, 3);
  auto message = [](const std::function<void()>& f) { return gt::testing::thrown_message<Error>(f); };
  AttentionOptions opt;
  opt.segment_ids = Tensor::from_ids({0, 1, 1, 0}, {1, 4});
  EXPECT_NE(message([&] { attention(q, k, v, opt); }).find("segment id 0 of batch entry 0 comes back at position 3"),
            std::string::npos);
  opt.segment_ids = Tensor::from_ids({0, 1, 1}, {1, 3});
  EXPECT_NE(message([&] { attention(q, k, v, opt); }).find("segment_ids i64[1, 3] must be an integer [B, S] = [1, 4]"),
            std::string::npos);
  // Decoding T = 4 queries from position 3 of 6 keys: positions 6 has no segment id.
  opt.segment_ids = Tensor::from_ids({0, 0, 0, 0, 0, 0}, {1, 6});
  opt.q_offset = 3;
  EXPECT_NE(message([&] { attention(q, randn({1, 6, 1, 4}, 4), randn({1, 6, 1, 4}, 5), opt); })
                .find("segment ids need every query position"),
            std::string::npos);
}
