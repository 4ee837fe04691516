// The nearest known name to a misspelt one, behind every "did you mean" of configs and flags.
#include <gtest/gtest.h>

#include "base/nearest.h"

using namespace gt;

TEST(Nearest, CountsASwapOfNeighboursAsOneEdit) {
  EXPECT_EQ(edit_distance("conifg", "config"), 1u);
  EXPECT_EQ(edit_distance("learning_rte", "learning_rate"), 1u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("seed", "set"), 2u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
}

TEST(Nearest, SuggestsOnlyWithinTheAllowanceOfTheWordsLength) {
  const std::vector<std::string> keys = {"learning_rate", "epochs", "seed", "batch_size"};
  EXPECT_EQ(did_you_mean("learning_rte", keys), " (did you mean 'learning_rate'?)");
  EXPECT_EQ(did_you_mean("epoch", keys), " (did you mean 'epochs'?)");
  EXPECT_EQ(did_you_mean("zzz", keys), "");
  EXPECT_EQ(nearest_name("sed", keys), "seed");
  EXPECT_FALSE(nearest_name("ab", keys));
}
