// Every named random stream of rebalance, in one place. A stream is `Rng(seed).fork(id)`: the
// same seed and id give the same draws on every machine (core/rng.hpp), and two ids never share
// draws. Each id below is part of the results' reproducibility: changing one changes every
// result that draws from it, so a new stream takes a new id and an old one is never reused.
//
// Ids a caller builds from an index (a class, an epoch, a step) are `base + index` or
// `base | index`. The shifted bases are 2^20 apart (epochs and steps below 2^20 stay in their own
// range) and the class bases 1000 apart. The plain epoch streams (kEpochOrder + epoch) share the
// low ids with the small named ones (kFoldAssignment at epoch 61469, the VAE stages at epochs 1-3
// of another seed's fork): harmless where they fork different seeds or where no run has that many
// epochs, and kept as they are, since the results depend on them. Streams indexed by class alone
// (fork(class)) are the per-class streams of the samplers and data makers: they need no name.
#pragma once

#include <cstdint>

namespace rebalance::streams {

// ---- the training loops (train/, joint/) ----
/// fork(epoch): the batch order of epoch e (trainer, pretrain, lr_find's epochs).
constexpr uint64_t kEpochOrder = 0;
/// | epoch: torch's seed for epoch e (dropout and anything else drawn by libtorch).
constexpr uint64_t kEpochTorch = uint64_t(1) << 20;
/// | epoch, then fork(batch): real-time augmentation of each batch.
constexpr uint64_t kEpochAugment = uint64_t(2) << 20;
/// | step: the learning-rate finder's augmentation of each step's batch.
constexpr uint64_t kLrFindBatch = uint64_t(3) << 20;
/// | epoch, then fork(batch): mixing of each batch (mixup's ratio and partners, CMO's draws).
constexpr uint64_t kEpochMix = uint64_t(4) << 20;
/// | epoch: decoupled training's second-stage epochs (their batch order).
constexpr uint64_t kDecoupleEpoch = uint64_t(5) << 20;
/// cRT's re-initialised head (torch's seed).
constexpr uint64_t kDecoupleInit = 0xDEC0;
/// The out-of-fold decision rules: which fold each training row falls in.
constexpr uint64_t kFoldAssignment = 0xF01D;
/// + fold: the seed of each fold's model.
constexpr uint64_t kFoldModel = 0xF01D00;
/// + epoch: joint training's classifier epochs (their batch order).
constexpr uint64_t kJointEpoch = 0x101A7000;
/// Joint training's StarGAN initial weights.
constexpr uint64_t kJointStarGAN = 0x57A6A;
/// + class: joint training's CycleGAN of each minority class, initial weights.
constexpr uint64_t kJointCycleGAN = 0x6A9;

// ---- the generators (generative/) ----
/// + step: each CycleGAN training step's draws (batches, image pools).
constexpr uint64_t kCycleGANStep = 0xC7C1E000;
/// + step: each StarGAN training step's draws (batches, target classes).
constexpr uint64_t kStarGANStep = 0x57A6A000;
/// VAE / MGVAE training stages: the batch order of each.
constexpr uint64_t kVaeFit = 1;
constexpr uint64_t kMgvaePretrain = 2;
constexpr uint64_t kMgvaeFinetune = 3;
/// The VAE's latent draws when it samples (torch generator seed).
constexpr uint64_t kVaeSampling = 7;
/// MGVAE: the majority examples of the prior while pretraining.
constexpr uint64_t kMgvaePretrainExamples = 11;
/// MGVAE: the rows EWC's Fisher information is estimated on.
constexpr uint64_t kMgvaeFisher = 12;
/// MGVAE: the majority examples of the prior while fine-tuning.
constexpr uint64_t kMgvaeFinetuneExamples = 13;
/// MGVAE: which majority rows seed each generated row.
constexpr uint64_t kMgvaeSources = 14;
/// The class-conditional VAE: which rows each generated row is sampled around.
constexpr uint64_t kVaeSources = 15;
/// + class + 1: each class's generator seed in the generative samplers.
constexpr uint64_t kGeneratorClass = 1;
/// + class: the draw that picks the most typical generated rows of a class.
constexpr uint64_t kTypicalRows = 1000;
/// DeepSMOTE's autoencoder: its batch order, and the class and rows of each step's penalty.
constexpr uint64_t kDeepSmoteFit = 0xDEE9;
constexpr uint64_t kDeepSmotePenalty = 0xDEE9 + 1;
/// + class: DeepSMOTE's latent SMOTE draws (base rows, neighbours, gaps) of each class.
constexpr uint64_t kDeepSmoteDraws = 3000;
/// + class: M2m's draws for each class it grows (seed classes and rows, start noise, fall-backs).
constexpr uint64_t kM2mDraws = 4000;
/// + class: which majority rows a CycleGAN/StarGAN sampler translates into each class.
constexpr uint64_t kTranslatedSources = 2000;
/// Sample-quality diagnostics (generative/quality.cpp): one stream per diagnostic.
constexpr uint64_t kQualityTwoSample = 1;
constexpr uint64_t kQualityNeighbours = 2;
constexpr uint64_t kQualityTstr = 3;
constexpr uint64_t kQualityEmbedding = 4;

// ---- samplers and data (over_sampling/, combine/, sampling/, data/) ----
/// KMeans-SMOTE's clustering ("kmeans" in ASCII), apart from the per-class streams.
constexpr uint64_t kKMeansSMOTE = 0x6b6d65616e73ULL;
/// + part: a composition's (a+b+c) part seeds; a combined sampler's over- (0) and cleaning (1) parts.
constexpr uint64_t kPipelinePart = 0;
/// fork(class).fork(1): a cluster-based over-sampler's draws inside its clusters.
constexpr uint64_t kClusterDraws = 1;
/// + split: the order of the train (0), validation (1) and test (2) rows of a made split.
constexpr uint64_t kSplitOrder = 100;

}  // namespace rebalance::streams
