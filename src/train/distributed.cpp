#include "rebalance/train/distributed.hpp"

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <chrono>

#include "rebalance/core/error.hpp"
#include "rebalance/core/spec.hpp"

namespace rebalance::train {

namespace {

std::string first_line(const std::exception& e) {
  std::string w = e.what();
  return w.substr(0, w.find('\n'));
}

class GlooCommunicator final : public Communicator {
 public:
  GlooCommunicator(const DistributedOptions& o) : rank_(o.rank), world_(o.world_size) {
    REBALANCE_CHECK(o.world_size >= 2 && o.world_size <= 4096, "--world-size must be in [2, 4096], got {}",
                    o.world_size);
    REBALANCE_CHECK(o.rank >= 0 && o.rank < o.world_size, "--rank {} is outside [0, {}) for --world-size {}", o.rank,
                    o.world_size, o.world_size);
    REBALANCE_CHECK(o.timeout_s > 0, "the distributed timeout must be > 0 s, got {}", o.timeout_s);
    const auto colon = o.master.rfind(':');
    const auto port = colon == std::string::npos ? std::nullopt : parse_int(o.master.substr(colon + 1));
    REBALANCE_CHECK(port && *port > 0 && *port < 65536 && colon > 0, "--master must be HOST:PORT, got \"{}\"",
                    o.master);
    const std::string host = o.master.substr(0, colon);
    const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(o.timeout_s * 1000));
    timeout_ = timeout;
    c10d::TCPStoreOptions so;
    so.port = static_cast<uint16_t>(*port);
    so.isServer = o.rank == 0;
    so.waitWorkers = false;
    so.timeout = timeout;
    try {
      store_ = c10::make_intrusive<c10d::TCPStore>(host, so);
    } catch (const std::exception& e) {
      REBALANCE_THROW("rank {}: {} the master's store at {} within {} s: {}", o.rank,
                      o.rank == 0 ? "cannot serve" : "cannot reach", o.master, o.timeout_s, first_line(e));
    }
    // Every rank states its world size before the process group is built (a mismatch would
    // otherwise leave the group waiting for a rank that never comes).
    check_agreement("world_size", std::to_string(o.world_size));
    auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
    opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(
        host == "localhost" || host.rfind("127.", 0) == 0 ? "127.0.0.1" : host));
    try {
      group_ = c10::make_intrusive<c10d::ProcessGroupGloo>(store_, static_cast<int>(o.rank),
                                                           static_cast<int>(o.world_size), opts);
    } catch (const std::exception& e) {
      REBALANCE_THROW("rank {}: the process group of {} did not form within {} s: {}", o.rank, o.world_size,
                      o.timeout_s, first_line(e));
    }
  }

  int64_t rank() const override { return rank_; }
  int64_t world_size() const override { return world_; }

  void all_reduce_sum(std::vector<at::Tensor>& tensors) override {
    try {
      group_->allreduce(tensors)->wait();
    } catch (const std::exception& e) {
      REBALANCE_THROW("rank {}: all-reduce failed (another rank stopped?): {}", rank_, first_line(e));
    }
  }

  void check_agreement(const std::string& key, const std::string& value) override {
    const std::string base = "rebalance/" + key + "/" + std::to_string(round_++) + "/";
    store_->set(base + std::to_string(rank_), std::vector<uint8_t>(value.begin(), value.end()));
    std::string disagreement;
    for (int64_t r = 0; r < world_ && disagreement.empty(); ++r) {
      std::vector<uint8_t> got;
      try {
        got = store_->get(base + std::to_string(r));
      } catch (const std::exception& e) {
        REBALANCE_THROW("rank {}: rank {} did not report its {} within the timeout (is it running, with the same "
                        "--world-size?): {}", rank_, r, key, first_line(e));
      }
      const std::string theirs(got.begin(), got.end());
      if (theirs != value)
        disagreement = fmt::format("rank {} and rank {} disagree on {}: {} vs {}", rank_, r, key,
                                   value.size() > 200 ? value.substr(0, 200) + "..." : value,
                                   theirs.size() > 200 ? theirs.substr(0, 200) + "..." : theirs);
    }
    store_->set(base + "read/" + std::to_string(rank_), std::vector<uint8_t>{1});
    if (!disagreement.empty() && rank_ == 0) {
      // Rank 0 hosts the store: leaving at once would take it from a rank still reading, which would
      // then report a missing rank instead of the disagreement. Wait (within the timeout) until all have read.
      std::vector<std::string> read;
      for (int64_t r = 0; r < world_; ++r) read.push_back(base + "read/" + std::to_string(r));
      try {
        store_->wait(read, timeout_);
      } catch (const std::exception&) {  // a rank that stopped reading: the disagreement is still the error
      }
    }
    REBALANCE_CHECK(disagreement.empty(), "{}", disagreement);
  }

 private:
  int64_t rank_, world_;
  int64_t round_ = 0;
  std::chrono::milliseconds timeout_;
  c10::intrusive_ptr<c10d::TCPStore> store_;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group_;
};

}  // namespace

std::unique_ptr<Communicator> connect(const DistributedOptions& o) { return std::make_unique<GlooCommunicator>(o); }

}  // namespace rebalance::train
