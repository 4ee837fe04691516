#include <gtest/gtest.h>
#include <sys/mman.h>

#include <memory>

#include "autograd/parallel.h"
#include "support/expect_error.h"
#include "support/gradcheck.h"

using namespace gt;
using namespace gt::testing;

TEST(Embedding, ForwardGathersRows) {
  Tensor table = Tensor::from_vector({0, 1, 2, 10, 11, 12, 20, 21, 22, 30, 31, 32}, {4, 3});
  Tensor ids = Tensor::from_ids({3, 1, 1, 0}, {2, 2}, DType::I32);
  Tensor y = embedding(table, ids);
  EXPECT_EQ(y.shape(), (Shape{2, 2, 3}));
  EXPECT_EQ(y.to_floats(), (std::vector<float>{30, 31, 32, 10, 11, 12, 10, 11, 12, 0, 1, 2}));
  // A bf16 table is read in place and widened; a transposed (strided) table is read through its strides.
  EXPECT_EQ(embedding(table.to(DType::BF16), ids).to_floats(), y.to_floats());
  Tensor tt = Tensor::from_vector({0, 10, 20, 30, 1, 11, 21, 31, 2, 12, 22, 32}, {3, 4}).transpose(0, 1);
  EXPECT_EQ(embedding(tt, ids).to_floats(), y.to_floats());
}

TEST(Embedding, GradcheckRepeatedIds) {
  Tensor ids = Tensor::from_ids({2, 0, 2, 5, 2, 0, 1, 3, 2, 4}, {2, 5});
  EXPECT_LE(gradcheck1([&](auto& v) { return embedding(v[0], ids); }, {leaf(randn({6, 4}, 31))}), 1.0);
}

// The padding row takes part in the forward but gets no gradient: the result must equal the gradcheck-verified
// gradient without padding, with that one row zeroed. The sparse path must give exactly the same numbers.
TEST(Embedding, PaddingAndSparseGradients) {
  const int64_t V = 6, D = 4, pad = 2;
  Tensor ids = Tensor::from_ids({2, 0, 2, 5, 2, 0, 1, 5}, {2, 4});
  Tensor up = randn({2, 4, D}, 32);
  Tensor plain = leaf(randn({V, D}, 33));
  embedding(plain, ids).backward(up);
  Tensor dense = leaf(plain.detach().clone());
  embedding(dense, ids, pad).backward(up);
  std::vector<float> want = plain.grad().to_floats();
  for (int64_t c = 0; c < D; ++c) want[pad * D + c] = 0.f;
  EXPECT_EQ(dense.grad().to_floats(), want);

  Tensor sparse = leaf(plain.detach().clone());
  set_sparse_grad(sparse);
  embedding(sparse, ids, pad).backward(up);
  SparseRows s = sparse_grad(sparse);
  ASSERT_TRUE(s.defined());
  const std::vector<int64_t> rows = s.rows.to_ids();
  EXPECT_EQ(rows, (std::vector<int64_t>{0, 1, 5}));
  const std::vector<float> vals = s.values.to_floats();
  for (size_t k = 0; k < rows.size(); ++k)
    for (int64_t c = 0; c < D; ++c) EXPECT_EQ(vals[k * D + c], want[rows[k] * D + c]);
  EXPECT_EQ(sparse.grad().to_floats(), dense.grad().to_floats());

  // A second lookup accumulates: the merged rows are the union, the values the sums.
  embedding(sparse, Tensor::from_ids({4, 0}, {2}), pad).backward(Tensor::ones({2, D}));
  EXPECT_EQ(sparse_grad(sparse).rows.to_ids(), (std::vector<int64_t>{0, 1, 4, 5}));
  EXPECT_FLOAT_EQ(sparse.grad().to_floats()[4 * D], 1.f);
  EXPECT_FLOAT_EQ(sparse.grad().to_floats()[0], want[0] + 1.f);
}

// Enough distinct rows (2003 of them, each looked up three times) that the per-row sums run on several threads.
TEST(Embedding, BackwardIsDeterministicAcrossThreadCounts) {
  std::vector<int64_t> idv;
  for (int64_t i = 0; i < 6009; ++i) idv.push_back((i * 7919) % 2003);
  Tensor ids = Tensor::from_ids(idv, {6009});
  Tensor up = randn({6009, 16}, 34);
  auto grad_with = [&](int threads) {
    set_num_threads(threads);
    Tensor t = leaf(randn({2003, 16}, 35));
    embedding(t, ids).backward(up);
    return t.grad().to_floats();
  };
  const int before = num_threads();
  const std::vector<float> one = grad_with(1), two = grad_with(2);
  set_num_threads(before);
  EXPECT_EQ(one, two);
}

// The per-layer table's shape: 262144 x 8960 = 2.35e9 bf16 elements, past INT32_MAX, so row * D only fits in 64
// bits. The table is mapped without reserving memory: only the few pages the test touches become real.
TEST(Embedding, TableBeyond32BitIndexing) {
  const int64_t V = 262144, D = 8960;
  const size_t bytes = static_cast<size_t>(V * D) * sizeof(bf16);
  void* mem = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (mem == MAP_FAILED) GTEST_SKIP() << "cannot map " << bytes << " bytes of address space";
  std::shared_ptr<void> mapping(mem, [bytes](void* p) { munmap(p, bytes); });
  Tensor table = Tensor::from_blob(mem, {V, D}, DType::BF16, mapping);
  const int64_t last = V - 1;
  bf16* p = table.data<bf16>();
  for (int64_t c = 0; c < D; ++c) p[last * D + c] = float_to_bf16(static_cast<float>(c % 7));
  Tensor ids = Tensor::from_ids({last, 0}, {2}, DType::I32);
  const std::vector<float> y = embedding(table, ids).to_floats();
  for (int64_t c = 0; c < D; ++c) {
    ASSERT_EQ(y[c], static_cast<float>(c % 7)) << c;
    ASSERT_EQ(y[D + c], 0.f) << c;
  }
  // The gradient stays row-sparse: densifying it would take 9.4 GB.
  table.requires_grad_();
  set_sparse_grad(table);
  embedding(table, ids, 0).backward(Tensor::ones({2, D}));
  SparseRows s = sparse_grad(table);
  EXPECT_EQ(s.rows.to_ids(), (std::vector<int64_t>{last}));
  EXPECT_EQ(s.values.to_floats(), std::vector<float>(D, 1.f));
}

TEST(Embedding, Errors) {
  Tensor table = randn({5, 3}, 36);
  expect_error([&] { embedding(table, Tensor::from_ids({1, 5}, {2})); }, {"embedding", "id 5", "5 rows"});
  expect_error([&] { embedding(table, Tensor::from_ids({-1}, {1})); }, {"embedding", "id -1"});
  expect_error([&] { embedding(table, Tensor::from_vector({1}, {1})); }, {"embedding", "f32[1]"});
  expect_error([&] { embedding(randn({5}, 37), Tensor::from_ids({1}, {1})); }, {"embedding", "f32[5]"});
  expect_error([&] { embedding(table, Tensor::from_ids({1}, {1}), 7); }, {"embedding", "padding_idx 7"});
}
