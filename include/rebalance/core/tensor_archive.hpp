// rebalance's own weight files as data, never as programs: named raw tensors behind a JSON index
// (a safetensors-like layout), so reading a model, generator or checkpoint runs no code. torch's
// archives (TorchScript zip files, rebalance's format before 0.2) run code when loaded: they are
// read only when the user says they trust them (set_trust_legacy_archives, the CLI's
// --trust-legacy-files).
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>
#include <string_view>

namespace rebalance {

/// Collects named tensors, a module's parameters and buffers, an optimiser's state; bytes() is the
/// payload: "REBALANCE-TENSORS 1\n", the index's length, the index (JSON: name -> dtype, shape,
/// offset, bytes), then each tensor's bytes, little-endian, in order.
class TensorWriter {
 public:
  void add(const std::string& name, const at::Tensor& t);
  /// Every parameter and buffer of `m` as PREFIX/<dotted name>.
  void add_module(const std::string& prefix, const torch::nn::Module& m);
  /// Adam's or SGD's per-parameter state and each group's learning rate, under PREFIX/.
  void add_optimizer(const std::string& prefix, torch::optim::Optimizer& o);
  std::string bytes() const;

 private:
  std::map<std::string, at::Tensor> tensors_;
};

/// Reads a TensorWriter payload. Every malformed layout (index length, JSON, an unknown dtype, a
/// negative or overflowing shape, bytes outside the file or not matching the shape) is an Error
/// naming `where`; the tensors are copied out, so the bytes need not outlive the reader.
class TensorReader {
 public:
  TensorReader(std::string_view payload, std::string where);
  bool has(const std::string& name) const { return tensors_.count(name) > 0; }
  /// The tensor `name`; Error naming the file if it is missing.
  at::Tensor get(const std::string& name) const;
  /// Copies PREFIX/<name> into each parameter and buffer of `m`; Error if one is missing, has
  /// another shape or dtype, or if the file holds a tensor under PREFIX/ that `m` lacks (a file
  /// written for another network).
  void load_module(const std::string& prefix, torch::nn::Module& m) const;
  /// Restores what add_optimizer wrote into an optimiser over the same parameters.
  void load_optimizer(const std::string& prefix, torch::optim::Optimizer& o) const;

 private:
  std::string where_;
  std::map<std::string, at::Tensor> tensors_;
};

/// Whether `payload` starts a TensorWriter payload.
bool is_tensor_payload(std::string_view payload);

/// Process-wide: read torch archives (files written before this format), which run code when
/// loaded. Off by default.
void set_trust_legacy_archives(bool trust);
/// Error unless trusted: "`where` is a torch archive (written before rebalance 0.2), which runs code
/// when loaded; ... --trust-legacy-files ...".
void require_trusted_legacy(const std::string& where);

}  // namespace rebalance
