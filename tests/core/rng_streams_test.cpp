// The named random streams (core/rng_streams.hpp): their ids are the reproducibility of every
// result, so they are pinned here, and the indexed ranges must not meet.
#include "rebalance/core/rng_streams.hpp"

#include <gtest/gtest.h>

namespace s = rebalance::streams;

TEST(RngStreams, IdsArePinned) {
  // Changing one changes every result that draws from it: a new stream takes a new id.
  EXPECT_EQ(s::kEpochTorch, 1u << 20);
  EXPECT_EQ(s::kEpochAugment, 2u << 20);
  EXPECT_EQ(s::kLrFindBatch, 3u << 20);
  EXPECT_EQ(s::kFoldAssignment, 0xF01Du);
  EXPECT_EQ(s::kFoldModel, 0xF01D00u);
  EXPECT_EQ(s::kJointEpoch, 0x101A7000u);
  EXPECT_EQ(s::kCycleGANStep, 0xC7C1E000u);
  EXPECT_EQ(s::kStarGANStep, 0x57A6A000u);
  EXPECT_EQ(s::kKMeansSMOTE, 0x6b6d65616e73u);
  EXPECT_EQ(s::kTranslatedSources, 2000u);
}

TEST(RngStreams, IndexedRangesDoNotMeet) {
  // Per-epoch and per-step bases are 2^20 apart; the per-class ones at least 1000.
  const uint64_t epoch_bases[] = {s::kEpochTorch, s::kEpochAugment, s::kLrFindBatch};
  for (size_t i = 0; i + 1 < std::size(epoch_bases); ++i) EXPECT_GE(epoch_bases[i + 1] - epoch_bases[i], 1u << 20);
  EXPECT_GE(s::kTranslatedSources - s::kTypicalRows, 1000u);
  EXPECT_GE(s::kJointStarGAN, s::kJointCycleGAN + (1u << 12));
  EXPECT_GE(s::kStarGANStep - s::kJointEpoch, 1u << 20);
  EXPECT_GE(s::kCycleGANStep - s::kStarGANStep, 1u << 20);
}
