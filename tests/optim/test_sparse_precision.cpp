// The row-sparse Adafactor step against the dense one, fp32 master weights for bf16, thread-count independence,
// and 64-bit indexing on a table above 2^31 elements.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "autograd/parallel.h"
#include "base/error.h"
#include "helpers.h"
#include "optim/adafactor.h"
#include "optim/adamw.h"

using namespace gt;
using namespace gt::testing;

namespace {

// A table big enough for several row blocks of the column sums (rows x cols > 2^15 elements per block).
constexpr int64_t kRows = 3000, kCols = 48;

struct SparseStep {
  std::vector<int64_t> rows;
  std::vector<float> values;  // [rows.size(), kCols]
};

std::vector<SparseStep> make_steps(int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<SparseStep> out;
  for (int s = 0; s < n; ++s) {
    SparseStep st;
    for (int64_t r = 0; r < kRows; ++r)
      if (rng() % 40 == 0) st.rows.push_back(r);
    for (size_t k = 0; k < st.rows.size() * kCols; ++k) st.values.push_back(normal(rng) * (s % 2 ? 3.f : 0.5f));
    out.push_back(st);
  }
  return out;
}

std::vector<float> densify(const SparseStep& st) {
  std::vector<float> d(static_cast<size_t>(kRows * kCols), 0.f);
  for (size_t k = 0; k < st.rows.size(); ++k)
    std::copy(st.values.begin() + k * kCols, st.values.begin() + (k + 1) * kCols, d.begin() + st.rows[k] * kCols);
  return d;
}

std::vector<float> initial_table(uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.f, 0.05f);
  std::vector<float> v(static_cast<size_t>(kRows * kCols));
  for (auto& x : v) x = normal(rng);
  return v;
}

struct TableRun {
  std::vector<float> param;
  std::vector<std::vector<float>> state;
};

template <class Opt, class Options>
TableRun run_table(const Options& o, DType dtype, bool sparse, int steps) {
  Tensor table = named_param("embed", initial_table(7), {kRows, kCols}, dtype);
  Opt opt({table}, o);
  for (const SparseStep& st : make_steps(steps, 11)) {
    if (sparse)
      give_sparse_grad(table, st.rows, st.values);
    else
      give_dense_grad(table, Tensor::from_vector(densify(st), {kRows, kCols}));
    opt.step();
    opt.zero_grad();
  }
  TableRun r{table.to_floats(), {}};
  for (const auto& [name, t] : opt.state().tensors)
    if (is_floating(t.dtype())) r.state.push_back(t.to_floats());
  return r;
}

void expect_identical(const TableRun& a, const TableRun& b, const char* what) {
  EXPECT_TRUE(bit_equal(a.param, b.param)) << what << ": parameters differ, scaled error "
                                           << scaled_error(a.param, b.param);
  ASSERT_EQ(a.state.size(), b.state.size()) << what;
  for (size_t i = 0; i < a.state.size(); ++i)
    EXPECT_TRUE(bit_equal(a.state[i], b.state[i])) << what << ": state " << i << " differs, scaled error "
                                                   << scaled_error(a.state[i], b.state[i]);
}

AdafactorOptions fast_options() {
  AdafactorOptions o;
  o.lr = 1e-2;
  return o;
}

AdafactorOptions dense_pass_options() {
  AdafactorOptions o;
  o.lr = 1e-2;
  o.beta1 = 0.9;
  o.weight_decay = 0.1;
  o.scale_parameter = true;
  o.clip_threshold = 0.5;
  return o;
}

}  // namespace

TEST(SparseAdafactor, FastOptionsBitIdenticalToDense) {
  for (DType dt : {DType::F32, DType::BF16}) {
    const TableRun dense = run_table<Adafactor>(fast_options(), dt, false, 6);
    const TableRun sparse = run_table<Adafactor>(fast_options(), dt, true, 6);
    expect_identical(dense, sparse, dt == DType::F32 ? "f32" : "bf16 with master");
  }
}

TEST(SparseAdafactor, MomentumDecayScaleBitIdenticalToDense) {
  for (DType dt : {DType::F32, DType::BF16}) {
    const TableRun dense = run_table<Adafactor>(dense_pass_options(), dt, false, 6);
    const TableRun sparse = run_table<Adafactor>(dense_pass_options(), dt, true, 6);
    expect_identical(dense, sparse, dt == DType::F32 ? "f32" : "bf16 with master");
  }
}

TEST(SparseAdafactor, RelativeStepBitIdenticalToDense) {
  const AdafactorOptions o = AdafactorOptions::transformers_defaults();
  expect_identical(run_table<Adafactor>(o, DType::F32, false, 4), run_table<Adafactor>(o, DType::F32, true, 4),
                   "transformers defaults");
}

TEST(SparseAdamW, BitIdenticalToDense) {
  AdamWOptions o;
  o.lr = 1e-2;
  o.weight_decay = 0.1;
  o.amsgrad = true;
  expect_identical(run_table<AdamW>(o, DType::F32, false, 4), run_table<AdamW>(o, DType::F32, true, 4), "adamw");
}

TEST(SparseAdafactor, SameResultOnAnyThreadCount) {
  const int before = num_threads();
  set_num_threads(1);
  const TableRun one = run_table<Adafactor>(dense_pass_options(), DType::F32, false, 3);
  const TableRun one_sparse = run_table<Adafactor>(dense_pass_options(), DType::F32, true, 3);
  set_num_threads(std::max(2, before));
  const TableRun many = run_table<Adafactor>(dense_pass_options(), DType::F32, false, 3);
  const TableRun many_sparse = run_table<Adafactor>(dense_pass_options(), DType::F32, true, 3);
  set_num_threads(before);
  expect_identical(one, many, "dense, 1 thread vs several");
  expect_identical(one_sparse, many_sparse, "sparse, 1 thread vs several");
}

// docs/pitfalls.md item 3: at lr 2e-5 a step moves a weight near 1.0 by 2e-5, far below half a bf16 ulp (2^-9 just
// under 1). A constant gradient makes every step U = 1 exactly (R, C and mean R all agree), so W falls by 2e-5 a
// step.
TEST(MasterWeights, TinyUpdatesLandInBf16) {
  const int steps = 250;
  auto run = [&](PrecisionOptions prec, std::vector<float>* master) {
    Tensor w = named_param("w", std::vector<float>(64 * 64, 1.0f), {64, 64}, DType::BF16);
    AdafactorOptions o;  // our default: lr 2e-5, no scaling, no relative step
    o.precision = prec;
    Adafactor opt({w}, o);
    for (int s = 0; s < steps; ++s) {
      give_dense_grad(w, Tensor::full({64, 64}, 0.25));
      opt.step();
      opt.zero_grad();
      if (s == 0 && master) {
        EXPECT_LT(opt.master(0).to_floats()[0], 1.0f) << "the first step reaches the master";
      }
    }
    if (master) *master = opt.master(0).to_floats();
    return w.to_floats();
  };
  const float expected = 1.0f - steps * 2e-5f;  // 0.995

  std::vector<float> master;
  const std::vector<float> with_master = run({}, &master);
  for (size_t i = 0; i < master.size(); ++i) {
    ASSERT_NEAR(master[i], expected, 1e-5) << i;
    ASSERT_EQ(with_master[i], round_to_bf16(master[i])) << i;
    ASSERT_LT(with_master[i], 1.0f) << i;  // landed: 0.99609375, the bf16 nearest 0.995
  }

  PrecisionOptions plain;
  plain.master_weights = false;
  for (float v : run(plain, nullptr)) ASSERT_EQ(v, 1.0f) << "a plain bf16 write-back keeps nothing";

  // Stochastic rounding without a master: each element jumps a whole ulp now and then, the mean tracks the sum.
  PrecisionOptions sr;
  sr.master_weights = false;
  sr.rounding = Rounding::Stochastic;
  sr.seed = 5;
  const std::vector<float> stochastic = run(sr, nullptr);
  double mean = 0;
  for (float v : stochastic) mean += v;
  mean /= static_cast<double>(stochastic.size());
  EXPECT_NEAR(mean, expected, 5e-4);
}

TEST(MasterWeights, AdamWTinyUpdatesLand) {
  Tensor w = named_param("w", std::vector<float>(16, 1.0f), {16}, DType::BF16);
  AdamWOptions o;
  o.lr = 2e-5;
  o.weight_decay = 0.0;
  AdamW opt({w}, o);
  for (int s = 0; s < 250; ++s) {  // Adam's normalised step is lr per step for a constant gradient
    give_dense_grad(w, Tensor::full({16}, 1.0));
    opt.step();
    opt.zero_grad();
  }
  for (float v : opt.master(0).to_floats()) EXPECT_NEAR(v, 0.995f, 1e-5);
  for (float v : w.to_floats()) EXPECT_EQ(v, 0.99609375f);
}

// docs/pitfalls.md item 2: element offsets above 2^31. The table is allocated but never written outside the rows used,
// so the OS backs only those pages; the sparse fast path reads and writes nothing else.
TEST(SparseAdafactor, TableAboveTwoToThe31Elements) {
  const int64_t cols = 1024, rows = (int64_t{1} << 21) + 2;  // 2^31 + 2048 elements
  Tensor table;
  try {
    table = Tensor::empty({rows, cols});
  } catch (const Error&) {
    GTEST_SKIP() << "cannot reserve 8 GiB of address space here";
  }
  table.set_name("per_layer_embed").requires_grad_();
  const std::vector<int64_t> touched = {3, rows - 1};
  float* w = table.data<float>();
  for (int64_t r : touched)
    for (int64_t c = 0; c < cols; ++c) w[r * cols + c] = 0.5f;
  // Both rows get the same magnitudes column by column (signs differ), which makes the expected step exact.
  std::vector<float> g(touched.size() * cols);
  for (size_t k = 0; k < touched.size(); ++k)
    for (int64_t c = 0; c < cols; ++c)
      g[k * cols + c] = ((k + c) % 3 == 0 ? -1.f : 1.f) * (1.f + static_cast<float>(c % 7));
  give_sparse_grad(table, touched, g);
  AdafactorOptions o;
  o.lr = 1e-2;
  Adafactor opt({table}, o);
  opt.step();
  // Step 1 (beta2 = 0): R_r C_j / mean R = g_rj^2 up to eps1 terms, so each touched element moves by lr against
  // the sign of its gradient; RMS(U) = (2 / rows)^1/2 clips nothing.
  for (size_t k = 0; k < touched.size(); ++k)
    for (int64_t c = 0; c < cols; ++c) {
      const float gk = g[k * cols + c];
      ASSERT_NEAR(w[touched[k] * cols + c], 0.5f - 1e-2f * (gk > 0 ? 1.f : -1.f), 1e-6)
          << "row " << touched[k] << " col " << c;
    }
}
