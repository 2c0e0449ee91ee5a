// Data-parallel training across processes on torch's c10d (TCPStore rendezvous, ProcessGroupGloo
// all-reduce): every process draws the same global batch, trains on its shard of it, and the
// gradients are summed, so N processes take the steps one process would with the same batch.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "rebalance/data/dataset.hpp"
#include "rebalance/train/trainer.hpp"

namespace rebalance::train {

struct DistributedOptions {
  int64_t world_size = 1;
  int64_t rank = 0;
  std::string master = "127.0.0.1:29500";  ///< host:port of rank 0's TCPStore
  double timeout_s = 60;                    ///< to reach the master and for every collective
};

/// A process's link to the others. Made by connect(); closed when destroyed.
class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int64_t rank() const = 0;
  virtual int64_t world_size() const = 0;
  /// Sum over the processes, in place: one contiguous float32 CPU tensor (Gloo reduces a list
  /// element-wise only across tensors of one shape), the same shape on every process.
  virtual void all_reduce_sum(std::vector<at::Tensor>& tensors) = 0;
  /// Error naming both ranks and values unless every process passes the same `value` under `key`.
  virtual void check_agreement(const std::string& key, const std::string& value) = 0;
};

/// Rendezvous at `master` (rank 0 serves the TCPStore there) and build the process group.
/// Errors: a rank outside [0, world_size), a master that cannot be reached within the timeout,
/// processes started with different world sizes.
std::unique_ptr<Communicator> connect(const DistributedOptions& o);

/// train::fit across the processes of `comm`: each global batch (the batch policy's, identical
/// on every rank: same seed) is cut into world_size contiguous shards; rank r's loss is its
/// shard's mean times its share of the batch, so the all-reduced gradient is the whole batch's
/// mean gradient. Validation, early stopping and the decision rule run on every rank on the same
/// weights, so the ranks stay identical; only rank 0 writes checkpoints. Every rank must pass
/// the same options and data (checked). Exact, up to float summation order, for losses that
/// average over the batch's rows; for losses normalised by the batch's class weights
/// (weighted_ce, cb with base softmax) each shard is normalised by its own weights.
TrainResult fit_distributed(const Dataset& train, const Dataset& validation, const TrainOptions& options,
                            std::ostream& log, Communicator& comm);

}  // namespace rebalance::train
