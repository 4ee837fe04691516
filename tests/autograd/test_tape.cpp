#include <gtest/gtest.h>

#include "base/error.h"
#include "support/gradcheck.h"

using namespace gt;
using namespace gt::testing;

TEST(Tape, AccumulatesOverUsesAndCalls) {
  Tensor x = leaf(Tensor::from_vector({2.0f}, {1}));
  // y = x*x + 3x: dy/dx = 2x + 3 = 7
  Tensor y = add(mul(x, x), scale(x, 3.0));
  sum(y).backward();
  EXPECT_FLOAT_EQ(x.grad().item(), 7.0f);
  // A second graph adds to the existing gradient until zero_grad().
  sum(scale(x, 2.0)).backward();
  EXPECT_FLOAT_EQ(x.grad().item(), 9.0f);
  x.zero_grad();
  EXPECT_FALSE(x.has_grad());
}

TEST(Tape, UpstreamGradientAndErrors) {
  Tensor x = leaf(randn({2, 3}, 1));
  Tensor y = scale(x, 2.0);
  EXPECT_THROW(y.backward(), Error);  // not a scalar: needs an upstream gradient
  y.backward(Tensor::full({2, 3}, 0.5));
  for (float g : x.grad().to_floats()) EXPECT_FLOAT_EQ(g, 1.0f);
  // The graph was released after the first backward.
  EXPECT_THROW(y.backward(Tensor::full({2, 3}, 0.5)), Error);
}

TEST(Tape, NoGradScopeRecordsNothing) {
  Tensor x = leaf(randn({3}, 2));
  {
    NoGradGuard ng;
    Tensor y = mul(x, x);
    EXPECT_FALSE(y.requires_grad());
  }
  EXPECT_TRUE(grad_enabled());
  EXPECT_TRUE(mul(x, x).requires_grad());
}

TEST(Tape, SavedActivationsAreReleased) {
  Tensor x = leaf(randn({4}, 3));
  std::weak_ptr<Storage> saved;
  Tensor loss;
  {
    Tensor h = mul(x, x);  // h is saved by the mul below
    saved = h.impl().storage;
    loss = sum(mul(h, x));
  }
  EXPECT_FALSE(saved.expired());  // the tape holds h
  loss.backward();
  EXPECT_TRUE(saved.expired());  // released once its backward ran
}

TEST(Tape, NamedParameters) {
  NamedParameters p;
  p.add("layer.weight", randn({2, 2}, 4));
  p.add("layer.scalar", Tensor::ones({1}), /*trainable=*/false);
  EXPECT_EQ(p.at("layer.weight").name(), "layer.weight");
  EXPECT_TRUE(p.at("layer.weight").requires_grad());
  EXPECT_FALSE(p.at("layer.scalar").requires_grad());
  EXPECT_EQ(p.trainable().size(), 1u);
  EXPECT_THROW(p.add("layer.weight", Tensor::ones({1})), Error);
  EXPECT_THROW(p.at("missing"), Error);
}

TEST(Tape, CheckpointGivesTheSameGradients) {
  Tensor w1 = leaf(randn({4, 6}, 5, 0.5f)), w2 = leaf(randn({3, 4}, 6, 0.5f));
  Tensor x = leaf(randn({5, 6}, 7));
  auto segment = [&](const std::vector<Tensor>& in) {
    Tensor h = linear(in[0], w1);
    return std::vector<Tensor>{linear(mul(h, h), w2)};
  };
  sum(segment({x})[0]).backward();
  const auto gx = x.grad().to_floats(), g1 = w1.grad().to_floats(), g2 = w2.grad().to_floats();
  x.zero_grad(), w1.zero_grad(), w2.zero_grad();
  Tensor y = checkpoint(segment, {x})[0];
  sum(y).backward();
  EXPECT_EQ(x.grad().to_floats(), gx);
  EXPECT_EQ(w1.grad().to_floats(), g1);
  EXPECT_EQ(w2.grad().to_floats(), g2);
}

// The checker must catch a wrong backward: an op whose recorded gradient is off by 1%.
TEST(Gradcheck, CatchesAWrongBackward) {
  auto wrong = [](const std::vector<Tensor>& v) {
    Tensor out;
    {
      NoGradGuard ng;
      out = mul(v[0], v[0]);
    }
    if (any_requires_grad({v[0]})) {
      const Tensor x = v[0].detach();
      record("wrong_square", {v[0]}, {out}, [x](GradSink& g) { g.add(0, mul(g.out(), scale(x, 2.02))); });
    }
    return out;
  };
  GradcheckOptions quiet;
  quiet.report = false;
  EXPECT_GT(gradcheck1(wrong, {leaf(randn({8}, 3))}, quiet), 1.0);
  EXPECT_LE(gradcheck1([](auto& v) { return mul(v[0], v[0]); }, {leaf(randn({8}, 3))}), 1.0);
}
